#include "services/clients/clients_component.h"

#include "libs/core/status.h"
#include "libs/pg/migrations.h"
#include "libs/redis/redis.h"

namespace vetline::clients {
namespace {

class RunningClients final : public rpc::RunningService {
 public:
  RunningClients(std::shared_ptr<pg::Pool> pool, auth::Key key, ClientsOptions options,
                 const Clock& clock)
      : pool_(std::move(pool)),
        signer_(key),
        links_(key),
        repo_(pool_),
        service_(repo_, signer_, links_, clock, options),
        sync_(repo_, signer_) {}

  ~RunningClients() override {
    relay_.reset();
    if (server_) server_->Shutdown();
  }

  rpc::Server& server() override { return *server_; }

  std::shared_ptr<pg::Pool> pool_;
  auth::PrincipalSigner signer_;
  auth::LinkSigner links_;
  ClientsRepository repo_;
  ClientsService service_;
  ClientSyncService sync_;
  std::unique_ptr<rpc::Server> server_;
  std::unique_ptr<outbox::Relay> relay_;  // stopped before the repository goes
};

}  // namespace

absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env,
                                                           ClientsOptions options,
                                                           const Clock& clock) {
  VL_ASSIGN_OR_RETURN(auth::Key key, auth::Key::FromSecret(env.platform.internal_secret));
  VL_ASSIGN_OR_RETURN(auto pool, pg::Pool::Create({.conninfo = env.platform.pg_dsn,
                                                   .size = env.platform.pg_pool_size,
                                                   .name = "clients",
                                                   .registry = env.registry.get()}));
  auto running = std::make_unique<RunningClients>(pool, key, options, clock);
  VL_ASSIGN_OR_RETURN(
      running->server_,
      rpc::Server::Start({.name = "clients",
                          .address = env.grpc_address,
                          .registry = env.registry,
                          .health_services = {v1::ClientsService::service_full_name(),
                                              v1::ClientSyncService::service_full_name()}},
                         {&running->service_, &running->sync_}));
  VL_RETURN_IF_ERROR(rpc::RetryUntil(env.platform.migrate_timeout, "clients migrations", [&] {
    return pg::Migrate(*pool, "clients", pg::clients_migrations()).status();
  }));
  if (!env.platform.redis.empty()) {
    VL_ASSIGN_OR_RETURN(redis::Options ro, redis::ParseAddress(env.platform.redis));
    VL_ASSIGN_OR_RETURN(auto redis, redis::Pool::Create(ro));
    running->relay_ = std::make_unique<outbox::Relay>(pool, running->repo_.events(), redis);
  }
  running->server_->SetServing(true);
  return std::unique_ptr<rpc::RunningService>(std::move(running));
}

rpc::ServiceDefinition Definition() {
  auto options = std::make_shared<ClientsOptions>();
  return {
      .name = "clients",
      .default_port = 50052,
      .register_flags =
          [options](ConfigParser& p) {
            p.Duration("portal-link-ttl", &options->portal_link_ttl,
                       "how long a client-portal link stays valid", absl::Hours(72));
          },
      .start = [options](const rpc::ServiceEnv& env) { return Start(env, *options); },
  };
}

}  // namespace vetline::clients
