#include "libs/core/page_token.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"

namespace vetline {
namespace {

constexpr std::string_view kVersion = "v1";

uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

uint64_t Load64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// SipHash-2-4 (Aumasson & Bernstein): a keyed 64-bit PRF made for short messages.
uint64_t SipHash24(uint64_t k0, uint64_t k1, std::string_view msg) {
  uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1,
           v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
  auto round = [&] {
    v0 += v1; v1 = Rotl(v1, 13); v1 ^= v0; v0 = Rotl(v0, 32);
    v2 += v3; v3 = Rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = Rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = Rotl(v1, 17); v1 ^= v2; v2 = Rotl(v2, 32);
  };
  const auto* p = reinterpret_cast<const unsigned char*>(msg.data());
  size_t n = msg.size(), full = n & ~size_t{7};
  for (size_t i = 0; i < full; i += 8) {
    uint64_t m = Load64(p + i);
    v3 ^= m; round(); round(); v0 ^= m;
  }
  uint64_t last = static_cast<uint64_t>(n & 0xff) << 56;
  for (size_t i = 0; i < (n & 7); ++i) last |= static_cast<uint64_t>(p[full + i]) << (8 * i);
  v3 ^= last; round(); round(); v0 ^= last;
  v2 ^= 0xff;
  round(); round(); round(); round();
  return v0 ^ v1 ^ v2 ^ v3;
}

void PutLength(std::string& out, size_t n) {  // unsigned LEB128
  do {
    unsigned char b = n & 0x7f;
    n >>= 7;
    out.push_back(static_cast<char>(n ? b | 0x80 : b));
  } while (n);
}

bool GetLength(std::string_view& in, size_t& n) {
  n = 0;
  for (int shift = 0; shift < 21 && !in.empty(); shift += 7) {
    unsigned char b = in.front();
    in.remove_prefix(1);
    n |= static_cast<size_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

void Put64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

PageTokens::PageTokens(std::string_view secret) {
  // Two fixed keys turn the secret into this purpose's own 128-bit key.
  k0_ = SipHash24(0x7665746c696e6570ULL, 0x6167652d746f6b31ULL, secret);
  k1_ = SipHash24(0x6167652d746f6b32ULL, 0x7665746c696e6570ULL, secret);
}

uint64_t PageTokens::Mac(std::string_view list, std::string_view scope,
                         std::string_view body) const {
  std::string msg;
  PutLength(msg, list.size());
  msg.append(list);
  PutLength(msg, scope.size());
  msg.append(scope);
  msg.append(body);
  return SipHash24(k0_, k1_, msg);
}

std::string PageTokens::Encode(std::string_view list, std::string_view scope,
                               const std::vector<std::string>& cursor) const {
  std::string body(kVersion);
  for (const std::string& part : cursor) {
    PutLength(body, part.size());
    body.append(part);
  }
  Put64(body, Mac(list, scope, body));
  return absl::WebSafeBase64Escape(body);
}

absl::StatusOr<std::vector<std::string>> PageTokens::Decode(std::string_view field,
                                                            std::string_view token,
                                                            std::string_view list,
                                                            std::string_view scope,
                                                            size_t parts) const {
  auto bad = [&] {
    return InvalidField(field, absl::StrCat(std::string(field),
                                            " is not one this list returned; start again "
                                            "without it"));
  };
  std::string raw;
  if (token.size() > kMaxTokenChars || !absl::WebSafeBase64Unescape(absl::string_view(token.data(), token.size()), &raw) ||
      raw.size() < kVersion.size() + 8 || std::string_view(raw).substr(0, 2) != kVersion) {
    return bad();
  }
  std::string_view body = std::string_view(raw).substr(0, raw.size() - 8);
  std::string mac;
  Put64(mac, Mac(list, scope, body));
  // Compared in constant time: the MAC is what stops forged cursors.
  unsigned char diff = 0;
  for (size_t i = 0; i < 8; ++i) diff |= raw[body.size() + i] ^ mac[i];
  if (diff != 0) return bad();
  std::string_view in = body.substr(kVersion.size());
  std::vector<std::string> cursor;
  while (!in.empty()) {
    size_t n;
    if (!GetLength(in, n) || n > in.size()) return bad();
    cursor.emplace_back(in.substr(0, n));
    in.remove_prefix(n);
    if (!validate::IsUtf8(cursor.back())) return bad();
  }
  if (cursor.size() != parts) return bad();
  return cursor;
}

}  // namespace vetline
