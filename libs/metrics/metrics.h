// Prometheus plumbing. Modules declare their metrics in one struct built from a
// registry that is passed in (no globals); a process has one registry and one exposer.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace prometheus { class Exposer; }

namespace vetline::metrics {

// Latency buckets in seconds, 100 µs .. 10 s.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

// Text exposition format of everything in `registry`.
std::string Serialize(const prometheus::Registry& registry);

// Serves `registry` at http://ADDRESS/metrics (ADDRESS "host:port"; port 0 picks one).
class Exposer {
 public:
  static absl::StatusOr<std::unique_ptr<Exposer>> Start(
      const std::string& address, std::shared_ptr<prometheus::Registry> registry);
  ~Exposer();
  int port() const;

 private:
  explicit Exposer(std::unique_ptr<prometheus::Exposer> e);
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace vetline::metrics
