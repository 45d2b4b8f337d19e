// The PIMS sync's gRPC edge for staff: run reports and the clinic's connector.
#pragma once

#include "libs/auth/auth.h"
#include "services/pims_sync/sync_repository.h"
#include "vetline/pims_sync/v1/pims_sync.grpc.pb.h"

namespace vetline::pims_sync {

class PimsSyncService final : public sv1::PimsSyncService::Service {
 public:
  PimsSyncService(SyncRepository& repo, const auth::PrincipalSigner& signer)
      : repo_(repo), signer_(signer) {}
  grpc::Status ListRuns(grpc::ServerContext*, const sv1::ListRunsRequest*, sv1::ListRunsResponse*) override;
  grpc::Status GetRun(grpc::ServerContext*, const sv1::GetRunRequest*, sv1::Run*) override;
  grpc::Status GetConnector(grpc::ServerContext*, const sv1::GetConnectorRequest*, sv1::Connector*) override;
  grpc::Status SetConnector(grpc::ServerContext*, const sv1::SetConnectorRequest*, sv1::Connector*) override;

 private:
  SyncRepository& repo_;
  const auth::PrincipalSigner& signer_;
};

// Longest connector host name accepted (DNS names are at most 253 characters).
inline constexpr size_t kMaxHostChars = 253;

// Checks connector settings: a known kind, and a host:port address unless the kind is
// "none".
absl::Status ValidateConnector(const std::string& kind, const std::string& address);

}  // namespace vetline::pims_sync
