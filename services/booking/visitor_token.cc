#include "services/booking/visitor_token.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/core/status.h"

namespace vetline::booking {
namespace {

constexpr char kPurpose[] = "booking-visitor";
constexpr char kField[] = "visitorToken";

}  // namespace

// Fields are joined by newlines: no id, phone or email address contains one.
std::string VisitorTokens::Issue(const Visitor& v, absl::Time now) const {
  return links_.Sign(kPurpose, absl::StrCat(v.clinic_id, "\n", v.client_id, "\n", v.contact), now + ttl_);
}

absl::StatusOr<Visitor> VisitorTokens::Verify(std::string_view token, absl::Time now) const {
  auto subject = links_.Verify(token, kPurpose, now);
  if (!subject.ok()) {
    const bool expired = absl::StrContains(subject.status().message(), "expired");
    return FieldError(absl::StatusCode::kUnauthenticated, kField,
                      expired ? "visitor token expired" : "visitor token invalid");
  }
  std::vector<std::string> parts = absl::StrSplit(*subject, '\n');
  if (parts.size() != 3 || parts[0].empty() || parts[2].empty()) {
    return FieldError(absl::StatusCode::kUnauthenticated, kField, "visitor token invalid");
  }
  return Visitor{std::move(parts[0]), std::move(parts[1]), std::move(parts[2])};
}

}  // namespace vetline::booking
