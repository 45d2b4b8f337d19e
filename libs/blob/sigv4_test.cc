// Our Signature V4 against botocore's (python3-botocore, AWS's SDK), byte for byte, at a
// fixed time with fixed credentials: header-signed requests of every kind the S3 store
// sends and presigned download links, with keys that need encoding.
#include "libs/blob/sigv4.h"

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "libs/testing/python_check.h"

namespace sigv4 = vetline::blob::sigv4;

namespace {

const std::string kCheck = std::string(VETLINE_SOURCE_DIR) + "/libs/blob/sigv4_check.py";
const absl::Time kAt = absl::FromCivil(absl::CivilSecond(2026, 3, 4, 5, 6, 7), absl::UTCTimeZone());
const sigv4::Credentials kCreds{"AKIDVETLINETEST01", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYvetline"};

struct Case {
  std::string scheme;
  sigv4::Request request;
  std::string body;
};

std::string UrlOf(const Case& c) {
  std::string url = absl::StrCat(c.scheme, "://", c.request.host, c.request.path);
  if (!c.request.query.empty()) absl::StrAppend(&url, "?", sigv4::CanonicalQuery(c.request.query));
  return url;
}

nlohmann::json Input(const Case& c, std::string_view region) {
  nlohmann::json headers = nlohmann::json::array();
  for (const auto& [n, v] : c.request.headers) headers.push_back({n, v});
  return {{"method", c.request.method}, {"url", UrlOf(c)}, {"headers", headers}, {"body", c.body},
          {"access_key", kCreds.access_key_id}, {"secret_key", kCreds.secret_access_key},
          {"region", std::string(region)}, {"time", "20260304T050607Z"}};
}

}  // namespace

TEST_CASE("sigv4: header-signed S3 requests equal botocore's byte for byte") {
  const std::string key = sigv4::UriEncode("conversations/clinic 1/Bello & Luna (ü)+x~y.webm", true);
  const std::vector<Case> cases = {
      // PutObject, path-style on an S3-compatible server with a port.
      {"http", {.method = "PUT", .host = "127.0.0.1:9000", .path = "/vetline/" + key}, "the bytes of a file"},
      // GetObject / HeadObject / DeleteObject, virtual-hosted on AWS over https.
      {"https", {.method = "GET", .host = "vetline.s3.eu-west-1.amazonaws.com", .path = "/" + key}, ""},
      {"https", {.method = "HEAD", .host = "vetline.s3.eu-west-1.amazonaws.com", .path = "/recordings/a.webm"}, ""},
      {"http", {.method = "DELETE", .host = "127.0.0.1:9000", .path = "/vetline/recordings/a.webm"}, ""},
      // CreateMultipartUpload, UploadPart (parameters out of order, values needing encoding),
      // CompleteMultipartUpload with a signed content type, AbortMultipartUpload.
      {"http", {.method = "POST", .host = "127.0.0.1:9000", .path = "/vetline/big.webm", .query = {{"uploads", ""}}}, ""},
      {"http",
       {.method = "PUT", .host = "127.0.0.1:9000", .path = "/vetline/big.webm",
        .query = {{"uploadId", "2~x/y+z=="}, {"partNumber", "10"}}},
       std::string(1000, 'p')},
      {"https",
       {.method = "POST", .host = "vetline.s3.eu-west-1.amazonaws.com", .path = "/big.webm",
        .query = {{"uploadId", "abc"}}, .headers = {{"content-type", "application/xml"}}},
       "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"e\"</ETag></Part></CompleteMultipartUpload>"},
      {"http", {.method = "DELETE", .host = "127.0.0.1:9000", .path = "/vetline/big.webm", .query = {{"uploadId", "abc"}}}, ""},
  };
  const std::string region = "eu-west-1";
  nlohmann::json input = nlohmann::json::array();
  for (const Case& c : cases) {
    nlohmann::json i = Input(c, region);
    i["kind"] = "header";
    input.push_back(i);
  }
  nlohmann::json sdk = vetline::testing::RunPythonCheck(kCheck, input);
  REQUIRE(sdk.is_array());
  REQUIRE(sdk.size() == cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i << ": " << cases[i].request.method << " " << UrlOf(cases[i]));
    std::map<std::string, std::string> ours;
    for (auto& [n, v] : sigv4::SignHeaders(cases[i].request, sigv4::Sha256Hex(cases[i].body), kCreds, region, kAt)) {
      ours[n] = v;
    }
    CHECK(ours["x-amz-content-sha256"] == sdk[i]["x-amz-content-sha256"].get<std::string>());
    CHECK(ours["x-amz-date"] == sdk[i]["x-amz-date"].get<std::string>());
    CHECK(ours["authorization"] == sdk[i]["authorization"].get<std::string>());
  }
}

TEST_CASE("sigv4: presigned download links equal botocore's byte for byte") {
  const std::vector<std::pair<Case, int>> cases = {
      {{"http", {.method = "GET", .host = "127.0.0.1:9000", .path = "/vetline/recordings/a.webm"}, ""}, 3600},
      {{"https",
        {.method = "GET", .host = "vetline.s3.us-east-1.amazonaws.com",
         .path = "/" + sigv4::UriEncode("conversations/c1/Röntgen Bild #2.png", true)},
        ""},
       604800},
      {{"https", {.method = "GET", .host = "s3.example.org", .path = "/b/x"}, ""}, 1},
  };
  nlohmann::json input = nlohmann::json::array();
  for (const auto& [c, expires] : cases) {
    nlohmann::json i = Input(c, "us-east-1");
    i["kind"] = "presign";
    i["expires"] = expires;
    input.push_back(i);
  }
  nlohmann::json sdk = vetline::testing::RunPythonCheck(kCheck, input);
  REQUIRE(sdk.is_array());
  REQUIRE(sdk.size() == cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& [c, expires] = cases[i];
    const std::string ours = absl::StrCat(
        UrlOf(c), "?", sigv4::PresignQuery(c.request, kCreds, "us-east-1", kAt, absl::Seconds(expires)));
    CHECK(ours == sdk[i]["url"].get<std::string>());
  }
}

TEST_CASE("sigv4: a signature changes with every part of the request it covers") {
  const sigv4::Request base{.method = "GET", .host = "127.0.0.1:9000", .path = "/vetline/a"};
  auto sig = [](const sigv4::Request& r, const sigv4::Credentials& c, absl::Time t) {
    for (auto& [n, v] : sigv4::SignHeaders(r, sigv4::kEmptySha256, c, "us-east-1", t)) {
      if (n == "authorization") return v.substr(v.find("Signature="));
    }
    return std::string();
  };
  const std::string original = sig(base, kCreds, kAt);
  sigv4::Request other = base;
  other.path = "/vetline/b";
  CHECK(sig(other, kCreds, kAt) != original);
  other = base;
  other.method = "DELETE";
  CHECK(sig(other, kCreds, kAt) != original);
  other = base;
  other.host = "127.0.0.1:9001";
  CHECK(sig(other, kCreds, kAt) != original);
  CHECK(sig(base, {kCreds.access_key_id, "another secret"}, kAt) != original);
  CHECK(sig(base, kCreds, kAt + absl::Seconds(1)) != original);
  CHECK(sig(base, kCreds, kAt) == original);
}

TEST_CASE("sigv4: URI encoding keeps only unreserved characters (and slashes in paths)") {
  CHECK(sigv4::UriEncode("a-b_c.d~e/f g+h&é", true) == "a-b_c.d~e/f%20g%2Bh%26%C3%A9");
  CHECK(sigv4::UriEncode("a/b", false) == "a%2Fb");
  CHECK(sigv4::CanonicalQuery({{"uploadId", "x y"}, {"partNumber", "2"}, {"uploads", ""}}) ==
        "partNumber=2&uploadId=x%20y&uploads=");
}
