#include "services/clients/clients_component.h"

#include "libs/pg/migrations.h"
#include "services/clients/texting_repository.h"

namespace vetline::clients {
namespace {

struct Wiring {
  Wiring(const rpc::ServiceContext& ctx, ClientsOptions options, const Clock& clock)
      : signer(ctx.key()),
        links(ctx.key()),
        repo(ctx.pool()),
        service(repo, signer, links, clock, options),
        sync(repo, signer) {}
  auth::PrincipalSigner signer;
  auth::LinkSigner links;
  ClientsRepository repo;
  ClientsService service;
  ClientSyncService sync;
};

}  // namespace

absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env,
                                                           ClientsOptions options,
                                                           const Clock& clock) {
  return rpc::StartService(env, {
      .name = "clients",
      .migrations = pg::clients_migrations(),
      .wire = [&](rpc::ServiceContext& ctx) -> absl::StatusOr<rpc::ServiceParts> {
        auto w = std::make_shared<Wiring>(ctx, options, clock);
        rpc::ServiceParts parts{
            .state = w,
            .services = {{&w->service, v1::ClientsService::service_full_name()},
                         {&w->sync, v1::ClientSyncService::service_full_name()}},
            .outbox = &w->repo.events()};
        // STOP/START and carrier answers reach the profile from conversations' outbox.
        // Deployments always name the peer (Definition); a test stack without
        // conversations starts without following it.
        if (ctx.env().peers.count("conversations")) parts.consumers.push_back(FollowTexting());
        return parts;
      }});
}

rpc::ServiceDefinition Definition() {
  auto options = std::make_shared<ClientsOptions>();
  return {
      .name = "clients",
      .peers = {"conversations"},  // follows its texting events (STOP, landlines)
      .register_flags =
          [options](ConfigParser& p) {
            p.Duration("portal-link-ttl", &options->portal_link_ttl,
                       "how long a client-portal link stays valid", absl::Hours(72));
          },
      .start = [options](const rpc::ServiceEnv& env) { return Start(env, *options); },
  };
}

}  // namespace vetline::clients
