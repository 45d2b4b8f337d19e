// Opaque page tokens for keyset pagination, the one format every list uses.
//
// A token is base64url("v1" + length-prefixed cursor values + 8-byte MAC). The MAC
// (SipHash-2-4 keyed from the deployment's internal secret) covers the list name and the
// scope (the caller's clinic), so a garbled, forged or re-used token (another list,
// another clinic) is refused as a field error, and nothing from a token reaches SQL
// unless this deployment wrote it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace vetline {

class PageTokens {
 public:
  // Longest token accepted; real ones are far shorter.
  static constexpr size_t kMaxTokenChars = 1024;

  // `secret` is the deployment's internal secret, so every replica reads every token.
  explicit PageTokens(std::string_view secret);

  // The token that continues `list` of `scope` after `cursor` (the last row's sort key).
  std::string Encode(std::string_view list, std::string_view scope,
                     const std::vector<std::string>& cursor) const;
  // The cursor inside `token`, which must have been written by Encode for the same list
  // and scope with `parts` values (each valid UTF-8); otherwise InvalidArgument naming
  // `field` ("pageToken").
  absl::StatusOr<std::vector<std::string>> Decode(std::string_view field, std::string_view token,
                                                  std::string_view list, std::string_view scope,
                                                  size_t parts) const;

 private:
  uint64_t Mac(std::string_view list, std::string_view scope, std::string_view body) const;
  uint64_t k0_, k1_;
};

}  // namespace vetline
