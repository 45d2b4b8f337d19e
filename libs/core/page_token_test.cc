// Page tokens and enum checks: the edge helpers every list and every enum field use.
#include "libs/core/page_token.h"

#include <google/protobuf/descriptor.pb.h>

#include <catch2/catch.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "libs/core/status.h"
#include "libs/core/validate_enum.h"

using namespace vetline;

namespace {
constexpr char kSecret[] = "page-token-test-secret-0123";
constexpr char kClinic[] = "11111111-1111-4111-8111-111111111111";
}  // namespace

TEST_CASE("page tokens round-trip a cursor for the same list and clinic", "[page_token]") {
  PageTokens tokens(kSecret);
  std::string t = tokens.Encode("identity.staff", kClinic, {"zoe@maple.example", ""});
  auto cursor = tokens.Decode("pageToken", t, "identity.staff", kClinic, 2);
  REQUIRE(cursor.ok());
  CHECK(*cursor == std::vector<std::string>{"zoe@maple.example", ""});
  // Another replica with the same secret reads it.
  CHECK(PageTokens(kSecret).Decode("pageToken", t, "identity.staff", kClinic, 2).ok());
}

TEST_CASE("page tokens refuse garbled, forged and re-used tokens as a pageToken error",
          "[page_token]") {
  PageTokens tokens(kSecret);
  std::string good = tokens.Encode("identity.staff", kClinic, {"a@maple.example"});
  std::string raw;
  REQUIRE(absl::WebSafeBase64Unescape(good, &raw));
  std::string flipped = raw;
  flipped[3] ^= 0x01;
  std::string forged = "v1";
  forged += static_cast<char>(1);
  forged += "\xfb";
  forged += std::string(8, '\0');
  const std::vector<std::string> bad = {
      "-5",  // the reported one (not base64 of ours)
      "",    // decodes to nothing
      "not base64 at all!",
      absl::WebSafeBase64Escape(flipped),  // one bit changed
      absl::WebSafeBase64Escape(forged),   // hand-made, invalid UTF-8 inside
      good.substr(0, good.size() - 2),     // truncated
      std::string(PageTokens::kMaxTokenChars + 4, 'A'),
      PageTokens("another-deployment-secret").Encode("identity.staff", kClinic, {"a@x.example"}),
      tokens.Encode("identity.teams", kClinic, {"a@maple.example"}),  // another list
      tokens.Encode("identity.staff", "22222222-2222-4222-8222-222222222222",
                    {"a@maple.example"}),                    // another clinic
      tokens.Encode("identity.staff", kClinic, {"a", "b"}),  // wrong shape
  };
  for (const std::string& t : bad) {
    auto r = tokens.Decode("pageToken", t, "identity.staff", kClinic, 1);
    INFO(t);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(FieldOf(r.status()) == "pageToken");
  }
}

TEST_CASE("enum checks accept only defined, specified values", "[validate]") {
  using google::protobuf::FieldDescriptorProto;
  CHECK(validate::Enum("type", FieldDescriptorProto::TYPE_STRING).ok());
  for (int v : {0, -1, 999, 19}) {
    absl::Status s = validate::Enum("type", static_cast<FieldDescriptorProto::Type>(v));
    INFO(v);
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(FieldOf(s) == "type");
  }
  CHECK(validate::OptionalEnum("type", static_cast<FieldDescriptorProto::Type>(0)).ok());
  CHECK(FieldOf(validate::OptionalEnum("type", static_cast<FieldDescriptorProto::Type>(-1))) ==
        "type");
  CHECK(absl::StrContains(
      validate::Enum("type", static_cast<FieldDescriptorProto::Type>(999)).message(),
      "TYPE_STRING"));
}
