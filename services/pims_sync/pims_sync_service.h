// The PIMS sync's gRPC edge for staff: run reports, the clinic's connector, and the
// writes to its PIMS (write-back) with a retry for failed ones.
#pragma once

#include <functional>

#include "libs/auth/auth.h"
#include "services/pims_sync/sync_repository.h"
#include "services/pims_sync/writeback_repository.h"
#include "vetline/pims_sync/v1/pims_sync.grpc.pb.h"

namespace vetline::pims_sync {

class PimsSyncService final : public sv1::PimsSyncService::Service {
 public:
  // `wake`: called after a retry queued a write (cuts the write-back worker's pause short).
  PimsSyncService(SyncRepository& repo, WritebackRepository& writebacks, const auth::PrincipalSigner& signer,
                  std::function<void()> wake = {})
      : repo_(repo), writebacks_(writebacks), signer_(signer), wake_(std::move(wake)) {}
  grpc::Status ListRuns(grpc::ServerContext*, const sv1::ListRunsRequest*, sv1::ListRunsResponse*) override;
  grpc::Status GetRun(grpc::ServerContext*, const sv1::GetRunRequest*, sv1::Run*) override;
  grpc::Status GetConnector(grpc::ServerContext*, const sv1::GetConnectorRequest*, sv1::Connector*) override;
  grpc::Status SetConnector(grpc::ServerContext*, const sv1::SetConnectorRequest*, sv1::Connector*) override;
  grpc::Status ListWritebacks(grpc::ServerContext*, const sv1::ListWritebacksRequest*,
                              sv1::ListWritebacksResponse*) override;
  grpc::Status RetryWriteback(grpc::ServerContext*, const sv1::RetryWritebackRequest*, sv1::Writeback*) override;

 private:
  SyncRepository& repo_;
  WritebackRepository& writebacks_;
  const auth::PrincipalSigner& signer_;
  std::function<void()> wake_;
};

// Longest connector host name accepted (DNS names are at most 253 characters).
inline constexpr size_t kMaxHostChars = 253;

// Checks connector settings: a known kind, and a host:port address unless the kind is
// "none".
absl::Status ValidateConnector(const std::string& kind, const std::string& address);

}  // namespace vetline::pims_sync
