// The clients service's gRPC edges: the staff API (ClientsService) and the bulk API the
// PIMS sync writes through (ClientSyncService). Callers, input and status codes are
// checked here; SQL lives in the repository.
#pragma once

#include "libs/auth/auth.h"
#include "libs/core/clock.h"
#include "services/clients/clients_repository.h"
#include "vetline/clients/v1/clients.grpc.pb.h"
#include "vetline/clients/v1/sync.grpc.pb.h"

namespace vetline::clients {

struct ClientsOptions {
  absl::Duration portal_link_ttl = absl::Hours(72);
};

class ClientsService final : public v1::ClientsService::Service {
 public:
  ClientsService(ClientsRepository& repo, const auth::PrincipalSigner& signer,
                 const auth::LinkSigner& links, const Clock& clock, ClientsOptions options)
      : repo_(repo), signer_(signer), links_(links), clock_(clock), options_(options) {}

  grpc::Status SearchClients(grpc::ServerContext*, const v1::SearchClientsRequest*,
                             v1::SearchClientsResponse*) override;
  grpc::Status CreateClient(grpc::ServerContext*, const v1::CreateClientRequest*, v1::Client*) override;
  grpc::Status GetClient(grpc::ServerContext*, const v1::GetClientRequest*, v1::Client*) override;
  grpc::Status BatchGetClients(grpc::ServerContext*, const v1::BatchGetClientsRequest*,
                               v1::BatchGetClientsResponse*) override;
  grpc::Status UpdateClient(grpc::ServerContext*, const v1::UpdateClientRequest*, v1::Client*) override;
  grpc::Status AddPhone(grpc::ServerContext*, const v1::AddPhoneRequest*, v1::Client*) override;
  grpc::Status UpdatePhone(grpc::ServerContext*, const v1::UpdatePhoneRequest*, v1::Client*) override;
  grpc::Status SetPrimaryPhone(grpc::ServerContext*, const v1::SetPrimaryPhoneRequest*,
                               v1::Client*) override;
  grpc::Status RemovePhone(grpc::ServerContext*, const v1::RemovePhoneRequest*, v1::Client*) override;
  grpc::Status AddEmail(grpc::ServerContext*, const v1::AddEmailRequest*, v1::Client*) override;
  grpc::Status AddPet(grpc::ServerContext*, const v1::AddPetRequest*, v1::Pet*) override;
  grpc::Status UpdateContactOptions(grpc::ServerContext*, const v1::UpdateContactOptionsRequest*,
                                    v1::Client*) override;
  grpc::Status MergeClients(grpc::ServerContext*, const v1::MergeClientsRequest*, v1::Client*) override;
  grpc::Status SendPortalLink(grpc::ServerContext*, const v1::SendPortalLinkRequest*,
                              v1::SendPortalLinkResponse*) override;

 private:
  ClientsRepository& repo_;
  const auth::PrincipalSigner& signer_;
  const auth::LinkSigner& links_;
  const Clock& clock_;
  ClientsOptions options_;
};

class ClientSyncService final : public v1::ClientSyncService::Service {
 public:
  ClientSyncService(ClientsRepository& repo, const auth::PrincipalSigner& signer)
      : repo_(repo), signer_(signer) {}
  grpc::Status Upsert(grpc::ServerContext*, grpc::ServerReader<v1::UpsertBatch>*,
                      v1::UpsertSummary*) override;
  grpc::Status ResolvePimsIds(grpc::ServerContext*, const v1::ResolvePimsIdsRequest*,
                              v1::ResolvePimsIdsResponse*) override;
  grpc::Status GetForPims(grpc::ServerContext*, const v1::GetForPimsRequest*, v1::ClientForPims*) override;
  grpc::Status RecordPimsIds(grpc::ServerContext*, const v1::RecordPimsIdsRequest*,
                             v1::RecordPimsIdsResponse*) override;

 private:
  // A service principal, acting for `clinic_id` if it is scoped to a clinic.
  absl::Status RequireServiceFor(grpc::ServerContext& ctx, const std::string& clinic_id) const;

  ClientsRepository& repo_;
  const auth::PrincipalSigner& signer_;
};

}  // namespace vetline::clients
