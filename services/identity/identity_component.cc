#include "services/identity/identity_component.h"

#include "libs/core/status.h"
#include "libs/pg/migrations.h"
#include "libs/rpc/rpc.h"

namespace vetline::identity {
namespace {

class RunningIdentity final : public rpc::RunningService {
 public:
  RunningIdentity(std::shared_ptr<pg::Pool> pool, auth::PrincipalSigner signer,
                  IdentityOptions options, const Clock& clock, PageTokens page_tokens)
      : pool_(std::move(pool)),
        signer_(signer),
        repo_(pool_),
        clients_(rpc::Dial(options.clients_address), signer_),
        service_(repo_, signer_, clock, options, clients_, std::move(page_tokens)) {}
  ~RunningIdentity() override {
    if (server_) server_->Shutdown();
  }
  rpc::Server& server() override { return *server_; }

  std::shared_ptr<pg::Pool> pool_;
  auth::PrincipalSigner signer_;
  IdentityRepository repo_;
  refs::GrpcClientRefs clients_;
  IdentityService service_;
  std::unique_ptr<rpc::Server> server_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env,
                                                           IdentityOptions options,
                                                           const Clock& clock) {
  VL_ASSIGN_OR_RETURN(auth::Key key, auth::Key::FromSecret(env.platform.internal_secret));
  VL_ASSIGN_OR_RETURN(auto pool, pg::Pool::Create({.conninfo = env.platform.pg_dsn,
                                                   .size = env.platform.pg_pool_size,
                                                   .name = "identity",
                                                   .registry = env.registry.get()}));
  auto running = std::make_unique<RunningIdentity>(pool, auth::PrincipalSigner(key), options,
                                                   clock, PageTokens(env.platform.internal_secret));
  VL_ASSIGN_OR_RETURN(running->server_,
                      rpc::Server::Start({.name = "identity",
                                          .address = env.grpc_address,
                                          .registry = env.registry,
                                          .health_services = {
                                              v1::IdentityService::service_full_name()}},
                                         {&running->service_}));
  VL_RETURN_IF_ERROR(rpc::RetryUntil(env.platform.migrate_timeout, "identity migrations", [&] {
    return pg::Migrate(*pool, "identity", pg::identity_migrations()).status();
  }));
  running->server_->SetServing(true);
  return std::unique_ptr<rpc::RunningService>(std::move(running));
}

rpc::ServiceDefinition Definition() {
  auto options = std::make_shared<IdentityOptions>();
  return {
      .name = "identity",
      .default_port = 50051,
      .register_flags =
          [options](ConfigParser& p) {
            p.Duration("session-ttl", &options->session_ttl, "how long a login session lasts",
                       absl::Hours(12));
            p.String("clients-address", &options->clients_address,
                     "the clients service (checks client ids)", "127.0.0.1:50052");
          },
      .start = [options](const rpc::ServiceEnv& env) { return Start(env, *options); },
  };
}

}  // namespace vetline::identity
