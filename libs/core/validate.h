// Edge validation shared by every service: each check names the field it rejects
// (InvalidArgument with the field payload, see status.h) so the gateway can report it.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace vetline::validate {

// Trimmed, non-empty, at most `max_chars` UTF-8 characters, no control characters.
absl::StatusOr<std::string> Name(std::string_view field, std::string_view value,
                                 size_t max_chars = 200);
// Lower-cased, trimmed address: one '@', a dotted domain, no spaces, at most 254 bytes.
absl::StatusOr<std::string> Email(std::string_view field, std::string_view value);
// E.164 (+ and 7..15 digits); spaces, dashes, dots and parentheses are removed first.
absl::StatusOr<std::string> Phone(std::string_view field, std::string_view value);
// An IANA time zone name known to the system's zoneinfo.
absl::Status TimeZone(std::string_view field, std::string_view value);
// A row id (uuid). Ids come from paths and bodies, so a bad one is the caller's error.
absl::Status Id(std::string_view field, std::string_view value);
// One page-size policy for every list: 0 (absent) means kDefaultPageSize; otherwise
// 1..kMaxPageSize, or a field error naming `field`.
inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 200;
absl::StatusOr<int> PageSize(std::string_view field, int value);
// Well-formed UTF-8.
bool IsUtf8(std::string_view value);

}  // namespace vetline::validate
