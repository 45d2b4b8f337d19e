#include "services/booking/visitor_token.h"

#include <catch2/catch.hpp>

#include "libs/core/status.h"

namespace vetline::booking {
namespace {

auth::LinkSigner Links(std::string_view secret = "booking-test-secret-0123456789") {
  return auth::LinkSigner(*auth::Key::FromSecret(secret));
}

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

TEST_CASE("a visitor token gives back the clinic, client and contact it was issued for") {
  VisitorTokens tokens(Links(), absl::Minutes(30));
  auto v = tokens.Verify(tokens.Issue({"clinic-1", "client-7", "+15551234567"}, kNow), kNow + absl::Minutes(29));
  REQUIRE(v.ok());
  CHECK(v->clinic_id == "clinic-1");
  CHECK(v->client_id == "client-7");
  CHECK(v->contact == "+15551234567");

  auto newcomer = tokens.Verify(tokens.Issue({"clinic-1", "", "ann@example.com"}, kNow), kNow);
  REQUIRE(newcomer.ok());
  CHECK(newcomer->client_id.empty());
  CHECK(newcomer->contact == "ann@example.com");
}

TEST_CASE("an expired, altered, foreign or other-purpose visitor token is refused, naming visitorToken") {
  VisitorTokens tokens(Links(), absl::Minutes(30));
  const std::string token = tokens.Issue({"clinic-1", "client-7", "+15551234567"}, kNow);

  auto expired = tokens.Verify(token, kNow + absl::Minutes(30));
  REQUIRE(expired.status().code() == absl::StatusCode::kUnauthenticated);
  CHECK(FieldOf(expired.status()) == "visitorToken");
  CHECK(expired.status().message() == "visitor token expired");

  std::string altered = token;
  altered[3] = altered[3] == 'A' ? 'B' : 'A';
  CHECK(tokens.Verify(altered, kNow).status().message() == "visitor token invalid");

  VisitorTokens other_key(Links("another-secret-0123456789abcdef"), absl::Minutes(30));
  CHECK(other_key.Verify(token, kNow).status().code() == absl::StatusCode::kUnauthenticated);

  // A client-portal link signed with the same key is not a visitor token.
  const std::string portal = Links().Sign("portal", "clinic-1\nclient-7\n+15551234567", kNow + absl::Hours(1));
  CHECK(tokens.Verify(portal, kNow).status().message() == "visitor token invalid");
}

}  // namespace
}  // namespace vetline::booking
