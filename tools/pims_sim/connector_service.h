// The simulator's PimsConnector server, with fault injection for tests: drop a
// snapshot stream after N records, or answer slowly.
#pragma once

#include <atomic>

#include "tools/pims_sim/practice.h"
#include "vetline/pims/v1/connector.grpc.pb.h"

namespace vetline::pims_sim {

struct Faults {
  int64_t drop_after = 0;  // end each snapshot stream with UNAVAILABLE after this many records
  int slow_ms = 0;         // pause before every batch
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

  void set_faults(Faults f) { faults_ = f; }

 private:
  grpc::Status Write(pv1::Entity e, const pv1::WriteRequest* req, pv1::WriteResponse* resp);
  Practice& practice_;
  Faults faults_;
};

}  // namespace vetline::pims_sim
