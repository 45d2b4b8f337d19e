// The simulator's PimsConnector server, with fault injection for tests: drop a
// snapshot stream after N records, answer slowly, hang a stream (keep it open
// without sending) after N records, or serve no schedule; for writes: answer
// UNAVAILABLE to the next N, refuse them all, or answer each slowly.
#pragma once

#include <atomic>

#include "tools/pims_sim/practice.h"
#include "vetline/pims/v1/connector.grpc.pb.h"

namespace vetline::pims_sim {

struct Faults {
  int64_t drop_after = 0;  // end each snapshot stream with UNAVAILABLE after this many records
  int slow_ms = 0;         // pause before every batch
  int64_t hang_after = 0;  // each snapshot/changes stream goes silent after this many records
  int hang_ms = 600'000;   // for this long (or until the caller cancels), then carries on
  bool no_schedule = false;  // an agent without scheduling: UNIMPLEMENTED for the schedule's entities
};

// Faults of the write calls, changeable while calls are in flight (a test turns the PIMS
// "down" and "up" again while Vetline retries).
struct WriteFaults {
  std::atomic<int> unavailable{0};   // the next N writes answer UNAVAILABLE (the PIMS is down)
  std::atomic<bool> refuse{false};   // every write answers FAILED_PRECONDITION (the PIMS refuses)
  std::atomic<int> slow_ms{0};       // pause before answering each write
  std::atomic<int64_t> calls{0};     // writes received, whatever they answered
};

class ConnectorService final : public pv1::PimsConnector::Service {
 public:
  ConnectorService(Practice& practice, Faults faults) : practice_(practice), faults_(faults) {}

  grpc::Status Describe(grpc::ServerContext*, const pv1::DescribeRequest*, pv1::PracticeInfo*) override;
  grpc::Status Snapshot(grpc::ServerContext*, const pv1::SnapshotRequest*,
                        grpc::ServerWriter<pv1::RecordBatch>*) override;
  grpc::Status Changes(grpc::ServerContext*, const pv1::ChangesRequest*,
                       grpc::ServerWriter<pv1::RecordBatch>*) override;
  grpc::Status GetSchedulingSettings(grpc::ServerContext*, const pv1::SettingsRequest*,
                                     pv1::SchedulingSettings*) override;
  grpc::Status CreateClient(grpc::ServerContext*, const pv1::WriteRequest*, pv1::WriteResponse*) override;
  grpc::Status CreatePatient(grpc::ServerContext*, const pv1::WriteRequest*, pv1::WriteResponse*) override;
  grpc::Status CreateAppointment(grpc::ServerContext*, const pv1::WriteRequest*,
                                 pv1::WriteResponse*) override;
  grpc::Status UpdateAppointment(grpc::ServerContext*, const pv1::UpdateRequest*,
                                 pv1::WriteResponse*) override;
  grpc::Status CancelAppointment(grpc::ServerContext*, const pv1::UpdateRequest*,
                                 pv1::WriteResponse*) override;
  grpc::Status CreateNote(grpc::ServerContext*, const pv1::WriteRequest*, pv1::WriteResponse*) override;

  WriteFaults& write_faults() { return write_faults_; }

  // Between runs only: streams in flight read the faults unsynchronised.
  void set_faults(Faults f) { faults_ = f; }

 private:
  // Applies the hang fault once per stream, when `sent` records reached it.
  // INVALID_ARGUMENT or UNIMPLEMENTED for an entity this connector does not serve.
  grpc::Status Serves(pv1::Entity e) const;
  void MaybeHang(grpc::ServerContext* ctx, int64_t sent, bool& hung) const;
  grpc::Status Write(pv1::Entity e, const pv1::WriteRequest* req, pv1::WriteResponse* resp);
  // The write faults, before a write is applied: non-OK to answer instead.
  grpc::Status WriteFault();
  static grpc::Status Answer(const absl::StatusOr<std::string>& id, pv1::WriteResponse* resp);
  Practice& practice_;
  Faults faults_;
  WriteFaults write_faults_;
};

}  // namespace vetline::pims_sim
