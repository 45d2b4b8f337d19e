// AWS Signature Version 4 for the S3 blob store: header-signed requests and presigned
// (query-signed) URLs, with libsodium's SHA-256 and HMAC-SHA-256. Our own, because
// libcurl 7.88's CURLOPT_AWS_SIGV4 signs query parameters in the order given (S3 wants
// them sorted: UploadPart's partNumber/uploadId fail) and cannot presign. sigv4_test
// checks both forms byte for byte against botocore.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace vetline::blob::sigv4 {

using Pairs = std::vector<std::pair<std::string, std::string>>;

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
};

struct Request {
  std::string method;  // "GET", "PUT", ...
  std::string host;    // the Host header as sent: "bucket.s3.eu-west-1.amazonaws.com", "127.0.0.1:9000"
  std::string path;    // URI-encoded, as sent: "/bucket/recordings/a.webm"
  Pairs query;         // names and values before encoding; order does not matter
  Pairs headers;       // further headers to sign and send (x-amz-*, content-type)
};

// The SHA-256 of no bytes, the payload hash of a request without a body.
inline constexpr char kEmptySha256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// RFC 3986 percent-encoding as Signature V4 defines it; '/' stays when `keep_slash`.
std::string UriEncode(absl::string_view s, bool keep_slash);
std::string Sha256Hex(absl::string_view bytes);
// The hex SHA-256 of `length` bytes of the file at `path` from `offset`.
absl::StatusOr<std::string> FileSha256Hex(const std::string& path, uint64_t offset, uint64_t length);

// The query string (no '?') in canonical form: encoded, sorted by name then value. Also
// what we send, so the server reads exactly what was signed.
std::string CanonicalQuery(const Pairs& query);

// The headers to send besides the request's own: x-amz-date, x-amz-content-sha256 and
// authorization (which signs host, those two and the request's headers).
Pairs SignHeaders(const Request& request, absl::string_view payload_sha256, const Credentials& creds,
                  absl::string_view region, absl::Time now);

// The query string (no '?') of a presigned request valid for `expires` from `now`: the
// request's own parameters and the X-Amz-* ones, X-Amz-Signature last. Signs host only.
std::string PresignQuery(const Request& request, const Credentials& creds, absl::string_view region,
                         absl::Time now, absl::Duration expires);

}  // namespace vetline::blob::sigv4
