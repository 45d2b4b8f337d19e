#include "services/gateway/route_checks.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/gateway/error_map.h"
#include "services/gateway/session_policy.h"

namespace vetline::gateway {

namespace pb = google::protobuf;

Response RouteMiss(const absl::Status& miss, const Request& req, const std::string& path,
                   const std::vector<std::string>& allowed) {
  if (miss.code() == absl::StatusCode::kFailedPrecondition) {
    Response res = JsonResponse(
        405, ErrorBody(grpc::StatusCode::INVALID_ARGUMENT,
                       absl::StrCat(std::string(req.method_string()), " is not allowed on ", path)));
    res.set(http::field::allow, absl::StrJoin(allowed, ", "));
    return res;
  }
  return JsonResponse(404, ErrorBody(grpc::StatusCode::NOT_FOUND, "no such route: " + path));
}

std::optional<Response> CheckContentType(const Request& req, const Route& route) {
  const api::HttpRule& rule = route.rule;
  if (rule.raw_body().empty() || rule.content_type() == kAnyContentType) return std::nullopt;
  std::string type(req[http::field::content_type]);
  type = absl::AsciiStrToLower(absl::StripAsciiWhitespace(type.substr(0, type.find(';'))));
  if (type == rule.content_type()) return std::nullopt;
  const pb::FieldDescriptor* f = route.method->input_type()->FindFieldByName(rule.raw_body());
  return JsonResponse(415, ErrorBody(grpc::StatusCode::INVALID_ARGUMENT,
                                     absl::StrCat("send the body as Content-Type: ", rule.content_type()),
                                     f ? f->json_name() : rule.raw_body()));
}

absl::Status TakeBearer(const Request& req, const Route& route, pb::Message& msg) {
  if (route.rule.bearer_field().empty()) return absl::OkStatus();
  // The service checks this token itself (a call participant's, not a staff session).
  const pb::FieldDescriptor* f = msg.GetDescriptor()->FindFieldByName(route.rule.bearer_field());
  if (req.find(http::field::authorization) != req.end()) {
    msg.GetReflection()->SetString(&msg, f, SessionPolicy::TokenOf(req));
  }
  if (msg.GetReflection()->GetString(msg, f).empty()) {
    return absl::UnauthenticatedError("send Authorization: Bearer <participant token>");
  }
  return absl::OkStatus();
}

}  // namespace vetline::gateway
