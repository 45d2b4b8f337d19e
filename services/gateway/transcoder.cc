#include "services/gateway/transcoder.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <google/protobuf/util/time_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"
#include "nlohmann/json.hpp"

namespace vetline::gateway {
namespace {

namespace pb = google::protobuf;

bool Unescape(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out->push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int v;
      if (!absl::SimpleHexAtoi(std::string(in.substr(i + 1, 2)), &v)) return false;
      out->push_back(static_cast<char>(v));
      i += 2;
    } else {
      out->push_back(c);
    }
  }
  return true;
}

// Finds a field by its proto name or its JSON (lowerCamelCase) name.
const pb::FieldDescriptor* FindField(const pb::Descriptor* d, const std::string& name) {
  if (const auto* f = d->FindFieldByName(name)) return f;
  for (int i = 0; i < d->field_count(); ++i) {
    if (d->field(i)->json_name() == name) return d->field(i);
  }
  return nullptr;
}

// Sets one scalar (or Timestamp) field from text, as a path capture or query value.
absl::Status SetFromText(pb::Message& msg, const pb::FieldDescriptor* f, const std::string& text) {
  const pb::Reflection* r = msg.GetReflection();
  bool repeated = f->is_repeated();
  auto bad = [&](std::string_view what) {
    return InvalidField(f->json_name(), absl::StrCat(f->json_name(), " must be ", std::string(what)));
  };
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING:
      if (!validate::IsUtf8(text)) return bad("valid UTF-8");
      repeated ? r->AddString(&msg, f, text) : r->SetString(&msg, f, text);
      return absl::OkStatus();
    case pb::FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad("an integer");
      repeated ? r->AddInt32(&msg, f, v) : r->SetInt32(&msg, f, v);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad("an integer");
      repeated ? r->AddInt64(&msg, f, v) : r->SetInt64(&msg, f, v);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad("a non-negative integer");
      repeated ? r->AddUInt32(&msg, f, v) : r->SetUInt32(&msg, f, v);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad("a non-negative integer");
      repeated ? r->AddUInt64(&msg, f, v) : r->SetUInt64(&msg, f, v);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
    case pb::FieldDescriptor::CPPTYPE_FLOAT: {
      double v;
      if (!absl::SimpleAtod(text, &v)) return bad("a number");
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_DOUBLE) {
        repeated ? r->AddDouble(&msg, f, v) : r->SetDouble(&msg, f, v);
      } else {
        repeated ? r->AddFloat(&msg, f, static_cast<float>(v)) : r->SetFloat(&msg, f, static_cast<float>(v));
      }
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (text == "true") v = true;
      else if (text == "false") v = false;
      else return bad("true or false");
      repeated ? r->AddBool(&msg, f, v) : r->SetBool(&msg, f, v);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      const pb::EnumValueDescriptor* e = f->enum_type()->FindValueByName(text);
      if (!e) return bad(absl::StrCat("one of the ", f->enum_type()->name(), " values"));
      repeated ? r->AddEnum(&msg, f, e) : r->SetEnum(&msg, f, e);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
      if (f->message_type()->full_name() == "google.protobuf.Timestamp" && !repeated) {
        pb::Timestamp ts;
        if (!pb::util::TimeUtil::FromString(text, &ts)) return bad("an RFC 3339 timestamp");
        r->MutableMessage(&msg, f)->CopyFrom(ts);
        return absl::OkStatus();
      }
      return InvalidField(f->json_name(), absl::StrCat(f->json_name(),
                                                       " cannot be given in the URL; send it in the body"));
    }
  }
  return bad("a supported value");
}

absl::Status CheckObject(const nlohmann::json& obj, const pb::Descriptor* d, const std::string& prefix);

// One JSON value against one (non-repeated) field's type: protobuf's JSON mapping, so
// int64 may come as a string, enums by name or number, well-known types as strings.
absl::Status CheckSingle(const nlohmann::json& v, const pb::FieldDescriptor* f, const std::string& path) {
  auto bad = [&](std::string_view what) {
    return InvalidField(path, absl::StrCat(path, " must be ", std::string(what)));
  };
  auto integral = [&](double lo, double hi, bool is_unsigned) -> absl::Status {
    std::string what = is_unsigned ? "a non-negative integer" : "an integer";
    double n;
    if (v.is_number()) {
      n = v.get<double>();
    } else if (v.is_string()) {
      if (!absl::SimpleAtod(v.get<std::string>(), &n)) return bad(what);
    } else {
      return bad(what);
    }
    if (n != std::floor(n)) return bad(what);
    if (n < lo || n > hi) return bad(absl::StrCat(what, " in range"));
    return absl::OkStatus();
  };
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING:
      if (!v.is_string()) return bad(f->type() == pb::FieldDescriptor::TYPE_BYTES ? "base64 text" : "a string");
      return absl::OkStatus();
    case pb::FieldDescriptor::CPPTYPE_INT32: return integral(-2147483648.0, 2147483647.0, false);
    case pb::FieldDescriptor::CPPTYPE_UINT32: return integral(0, 4294967295.0, true);
    case pb::FieldDescriptor::CPPTYPE_INT64: return integral(-9223372036854775808.0, 9223372036854775807.0, false);
    case pb::FieldDescriptor::CPPTYPE_UINT64: return integral(0, 18446744073709551615.0, true);
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
    case pb::FieldDescriptor::CPPTYPE_FLOAT: {
      double n;
      if (v.is_number()) return absl::OkStatus();
      if (v.is_string() && (absl::SimpleAtod(v.get<std::string>(), &n) || v == "NaN" ||
                            v == "Infinity" || v == "-Infinity")) {
        return absl::OkStatus();
      }
      return bad("a number");
    }
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return v.is_boolean() ? absl::OkStatus() : bad("true or false");
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      if (v.is_number_integer() || (v.is_string() && f->enum_type()->FindValueByName(v.get<std::string>()))) {
        return absl::OkStatus();
      }
      return bad(absl::StrCat("one of the ", f->enum_type()->name(), " values"));
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
      const pb::Descriptor* m = f->message_type();
      const std::string& type = m->full_name();
      if (type == "google.protobuf.Timestamp") {
        pb::Timestamp ts;
        if (!v.is_string() || !pb::util::TimeUtil::FromString(v.get<std::string>(), &ts)) {
          return bad("an RFC 3339 timestamp");
        }
        return absl::OkStatus();
      }
      if (type == "google.protobuf.Duration" || type == "google.protobuf.FieldMask") {
        return v.is_string() ? absl::OkStatus() : bad("a string");
      }
      if (type == "google.protobuf.Value" || type == "google.protobuf.Any") return absl::OkStatus();
      if (type == "google.protobuf.ListValue") return v.is_array() ? absl::OkStatus() : bad("an array");
      if (type == "google.protobuf.Struct") return v.is_object() ? absl::OkStatus() : bad("an object");
      if (m->file()->name() == "google/protobuf/wrappers.proto") {
        return CheckSingle(v, m->FindFieldByName("value"), path);
      }
      if (!v.is_object()) return bad("an object");
      return CheckObject(v, m, path + ".");
    }
  }
  return absl::OkStatus();
}

// Every member of a JSON object against the message's fields; errors name the field by
// its JSON path ("inner.level", "tags[2]").
absl::Status CheckObject(const nlohmann::json& obj, const pb::Descriptor* d, const std::string& prefix) {
  for (const auto& [key, v] : obj.items()) {
    const pb::FieldDescriptor* f = FindField(d, key);
    if (!f) return InvalidField(prefix + key, absl::StrCat("unknown field '", prefix + key, "'"));
    std::string path = prefix + f->json_name();
    if (v.is_null()) continue;  // the field's default
    if (f->is_map()) {
      if (!v.is_object()) return InvalidField(path, path + " must be an object");
      const pb::FieldDescriptor* value = f->message_type()->map_value();
      for (const auto& [k, item] : v.items()) VL_RETURN_IF_ERROR(CheckSingle(item, value, path + "." + k));
    } else if (f->is_repeated()) {
      if (!v.is_array()) return InvalidField(path, path + " must be an array");
      for (size_t i = 0; i < v.size(); ++i) {
        VL_RETURN_IF_ERROR(CheckSingle(v[i], f, absl::StrCat(path, "[", i, "]")));
      }
    } else {
      VL_RETURN_IF_ERROR(CheckSingle(v, f, path));
    }
  }
  return absl::OkStatus();
}

// protobuf 3.21's JSON parser names the field in several ways: "nope: Cannot find
// field.", "(count): invalid value ...", "... for type count". The candidate is kept
// only if it is unknown-by-design ("Cannot find") or a real field of the request.
std::string FieldFromParserMessage(const std::string& m, const pb::Descriptor* d) {
  auto is_name = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  auto name_at = [&](size_t from) {
    size_t end = from;
    while (end < m.size() && is_name(m[end])) ++end;
    return m.substr(from, end - from);
  };
  if (auto colon = m.find(": Cannot find field"); colon != std::string::npos && colon > 0 &&
      std::all_of(m.begin(), m.begin() + colon, is_name)) {
    return m.substr(0, colon);
  }
  std::vector<std::string> candidates;
  if (auto open = m.find('('); open != std::string::npos) candidates.push_back(name_at(open + 1));
  if (auto t = m.rfind("for type "); t != std::string::npos) candidates.push_back(name_at(t + 9));
  for (const std::string& c : candidates) {
    if (!c.empty() && FindField(d, c)) return FindField(d, c)->json_name();
  }
  return "";
}

}  // namespace

bool ParseQuery(const std::string& query, std::vector<std::pair<std::string, std::string>>* out) {
  size_t start = 0;
  while (start <= query.size() && !query.empty()) {
    size_t amp = query.find('&', start);
    std::string_view part(query.data() + start, (amp == std::string::npos ? query.size() : amp) - start);
    if (!part.empty()) {
      size_t eq = part.find('=');
      std::string k, v;
      if (!Unescape(part.substr(0, eq), &k)) return false;
      if (eq != std::string_view::npos && !Unescape(part.substr(eq + 1), &v)) return false;
      out->emplace_back(std::move(k), std::move(v));
    }
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return true;
}

std::unique_ptr<pb::Message> NewResponse(const Route& route) {
  return std::unique_ptr<pb::Message>(
      pb::MessageFactory::generated_factory()->GetPrototype(route.method->output_type())->New());
}

absl::StatusOr<std::unique_ptr<pb::Message>> BuildRequest(
    const Route& route, const std::map<std::string, std::string>& captures,
    const std::string& query, const std::string& body) {
  const pb::Descriptor* d = route.method->input_type();
  std::unique_ptr<pb::Message> msg(pb::MessageFactory::generated_factory()->GetPrototype(d)->New());
  if (!route.rule.raw_body().empty()) {
    // A document that is not JSON (an SDP offer, an upload) goes whole into one string
    // or bytes field.
    const pb::FieldDescriptor* f = d->FindFieldByName(route.rule.raw_body());
    if (f->type() == pb::FieldDescriptor::TYPE_STRING && !validate::IsUtf8(body)) {
      return InvalidField(f->json_name(), "request body is not valid UTF-8");
    }
    msg->GetReflection()->SetString(msg.get(), f, body);
  } else if (!route.rule.body().empty()) {
    if (!validate::IsUtf8(body)) return absl::InvalidArgumentError("request body is not valid UTF-8");
    std::string json = body.find_first_not_of(" \t\r\n") == std::string::npos ? "{}" : body;
    // Shape first, with errors naming the field; protobuf's parser then does the rest.
    nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return absl::InvalidArgumentError("request body is not valid JSON");
    if (!doc.is_object()) return absl::InvalidArgumentError("request body must be a JSON object");
    VL_RETURN_IF_ERROR(CheckObject(doc, d, ""));
    pb::util::JsonParseOptions opts;
    opts.ignore_unknown_fields = false;
    auto st = pb::util::JsonStringToMessage(json, msg.get(), opts);
    if (!st.ok()) {
      std::string m(st.message());
      m = m.substr(0, m.find('\n'));  // drop the parser's echo of the input
      absl::Status out = absl::InvalidArgumentError("invalid JSON body: " + m);
      if (std::string field = FieldFromParserMessage(m, d); !field.empty()) {
        out.SetPayload(kFieldPayload, absl::Cord(field));
      }
      return out;
    }
  } else if (std::string trimmed(absl::StripAsciiWhitespace(body)); !trimmed.empty() && trimmed != "{}") {
    // An empty JSON object says nothing, so clients that always send one are fine.
    return absl::InvalidArgumentError(absl::StrCat(route.verb, " ", route.path_template,
                                                   " takes no request body"));
  }
  std::vector<std::pair<std::string, std::string>> params;
  if (!ParseQuery(query, &params)) return absl::InvalidArgumentError("malformed query string");
  for (const auto& [name, value] : params) {
    // EventSource cannot send headers: its token comes as `access_token`.
    const pb::FieldDescriptor* f = name == "access_token" && !route.rule.bearer_field().empty()
                                       ? d->FindFieldByName(route.rule.bearer_field())
                                       : FindField(d, name);
    if (!f) return InvalidField(name, absl::StrCat("unknown query parameter '", name, "'"));
    if (!route.rule.body().empty() && !f->is_repeated() && msg->GetReflection()->HasField(*msg, f)) {
      return InvalidField(f->json_name(), absl::StrCat(f->json_name(), " is given twice"));
    }
    VL_RETURN_IF_ERROR(SetFromText(*msg, f, value));
  }
  // Path captures win over anything the body or query said about the same field.
  for (const auto& [name, value] : captures) {
    const pb::FieldDescriptor* f = d->FindFieldByName(name);
    if (f->is_repeated()) msg->GetReflection()->ClearField(msg.get(), f);
    VL_RETURN_IF_ERROR(SetFromText(*msg, f, value));
  }
  return msg;
}

absl::StatusOr<std::string> ResponseJson(const pb::Message& response) {
  pb::util::JsonPrintOptions opts;
  opts.always_print_primitive_fields = true;  // a stable shape for front ends
  std::string out;
  auto st = pb::util::MessageToJsonString(response, &out, opts);
  if (!st.ok()) return absl::InternalError("cannot encode the response: " + std::string(st.message()));
  return out;
}

}  // namespace vetline::gateway
