// Which address a request comes from. Behind an ingress every socket peer is the
// ingress, so per-IP limits would share one bucket: `X-Forwarded-For` is believed, but
// only when the peer is a configured proxy, and then the right-most address that is not
// itself a trusted proxy is the client (addresses further left are the client's say-so).
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace vetline::gateway {

class TrustedProxies {
 public:
  // Addresses ("10.0.0.7", "::1") or CIDRs ("10.0.0.0/8", "fd00::/8"); InvalidArgument
  // naming the bad entry.
  static absl::StatusOr<TrustedProxies> Parse(const std::vector<std::string>& entries);
  TrustedProxies() = default;

  bool Contains(std::string_view address) const;
  // The client behind `peer`, given the request's X-Forwarded-For values in order.
  std::string ClientOf(const std::string& peer, const std::vector<std::string>& forwarded_for) const;

 private:
  struct Network {
    std::array<unsigned char, 16> bytes{};  // IPv4 as IPv4-mapped IPv6
    int prefix = 0;                         // of 128
  };
  std::vector<Network> networks_;
};

}  // namespace vetline::gateway
