// vetline-gateway: the HTTP gateway on its own (one Kubernetes deployment).
#include "libs/core/log.h"
#include "libs/metrics/metrics.h"
#include "libs/rpc/server.h"
#include "services/gateway/gateway_settings.h"

int main(int argc, char** argv) {
  using namespace vetline;
  log::Init("gateway");
  gateway::GatewaySettings settings;
  std::string redis, secret;
  ConfigParser p("vetline-gateway");
  settings.Register(p, /*with_backends=*/true);
  p.String("redis", &redis, "Redis host:port (rate limits, session revocations)", "127.0.0.1:6379");
  p.String("internal-secret", &secret, "secret shared with the services", "", /*required=*/true);
  if (absl::Status st = p.Parse(argc, argv); !st.ok()) {
    log::Error("bad configuration", {{"error", std::string(st.message())}});
    return 2;
  }
  auto options = settings.Options(redis, secret);
  if (!options.ok()) {
    log::Error("bad configuration", {{"error", std::string(options.status().message())}});
    return 2;
  }
  options->registry = std::make_shared<prometheus::Registry>();
  auto gw = gateway::Gateway::Start(std::move(*options));
  if (!gw.ok()) {
    log::Error("start failed", {{"error", gw.status().ToString()}});
    return 1;
  }
  rpc::WaitForShutdownSignal();
  gw->reset();
  log::Info("stopped");
  return 0;
}
