// The simulator's PimsConnector server, with fault injection for tests: drop a
// snapshot stream after N records, answer slowly, hang a stream (keep it open
// without sending) after N records, or serve no schedule.
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

  // Between runs only: streams in flight read the faults unsynchronised.
  void set_faults(Faults f) { faults_ = f; }

 private:
  // Applies the hang fault once per stream, when `sent` records reached it.
  // INVALID_ARGUMENT or UNIMPLEMENTED for an entity this connector does not serve.
  grpc::Status Serves(pv1::Entity e) const;
  void MaybeHang(grpc::ServerContext* ctx, int64_t sent, bool& hung) const;
  grpc::Status Write(pv1::Entity e, const pv1::WriteRequest* req, pv1::WriteResponse* resp);
  Practice& practice_;
  Faults faults_;
};

}  // namespace vetline::pims_sim
