// What a staff member typed in the one search box, classified: a name (of a client or
// pet), a phone number, an email address or a PIMS id. Pure logic.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace vetline::clients {

struct SearchQuery {
  std::string text;    // trimmed, lower-cased: names, pet names, PIMS ids
  std::string raw;     // trimmed as typed: PIMS ids are matched exactly
  std::string digits;  // the digits when the query looks like a phone number (>= 3)
  std::string email;   // when the query looks like an email address
  bool names = true;   // worth matching against client and pet names (not an email or number)
};

// InvalidArgument naming "query" when empty, too long or not UTF-8.
absl::StatusOr<SearchQuery> ParseSearchQuery(std::string_view input);

}  // namespace vetline::clients
