#include "libs/metrics/metrics.h"

#include <sstream>

#include "prometheus/exposer.h"
#include "prometheus/text_serializer.h"

namespace vetline::metrics {

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10};
  return kBuckets;
}

std::string Serialize(const prometheus::Registry& registry) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry.Collect());
  return out.str();
}

Exposer::Exposer(std::unique_ptr<prometheus::Exposer> e) : exposer_(std::move(e)) {}
Exposer::~Exposer() = default;

absl::StatusOr<std::unique_ptr<Exposer>> Exposer::Start(
    const std::string& address, std::shared_ptr<prometheus::Registry> registry) {
  try {
    auto e = std::make_unique<prometheus::Exposer>(address);
    e->RegisterCollectable(registry);
    return std::unique_ptr<Exposer>(new Exposer(std::move(e)));
  } catch (const std::exception& ex) {
    return absl::UnavailableError("cannot serve metrics on " + address + ": " + ex.what());
  }
}

int Exposer::port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace vetline::metrics
