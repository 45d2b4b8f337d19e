#include "libs/core/validate.h"

#include <catch2/catch.hpp>

#include "libs/core/status.h"

using namespace vetline;

TEST_CASE("validate: emails are normalised or rejected with the field named", "[validate]") {
  CHECK(*validate::Email("email", "  Dr.Who@Clinic.Example ") == "dr.who@clinic.example");
  for (const char* bad : {"", "no-at", "@x.com", "a@b", "a@@b.com", "a b@c.com", "a@b..com",
                          "a@.com", "a@b.com."}) {
    auto r = validate::Email("email", bad);
    INFO(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(FieldOf(r.status()) == "email");
  }
}

TEST_CASE("validate: phone numbers become E.164", "[validate]") {
  CHECK(*validate::Phone("phone", "+1 (555) 123-4567") == "+15551234567");
  CHECK_FALSE(validate::Phone("phone", "5551234567").ok());  // no country code
  CHECK_FALSE(validate::Phone("phone", "+1555abc4567").ok());
  CHECK_FALSE(validate::Phone("phone", "+12").ok());
  CHECK_FALSE(validate::Phone("phone", "+0123456789").ok());
}

TEST_CASE("validate: names are trimmed, bounded and free of control characters",
          "[validate]") {
  CHECK(*validate::Name("name", "  Maple Vet ") == "Maple Vet");
  CHECK_FALSE(validate::Name("name", "   ").ok());
  CHECK_FALSE(validate::Name("name", "a\x01b").ok());
  CHECK_FALSE(validate::Name("name", std::string(201, 'x')).ok());
  CHECK(validate::Name("name", "Zoë Müller").ok());
  CHECK_FALSE(validate::Name("name", "bad \xC3").ok());
}

TEST_CASE("validate: UTF-8, time zones and ids", "[validate]") {
  CHECK(validate::IsUtf8("plain"));
  CHECK(validate::IsUtf8("\xE2\x82\xAC"));           // euro sign
  CHECK_FALSE(validate::IsUtf8("\xC0\xAF"));          // overlong
  CHECK_FALSE(validate::IsUtf8("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(validate::IsUtf8("\xE2\x82"));          // truncated
  CHECK(validate::TimeZone("timeZone", "America/Chicago").ok());
  CHECK(FieldOf(validate::TimeZone("timeZone", "Mars/Olympus")) == "timeZone");
  CHECK(validate::Id("id", "6f1c2a4e-8f3b-4d2a-9c1e-0a1b2c3d4e5f").ok());
  CHECK_FALSE(validate::Id("id", "6f1c2a4e").ok());
}
