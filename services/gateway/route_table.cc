#include "services/gateway/route_table.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/core/status.h"

namespace vetline::gateway {
namespace {

namespace pb = google::protobuf;

// Percent-decodes one path segment; false on a malformed escape.
bool DecodeSegment(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> out;
  for (auto s : absl::StrSplit(std::string(path), '/', absl::SkipEmpty())) out.emplace_back(s);
  return out;
}

std::string BackendOf(const pb::ServiceDescriptor* s) {
  // vetline.<backend>.v1 -> <backend>
  std::vector<std::string> parts = absl::StrSplit(s->file()->package(), '.');
  return parts.size() >= 2 && parts[0] == "vetline" ? parts[1] : s->file()->package();
}

// The fields an HTTP rule names must exist and be strings (bytes for a streamed download
// or a raw body).
absl::Status CheckFieldRules(const pb::MethodDescriptor& m, const api::HttpRule& rule) {
  auto check = [&](const pb::Descriptor* d, const std::string& field, const char* option) {
    if (field.empty()) return absl::OkStatus();
    const pb::FieldDescriptor* f = d->FindFieldByName(field);
    if (!f || f->is_repeated() || f->cpp_type() != pb::FieldDescriptor::CPPTYPE_STRING) {
      return absl::InvalidArgumentError(absl::StrCat(m.full_name(), ": ", option, " '", field,
                                                     "' is not a string field of ", d->full_name()));
    }
    return absl::OkStatus();
  };
  VL_RETURN_IF_ERROR(check(m.input_type(), rule.bearer_field(), "bearer_field"));
  VL_RETURN_IF_ERROR(check(m.input_type(), rule.raw_body(), "raw_body"));
  VL_RETURN_IF_ERROR(check(m.input_type(), rule.target_field(), "target_field"));
  VL_RETURN_IF_ERROR(check(m.output_type(), rule.raw_response(), "raw_response"));
  VL_RETURN_IF_ERROR(check(m.output_type(), rule.created_location(), "created_location"));
  for (const std::string& entry : rule.header_fields()) {
    HeaderField hf;
    if (!ParseHeaderField(entry, &hf)) {
      return absl::InvalidArgumentError(
          absl::StrCat(m.full_name(), ": header_fields entry '", entry, "' is not Header-Name=field"));
    }
    VL_RETURN_IF_ERROR(check(m.input_type(), hf.field, "header_fields"));
  }
  if ((!rule.raw_body().empty() || !rule.raw_response().empty()) && rule.content_type().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(m.full_name(), ": raw_body/raw_response need content_type"));
  }
  const bool reply_typed = rule.raw_response().empty() || !rule.response_content_type().empty();
  if (rule.content_type() == kAnyContentType && (rule.raw_body().empty() || !reply_typed)) {
    return absl::InvalidArgumentError(
        absl::StrCat(m.full_name(), ": content_type */* is for a raw_body only (a reply needs its type)"));
  }
  if (!rule.raw_body().empty() && !rule.body().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(m.full_name(), ": body and raw_body are exclusive"));
  }
  if (rule.max_body_kib() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(m.full_name(), ": max_body_kib must not be negative"));
  }
  return absl::OkStatus();
}

}  // namespace

bool ParseHeaderField(std::string_view entry, HeaderField* out) {
  size_t eq = entry.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == entry.size()) return false;
  for (char c : entry.substr(0, eq)) {  // an HTTP token
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  out->header = std::string(entry.substr(0, eq));
  out->field = std::string(entry.substr(eq + 1));
  return true;
}

const std::vector<std::string>& ServedProtoFiles() {
  static const std::vector<std::string> kFiles = {
      "vetline/identity/v1/identity.proto",
      "vetline/clients/v1/clients.proto",
      "vetline/pims_sync/v1/pims_sync.proto",
      "vetline/media/v1/media.proto",
      "vetline/conversations/v1/conversations.proto",
      "vetline/conversations/v1/events.proto",
      "vetline/conversations/v1/inbound_email.proto",
      "vetline/conversations/v1/twilio_webhooks.proto",
      "vetline/conversations/v1/pims_export.proto",
      "vetline/booking/v1/booking.proto",
      "vetline/booking/v1/request_forms.proto",
      "vetline/booking/v1/direct_booking.proto",
      "vetline/payments/v1/payments.proto",
  };
  return kFiles;
}

absl::StatusOr<RouteTable> RouteTable::Build(const std::vector<std::string>& proto_files,
                                             const pb::DescriptorPool* pool) {
  RouteTable t;
  if (!pool) pool = pb::DescriptorPool::generated_pool();
  for (const std::string& name : proto_files) {
    const pb::FileDescriptor* file = pool->FindFileByName(name);
    if (!file) return absl::NotFoundError("proto file not linked into the gateway: " + name);
    for (int s = 0; s < file->service_count(); ++s) {
      const pb::ServiceDescriptor* svc = file->service(s);
      for (int m = 0; m < svc->method_count(); ++m) {
        const pb::MethodDescriptor* method = svc->method(m);
        if (!method->options().HasExtension(api::http)) continue;  // internal RPC
        if (method->client_streaming()) {
          return absl::InvalidArgumentError(
              absl::StrCat(method->full_name(), ": client-streaming RPCs cannot have an HTTP rule"));
        }
        auto r = std::make_unique<Route>();
        r->rule = method->options().GetExtension(api::http);
        r->streaming = method->server_streaming();
        VL_RETURN_IF_ERROR(CheckFieldRules(*method, r->rule));
        for (const std::string& entry : r->rule.header_fields()) {
          ParseHeaderField(entry, &r->header_fields.emplace_back());
        }
        switch (r->rule.pattern_case()) {
          case api::HttpRule::kGet: r->verb = "GET"; r->path_template = r->rule.get(); break;
          case api::HttpRule::kPost: r->verb = "POST"; r->path_template = r->rule.post(); break;
          case api::HttpRule::kPut: r->verb = "PUT"; r->path_template = r->rule.put(); break;
          case api::HttpRule::kPatch: r->verb = "PATCH"; r->path_template = r->rule.patch(); break;
          case api::HttpRule::kDelete: r->verb = "DELETE"; r->path_template = r->rule.delete_(); break;
          default:
            return absl::InvalidArgumentError(absl::StrCat(method->full_name(), ": HTTP rule has no verb"));
        }
        r->segments = Split(r->path_template);
        for (const std::string& seg : r->segments) {
          if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
            std::string field = seg.substr(1, seg.size() - 2);
            if (!method->input_type()->FindFieldByName(field)) {
              return absl::InvalidArgumentError(absl::StrCat(
                  method->full_name(), ": path captures unknown field '", field, "'"));
            }
          }
        }
        r->method = method;
        r->grpc_method = absl::StrCat("/", svc->full_name(), "/", method->name());
        r->backend = BackendOf(svc);
        for (const auto& other : t.routes_) {
          if (other->verb == r->verb && other->path_template == r->path_template) {
            return absl::AlreadyExistsError(absl::StrCat("two RPCs map to ", r->verb, " ",
                                                         r->path_template));
          }
        }
        t.routes_.push_back(std::move(r));
      }
    }
  }
  return t;
}

absl::StatusOr<Match> RouteTable::Find(const std::string& verb, const std::string& path,
                                       std::vector<std::string>* allowed) const {
  std::vector<std::string> segments = Split(path);
  std::vector<std::string> verbs;
  Match best;
  int best_literals = -1;
  for (const auto& r : routes_) {
    if (r->segments.size() != segments.size()) continue;
    std::map<std::string, std::string> captures;
    int literals = 0;
    bool ok = true;
    for (size_t i = 0; i < segments.size() && ok; ++i) {
      const std::string& t = r->segments[i];
      if (t.size() > 2 && t.front() == '{') {
        std::string decoded;
        ok = DecodeSegment(segments[i], &decoded) && !decoded.empty();
        if (ok) captures[t.substr(1, t.size() - 2)] = decoded;
      } else {
        ok = t == segments[i];
        ++literals;
      }
    }
    if (!ok) continue;
    if (r->verb != verb) {
      verbs.push_back(r->verb);
      continue;
    }
    // "/v1/staff/me" beats "/v1/staff/{id}": the most literal template wins.
    if (literals > best_literals) {
      best_literals = literals;
      best.route = r.get();
      best.captures = std::move(captures);
    }
  }
  if (best.route) return best;
  if (!verbs.empty()) {
    if (allowed) *allowed = verbs;
    return absl::FailedPreconditionError("method not allowed");
  }
  return absl::NotFoundError("no route for " + path);
}

std::vector<std::string> RouteTable::Backends() const {
  std::vector<std::string> out;
  for (const auto& r : routes_) {
    if (std::find(out.begin(), out.end(), r->backend) == out.end()) out.push_back(r->backend);
  }
  return out;
}

}  // namespace vetline::gateway
