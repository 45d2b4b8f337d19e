#include "libs/auth/sealed_secrets.h"

#include <catch2/catch.hpp>

namespace vetline::auth {
namespace {

TEST_CASE("a sealed secret opens to itself and never shows it") {
  auto ring = SecretKeyring::FromConfig("k1:first-secrets-key-0123456789");
  REQUIRE(ring.ok());
  const std::string sealed = ring->Seal("sk_test_51Secret");
  CHECK(sealed.rfind("k1:", 0) == 0);
  CHECK(sealed.find("sk_test") == std::string::npos);
  CHECK(ring->Seal("sk_test_51Secret") != sealed);  // a fresh nonce each time
  auto opened = ring->Open(sealed);
  REQUIRE(opened.ok());
  CHECK(*opened == "sk_test_51Secret");
}

TEST_CASE("keys rotate without downtime: old secrets still open, new ones use the new key") {
  auto before = SecretKeyring::FromConfig("k1:first-secrets-key-0123456789");
  const std::string old_sealed = before->Seal("whsec_old");
  // The operator adds k2 in front; k1 stays until every secret is sealed again.
  auto during = SecretKeyring::FromConfig("k2:second-secrets-key-abcdefghij, k1:first-secrets-key-0123456789");
  REQUIRE(during.ok());
  CHECK(*during->Open(old_sealed) == "whsec_old");
  CHECK_FALSE(during->IsCurrent(old_sealed));
  const std::string resealed = during->Seal(*during->Open(old_sealed));
  CHECK(during->IsCurrent(resealed));
  auto after = SecretKeyring::FromConfig("k2:second-secrets-key-abcdefghij");
  CHECK(*after->Open(resealed) == "whsec_old");
  auto missing = after->Open(old_sealed);
  CHECK(missing.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(missing.status().message().find("k1") != std::string::npos);
}

TEST_CASE("an altered box, or one sealed under another key of the same name, does not open") {
  auto ring = SecretKeyring::FromConfig("k1:first-secrets-key-0123456789");
  std::string sealed = ring->Seal("sk_live_x");
  sealed[sealed.size() - 3] = sealed[sealed.size() - 3] == 'A' ? 'B' : 'A';
  CHECK(ring->Open(sealed).status().code() == absl::StatusCode::kDataLoss);
  auto other = SecretKeyring::FromConfig("k1:a-different-key-with-same-id");
  CHECK(other->Open(ring->Seal("sk_live_x")).status().code() == absl::StatusCode::kDataLoss);
  CHECK(ring->Open("garbage").status().code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("bad keyring configuration is refused without echoing a secret") {
  for (const char* spec : {"", "nocolon", "K1:first-secrets-key-0123456789", "k1:short",
                           "k1:first-secrets-key-0123456789,k1:second-secrets-key-abcdefghij"}) {
    auto ring = SecretKeyring::FromConfig(spec);
    CHECK(ring.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(ring.status().message().find("secrets-key") == std::string::npos);
  }
}

}  // namespace
}  // namespace vetline::auth
