#include "services/gateway/trusted_proxies.h"

#include <boost/asio/ip/address.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace vetline::gateway {
namespace {

namespace ip = boost::asio::ip;

// An address as 16 bytes (IPv4 mapped), so one comparison serves both families.
bool Bytes(std::string_view text, std::array<unsigned char, 16>* out, bool* v4) {
  boost::system::error_code ec;
  ip::address a = ip::make_address(std::string(absl::StripAsciiWhitespace(std::string(text))), ec);
  if (ec) return false;
  *v4 = a.is_v4();
  *out = a.is_v4() ? ip::make_address_v6(ip::v4_mapped, a.to_v4()).to_bytes() : a.to_v6().to_bytes();
  return true;
}

}  // namespace

absl::StatusOr<TrustedProxies> TrustedProxies::Parse(const std::vector<std::string>& entries) {
  TrustedProxies t;
  for (const std::string& entry : entries) {
    std::vector<std::string> parts = absl::StrSplit(entry, absl::MaxSplits('/', 1));
    Network n;
    bool v4 = false;
    if (!Bytes(parts[0], &n.bytes, &v4)) {
      return absl::InvalidArgumentError("trusted-proxies: '" + entry + "' is not an address or CIDR");
    }
    int bits = v4 ? 32 : 128;
    if (parts.size() == 2 && (!absl::SimpleAtoi(parts[1], &bits) || bits < 0 || bits > (v4 ? 32 : 128))) {
      return absl::InvalidArgumentError("trusted-proxies: '" + entry + "' has a bad prefix length");
    }
    n.prefix = v4 ? bits + 96 : bits;
    t.networks_.push_back(n);
  }
  return t;
}

bool TrustedProxies::Contains(std::string_view address) const {
  std::array<unsigned char, 16> a;
  bool v4;
  if (networks_.empty() || !Bytes(address, &a, &v4)) return false;
  for (const Network& n : networks_) {
    int full = n.prefix / 8, rest = n.prefix % 8;
    bool match = std::equal(a.begin(), a.begin() + full, n.bytes.begin());
    if (match && rest) {
      unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
      match = (a[full] & mask) == (n.bytes[full] & mask);
    }
    if (match) return true;
  }
  return false;
}

std::string TrustedProxies::ClientOf(const std::string& peer,
                                     const std::vector<std::string>& forwarded_for) const {
  if (!Contains(peer)) return peer;
  std::vector<std::string> hops;
  for (const std::string& header : forwarded_for) {
    for (auto hop : absl::StrSplit(header, ',', absl::SkipWhitespace())) {
      hops.emplace_back(absl::StripAsciiWhitespace(hop));
    }
  }
  std::string client = peer;
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    boost::system::error_code ec;
    ip::address a = ip::make_address(*it, ec);
    if (ec) break;  // not an address: believe nothing further left
    client = a.to_string();
    if (!Contains(*it)) break;
  }
  return client;
}

}  // namespace vetline::gateway
