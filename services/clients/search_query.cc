#include "services/clients/search_query.h"

#include "absl/strings/ascii.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"

namespace vetline::clients {

absl::StatusOr<SearchQuery> ParseSearchQuery(std::string_view input) {
  std::string trimmed(absl::StripAsciiWhitespace(std::string(input)));
  if (trimmed.empty()) return InvalidField("query", "type a name, pet, phone, email or PIMS id");
  if (trimmed.size() > 100) return InvalidField("query", "query is longer than 100 characters");
  if (!validate::IsUtf8(trimmed)) return InvalidField("query", "query is not valid UTF-8");
  for (unsigned char c : trimmed) {
    if (c < 0x20 || c == 0x7F) return InvalidField("query", "query contains control characters");
  }
  SearchQuery q;
  q.raw = trimmed;
  q.text = absl::AsciiStrToLower(trimmed);
  if (q.text.find('@') != std::string::npos) q.email = q.text;
  // Phone-like: only digits and the punctuation people type in numbers.
  bool phone_like = true;
  for (char c : trimmed) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      q.digits.push_back(c);
    } else if (c != '+' && c != '-' && c != ' ' && c != '(' && c != ')' && c != '.') {
      phone_like = false;
    }
  }
  if (!phone_like || q.digits.size() < 3) q.digits.clear();
  q.names = q.email.empty() && !phone_like;
  return q;
}

}  // namespace vetline::clients
