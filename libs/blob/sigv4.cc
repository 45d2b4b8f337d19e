#include "libs/blob/sigv4.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace vetline::blob::sigv4 {
namespace {

constexpr char kAlgorithm[] = "AWS4-HMAC-SHA256";
constexpr char kService[] = "s3";
constexpr char kUnsignedPayload[] = "UNSIGNED-PAYLOAD";

using Digest = std::string;  // 32 raw bytes

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

Digest Hmac(absl::string_view key, absl::string_view message) {
  crypto_auth_hmacsha256_state state;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()),
                                message.size());
  crypto_auth_hmacsha256_final(&state, mac);
  return Digest(reinterpret_cast<const char*>(mac), sizeof mac);
}

std::string Timestamp(absl::Time t) { return absl::FormatTime("%Y%m%dT%H%M%SZ", t, absl::UTCTimeZone()); }

// "20260101/eu-west-1/s3/aws4_request"
std::string CredentialScope(absl::string_view day, absl::string_view region) {
  return absl::StrCat(day, "/", region, "/", kService, "/aws4_request");
}

// Header values trimmed, inner runs of spaces made one.
std::string TrimAll(absl::string_view v) {
  std::string out;
  bool space = false;
  for (char c : absl::StripAsciiWhitespace(v)) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

struct SignedHeaders {
  std::string canonical;  // "name:value\n" each, sorted
  std::string names;      // "host;x-amz-date"
};

SignedHeaders Canonicalise(const Request& r, const Pairs& extra) {
  Pairs all = {{"host", r.host}};
  for (const Pairs* list : {&r.headers, &extra}) {
    for (const auto& [name, value] : *list) all.emplace_back(absl::AsciiStrToLower(name), TrimAll(value));
  }
  std::sort(all.begin(), all.end());
  SignedHeaders out;
  std::vector<std::string> names;
  for (const auto& [name, value] : all) {
    absl::StrAppend(&out.canonical, name, ":", value, "\n");
    names.push_back(name);
  }
  out.names = absl::StrJoin(names, ";");
  return out;
}

// The signature over `canonical_request` at `stamp` ("20260101T000000Z").
std::string Sign(const std::string& canonical_request, const std::string& stamp,
                 const Credentials& creds, absl::string_view region) {
  const std::string day = stamp.substr(0, 8);
  const std::string to_sign = absl::StrJoin(
      {std::string(kAlgorithm), stamp, CredentialScope(day, region), Sha256Hex(canonical_request)}, "\n");
  Digest key = Hmac(absl::StrCat("AWS4", creds.secret_access_key), day);
  key = Hmac(key, region);
  key = Hmac(key, kService);
  key = Hmac(key, "aws4_request");
  const Digest sig = Hmac(key, to_sign);
  return Hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

}  // namespace

std::string UriEncode(absl::string_view s, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0xf]);
    }
  }
  return out;
}

std::string Sha256Hex(absl::string_view bytes) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return Hex(h, sizeof h);
}

absl::StatusOr<std::string> FileSha256Hex(const std::string& path, uint64_t offset, uint64_t length) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f || fseeko(f.get(), static_cast<off_t>(offset), SEEK_SET) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::string buffer(1 << 20, '\0');
  while (length > 0) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(length, buffer.size()));
    const size_t got = std::fread(buffer.data(), 1, want, f.get());
    if (got == 0) return absl::DataLossError(absl::StrCat(path, " is shorter than expected"));
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(buffer.data()), got);
    length -= got;
  }
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, h);
  return Hex(h, sizeof h);
}

std::string CanonicalQuery(const Pairs& query) {
  Pairs encoded;
  for (const auto& [name, value] : query) encoded.emplace_back(UriEncode(name, false), UriEncode(value, false));
  std::sort(encoded.begin(), encoded.end());
  return absl::StrJoin(encoded, "&", absl::PairFormatter("="));
}

Pairs SignHeaders(const Request& request, absl::string_view payload_sha256, const Credentials& creds,
                  absl::string_view region, absl::Time now) {
  const std::string stamp = Timestamp(now);
  Pairs added = {{"x-amz-content-sha256", std::string(payload_sha256)}, {"x-amz-date", stamp}};
  const SignedHeaders h = Canonicalise(request, added);
  const std::string canonical = absl::StrJoin(
      {request.method, request.path, CanonicalQuery(request.query), h.canonical, h.names,
       std::string(payload_sha256)},
      "\n");
  const std::string signature = Sign(canonical, stamp, creds, region);
  added.emplace_back("authorization",
                     absl::StrCat(kAlgorithm, " Credential=", creds.access_key_id, "/",
                                  CredentialScope(stamp.substr(0, 8), region),
                                  ", SignedHeaders=", h.names, ", Signature=", signature));
  return added;
}

std::string PresignQuery(const Request& request, const Credentials& creds, absl::string_view region,
                         absl::Time now, absl::Duration expires) {
  const std::string stamp = Timestamp(now);
  const SignedHeaders h = Canonicalise(request, {});
  const Pairs auth = {
      {"X-Amz-Algorithm", kAlgorithm},
      {"X-Amz-Credential",
       absl::StrCat(creds.access_key_id, "/", CredentialScope(stamp.substr(0, 8), region))},
      {"X-Amz-Date", stamp},
      {"X-Amz-Expires", absl::StrCat(absl::ToInt64Seconds(expires))},
      {"X-Amz-SignedHeaders", h.names}};
  Pairs all = request.query;
  all.insert(all.end(), auth.begin(), auth.end());
  const std::string canonical = absl::StrJoin(
      {request.method, request.path, CanonicalQuery(all), h.canonical, h.names, std::string(kUnsignedPayload)},
      "\n");
  // The request's own parameters first, then the X-Amz-* ones in their fixed order (as AWS's
  // SDKs write them); the canonical form above is what the signature covers.
  std::string query = request.query.empty() ? "" : CanonicalQuery(request.query) + "&";
  absl::StrAppend(&query, CanonicalQuery(auth), "&X-Amz-Signature=", Sign(canonical, stamp, creds, region));
  return query;
}

}  // namespace vetline::blob::sigv4
