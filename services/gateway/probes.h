// The gateway's own endpoints for operators and tools: /healthz (the process runs),
// /readyz (every backend answers its health check), /metrics (Prometheus) and
// /openapi.json (generated from the route table).
#pragma once

#include <memory>
#include <string>

#include "prometheus/registry.h"
#include "services/gateway/backend_calls.h"
#include "services/gateway/exchange.h"
#include "services/gateway/route_table.h"

namespace vetline::gateway {

class Probes final : public Endpoint {
 public:
  Probes(const RouteTable& routes, BackendCalls& backends,
         std::shared_ptr<prometheus::Registry> registry, Answer answer);
  bool Claim(const ExchangePtr& x, const std::string& path) override;
  static bool IsProbe(const std::string& route_label);  // kept out of the info log

 private:
  void Ready(const ExchangePtr& x);

  const RouteTable& routes_;
  BackendCalls& backends_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::string openapi_;
  Answer answer_;
};

}  // namespace vetline::gateway
