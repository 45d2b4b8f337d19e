#include "libs/auth/auth.h"

#include <catch2/catch.hpp>

#include "libs/core/status.h"

using namespace vetline;

TEST_CASE("auth: argon2id hashes verify only the right password", "[auth]") {
  auto hash = auth::HashPassword("correct horse battery");
  REQUIRE(hash.ok());
  CHECK(hash->rfind("$argon2id$", 0) == 0);
  CHECK(auth::VerifyPassword(*hash, "correct horse battery"));
  CHECK_FALSE(auth::VerifyPassword(*hash, "correct horse batterY"));
  CHECK_FALSE(auth::VerifyPassword("garbage", "correct horse battery"));
  // Same password, different salt.
  CHECK(*auth::HashPassword("correct horse battery") != *hash);
}

TEST_CASE("auth: password policy names the field", "[auth]") {
  auto st = auth::CheckPasswordPolicy("short", "newPassword");
  CHECK(st.code() == absl::StatusCode::kInvalidArgument);
  CHECK(FieldOf(st) == "newPassword");
  CHECK(auth::CheckPasswordPolicy("long enough pw").ok());
}

TEST_CASE("auth: session tokens are random and stored only as hashes", "[auth]") {
  std::string a = auth::NewSessionToken(), b = auth::NewSessionToken();
  CHECK(a != b);
  CHECK(a.rfind("vls_", 0) == 0);
  CHECK(auth::TokenHash(a).size() == 64);
  CHECK(auth::TokenHash(a) == auth::TokenHash(a));
  CHECK(auth::TokenHash(a) != auth::TokenHash(b));
}

TEST_CASE("auth: signed links bind purpose, subject and expiry", "[auth]") {
  auto key = auth::Key::FromSecret("a secret of enough length");
  REQUIRE(key.ok());
  auth::LinkSigner links(*key);
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  std::string link = links.Sign("portal", "client-1|x", now + absl::Hours(1));
  CHECK(*links.Verify(link, "portal", now) == "client-1|x");
  CHECK(links.Verify(link, "video-join", now).status().message() == "link invalid");
  CHECK(links.Verify(link, "portal", now + absl::Hours(2)).status().message() == "link expired");
  std::string tampered = link;
  tampered[3] = tampered[3] == 'A' ? 'B' : 'A';
  CHECK_FALSE(links.Verify(tampered, "portal", now).ok());
  auth::LinkSigner other(*auth::Key::FromSecret("another secret, same length"));
  CHECK_FALSE(other.Verify(link, "portal", now).ok());
  CHECK_FALSE(auth::Key::FromSecret("short").ok());
}

TEST_CASE("auth: principal signatures reject forgery and expiry", "[auth]") {
  auth::PrincipalSigner signer(*auth::Key::FromSecret("internal key for tests"));
  api::Principal p;
  p.set_kind(api::Principal::STAFF);
  p.set_clinic_id("c1");
  p.set_user_id("u1");
  p.set_expires_unix(2000);
  auto [bytes, mac] = signer.Sign(p);
  auto ok = signer.Verify(bytes, mac, absl::FromUnixSeconds(1000));
  REQUIRE(ok.ok());
  CHECK(ok->clinic_id() == "c1");
  CHECK(signer.Verify(bytes, mac, absl::FromUnixSeconds(2000)).status().code() ==
        absl::StatusCode::kUnauthenticated);
  p.set_clinic_id("c2");  // a forged principal keeps the old MAC
  CHECK(signer.Verify(p.SerializeAsString(), mac, absl::FromUnixSeconds(1000)).status().code() ==
        absl::StatusCode::kUnauthenticated);
}
