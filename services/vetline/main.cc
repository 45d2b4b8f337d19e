// vetline: the all-in-one binary.
//
//   vetline serve --services=all|identity,gateway,...   services (+ gateway) in one process
//   vetline seed-demo --internal-secret=...              demo clinics and .vetline/demo.json
//   vetline pims-sync run --clinic=ID|--all [--full]     a PIMS sync run (the nightly CronJob)
//
// In one process every service still listens on its own gRPC port and services talk
// only through gRPC, so the same code runs as one deployment per service on Kubernetes.
#include <set>

#include "absl/strings/str_split.h"
#include "libs/core/log.h"
#include "libs/metrics/metrics.h"
#include "services/vetline/catalog.h"
#include "services/pims_sync/pims_sync_component.h"
#include "services/vetline/seed_demo.h"
#include "services/gateway/gateway_settings.h"

namespace vetline::cli {
namespace {

int Serve(int argc, char** argv) {
  log::Init("vetline");
  rpc::PlatformSettings platform;
  std::string services_flag;
  int base_port;
  ConfigParser p("vetline serve");
  platform.Register(p);
  p.String("services", &services_flag, "comma-separated services to run, or all", "all");
  p.Int("grpc-base-port", &base_port, "services listen on gRPC ports from this one up", rpc::kFirstServicePort, 1, 65000);
  auto definitions = AllServices();
  for (auto& d : definitions) {
    if (d.register_flags) d.register_flags(p);
  }
  gateway::GatewaySettings gateway_settings;
  gateway_settings.Register(p, /*with_backends=*/false);
  if (absl::Status st = p.Parse(argc, argv, 2); !st.ok()) {
    log::Error("bad configuration", {{"error", std::string(st.message())}});
    return 2;
  }
  std::set<std::string> wanted;
  for (auto s : absl::StrSplit(services_flag, ',', absl::SkipEmpty())) wanted.emplace(s);
  bool all = wanted.count("all") > 0;
  std::set<std::string> known = {"gateway"};
  for (auto& d : definitions) known.insert(d.name);
  for (const std::string& w : wanted) {
    if (w != "all" && !known.count(w)) {
      log::Error("bad configuration", {{"error", "unknown service '" + w + "' in --services"}});
      return 2;
    }
  }

  auto registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<metrics::Exposer> exposer;
  if (!platform.metrics_address.empty()) {
    auto e = metrics::Exposer::Start(platform.metrics_address, registry);
    if (!e.ok()) {
      log::Error("metrics", {{"error", e.status().ToString()}});
      return 1;
    }
    exposer = std::move(*e);
  }
  auto addresses = ServiceAddresses(base_port);
  std::vector<std::unique_ptr<rpc::RunningService>> running;
  for (auto& d : definitions) {
    if (!all && !wanted.count(d.name)) continue;
    rpc::ServiceEnv env{platform, addresses[d.name], registry, addresses};
    auto r = d.start(env);
    if (!r.ok()) {
      log::Error("start failed", {{"service", d.name}, {"error", r.status().ToString()}});
      return 1;
    }
    running.push_back(std::move(*r));
  }
  std::unique_ptr<gateway::Gateway> gw;
  if (all || wanted.count("gateway")) {
    // In one process the gateway reaches every service at its local address.
    auto options = gateway_settings.Options(platform.redis, platform.internal_secret, addresses);
    if (!options.ok()) {
      log::Error("bad configuration", {{"error", std::string(options.status().message())}});
      return 2;
    }
    options->registry = registry;
    auto g = gateway::Gateway::Start(std::move(*options));
    if (!g.ok()) {
      log::Error("start failed", {{"service", "gateway"}, {"error", g.status().ToString()}});
      return 1;
    }
    gw = std::move(*g);
  }
  log::Info("vetline ready", {{"services", services_flag}});
  rpc::WaitForShutdownSignal();
  gw.reset();  // stop taking HTTP requests first, then drain the services
  while (!running.empty()) running.pop_back();
  log::Info("stopped");
  return 0;
}

int Usage() {
  std::fprintf(stderr,
               "usage: vetline serve [--services=all|name,...] [flags]\n"
               "       vetline seed-demo --internal-secret=... [--out=.vetline/demo.json]\n"
               "       vetline pims-sync run (--clinic=ID | --all) [--full]\n"
               "Run `vetline serve --help` for the flags; each flag also reads VETLINE_<NAME>.\n");
  return 2;
}

}  // namespace
}  // namespace vetline::cli

int main(int argc, char** argv) {
  if (argc < 2) return vetline::cli::Usage();
  std::string cmd = argv[1];
  if (cmd == "serve") return vetline::cli::Serve(argc, argv);
  if (cmd == "seed-demo") return vetline::cli::SeedDemo(argc, argv);
  if (cmd == "pims-sync") return vetline::pims_sync::RunCommand(argc, argv);
  return vetline::cli::Usage();
}
