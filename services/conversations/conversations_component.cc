#include "services/conversations/conversations_component.h"

#include "libs/core/status.h"
#include "libs/pg/migrations.h"
#include "services/conversations/realtime.h"

namespace vetline::conversations {
namespace {

// Everything the service's parts share; built once per start.
struct Wiring {
  explicit Wiring(const rpc::ServiceContext& ctx, ConversationsOptions options)
      : options(std::move(options)) {
    (void)ctx;
  }
  ConversationsOptions options;
  std::unique_ptr<Realtime> realtime;  // realtime->announcer() after each commit
};

}  // namespace

absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env,
                                                           ConversationsOptions options) {
  return rpc::StartService(env, {
      .name = "conversations",
      .migrations = pg::conversations_migrations(),
      .wire = [&](rpc::ServiceContext& ctx) -> absl::StatusOr<rpc::ServiceParts> {
        auto w = std::make_shared<Wiring>(ctx, options);
        VL_ASSIGN_OR_RETURN(w->realtime, Realtime::Start(ctx));
        return rpc::ServiceParts{.state = w, .services = {w->realtime->served()}};
      }});
}

rpc::ServiceDefinition Definition() {
  auto options = std::make_shared<ConversationsOptions>();
  return {
      .name = "conversations",
      .peers = {"clients", "identity", "media"},
      .register_flags =
          [options](ConfigParser& p) {
            p.String("public-url", &options->public_url,
                     "base of the links messages carry (portal, downloads)",
                     "http://127.0.0.1:8080");
          },
      .start = [options](const rpc::ServiceEnv& env) { return Start(env, *options); },
  };
}

}  // namespace vetline::conversations
