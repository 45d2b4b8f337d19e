// The write-back worker: claims due rows of pims_sync.writebacks and writes them to the
// clinic's PIMS through its connector. An appointment is written as it stands in
// booking now (so a replayed or coalesced event writes the same thing): first the
// client and pet if the PIMS does not have them (their PIMS ids recorded in the clients
// service), then the appointment (its PIMS id recorded in booking); a later move or
// cancellation updates the PIMS's record. Transient failures are retried with backoff;
// a refusal fails the row at once, with the PIMS's reason for staff.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "libs/auth/auth.h"
#include "libs/core/periodic_worker.h"
#include "services/pims_sync/writeback_repository.h"
#include "services/pims_sync/writeback_rules.h"
#include "vetline/booking/v1/booking_sync.grpc.pb.h"
#include "vetline/clients/v1/sync.grpc.pb.h"
#include "vetline/pims/v1/connector.grpc.pb.h"

namespace vetline::pims_sync {

namespace pv1 = ::vetline::pims::v1;

struct WritebackSettings {
  RetryPolicy retry;
  int workers = 2;                              // threads, each claiming its own rows
  int batch = 8;                                // rows per claim
  absl::Duration lease = absl::Seconds(60);     // a claimed row is another's after this
  absl::Duration call_deadline = absl::Seconds(10);
  absl::Duration idle_pause = absl::Seconds(1);  // polls between wake-ups (new rows wake it)
};

class WritebackWorker {
 public:
  WritebackWorker(WritebackRepository& repo, std::shared_ptr<grpc::ChannelInterface> booking,
                  std::shared_ptr<grpc::ChannelInterface> clients, const auth::PrincipalSigner& signer,
                  WritebackSettings settings);
  ~WritebackWorker();

  // Starts the threads (settings.workers PeriodicWorkers).
  void Start();
  // New rows were queued: cut the pauses short.
  void Wake();
  // One claim and its writes; kAgain when the claim was full.
  PeriodicWorker::Next Step();

 private:
  // Where a write stopped: the step in the clinic's words, and whether the PIMS answered
  // (otherwise a Vetline service did).
  struct Where {
    std::string step = "the appointment";
    bool pims = false;
  };
  void Process(const WritebackJob& j);
  absl::StatusOr<std::string> WriteAppointment(const WritebackJob& j, Where& at);
  absl::StatusOr<std::string> WriteNote(const WritebackJob& j, Where& at);
  // The client's (and pet's) PIMS ids, creating them in the PIMS first when missing.
  absl::StatusOr<std::string> EnsureInPims(const WritebackJob& j, pv1::PimsConnector::Stub& pims,
                                           const std::string& what, const std::string& vetline_id,
                                           const PimsFields& fields, Where& at);
  std::unique_ptr<pv1::PimsConnector::Stub> Connector(const std::string& address);
  void Authorize(grpc::ClientContext& ctx, const std::string& clinic_id) const;

  WritebackRepository& repo_;
  std::unique_ptr<booking::v1::BookingSyncService::Stub> booking_;
  std::unique_ptr<clients::v1::ClientSyncService::Stub> clients_;
  const auth::PrincipalSigner& signer_;
  const WritebackSettings settings_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;  // per connector address
  std::vector<std::unique_ptr<PeriodicWorker>> workers_;
};

}  // namespace vetline::pims_sync
