#include "services/identity/identity_component.h"

#include "libs/core/status.h"
#include "libs/pg/migrations.h"

namespace vetline::identity {
namespace {

struct Wiring {
  Wiring(const rpc::ServiceContext& ctx, std::shared_ptr<grpc::Channel> clients_channel,
         IdentityOptions options, const Clock& clock)
      : signer(ctx.key()),
        repo(ctx.pool()),
        clients(std::move(clients_channel), signer),
        service(repo, signer, auth::LinkSigner(ctx.key()), clock, options, clients,
                PageTokens(ctx.env().platform.internal_secret)) {}
  auth::PrincipalSigner signer;
  IdentityRepository repo;
  refs::GrpcClientRefs clients;  // client ids that requests name (LinkProspect, portal links)
  IdentityService service;
};

}  // namespace

absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env,
                                                           IdentityOptions options,
                                                           const Clock& clock) {
  return rpc::StartService(env, {
      .name = "identity",
      .migrations = pg::identity_migrations(),
      .wire = [&](rpc::ServiceContext& ctx) -> absl::StatusOr<rpc::ServiceParts> {
        VL_ASSIGN_OR_RETURN(auto clients, ctx.Peer("clients"));
        auto w = std::make_shared<Wiring>(ctx, std::move(clients), options, clock);
        return rpc::ServiceParts{
            .state = w,
            .services = {{&w->service, v1::IdentityService::service_full_name()}}};
      }});
}

rpc::ServiceDefinition Definition() {
  auto options = std::make_shared<IdentityOptions>();
  return {
      .name = "identity",
      .peers = {"clients"},
      .register_flags =
          [options](ConfigParser& p) {
            p.Duration("session-ttl", &options->session_ttl, "how long a login session lasts",
                       absl::Hours(12));
          },
      .start = [options](const rpc::ServiceEnv& env) { return Start(env, *options); },
  };
}

}  // namespace vetline::identity
