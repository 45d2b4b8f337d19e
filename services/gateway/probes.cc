#include "services/gateway/probes.h"

#include <mutex>

#include "libs/metrics/metrics.h"
#include "libs/rpc/rpc.h"
#include "nlohmann/json.hpp"
#include "services/gateway/openapi.h"

namespace vetline::gateway {

Probes::Probes(const RouteTable& routes, BackendCalls& backends,
               std::shared_ptr<prometheus::Registry> registry, Answer answer)
    : routes_(routes),
      backends_(backends),
      registry_(std::move(registry)),
      openapi_(OpenApiJson(routes)),
      answer_(std::move(answer)) {}

bool Probes::IsProbe(const std::string& label) {
  return label == "/healthz" || label == "/readyz" || label == "/metrics";
}

bool Probes::Claim(const ExchangePtr& x, const std::string& path) {
  if (x->req.method() != http::verb::get) return false;
  if (path == "/healthz") {
    x->route_label = path;
    answer_(x, JsonResponse(200, R"({"status":"ok"})"));
  } else if (path == "/readyz") {
    x->route_label = path;
    Ready(x);
  } else if (path == "/metrics") {
    x->route_label = path;
    Response res = JsonResponse(200, metrics::Serialize(*registry_));
    res.set(http::field::content_type, "text/plain; version=0.0.4");
    answer_(x, std::move(res));
  } else if (path == "/openapi.json") {
    x->route_label = path;
    answer_(x, JsonResponse(200, openapi_));
  } else {
    return false;
  }
  return true;
}

// Every backend is asked at once, off the io thread; the answer goes when the last one
// has replied or timed out (1 s).
void Probes::Ready(const ExchangePtr& x) {
  struct Readiness {
    std::mutex mu;
    nlohmann::json backends = nlohmann::json::object();
    bool ready = true;
    size_t pending = 0;
  };
  auto r = std::make_shared<Readiness>();
  std::vector<std::pair<std::string, std::shared_ptr<grpc::Channel>>> checks;
  for (const std::string& name : routes_.Backends()) {
    if (auto channel = backends_.Channel(name)) {
      checks.emplace_back(name, std::move(channel));
    } else {
      r->backends[name] = "not configured";
      r->ready = false;
    }
  }
  auto answer = [this, x](Readiness& r) {
    nlohmann::json body = {{"status", r.ready ? "ready" : "not ready"}, {"backends", r.backends}};
    answer_(x, JsonResponse(r.ready ? 200 : 503, body.dump()));
  };
  if (checks.empty()) return answer(*r);
  r->pending = checks.size();
  for (auto& [name, channel] : checks) {
    auto record = [r, name = name, answer](absl::StatusOr<bool> serving) {
      std::lock_guard<std::mutex> l(r->mu);
      std::string state = serving.ok() ? (*serving ? "serving" : "not serving") : "unreachable";
      r->backends[name] = state;
      r->ready &= state == "serving";
      if (--r->pending == 0) answer(*r);
    };
    rpc::CheckHealthAsync(channel, "", absl::Seconds(1), std::move(record));
  }
}

}  // namespace vetline::gateway
