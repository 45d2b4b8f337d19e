#include "services/gateway/request_headers.h"

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"

namespace vetline::gateway {

namespace pb = google::protobuf;

namespace {

absl::Status SetText(pb::Message& msg, const std::string& field, const std::string& value,
                     const std::string& from) {
  const pb::FieldDescriptor* f = msg.GetDescriptor()->FindFieldByName(field);
  if (f->type() == pb::FieldDescriptor::TYPE_STRING && !validate::IsUtf8(value)) {
    return InvalidField(f->json_name(), absl::StrCat(from, " is not valid UTF-8"));
  }
  msg.GetReflection()->SetString(&msg, f, value);
  return absl::OkStatus();
}

}  // namespace

absl::Status CopyRequestFields(const Request& req, const Route& route, pb::Message& msg) {
  for (const HeaderField& hf : route.header_fields) {
    auto it = req.find(hf.header);  // Beast compares field names case-insensitively
    if (it == req.end()) continue;
    VL_RETURN_IF_ERROR(SetText(msg, hf.field, std::string(it->value()), hf.header));
  }
  if (!route.rule.target_field().empty()) {
    VL_RETURN_IF_ERROR(SetText(msg, route.rule.target_field(), std::string(req.target()), "the request target"));
  }
  return absl::OkStatus();
}

}  // namespace vetline::gateway
