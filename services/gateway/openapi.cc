#include "services/gateway/openapi.h"

#include <set>

#include "nlohmann/json.hpp"

namespace vetline::gateway {
namespace {

namespace pb = google::protobuf;
using nlohmann::json;

std::string Ref(const pb::Descriptor* d) { return "#/components/schemas/" + d->full_name(); }

class SchemaBuilder {
 public:
  json FieldSchema(const pb::FieldDescriptor* f) {
    json item;
    if (f->is_map()) {
      item = {{"type", "object"},
              {"additionalProperties", FieldSchema(f->message_type()->map_value())}};
      return item;
    }
    switch (f->type()) {
      case pb::FieldDescriptor::TYPE_STRING: item = {{"type", "string"}}; break;
      case pb::FieldDescriptor::TYPE_BYTES: item = {{"type", "string"}, {"format", "byte"}}; break;
      case pb::FieldDescriptor::TYPE_BOOL: item = {{"type", "boolean"}}; break;
      case pb::FieldDescriptor::TYPE_INT32:
      case pb::FieldDescriptor::TYPE_SINT32:
      case pb::FieldDescriptor::TYPE_SFIXED32:
      case pb::FieldDescriptor::TYPE_UINT32:
      case pb::FieldDescriptor::TYPE_FIXED32:
        item = {{"type", "integer"}, {"format", "int32"}};
        break;
      case pb::FieldDescriptor::TYPE_INT64:
      case pb::FieldDescriptor::TYPE_SINT64:
      case pb::FieldDescriptor::TYPE_SFIXED64:
      case pb::FieldDescriptor::TYPE_UINT64:
      case pb::FieldDescriptor::TYPE_FIXED64:
        // protobuf's JSON mapping writes 64-bit integers as strings.
        item = {{"type", "string"}, {"format", "int64"}};
        break;
      case pb::FieldDescriptor::TYPE_DOUBLE:
      case pb::FieldDescriptor::TYPE_FLOAT: item = {{"type", "number"}}; break;
      case pb::FieldDescriptor::TYPE_ENUM: {
        json values = json::array();
        for (int i = 0; i < f->enum_type()->value_count(); ++i) {
          values.push_back(f->enum_type()->value(i)->name());
        }
        item = {{"type", "string"}, {"enum", values}};
        break;
      }
      default: item = MessageRef(f->message_type());
    }
    if (f->is_repeated()) return {{"type", "array"}, {"items", item}};
    return item;
  }

  json MessageRef(const pb::Descriptor* d) {
    if (d->full_name() == "google.protobuf.Timestamp") {
      return {{"type", "string"}, {"format", "date-time"}};
    }
    if (d->full_name() == "google.protobuf.Duration") return {{"type", "string"}};
    if (!seen_.count(d->full_name())) {
      seen_.insert(d->full_name());
      json props = json::object();
      for (int i = 0; i < d->field_count(); ++i) {
        props[d->field(i)->json_name()] = FieldSchema(d->field(i));
      }
      schemas_[d->full_name()] = {{"type", "object"}, {"properties", props}};
    }
    return {{"$ref", Ref(d)}};
  }

  json& schemas() { return schemas_; }

 private:
  std::set<std::string> seen_;
  json schemas_ = json::object();
};

}  // namespace

std::string OpenApiJson(const RouteTable& routes) {
  SchemaBuilder schemas;
  schemas.schemas()["Error"] = {
      {"type", "object"},
      {"properties",
       {{"error",
         {{"type", "object"},
          {"properties",
           {{"code", {{"type", "string"}}},
            {"message", {{"type", "string"}}},
            {"field", {{"type", "string"}}}}},
          {"required", {"code", "message"}}}}}}};
  json paths = json::object();
  for (const auto& r : routes.routes()) {
    const pb::Descriptor* in = r->method->input_type();
    json op = {{"operationId", r->method->service()->name() + "." + r->method->name()},
               {"tags", {r->backend}},
               {"summary", r->rule.summary().empty() ? r->method->name() : r->rule.summary()}};
    json params = json::array();
    std::set<std::string> in_path;
    for (const std::string& seg : r->segments) {
      if (seg.size() > 2 && seg.front() == '{') {
        std::string name = seg.substr(1, seg.size() - 2);
        in_path.insert(name);
        params.push_back({{"name", name},
                          {"in", "path"},
                          {"required", true},
                          {"schema", schemas.FieldSchema(in->FindFieldByName(name))}});
      }
    }
    // Fields the gateway fills from headers, the URL or a raw body are not query parameters.
    std::set<std::string> not_query = {r->rule.target_field(), r->rule.raw_body()};
    for (const HeaderField& hf : r->header_fields) {
      not_query.insert(hf.field);
      params.push_back({{"name", hf.header}, {"in", "header"},
                        {"schema", schemas.FieldSchema(in->FindFieldByName(hf.field))}});
    }
    if (!r->rule.raw_body().empty()) {
      op["requestBody"] = {{"required", true},
                           {"content", {{r->rule.content_type(), {{"schema", {{"type", "string"}}}}}}}};
    }
    if (r->rule.body().empty()) {
      for (int i = 0; i < in->field_count(); ++i) {
        const pb::FieldDescriptor* f = in->field(i);
        if (in_path.count(f->name()) || not_query.count(f->name())) continue;
        if (f->type() == pb::FieldDescriptor::TYPE_MESSAGE &&
            f->message_type()->full_name() != "google.protobuf.Timestamp") {
          continue;  // only scalars travel in the query string
        }
        params.push_back({{"name", f->json_name()}, {"in", "query"}, {"schema", schemas.FieldSchema(f)}});
      }
    } else {
      op["requestBody"] = {{"required", true},
                           {"content", {{"application/json", {{"schema", schemas.MessageRef(in)}}}}}};
    }
    if (!params.empty()) op["parameters"] = params;
    op["responses"] = {
        {"200",
         {{"description", "OK"},
          {"content",
           {{"application/json", {{"schema", schemas.MessageRef(r->method->output_type())}}}}}}},
        {"default",
         {{"description", "Error"},
          {"content",
           {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}}}};
    if (r->rule.anonymous()) op["security"] = json::array();
    std::string verb = r->verb;
    std::transform(verb.begin(), verb.end(), verb.begin(), ::tolower);
    paths[r->path_template][verb] = op;
  }
  json doc = {
      {"openapi", "3.0.3"},
      {"info", {{"title", "Vetline API"}, {"version", "1"}}},
      {"paths", paths},
      {"security", json::array({{{"bearer", json::array()}}, {{"cookie", json::array()}}})},
      {"components",
       {{"schemas", schemas.schemas()},
        {"securitySchemes",
         {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}},
          {"cookie", {{"type", "apiKey"}, {"in", "cookie"}, {"name", "vetline_session"}}}}}}},
  };
  return doc.dump(2);
}

}  // namespace vetline::gateway
