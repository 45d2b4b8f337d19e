// The edge policy, checked across every route the gateway serves: requests go
// through the real gateway to the real services (one process, real sockets,
// real PostgreSQL).
//
// - Every error `field` names a field of the RPC's request message by its JSON
// name.
// - No bad input is a 500, and no database or library text reaches an answer.
// - Every id a request names (path or body) resolves inside the caller's
// clinic: another
//   clinic's id and a made-up one are refused (404 or a field error) and
//   nothing changes.
#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/core/ids.h"
#include "libs/testing/wait.h"
#include "services/gateway/route_table.h"
#include "tests/support/edge_stack.h"
#include "vetline/api/fields.pb.h"

using namespace vetline;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using nlohmann::json;
using testing::EdgeStack;
using testing::HttpResponse;

namespace {

const gateway::RouteTable& Routes() {
  static const gateway::RouteTable kRoutes =
      gateway::RouteTable::Build(gateway::ServedProtoFiles()).value();
  return kRoutes;
}

std::string MadeUpId() {
  static std::mt19937_64 rng(20261201);
  std::string hex =
      absl::StrCat(absl::Hex(rng(), absl::kZeroPad16), absl::Hex(rng(), absl::kZeroPad16));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-4", hex.substr(13, 3), "-8",
                      hex.substr(17, 3), "-", hex.substr(20, 12));
}

// True when `path` ("phones", "phones[0].number", "teamIds") walks fields of
// `d` by their JSON names.
bool ResolvesTo(const Descriptor* d, const std::string& path) {
  if (path.empty()) return false;
  for (const std::string& part : std::vector<std::string>(absl::StrSplit(path, '.'))) {
    if (d == nullptr) return false;
    std::string name = part.substr(0, part.find('['));
    const FieldDescriptor* f = nullptr;
    for (int i = 0; i < d->field_count() && f == nullptr; ++i) {
      if (d->field(i)->json_name() == name) f = d->field(i);
    }
    if (f == nullptr) return false;
    if (part.find('[') != std::string::npos && !f->is_repeated()) return false;
    d = f->message_type();
  }
  return true;
}

// Text that only a database or library writes.
bool LooksLikeLibraryText(const std::string& message) {
  for (const char* s : {"SQLSTATE", "constraint", "violates", "syntax error",
                        "invalid byte sequence", "portal parameter", "relation \"", "duplicate key",
                        "PostgreSQL", "libpq", "pg_", "ERROR:", "DETAIL:"}) {
    if (absl::StrContains(message, s)) return true;
  }
  return false;
}

// Deliberately bad JSON values for a field: empty, control characters, 64 KB,
// not an id, negative and huge numbers, undefined enum numbers.
std::vector<json> BadValues(const FieldDescriptor* f, int depth = 0) {
  std::vector<json> out;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      if (f->type() == FieldDescriptor::TYPE_BYTES) break;
      out = {"",
             std::string("Bad\x01Value\x00"
                         "Cut",
                         14),
             std::string(64 * 1024, 'x'), "not-an-id", "-5"};
      break;
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_UINT32:
      out = {-5, 2000000000};
      break;
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT64:
      out = {"-5", "9000000000000000000"};
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      out = {-1.5};
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      out = {999, -1, 0};
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      break;  // every value is valid
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Descriptor* m = f->message_type();
      if (m->full_name() == "google.protobuf.Timestamp") {
        out = {"1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z"};
        break;
      }
      out.push_back(json::object());
      if (depth < 2) {
        for (int i = 0; i < m->field_count(); ++i) {
          for (json& v : BadValues(m->field(i), depth + 1)) {
            out.push_back(json{{m->field(i)->json_name(), v}});
          }
        }
      }
      break;
    }
  }
  if (f->is_repeated()) {
    for (json& v : out) v = json::array({v});
  }
  return out;
}

std::string QueryValue(const json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

// Routes of one backend that a JSON client can call and that leave the session
// alone.
std::vector<const gateway::Route*> WalkableRoutes(const std::string& backend) {
  std::vector<const gateway::Route*> out;
  for (const auto& r : Routes().routes()) {
    if (r->backend != backend || r->streaming || !r->rule.raw_body().empty() ||
        r->rule.clears_session()) {
      continue;
    }
    out.push_back(r.get());
  }
  return out;
}

struct Sent {
  std::string what;
  HttpResponse response;
};

// One request to `route` with `captures` in the path and `fields` in the body
// or query.
Sent Send(EdgeStack& stack, const gateway::Route& route,
          const std::map<std::string, std::string>& captures, const json& fields,
          const std::string& token) {
  std::string path;
  for (const std::string& seg : route.segments) {
    std::string s = seg;
    if (seg.size() > 2 && seg.front() == '{')
      s = QueryValue(captures.at(seg.substr(1, seg.size() - 2)));
    absl::StrAppend(&path, "/", s);
  }
  std::map<std::string, std::string> headers;
  if (!route.rule.anonymous()) headers["Authorization"] = "Bearer " + token;
  std::string body;
  if (route.rule.body() == "*") {
    headers["Content-Type"] = "application/json";
    body = fields.dump();
  } else {
    std::string query;
    for (const auto& [k, v] : fields.items()) {
      if (v.is_object()) continue;
      // A repeated field is the name once per value (the gateway adds each).
      for (const json& one : v.is_array() ? v : json::array({v})) {
        if (one.is_array() || one.is_object()) continue;
        absl::StrAppend(&query, query.empty() ? "?" : "&", k, "=", QueryValue(one));
      }
    }
    path += query;
  }
  std::string what = absl::StrCat(route.verb, " ", path.substr(0, 120), " ", body.substr(0, 160));
  return {what, stack.Client().Send(route.verb, path, body, headers)};
}

// The walk: for every route, an empty request and one per bad value of each
// field.
void WalkErrors(const std::string& backend) {
  EdgeStack stack;
  EdgeStack::Clinic a = stack.CreateClinic("Maple Vet", "admin@maple.example");
  stack.ConnectStripe(a);  // so payments' checks run past "no Stripe account"
  auto routes = WalkableRoutes(backend);
  REQUIRE_FALSE(routes.empty());
  int errors_with_field = 0;
  std::set<std::string> rpcs_with_field_errors;
  for (const gateway::Route* route : routes) {
    const Descriptor* req = route->method->input_type();
    std::vector<std::string> capture_names;
    for (const std::string& seg : route->segments) {
      if (seg.size() > 2 && seg.front() == '{')
        capture_names.push_back(seg.substr(1, seg.size() - 2));
    }
    std::vector<std::pair<std::map<std::string, std::string>, json>> requests;
    for (const char* id : {"not-an-id", "bad\x01id", ""}) {
      std::map<std::string, std::string> c;
      for (const auto& n : capture_names) c[n] = id;
      if (std::string(id).empty() && !capture_names.empty()) continue;  // no route matches
      requests.emplace_back(c, json::object());
    }
    std::map<std::string, std::string> made_up;
    for (const auto& n : capture_names) made_up[n] = MadeUpId();
    for (int i = 0; i < req->field_count(); ++i) {
      const FieldDescriptor* f = req->field(i);
      if (made_up.count(f->name()) || f->name() == route->rule.bearer_field()) continue;
      for (json& v : BadValues(f)) requests.emplace_back(made_up, json{{f->json_name(), v}});
    }
    for (const auto& [captures, fields] : requests) {
      Sent sent = Send(stack, *route, captures, fields, a.token);
      INFO(sent.what << " -> " << sent.response.status << " " << sent.response.body.substr(0, 300));
      CHECK(sent.response.status != 500);
      CHECK(sent.response.status != 0);
      json body = json::parse(sent.response.body, nullptr, /*allow_exceptions=*/false);
      if (!body.is_object() || !body.contains("error")) continue;
      const json& err = body["error"];
      CHECK_FALSE(LooksLikeLibraryText(err.value("message", "")));
      if (err.contains("field")) {
        ++errors_with_field;
        rpcs_with_field_errors.insert(route->method->full_name());
        CHECK(ResolvesTo(req, err["field"].get<std::string>()));
      }
    }
  }
  // The walk reached the services' own validation, not only the gateway's.
  CHECK(errors_with_field > static_cast<int>(routes.size()));
  CHECK(rpcs_with_field_errors.size() * 2 > routes.size());
}

}  // namespace

TEST_CASE("edge: every identity error names a request field by its JSON name", "[edge]") {
  WalkErrors("identity");
}

TEST_CASE("edge: every clients error names a request field by its JSON name", "[edge]") {
  WalkErrors("clients");
}

TEST_CASE("edge: every pims_sync error names a request field by its JSON name", "[edge]") {
  WalkErrors("pims_sync");
}

// Media's field names follow once the media branch (JSON names) is merged;
// unhide then.
TEST_CASE("edge: every media error names a request field by its JSON name", "[edge][media]") {
  WalkErrors("media");
}

TEST_CASE("edge: every conversations error names a request field by its JSON name",
          "[edge][conversations]") {
  WalkErrors("conversations");
}

TEST_CASE("edge: every booking error names a request field by its JSON name", "[edge][booking]") {
  WalkErrors("booking");
}

TEST_CASE("edge: every payments error names a request field by its JSON name", "[edge][payments]") {
  WalkErrors("payments");
}

namespace {

// Ids of one clinic's records, by the resource a path segment or body field
// names.
struct ClinicRecords {
  EdgeStack::Clinic clinic;
  std::map<std::string, std::string> ids;  // "clients", "phones", "staff", "teams", ...
};

json Ok(const Sent& sent) {
  INFO(sent.what << " -> " << sent.response.status << " " << sent.response.body);
  REQUIRE(sent.response.status == 200);
  return sent.response.json();
}

const gateway::Route& RouteOf(const std::string& method) {
  for (const auto& r : Routes().routes()) {
    if (r->method->full_name() == method) return *r;
  }
  FAIL("no route for " << method);
  throw std::logic_error("unreachable");
}

Sent Call(EdgeStack& s, const std::string& method,
          const std::map<std::string, std::string>& captures, const json& body,
          const std::string& token) {
  return Send(s, RouteOf(method), captures, body, token);
}

// `payments`: the clinic also connects the Stripe stand-in and asks Pat for a deposit
// ("requests"), whose system message is in Pat's conversation before this returns.
ClinicRecords MakeRecords(EdgeStack& s, const std::string& name, const std::string& domain,
                          bool payments = false) {
  ClinicRecords r;
  r.clinic = s.CreateClinic(name, "admin@" + domain);
  const std::string& t = r.clinic.token;
  r.ids["clinics"] = r.clinic.id;
  json client = Ok(Call(s, "vetline.clients.v1.ClientsService.CreateClient", {},
                        {{"firstName", "Pat"},
                         {"lastName", "Lee"},
                         {"phones",
                          {{{"number", "+13125550100"}, {"type", "MOBILE"}},
                           {{"number", "+13125550101"}, {"type", "HOME"}}}}},
                        t));
  r.ids["clients"] = client["id"];
  r.ids["phones"] = client["phones"][1]["id"];
  json other = Ok(Call(s, "vetline.clients.v1.ClientsService.CreateClient", {},
                       {{"firstName", "Sam"}, {"lastName", "Lee"}}, t));
  r.ids["other_clients"] = other["id"];
  json staff = Ok(Call(s, "vetline.identity.v1.IdentityService.CreateStaff", {},
                       {{"email", "staff@" + domain},
                        {"name", "Sam Staff"},
                        {"role", "STAFF"},
                        {"password", "correct horse battery"}},
                       t));
  r.ids["staff"] = staff["id"];
  json team = Ok(
      Call(s, "vetline.identity.v1.IdentityService.CreateTeam", {}, {{"name", "Front desk"}}, t));
  r.ids["teams"] = team["id"];
  json prospect = Ok(Call(s, "vetline.identity.v1.IdentityService.PortalSignup", {},
                          {{"clinicId", r.clinic.id},
                           {"email", "owner@" + domain},
                           {"name", "Owner"},
                           {"password", "correct horse battery"}},
                          ""));
  r.ids["prospects"] = prospect["id"];
  json pet = Ok(Call(s, "vetline.clients.v1.ClientsService.AddPet",
                     {{"client_id", r.ids["clients"]}}, {{"name", "Rex"}}, t));
  r.ids["pets"] = pet["id"];
  json conversation = Ok(Call(s, "vetline.conversations.v1.ConversationsService.StartConversation",
                              {{"client_id", r.ids["clients"]}}, {{"petId", r.ids["pets"]}}, t));
  r.ids["conversations"] = conversation["id"];
  json message = Ok(Call(s, "vetline.conversations.v1.ConversationsService.SendMessage",
                         {{"conversation_id", r.ids["conversations"]}}, {{"text", "Hello Pat"}}, t));
  r.ids["messages"] = message["id"];
  json status = Ok(Call(s, "vetline.conversations.v1.ConversationSettingsService.CreateStatus", {},
                        {{"name", "Telemedicine"}, {"color", "#123456"}}, t));
  r.ids["conversation-statuses"] = status["id"];
  json tmpl = Ok(Call(s, "vetline.conversations.v1.ConversationSettingsService.CreateTemplate", {},
                      {{"name", "Hello"}, {"body", "Hi {client.first_name}"}}, t));
  r.ids["message-templates"] = tmpl["id"];
  Ok(Call(s, "vetline.pims_sync.v1.PimsSyncService.SetConnector", {},
          {{"kind", "cornerstone"}, {"address", "pims." + domain + ":7001"}}, t));
  r.ids["appointment-types"] = Ok(Call(s, "vetline.booking.v1.BookingService.CreateAppointmentType", {},
                                       {{"name", "Wellness"}, {"durationMinutes", 30}}, t))["id"];
  r.ids["providers"] =
      Ok(Call(s, "vetline.booking.v1.BookingService.CreateProvider", {}, {{"name", "Dr. Lee"}}, t))["id"];
  r.ids["rooms"] = Ok(Call(s, "vetline.booking.v1.BookingService.CreateRoom", {}, {{"name", "Exam 1"}}, t))["id"];
  r.ids["block-offs"] = Ok(Call(s, "vetline.booking.v1.BookingService.CreateBlockOff", {},
                                {{"providerId", r.ids["providers"]},
                                 {"startTime", "2027-06-01T12:00:00Z"},
                                 {"endTime", "2027-06-01T13:00:00Z"}},
                                t))["id"];
  r.ids["appointments"] = Ok(Call(s, "vetline.booking.v1.BookingService.CreateAppointment", {},
                                  {{"clientId", r.ids["clients"]},
                                   {"petId", r.ids["pets"]},
                                   {"appointmentTypeId", r.ids["appointment-types"]},
                                   {"providerId", r.ids["providers"]},
                                   {"roomId", r.ids["rooms"]},
                                   {"startTime", "2027-06-01T15:00:00Z"}},
                                  t))["id"];
  r.ids["columns"] = Ok(Call(s, "vetline.booking.v1.AppointmentsViewService.CreateColumn", {},
                             {{"name", "Telemedicine"}, {"providerIds", {r.ids["providers"]}}}, t))["id"];
  r.ids["request-forms"] =
      Ok(Call(s, "vetline.booking.v1.RequestFormsService.CreateRequestForm", {},
              {{"name", "Telemedicine appointment"},
               {"active", true},
               {"questions", {{{"label", "Reason"}, {"kind", "LONG_TEXT"}, {"required", true}}}}},
              t))["id"];
  if (!payments) return r;
  s.ConnectStripe(r.clinic);
  r.ids["requests"] = Ok(Call(s, "vetline.payments.v1.PaymentsService.CreatePaymentRequest", {},
                              {{"clientRequestId", "records-deposit"},
                               {"kind", "DEPOSIT"},
                               {"clientId", r.ids["clients"]},
                               {"appointmentId", r.ids["appointments"]},
                               {"currency", "usd"},
                               {"amount", 5000},
                               {"description", "Surgery deposit"}},
                              t))["id"];
  REQUIRE(testing::WaitUntil(
      [&] {
        json m = Ok(Call(s, "vetline.conversations.v1.ConversationsService.ListMessages",
                         {{"conversation_id", r.ids["conversations"]}}, {}, t));
        return !m["messages"][0].value("attachments", json::array()).empty();
      },
      absl::Seconds(20)));
  return r;
}

// Everything a walk could change, as the clinic's own staff see it.
json Snapshot(EdgeStack& s, const ClinicRecords& r) {
  const std::string& t = r.clinic.token;
  return json{
      {"client", Ok(Call(s, "vetline.clients.v1.ClientsService.GetClient",
                         {{"id", r.ids.at("clients")}}, {}, t))},
      {"other", Ok(Call(s, "vetline.clients.v1.ClientsService.GetClient",
                        {{"id", r.ids.at("other_clients")}}, {}, t))},
      {"staff", Ok(Call(s, "vetline.identity.v1.IdentityService.ListStaff", {}, {}, t))},
      {"teams", Ok(Call(s, "vetline.identity.v1.IdentityService.ListTeams", {}, {}, t))},
      {"prospects", Ok(Call(s, "vetline.identity.v1.IdentityService.ListProspects", {}, {}, t))},
      {"connector", Ok(Call(s, "vetline.pims_sync.v1.PimsSyncService.GetConnector", {}, {}, t))},
      {"conversation", Ok(Call(s, "vetline.conversations.v1.ConversationsService.GetConversation",
                               {{"id", r.ids.at("conversations")}}, {}, t))},
      {"messages", Ok(Call(s, "vetline.conversations.v1.ConversationsService.ListMessages",
                           {{"conversation_id", r.ids.at("conversations")}}, {}, t))},
      {"queue", Ok(Call(s, "vetline.conversations.v1.ConversationsService.ListConversations", {},
                        {}, t))},
      {"statuses", Ok(Call(s, "vetline.conversations.v1.ConversationSettingsService.ListStatuses",
                           {}, {}, t))},
      {"templates", Ok(Call(s, "vetline.conversations.v1.ConversationSettingsService.ListTemplates",
                            {}, {}, t))},
      {"booking_settings", Ok(Call(s, "vetline.booking.v1.BookingService.GetSettings", {}, {}, t))},
      {"appointment_types",
       Ok(Call(s, "vetline.booking.v1.BookingService.ListAppointmentTypes", {}, {}, t))},
      {"providers", Ok(Call(s, "vetline.booking.v1.BookingService.ListProviders", {}, {}, t))},
      {"schedule", Ok(Call(s, "vetline.booking.v1.BookingService.GetProviderSchedule",
                           {{"provider_id", r.ids.at("providers")}}, {}, t))},
      {"hours", Ok(Call(s, "vetline.booking.v1.BookingService.GetClinicHours", {}, {}, t))},
      {"appointments", Ok(Call(s, "vetline.booking.v1.BookingService.ListAppointments", {},
                               {{"from", "2027-05-01"}, {"to", "2027-07-01"}}, t))},
      {"block_offs", Ok(Call(s, "vetline.booking.v1.BookingService.ListBlockOffs", {},
                             {{"from", "2027-05-01"}, {"to", "2027-07-01"}}, t))},
      {"view_columns", Ok(Call(s, "vetline.booking.v1.AppointmentsViewService.ListColumns", {}, {}, t))},
      {"request_forms", Ok(Call(s, "vetline.booking.v1.RequestFormsService.ListRequestForms", {}, {}, t))},
      {"form_requests", Ok(Call(s, "vetline.booking.v1.RequestFormsService.ListFormRequests",
                                {{"form_id", r.ids.at("request-forms")}}, {}, t))},
      {"stripe_account", Ok(Call(s, "vetline.payments.v1.PaymentsService.GetAccount", {}, {}, t))},
      {"payment_requests", Ok(Call(s, "vetline.payments.v1.PaymentsService.ListPaymentRequests", {}, {}, t))},
      {"balances", Ok(Call(s, "vetline.payments.v1.PaymentsService.GetBalances", {}, {}, t))},
  };
}

// The resource an id field refers to: the path segment before a capture, or the
// body field's own name.
std::string ResourceOf(const gateway::Route& route, const std::string& field) {
  for (size_t i = 1; i < route.segments.size(); ++i) {
    if (route.segments[i] == "{" + field + "}") {
      if (field == "client_id") return "clients";
      return route.segments[i - 1];
    }
  }
  if (field == "client_id" || field == "other_client_id") return "clients";
  if (field == "team_ids" || field == "team_id") return "teams";
  if (field == "user_id" || field == "assignee_id") return "staff";
  if (field == "pet_id") return "pets";
  if (field == "conversation_id") return "conversations";
  if (field == "status_id") return "conversation-statuses";
  if (field == "template_id") return "message-templates";
  if (field == "clinic_id") return "clinics";
  if (field == "appointment_type_id" || field == "appointment_type_ids") return "appointment-types";
  if (field == "provider_id" || field == "provider_ids") return "providers";
  if (field == "room_id" || field == "room_ids") return "rooms";
  if (field == "appointment_id") return "appointments";
  return "";
}

// A record's id by its name (`id`, `…_id`, `…_ids`), unless the schema marks the field as
// the caller's own idempotency key (vetline/api/fields.proto): free text, not a record.
bool IsIdField(const FieldDescriptor* f) {
  return f->type() == FieldDescriptor::TYPE_STRING && !f->options().GetExtension(api::idempotency_key) &&
         (f->name() == "id" || absl::EndsWith(f->name(), "_id") ||
          absl::EndsWith(f->name(), "_ids"));
}

// Valid values for the other fields, so the id is what a request is refused
// for.
json SampleBody(const std::string& method) {
  static const std::map<std::string, json> kSamples = {
      {"vetline.identity.v1.IdentityService.UpdateStaff",
       {{"name", "New Name"}, {"setTeamIds", true}}},
      {"vetline.clients.v1.ClientsService.UpdateClient", {{"firstName", "Newname"}}},
      {"vetline.clients.v1.ClientsService.AddPhone",
       {{"number", "+13125550199"}, {"type", "WORK"}}},
      {"vetline.clients.v1.ClientsService.UpdatePhone", {{"type", "WORK"}}},
      {"vetline.clients.v1.ClientsService.AddEmail", {{"address", "new@pets.example"}}},
      {"vetline.clients.v1.ClientsService.AddPet", {{"name", "Rex"}}},
      {"vetline.clients.v1.ClientsService.UpdateContactOptions", {{"emailEnabled", false}}},
      {"vetline.conversations.v1.ConversationsService.ListConversations",
       {{"assigneeFilter", "ASSIGNED_TO_USER"}}},
      {"vetline.conversations.v1.ConversationsService.SendMessage", {{"text", "Hi"}}},
      {"vetline.conversations.v1.ConversationsService.RetryDelivery", {{"channel", "TEXT"}}},
      {"vetline.booking.v1.BookingService.CreateBlockOff",
       {{"startTime", "2027-06-02T12:00:00Z"}, {"endTime", "2027-06-02T13:00:00Z"}}},
      {"vetline.booking.v1.BookingService.CreateAppointment", {{"startTime", "2027-06-03T15:00:00Z"}}},
      {"vetline.booking.v1.BookingService.MoveAppointment", {{"startTime", "2027-06-03T15:00:00Z"}}},
      {"vetline.booking.v1.BookingService.ListAppointments", {{"from", "2027-06-01"}, {"to", "2027-06-02"}}},
      {"vetline.booking.v1.BookingService.ListBlockOffs", {{"from", "2027-06-01"}, {"to", "2027-06-02"}}},
      {"vetline.booking.v1.BookingService.GetAvailability", {{"from", "2027-06-01"}, {"to", "2027-06-02"}}},
      {"vetline.booking.v1.AppointmentsViewService.CreateColumn", {{"name", "Walk"}}},
      {"vetline.booking.v1.RequestFormsService.UpdateFormRequest", {{"status", "HANDLED"}}},
      {"vetline.payments.v1.PaymentsService.CreatePaymentRequest",
       {{"clientRequestId", "walk-deposit"}, {"kind", "DEPOSIT"}, {"currency", "usd"}, {"amount", 2500}}},
      {"vetline.payments.v1.PaymentsService.RefundPayment", {{"clientRequestId", "walk-refund"}}},
  };
  auto it = kSamples.find(method);
  return it == kSamples.end() ? json::object() : it->second;
}

// Puts `id` in the path capture or the body field `f`.
void PutId(const gateway::Route& route, const FieldDescriptor* f, const std::string& id,
           std::map<std::string, std::string>& captures, json& body) {
  if (absl::StrContains(route.path_template, "{" + f->name() + "}")) {
    captures[f->name()] = id;
  } else if (f->is_repeated()) {
    body[f->json_name()] = json::array({id});
  } else {
    body[f->json_name()] = id;
  }
}

void WalkForeignIds(const std::vector<std::string>& backends,
                    const std::set<std::string>& only = {}) {
  EdgeStack s;
  const bool payments = std::find(backends.begin(), backends.end(), "payments") != backends.end();
  ClinicRecords a = MakeRecords(s, "Maple Vet", "maple.example", payments);
  ClinicRecords b = MakeRecords(s, "Oak Vet", "oak.example", payments);
  json before_a = Snapshot(s, a), before_b = Snapshot(s, b);
  std::set<std::string> walked;
  for (const std::string& backend : backends) {
    for (const gateway::Route* route : WalkableRoutes(backend)) {
      if (route->rule.anonymous()) continue;  // no caller clinic (sign-up picks a clinic)
      // A portal client's own routes refuse staff before reading any id; their foreign ids
      // are walked as a client in the service's tests (booking_request_forms_test).
      if (absl::StartsWith(route->path_template, "/v1/portal/")) continue;
      const std::string method = route->method->full_name();
      if (!only.empty() && !only.count(method)) continue;
      const Descriptor* req = route->method->input_type();
      // The caller's own records in every id field, then one field at a time
      // replaced.
      std::map<std::string, std::string> captures;
      json body = SampleBody(method);
      std::vector<const FieldDescriptor*> id_fields;
      for (int i = 0; i < req->field_count(); ++i) {
        const FieldDescriptor* f = req->field(i);
        if (!IsIdField(f)) continue;
        id_fields.push_back(f);
        std::string resource = ResourceOf(*route, f->name());
        std::string own = a.ids.count(resource) ? a.ids.at(resource) : MadeUpId();
        if (f->name() == "other_client_id") own = a.ids.at("other_clients");
        PutId(*route, f, own, captures, body);
      }
      for (const FieldDescriptor* f : id_fields) {
        std::string resource = ResourceOf(*route, f->name());
        std::vector<std::string> foreign = {MadeUpId()};
        if (b.ids.count(resource)) foreign.push_back(b.ids.at(resource));
        bool in_path = absl::StrContains(route->path_template, "{" + f->name() + "}");
        for (const std::string& id : foreign) {
          auto c = captures;
          json j = body;
          PutId(*route, f, id, c, j);
          Sent sent = Send(s, *route, c, j, a.clinic.token);
          INFO(sent.what << " -> " << sent.response.status << " " << sent.response.body);
          json err = sent.response.json().value("error", json::object());
          if (in_path) {
            CHECK(sent.response.status == 404);
          } else {
            // A body id is a field error naming it: 404, or 400 when it fails a
            // rule.
            CHECK((sent.response.status == 404 || sent.response.status == 400));
            CHECK(err.value("field", "") == f->json_name());
          }
          walked.insert(method + "." + f->json_name());
        }
      }
    }
  }
  CHECK(Snapshot(s, a) == before_a);
  CHECK(Snapshot(s, b) == before_b);
  // The walk saw the RPCs the issues name.
  static const std::map<std::string, std::vector<std::string>> kExpected = {
      {"identity",
       {"vetline.identity.v1.IdentityService.LinkProspect.clientId",
        "vetline.identity.v1.IdentityService.UpdateStaff.teamIds"}},
      {"clients", {"vetline.clients.v1.ClientsService.MergeClients.otherClientId"}},
      {"media", {"vetline.media.v1.MediaService.CreateCall.conversationId"}},
      {"conversations",
       {"vetline.conversations.v1.ConversationsService.StartConversation.petId",
        "vetline.conversations.v1.ConversationsService.Assign.userId",
        "vetline.conversations.v1.ConversationsService.Assign.teamId",
        "vetline.conversations.v1.ConversationsService.SetStatus.statusId",
        "vetline.conversations.v1.ConversationsService.LinkClient.clientId",
        "vetline.conversations.v1.ConversationsService.SendMessage.fileIds",
        "vetline.conversations.v1.ConversationsService.ListConversations.clientId",
        "vetline.conversations.v1.ConversationsService.ListConversations.petId",
        "vetline.conversations.v1.ConversationsService.ListConversations.assigneeId",
        "vetline.conversations.v1.ConversationsService.RetryDelivery.messageId",
        "vetline.conversations.v1.ConversationSettingsService.RenderTemplate.templateId"}},
      {"booking",
       {"vetline.booking.v1.BookingService.CreateAppointment.clientId",
        "vetline.booking.v1.BookingService.CreateAppointment.petId",
        "vetline.booking.v1.BookingService.CreateAppointment.appointmentTypeId",
        "vetline.booking.v1.BookingService.CreateAppointment.providerId",
        "vetline.booking.v1.BookingService.CreateAppointment.roomId",
        "vetline.booking.v1.BookingService.MoveAppointment.id",
        "vetline.booking.v1.BookingService.MoveAppointment.providerId",
        "vetline.booking.v1.BookingService.CreateBlockOff.roomId",
        "vetline.booking.v1.BookingService.ListAppointments.providerIds",
        "vetline.booking.v1.BookingService.GetAvailability.appointmentTypeId",
        "vetline.booking.v1.BookingService.GetAvailability.providerId",
        "vetline.booking.v1.BookingService.GetProviderSchedule.providerId",
        "vetline.booking.v1.AppointmentsViewService.CreateColumn.appointmentTypeIds",
        "vetline.booking.v1.AppointmentsViewService.CreateColumn.providerIds",
        "vetline.booking.v1.AppointmentsViewService.CreateColumn.roomIds",
        "vetline.booking.v1.AppointmentsViewService.UpdateColumn.id",
        "vetline.booking.v1.AppointmentsViewService.DeleteColumn.id",
        "vetline.booking.v1.RequestFormsService.GetRequestForm.id",
        "vetline.booking.v1.RequestFormsService.UpdateRequestForm.id",
        "vetline.booking.v1.RequestFormsService.ListFormRequests.formId"}},
      {"payments",
       {"vetline.payments.v1.PaymentsService.CreatePaymentRequest.clientId",
        "vetline.payments.v1.PaymentsService.CreatePaymentRequest.appointmentId",
        "vetline.payments.v1.PaymentsService.GetPaymentRequest.id",
        "vetline.payments.v1.PaymentsService.ListPaymentRequests.clientId",
        "vetline.payments.v1.PaymentsService.CancelPaymentRequest.id",
        "vetline.payments.v1.PaymentsService.RefundPayment.paymentRequestId"}},
  };
  for (const std::string& backend : backends) {
    auto it = kExpected.find(backend);
    if (it == kExpected.end()) continue;
    for (const std::string& e : it->second) {
      INFO(e);
      CHECK(walked.count(e));
    }
  }
  // An idempotency key is the caller's free text, not a record: never walked as an id.
  CHECK_FALSE(walked.count("vetline.payments.v1.PaymentsService.CreatePaymentRequest.clientRequestId"));
  CHECK_FALSE(walked.count("vetline.payments.v1.PaymentsService.RefundPayment.clientRequestId"));
  CHECK_FALSE(walked.empty());
}

}  // namespace

TEST_CASE("edge: another clinic's ids and made-up ids are refused and change nothing", "[edge]") {
  WalkForeignIds({"identity", "clients", "pims_sync"});
}

TEST_CASE("edge: a call for another clinic's client or conversation or a made-up one is refused",
          "[edge][media]") {
  WalkForeignIds({"media"}, {"vetline.media.v1.MediaService.CreateCall"});
}

TEST_CASE("edge: conversations refuse another clinic's ids and made-up ones and change nothing",
          "[edge][conversations]") {
  WalkForeignIds({"conversations"});
}

TEST_CASE("edge: booking refuses another clinic's ids and made-up ones and changes nothing",
          "[edge][booking]") {
  WalkForeignIds({"booking"});
}

TEST_CASE("edge: payments refuse another clinic's payment requests clients and appointments and change nothing",
          "[edge][payments]") {
  WalkForeignIds({"payments"});
}

namespace {

json ErrorOf(const Sent& sent) { return sent.response.json().value("error", json::object()); }

// One clinic with records, its admin signed in.
struct MapleVet {
  EdgeStack s;
  ClinicRecords a = MakeRecords(s, "Maple Vet", "maple.example");
  const std::string& t = a.clinic.token;
};

// The same with its Stripe account connected and a deposit asked of Pat.
struct MapleVetPayments {
  EdgeStack s;
  ClinicRecords a = MakeRecords(s, "Maple Vet", "maple.example", /*payments=*/true);
  const std::string& t = a.clinic.token;
};

}  // namespace

TEST_CASE_METHOD(MapleVet,
                 "edge: enum values outside the defined set are field errors, "
                 "nothing changes",
                 "[edge]") {
  json staff_before = Ok(Call(s, "vetline.identity.v1.IdentityService.ListStaff", {}, {}, t));
  for (int role : {999, -1, 0}) {
    Sent sent = Call(s, "vetline.identity.v1.IdentityService.CreateStaff", {},
                     {{"email", "new@maple.example"},
                      {"name", "New"},
                      {"role", role},
                      {"password", "correct horse battery"}},
                     t);
    INFO(sent.what << " -> " << sent.response.body);
    CHECK(sent.response.status == 400);
    CHECK(ErrorOf(sent)["field"] == "role");
  }
  for (int role : {-1, 999}) {  // would have demoted the only admin
    Sent sent = Call(s, "vetline.identity.v1.IdentityService.UpdateStaff",
                     {{"id", a.clinic.admin_id}}, {{"role", role}}, t);
    INFO(sent.what << " -> " << sent.response.body);
    CHECK(sent.response.status == 400);
    CHECK(ErrorOf(sent)["field"] == "role");
  }
  CHECK(Ok(Call(s, "vetline.identity.v1.IdentityService.ListStaff", {}, {}, t)) == staff_before);
  json client_before =
      Ok(Call(s, "vetline.clients.v1.ClientsService.GetClient", {{"id", a.ids["clients"]}}, {}, t));
  for (int type : {999, -1}) {
    Sent add =
        Call(s, "vetline.clients.v1.ClientsService.AddPhone", {{"client_id", a.ids["clients"]}},
             {{"number", "+13125550177"}, {"type", type}}, t);
    INFO(add.what << " -> " << add.response.body);
    CHECK(add.response.status == 400);
    CHECK(ErrorOf(add)["field"] == "type");
    Sent update =
        Call(s, "vetline.clients.v1.ClientsService.UpdatePhone",
             {{"client_id", a.ids["clients"]}, {"id", a.ids["phones"]}}, {{"type", type}}, t);
    CHECK(update.response.status == 400);
    CHECK(ErrorOf(update)["field"] == "type");
    Sent create = Call(s, "vetline.clients.v1.ClientsService.CreateClient", {},
                       {{"firstName", "Kim"},
                        {"lastName", "Ray"},
                        {"phones", {{{"number", "+13125550178"}, {"type", type}}}}},
                       t);
    CHECK(create.response.status == 400);
    CHECK(ErrorOf(create)["field"] == "phones");
  }
  CHECK(Ok(Call(s, "vetline.clients.v1.ClientsService.GetClient", {{"id", a.ids["clients"]}}, {},
                t)) == client_before);
  // An absent optional enum is still fine: a phone without a type is OTHER.
  json added = Ok(Call(s, "vetline.clients.v1.ClientsService.AddPhone",
                       {{"client_id", a.ids["clients"]}}, {{"number", "+13125550179"}}, t));
  CHECK(added["phones"].dump().find("OTHER") != std::string::npos);
}

TEST_CASE_METHOD(MapleVet, "edge: a duplicate phone or email is ALREADY_EXISTS naming the field",
                 "[edge]") {
  Ok(Call(s, "vetline.clients.v1.ClientsService.AddEmail", {{"client_id", a.ids["clients"]}},
          {{"address", "pat@pets.example"}}, t));
  json before =
      Ok(Call(s, "vetline.clients.v1.ClientsService.GetClient", {{"id", a.ids["clients"]}}, {}, t));
  Sent phone =
      Call(s, "vetline.clients.v1.ClientsService.AddPhone", {{"client_id", a.ids["clients"]}},
           {{"number", "+1 312 555 0100"}, {"type", "MOBILE"}}, t);
  CHECK(phone.response.status == 409);
  CHECK(ErrorOf(phone)["code"] == "ALREADY_EXISTS");
  CHECK(ErrorOf(phone)["field"] == "number");
  Sent email = Call(s, "vetline.clients.v1.ClientsService.AddEmail",
                    {{"client_id", a.ids["clients"]}}, {{"address", "PAT@pets.example"}}, t);
  CHECK(email.response.status == 409);
  CHECK(ErrorOf(email)["field"] == "address");
  CHECK(Ok(Call(s, "vetline.clients.v1.ClientsService.GetClient", {{"id", a.ids["clients"]}}, {},
                t)) == before);
  // The same number twice in one new profile: no database text, the list is
  // named.
  Sent twice = Call(s, "vetline.clients.v1.ClientsService.CreateClient", {},
                    {{"firstName", "Kim"},
                     {"lastName", "Ray"},
                     {"phones", {{{"number", "+13125550150"}}, {{"number", "+1 (312) 555-0150"}}}}},
                    t);
  CHECK(twice.response.status == 409);
  CHECK(ErrorOf(twice)["field"] == "phones");
  CHECK_FALSE(LooksLikeLibraryText(ErrorOf(twice).value("message", "")));
}

TEST_CASE_METHOD(MapleVet,
                 "edge: page tokens are opaque, a garbled one is a pageToken "
                 "error without database text",
                 "[edge]") {
  ClinicRecords b = MakeRecords(s, "Oak Vet", "oak.example");
  for (int i = 0; i < 3; ++i) {
    Ok(Call(s, "vetline.identity.v1.IdentityService.CreateStaff", {},
            {{"email", "s" + std::to_string(i) + "@maple.example"},
             {"name", "S"},
             {"role", "STAFF"},
             {"password", "correct horse battery"}},
            t));
  }
  json page =
      Ok(Call(s, "vetline.identity.v1.IdentityService.ListStaff", {}, {{"pageSize", 2}}, t));
  std::string token = page["nextPageToken"];
  REQUIRE_FALSE(token.empty());
  CHECK(token.find('@') == std::string::npos);  // opaque: no email inside in clear
  json next = Ok(Call(s, "vetline.identity.v1.IdentityService.ListStaff", {},
                      {{"pageSize", 2}, {"pageToken", token}}, t));
  CHECK(next["staff"].size() == 2);
  std::string tampered = token;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  for (const std::string& bad :
       {std::string("-5"), std::string("%FF%FE"), tampered, std::string(5000, 'A')}) {
    Sent sent =
        Call(s, "vetline.identity.v1.IdentityService.ListStaff", {}, {{"pageToken", bad}}, t);
    INFO(bad.substr(0, 40) << " -> " << sent.response.body);
    CHECK(sent.response.status == 400);
    CHECK(ErrorOf(sent)["field"] == "pageToken");
    CHECK_FALSE(LooksLikeLibraryText(ErrorOf(sent).value("message", "")));
  }
  // Another clinic's token is refused too.
  Sent other = Call(s, "vetline.identity.v1.IdentityService.ListStaff", {}, {{"pageToken", token}},
                    b.clinic.token);
  CHECK(other.response.status == 400);
  CHECK(ErrorOf(other)["field"] == "pageToken");
  // One page-size policy: above the maximum is a field error on every list.
  for (const char* method : {"vetline.identity.v1.IdentityService.ListStaff",
                             "vetline.pims_sync.v1.PimsSyncService.ListRuns"}) {
    Sent big = Call(s, method, {}, {{"pageSize", 201}}, t);
    CHECK(big.response.status == 400);
    CHECK(ErrorOf(big)["field"] == "pageSize");
  }
  Sent search = Call(s, "vetline.clients.v1.ClientsService.SearchClients", {},
                     {{"query", "Lee"}, {"pageSize", 201}}, t);
  CHECK(ErrorOf(search)["field"] == "pageSize");
  CHECK(Ok(Call(s, "vetline.clients.v1.ClientsService.SearchClients", {},
                {{"query", "Lee"}, {"pageSize", 200}}, t))["clients"]
            .size() == 2);
}

TEST_CASE_METHOD(MapleVet,
                 "edge: strings are bounded and control characters are refused, not cut off",
                 "[edge]") {
  json connector_before =
      Ok(Call(s, "vetline.pims_sync.v1.PimsSyncService.GetConnector", {}, {}, t));
  for (const std::string& address :
       {std::string(64 * 1024, 'a') + ":5000", std::string("pims\0.example:5000", 18),
        std::string("pims example:5000"), std::string("pims.example:0")}) {
    Sent sent = Call(s, "vetline.pims_sync.v1.PimsSyncService.SetConnector", {},
                     {{"kind", "cornerstone"}, {"address", address}}, t);
    INFO(sent.what);
    CHECK(sent.response.status == 400);
    CHECK(ErrorOf(sent)["field"] == "address");
  }
  CHECK(Ok(Call(s, "vetline.pims_sync.v1.PimsSyncService.GetConnector", {}, {}, t)) ==
        connector_before);
  Ok(Call(s, "vetline.pims_sync.v1.PimsSyncService.SetConnector", {},
          {{"kind", "cornerstone"}, {"address", "pims-agent.maple.example:7001"}}, t));

  std::string with_nul("Pat\0rick", 8);
  struct Case {
    std::string method;
    std::map<std::string, std::string> captures;
    json body;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{
           {"vetline.identity.v1.IdentityService.UpdateStaff",
            {{"id", a.ids["staff"]}},
            {{"name", with_nul}},
            "name"},
           {"vetline.identity.v1.IdentityService.CreateTeam", {}, {{"name", with_nul}}, "name"},
           {"vetline.clients.v1.ClientsService.CreateClient",
            {},
            {{"firstName", with_nul}, {"lastName", "Lee"}},
            "firstName"},
           {"vetline.clients.v1.ClientsService.UpdateClient",
            {{"id", a.ids["clients"]}},
            {{"lastName", with_nul}},
            "lastName"},
           {"vetline.clients.v1.ClientsService.AddPet",
            {{"client_id", a.ids["clients"]}},
            {{"name", with_nul}},
            "name"},
           {"vetline.clients.v1.ClientsService.AddPet",
            {{"client_id", a.ids["clients"]}},
            {{"name", "Rex"}, {"breed", std::string(300, 'b')}},
            "breed"},
           {"vetline.clients.v1.ClientsService.SearchClients", {}, {{"query", with_nul}}, "query"},
       }) {
    Sent sent = Call(s, c.method, c.captures, c.body, t);
    INFO(sent.what << " -> " << sent.response.body);
    CHECK(sent.response.status == 400);
    CHECK(ErrorOf(sent)["field"] == c.field);
  }
  json client =
      Ok(Call(s, "vetline.clients.v1.ClientsService.GetClient", {{"id", a.ids["clients"]}}, {}, t));
  CHECK(client["lastName"] == "Lee");
  REQUIRE(client["pets"].size() == 1);  // only MakeRecords' Rex: the refused pets were not added
  CHECK(client["pets"][0]["name"] == "Rex");
}

TEST_CASE_METHOD(MapleVet, "edge: conversations refuse bad enums strings and page tokens naming the "
                           "field and change nothing",
                 "[edge][conversations]") {
  const std::string conv = a.ids["conversations"];
  json before = Snapshot(s, a);
  struct Case {
    std::string method;
    std::map<std::string, std::string> captures;
    json body;
    std::string field;
  };
  std::string with_nul("Hi\0there", 8);
  for (const Case& c : std::vector<Case>{
           {"vetline.conversations.v1.ConversationsService.ListConversations", {},
            {{"assigneeFilter", 999}}, "assigneeFilter"},
           {"vetline.conversations.v1.ConversationsService.ListConversations", {},
            {{"assigneeFilter", -1}}, "assigneeFilter"},
           {"vetline.conversations.v1.ConversationsService.RetryDelivery",
            {{"conversation_id", conv}, {"message_id", a.ids["messages"]}}, {{"channel", 999}},
            "channel"},
           {"vetline.conversations.v1.ConversationsService.RetryDelivery",
            {{"conversation_id", conv}, {"message_id", a.ids["messages"]}}, {{"channel", 0}},
            "channel"},
           {"vetline.conversations.v1.ConversationsService.SendMessage", {{"conversation_id", conv}},
            {{"text", std::string(10001, 'a')}}, "text"},
           {"vetline.conversations.v1.ConversationsService.SendMessage", {{"conversation_id", conv}},
            {{"text", with_nul}}, "text"},
           {"vetline.conversations.v1.ConversationsService.SendMessage", {{"conversation_id", conv}},
            {{"text", ""}}, "text"},
           {"vetline.conversations.v1.ConversationsService.SendMessage", {{"conversation_id", conv}},
            {{"text", "hi"}, {"fileIds", {"not-an-id"}}}, "fileIds"},
           {"vetline.conversations.v1.ConversationsService.SearchMessages", {},
            {{"query", with_nul}}, "query"},
           {"vetline.conversations.v1.ConversationsService.SearchMessages", {},
            {{"query", std::string(300, 'q')}}, "query"},
           {"vetline.conversations.v1.ConversationSettingsService.CreateTemplate", {},
            {{"name", with_nul}, {"body", "Hi"}}, "name"},
           {"vetline.conversations.v1.ConversationSettingsService.CreateTemplate", {},
            {{"name", "Other"}, {"body", "Hi {owner.name}"}}, "body"},
           {"vetline.conversations.v1.ConversationSettingsService.CreateStatus", {},
            {{"name", "Waiting"}, {"color", "red"}}, "color"},
           {"vetline.conversations.v1.ConversationSettingsService.CreateStatus", {},
            {{"name", std::string(61, 'n')}}, "name"},
       }) {
    Sent sent = Call(s, c.method, c.captures, c.body, t);
    INFO(sent.what << " -> " << sent.response.body);
    CHECK(sent.response.status == 400);
    CHECK(ErrorOf(sent)["field"] == c.field);
    CHECK_FALSE(LooksLikeLibraryText(ErrorOf(sent).value("message", "")));
  }
  // A duplicate status name is 409 naming name.
  Sent dup = Call(s, "vetline.conversations.v1.ConversationSettingsService.CreateStatus", {},
                  {{"name", "telemedicine"}}, t);
  CHECK(dup.response.status == 409);
  CHECK(ErrorOf(dup)["field"] == "name");
  CHECK(Snapshot(s, a) == before);

  // Page tokens: opaque, garbled or another clinic's refused naming pageToken.
  ClinicRecords b = MakeRecords(s, "Oak Vet", "oak.example");
  for (int i = 0; i < 2; ++i) {
    json client = Ok(Call(s, "vetline.clients.v1.ClientsService.CreateClient", {},
                          {{"firstName", "Kim" + std::string(1, static_cast<char>('a' + i))},
                           {"lastName", "Ray"}},
                          t));
    Ok(Call(s, "vetline.conversations.v1.ConversationsService.StartConversation",
            {{"client_id", client["id"]}}, json::object(), t));
  }
  json page = Ok(Call(s, "vetline.conversations.v1.ConversationsService.ListConversations", {},
                      {{"pageSize", 2}}, t));
  std::string token = page["nextPageToken"];
  REQUIRE_FALSE(token.empty());
  json next = Ok(Call(s, "vetline.conversations.v1.ConversationsService.ListConversations", {},
                      {{"pageSize", 2}, {"pageToken", token}}, t));
  CHECK(next["conversations"].size() == 1);
  std::string tampered = token;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  for (const std::string& bad : {std::string("-5"), tampered, std::string(5000, 'A')}) {
    Sent sent = Call(s, "vetline.conversations.v1.ConversationsService.ListConversations", {},
                     {{"pageToken", bad}}, t);
    CHECK(sent.response.status == 400);
    CHECK(ErrorOf(sent)["field"] == "pageToken");
  }
  Sent other = Call(s, "vetline.conversations.v1.ConversationsService.ListConversations", {},
                    {{"pageToken", token}}, b.clinic.token);
  CHECK(other.response.status == 400);
  CHECK(ErrorOf(other)["field"] == "pageToken");
  Sent big = Call(s, "vetline.conversations.v1.ConversationsService.ListMessages",
                  {{"conversation_id", conv}}, {{"pageSize", 201}}, t);
  CHECK(ErrorOf(big)["field"] == "pageSize");
}

TEST_CASE_METHOD(MapleVetPayments, "edge: payments refuse bad enums amounts strings and page tokens naming the "
                           "field and change nothing",
                 "[edge][payments]") {
  const std::string client = a.ids["clients"], request = a.ids["requests"];
  json before = Snapshot(s, a);
  auto deposit = [&](json changes) {
    json d = {{"clientRequestId", "edge-bad"}, {"kind", "DEPOSIT"}, {"clientId", client},
              {"currency", "usd"},             {"amount", 5000},    {"description", "Deposit"}};
    for (const auto& [k, v] : changes.items()) d[k] = v;
    return d;
  };
  const json invoice_line = {{"description", "Exam"}, {"unitAmount", 6500}};
  std::string with_nul("Depo\0sit", 8);
  struct Case {
    std::string method;
    std::map<std::string, std::string> captures;
    json body;
    std::string field;
  };
  const std::string create = "vetline.payments.v1.PaymentsService.CreatePaymentRequest";
  const std::string refund = "vetline.payments.v1.PaymentsService.RefundPayment";
  for (const Case& c : std::vector<Case>{
           {create, {}, deposit({{"kind", 999}}), "kind"},
           {create, {}, deposit({{"kind", -1}}), "kind"},
           {create, {}, deposit({{"kind", 0}}), "kind"},
           {create, {}, deposit({{"currency", "xyz"}}), "currency"},
           {create, {}, deposit({{"currency", ""}}), "currency"},
           {create, {}, deposit({{"amount", 0}}), "amount"},
           {create, {}, deposit({{"amount", -5}}), "amount"},
           {create, {}, deposit({{"amount", "9000000000000000000"}}), "amount"},
           {create, {}, deposit({{"description", with_nul}}), "description"},
           {create, {}, deposit({{"description", std::string(10001, 'd')}}), "description"},
           {create, {}, deposit({{"clientRequestId", ""}}), "clientRequestId"},
           {create, {}, deposit({{"clientRequestId", std::string(101, 'k')}}), "clientRequestId"},
           {create, {}, deposit({{"clientRequestId", with_nul}}), "clientRequestId"},
           {create, {}, deposit({{"kind", "INVOICE"}, {"amount", 0}}), "lineItems"},  // no lines
           {create, {}, deposit({{"kind", "INVOICE"}, {"amount", 0}, {"lineItems", {{{"description", with_nul}, {"unitAmount", 100}}}}}),
            "lineItems[0].description"},
           {create, {}, deposit({{"kind", "INVOICE"}, {"amount", 0}, {"lineItems", {invoice_line, {{"description", "X-ray"}, {"unitAmount", -1}}}}}),
            "lineItems[1].unitAmount"},
           {create, {}, deposit({{"kind", "INVOICE"}, {"amount", 0}, {"lineItems", {{{"description", "Exam"}, {"unitAmount", 100}, {"quantity", -2}}}}}),
            "lineItems[0].quantity"},
           {refund, {{"payment_request_id", request}}, {{"clientRequestId", "r"}, {"amount", -5}}, "amount"},
           {refund, {{"payment_request_id", request}}, {{"clientRequestId", "r"}, {"reason", "because"}}, "reason"},
           {refund, {{"payment_request_id", request}}, {{"clientRequestId", with_nul}}, "clientRequestId"},
           {refund, {{"payment_request_id", request}}, {{"clientRequestId", "r"}}, "paymentRequestId"},  // nothing paid
           {"vetline.payments.v1.PaymentsService.ListPaymentRequests", {}, {{"pageSize", 201}}, "pageSize"},
           {"vetline.payments.v1.PaymentsService.GetPaymentsReport", {}, {{"from", "2026-13-01"}, {"to", "2026-12-31"}},
            "from"},
           {"vetline.payments.v1.PaymentsService.GetPaymentsReport", {}, {{"from", "2026-12-02"}, {"to", "2026-12-01"}},
            "to"},
           {"vetline.payments.v1.PaymentsService.ConnectAccount", {},
            {{"secretKey", "sk_test_" + std::string(300, 'k')}, {"webhookSigningSecret", "whsec_abcdefgh"}}, "secretKey"},
           {"vetline.payments.v1.PaymentsService.ConnectAccount", {},
            {{"secretKey", "sk_test_abcdefgh"}, {"webhookSigningSecret", "whsec_ab\ncd"}}, "webhookSigningSecret"},
       }) {
    Sent sent = Call(s, c.method, c.captures, c.body, t);
    INFO(sent.what << " -> " << sent.response.body);
    CHECK(sent.response.status == 400);
    CHECK(ErrorOf(sent)["field"] == c.field);
    CHECK_FALSE(LooksLikeLibraryText(ErrorOf(sent).value("message", "")));
  }
  CHECK(Snapshot(s, a) == before);

  // Page tokens: opaque, garbled or another clinic's refused naming pageToken.
  ClinicRecords b = MakeRecords(s, "Oak Vet", "oak.example", /*payments=*/true);
  for (const char* key : {"page-1", "page-2"}) {
    Ok(Call(s, create, {}, deposit({{"clientRequestId", key}}), t));
  }
  json page = Ok(Call(s, "vetline.payments.v1.PaymentsService.ListPaymentRequests", {}, {{"pageSize", 2}}, t));
  std::string token = page["nextPageToken"];
  REQUIRE_FALSE(token.empty());
  json next = Ok(Call(s, "vetline.payments.v1.PaymentsService.ListPaymentRequests", {},
                      {{"pageSize", 2}, {"pageToken", token}}, t));
  CHECK(next["paymentRequests"].size() == 1);
  std::string tampered = token;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  for (const std::string& bad : {std::string("-5"), tampered, std::string(5000, 'A')}) {
    Sent sent = Call(s, "vetline.payments.v1.PaymentsService.ListPaymentRequests", {}, {{"pageToken", bad}}, t);
    CHECK(sent.response.status == 400);
    CHECK(ErrorOf(sent)["field"] == "pageToken");
  }
  Sent other = Call(s, "vetline.payments.v1.PaymentsService.ListPaymentRequests", {}, {{"pageToken", token}},
                    b.clinic.token);
  CHECK(other.response.status == 400);
  CHECK(ErrorOf(other)["field"] == "pageToken");
  // A token of the whole list does not page one client's list either.
  Sent narrowed = Call(s, "vetline.payments.v1.PaymentsService.ListPaymentRequests", {},
                       {{"clientId", client}, {"pageToken", token}}, t);
  CHECK(ErrorOf(narrowed)["field"] == "pageToken");
}

TEST_CASE_METHOD(MapleVet, "edge: a staff message sent over HTTP is read by the client in the "
                           "portal and an internal note is not",
                 "[edge][conversations]") {
  const std::string conv = a.ids["conversations"];
  // The prospect signed up in MakeRecords becomes Pat's portal account.
  Ok(Call(s, "vetline.identity.v1.IdentityService.LinkProspect", {{"id", a.ids["prospects"]}},
          {{"clientId", a.ids["clients"]}}, t));
  json login = Ok(Call(s, "vetline.identity.v1.IdentityService.PortalLogin", {},
                       {{"clinicId", a.clinic.id},
                        {"email", "owner@maple.example"},
                        {"password", "correct horse battery"}},
                       ""));
  const std::string portal = login["token"];
  json sent = Ok(Call(s, "vetline.conversations.v1.ConversationsService.SendMessage",
                      {{"conversation_id", conv}}, {{"text", "Rex is ready for pick-up"}}, t));
  CHECK(sent["author"] == "STAFF");
  Ok(Call(s, "vetline.conversations.v1.ConversationsService.SendMessage", {{"conversation_id", conv}},
          {{"text", "Owner owes 40 dollars"}, {"internalNote", true}}, t));
  json seen = Ok(Call(s, "vetline.conversations.v1.ConversationsService.ListMessages",
                      {{"conversation_id", conv}}, {}, portal));
  REQUIRE(seen["messages"].size() == 2);  // the new one and MakeRecords' greeting
  CHECK(seen["messages"][0]["text"] == "Rex is ready for pick-up");
  CHECK(seen.dump().find("40 dollars") == std::string::npos);
  for (const json& m : seen["messages"]) CHECK(m.value("deliveries", json::array()).empty());
  json conversation = Ok(Call(s, "vetline.conversations.v1.ConversationsService.GetConversation",
                              {{"id", conv}}, {}, portal));
  CHECK(conversation["lastMessagePreview"] == "Rex is ready for pick-up");
  CHECK(conversation["clientUnread"] == 2);
  // The client answers over HTTP; staff see it unread. Another client's conversation is 404.
  Ok(Call(s, "vetline.conversations.v1.ConversationsService.SendMessage", {{"conversation_id", conv}},
          {{"text", "On my way"}}, portal));
  json staff_view = Ok(Call(s, "vetline.conversations.v1.ConversationsService.GetConversation",
                            {{"id", conv}}, {}, t));
  CHECK(staff_view["staffUnread"] == 1);
  CHECK(staff_view["lastMessagePreview"] == "On my way");
  json sam_conv = Ok(Call(s, "vetline.conversations.v1.ConversationsService.StartConversation",
                          {{"client_id", a.ids["other_clients"]}}, json::object(), t));
  Sent foreign = Call(s, "vetline.conversations.v1.ConversationsService.GetConversation",
                      {{"id", sam_conv["id"]}}, {}, portal);
  CHECK(foreign.response.status == 404);
  Sent note = Call(s, "vetline.conversations.v1.ConversationsService.SendMessage",
                   {{"conversation_id", conv}}, {{"text", "x"}, {"internalNote", true}}, portal);
  CHECK(note.response.status == 400);
  CHECK(ErrorOf(note)["field"] == "internalNote");
}

namespace {

// A clinic with one open request form, created through the gateway; {clinic id, form id, question id}.
struct OpenForm {
  std::string clinic, form, question;
};
OpenForm MakeOpenForm(EdgeStack& s) {
  EdgeStack::Clinic c = s.CreateClinic("Maple Vet", "admin@maple.example");
  json form = Ok(Call(s, "vetline.booking.v1.RequestFormsService.CreateRequestForm", {},
                      {{"name", "Appointment request"},
                       {"active", true},
                       {"questions", {{{"label", "Reason"}, {"kind", "LONG_TEXT"}, {"required", true}}}}},
                      c.token));
  return {c.id, form["id"], form["questions"][0]["id"]};
}

Sent SubmitAnonymously(EdgeStack& s, const OpenForm& f, const std::string& contact) {
  return Call(s, "vetline.booking.v1.RequestFormsService.SubmitRequest",
              {{"clinic_id", f.clinic}, {"form_id", f.form}},
              {{"contact", contact},
               {"contactName", "Walk In"},
               {"answers", {{{"questionId", f.question}, {"value", "Limping"}}}}},
              "");
}

}  // namespace

TEST_CASE("edge: the website widget's request submit is rate-limited per contact and per client IP",
          "[edge][booking]") {
  SECTION("per contact") {
    EdgeStack s({.rate_limits = true});
    OpenForm f = MakeOpenForm(s);
    std::vector<int> statuses;
    for (int i = 0; i < 7; ++i) statuses.push_back(SubmitAnonymously(s, f, "+1 312 555 0199").response.status);
    CHECK(statuses == std::vector<int>{200, 200, 200, 200, 200, 429, 429});
    // Another contact from the same IP still gets through.
    CHECK(SubmitAnonymously(s, f, "walk.in@pets.example").response.status == 200);
  }
  SECTION("per IP, across contacts") {
    // One IP budget for every login-style route: the admin's sign-in takes the first.
    EdgeStack s({.rate_limits = true, .login_ip_burst = 4, .login_ip_per_minute = 4});
    OpenForm f = MakeOpenForm(s);
    std::vector<int> statuses;
    for (int i = 0; i < 5; ++i) {
      statuses.push_back(SubmitAnonymously(s, f, "+1312555010" + std::to_string(i)).response.status);
    }
    CHECK(statuses == std::vector<int>{200, 200, 200, 429, 429});
  }
}
