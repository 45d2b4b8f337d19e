#include "services/gateway/cors_policy.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "services/gateway/error_map.h"

namespace vetline::gateway {
namespace {

constexpr char kAllowHeaders[] =
    "Authorization, Content-Type, X-Request-Id, Last-Event-ID, traceparent, tracestate";
constexpr char kExposeHeaders[] = "X-Request-Id, traceparent, Location, Retry-After";
constexpr char kMaxAgeSeconds[] = "600";

bool IsOrigin(const std::string& o) {
  std::string rest;
  if (absl::StartsWith(o, "https://")) {
    rest = o.substr(8);
  } else if (absl::StartsWith(o, "http://")) {
    rest = o.substr(7);
  } else {
    return false;
  }
  if (rest.empty()) return false;
  for (char c : rest) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':' &&
        c != '[' && c != ']') {
      return false;  // a path, a wildcard, credentials in the URL...
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<CorsPolicy> CorsPolicy::Create(const std::vector<std::string>& origins) {
  CorsPolicy p;
  for (const std::string& given : origins) {
    std::string o = absl::AsciiStrToLower(absl::StripAsciiWhitespace(given));
    if (!IsOrigin(o)) {
      return absl::InvalidArgumentError("cors-origins: '" + given +
                                        "' is not an origin like https://app.example (no '*', no path)");
    }
    p.origins_.insert(o);
  }
  return p;
}

std::string CorsPolicy::AllowedOrigin(const Request& req) const {
  auto it = req.find(http::field::origin);
  if (it == req.end() || origins_.empty()) return "";
  std::string origin(it->value());
  return origins_.count(absl::AsciiStrToLower(origin)) ? origin : "";
}

bool CorsPolicy::IsPreflight(const Request& req) {
  return req.method() == http::verb::options && req.count(http::field::origin) &&
         req.count(http::field::access_control_request_method);
}

Response CorsPolicy::Preflight(const Request& req, const std::vector<std::string>& methods) const {
  std::string origin = AllowedOrigin(req);
  if (origin.empty()) {
    Response res = JsonResponse(403, ErrorBody(grpc::StatusCode::PERMISSION_DENIED,
                                               "this origin may not use the API from a browser"));
    res.set(http::field::vary, "Origin");
    return res;
  }
  Response res{http::status::no_content, 11};
  Decorate(res, origin);
  res.set(http::field::access_control_allow_methods, absl::StrJoin(methods, ", "));
  res.set(http::field::access_control_allow_headers, kAllowHeaders);
  res.set(http::field::access_control_max_age, kMaxAgeSeconds);
  return res;
}

void CorsPolicy::Decorate(Response& res, const std::string& origin) {
  res.set(http::field::access_control_allow_origin, origin);
  res.set(http::field::access_control_allow_credentials, "true");
  res.set(http::field::access_control_expose_headers, kExposeHeaders);
  res.set(http::field::vary, "Origin");
}

}  // namespace vetline::gateway
