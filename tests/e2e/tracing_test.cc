// One request followed through the logs: `vetline serve` (the real binary, every service
// and the gateway over real gRPC) with its log in a file; HTTP requests with and without
// a W3C traceparent; then the JSON lines of the gateway and of every service the request
// reached, down to a service-to-service hop (conversations asking clients whether the
// client exists), are found by the trace id and checked for the request id, the caller's
// clinic and a chain of spans.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include "libs/rpc/rpc.h"
#include "libs/testing/servers.h"
#include "tests/support/http_client.h"
#include "tests/support/identity_stack.h"
#include "tests/support/vetline_serve.h"
#include "vetline/identity/v1/identity.grpc.pb.h"

using namespace vetline;
using nlohmann::json;
using testing::HttpClient;

namespace {

constexpr char kPassword[] = "correct horse battery staple";
constexpr char kTraceId[] = "0af7651916cd43dd8448eb211c80319c";
constexpr char kBrowserSpan[] = "b7ad6b7169203331";

// The process's JSON log lines with `trace_id`, once `enough` of them are there (the
// access-log line of a call is written as the call closes, just after its answer).
std::vector<json> LinesOfTrace(const std::string& log_path, const std::string& trace_id,
                               const std::function<bool(const std::vector<json>&)>& enough) {
  std::vector<json> lines;
  for (int attempt = 0; attempt < 50; ++attempt) {
    lines.clear();
    std::ifstream f(log_path);
    for (std::string line; std::getline(f, line);) {
      json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.value("trace_id", "") == trace_id) lines.push_back(std::move(j));
    }
    if (enough(lines)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return lines;
}

// The access-log line of `method` (a part of the gRPC method name) among `lines`.
const json* RpcLine(const std::vector<json>& lines, const std::string& method) {
  for (const json& j : lines) {
    if (j.value("msg", "") == "rpc" && j.value("method", "").find(method) != std::string::npos) return &j;
  }
  return nullptr;
}

const json* HttpLine(const std::vector<json>& lines) {
  for (const json& j : lines) {
    if (j.value("msg", "") == "http") return &j;
  }
  return nullptr;
}

struct Traceparent {
  std::string version, trace_id, span_id, flags;
};
Traceparent Split(const std::string& h) {
  REQUIRE(h.size() == 55);
  return {h.substr(0, 2), h.substr(3, 32), h.substr(36, 16), h.substr(53, 2)};
}

}  // namespace

TEST_CASE("tracing: one request is followed by its trace id through the gateway and every service it reached",
          "[e2e][tracing]") {
  testing::TestDatabase db;
  const std::string dir = "/tmp/vetline-tracing-" + testing::UniqueRedisPrefix().substr(5, 16);
  std::filesystem::create_directories(dir);
  const std::string log_path = dir + "/vetline.log";
  testing::VetlineServe serve(VETLINE_BINARY, db.conninfo(), false, {}, log_path);
  REQUIRE(serve.ready());

  // A clinic and its admin, made as the platform does; the admin signs in over HTTP.
  auto identity = identity::v1::IdentityService::NewStub(rpc::Dial(serve.Address("identity")));
  identity::v1::CreateClinicRequest create;
  create.set_name("Tracing Vets");
  create.set_time_zone("America/Chicago");
  create.set_phone("+15551230000");
  create.set_pims_kind(identity::v1::CORNERSTONE);
  create.set_admin_email("admin@tracing.example");
  create.set_admin_name("Ada Admin");
  create.set_admin_password(kPassword);
  identity::v1::CreateClinicResponse clinic;
  grpc::ClientContext ctx;
  rpc::SetDeadline(ctx);
  rpc::AttachPrincipal(ctx, testing::IdentityStack::Platform(),
                       auth::PrincipalSigner(auth::Key::FromSecret(testing::kTestInternalSecret).value()));
  REQUIRE(identity->CreateClinic(&ctx, create, &clinic).ok());
  const std::string clinic_id = clinic.clinic().id();
  HttpClient http = serve.Client();
  auto login = http.Post("/v1/auth/login",
                         json{{"email", "admin@tracing.example"}, {"password", kPassword}}.dump());
  REQUIRE(login.status == 200);
  const std::map<std::string, std::string> staff = {
      {"Authorization", "Bearer " + login.json()["token"].get<std::string>()},
      {"Content-Type", "application/json"}};
  auto with = [&](std::map<std::string, std::string> more) {
    more.insert(staff.begin(), staff.end());
    return more;
  };
  auto ann = http.Post("/v1/clients", json{{"firstName", "Ann"}, {"lastName", "Lee"}}.dump(), staff);
  INFO(ann.body);
  REQUIRE((ann.status == 200 || ann.status == 201));
  const std::string ann_id = ann.json()["id"];

  {  // a browser's traceparent is continued: gateway, conversations and clients log the same trace
    auto chat = http.Post("/v1/clients/" + ann_id + "/conversations", "{}",
                          with({{"traceparent", std::string("00-") + kTraceId + "-" + kBrowserSpan + "-01"},
                                {"tracestate", "clinicvendor=t61rcWkgMzE"},
                                {"X-Request-Id", "trace-walk-1"}}));
    INFO(chat.body);
    REQUIRE(chat.status == 200);
    CHECK(chat.header("x-request-id") == "trace-walk-1");
    // The answer names the trace and the gateway's own span under the browser's.
    Traceparent answer = Split(chat.header("traceparent"));
    CHECK(answer.version == "00");
    CHECK(answer.trace_id == kTraceId);
    CHECK(answer.span_id != kBrowserSpan);
    CHECK(answer.flags == "01");

    auto lines = LinesOfTrace(log_path, kTraceId, [](const std::vector<json>& l) {
      return HttpLine(l) && RpcLine(l, "ConversationsService/") && RpcLine(l, "ClientsService/GetClient");
    });
    const json* gateway = HttpLine(lines);
    const json* conversations = RpcLine(lines, "ConversationsService/");
    const json* clients = RpcLine(lines, "ClientsService/GetClient");
    REQUIRE(gateway);
    REQUIRE(conversations);
    REQUIRE(clients);
    for (const json* line : {gateway, conversations, clients}) {
      INFO(line->dump());
      CHECK((*line)["request_id"] == "trace-walk-1");
      CHECK((*line)["clinic_id"] == clinic_id);
    }
    // Each hop has its own span, its parent the caller's: browser -> gateway ->
    // conversations -> clients.
    CHECK((*gateway)["span_id"] == answer.span_id);
    CHECK((*gateway)["parent_span_id"] == kBrowserSpan);
    CHECK((*conversations)["service"] == "conversations");
    CHECK((*conversations)["parent_span_id"] == answer.span_id);
    CHECK((*clients)["service"] == "clients");
    CHECK((*clients)["parent_span_id"] == (*conversations)["span_id"]);
    CHECK((*clients)["span_id"] != (*conversations)["span_id"]);
    // The session check on the way (the gateway asking identity) is part of the trace too.
    const json* session = RpcLine(lines, "IdentityService/Authenticate");
    if (session) CHECK((*session)["parent_span_id"] == answer.span_id);
  }

  {  // a request without traceparent gets a new trace, answered in the traceparent header
    auto list = http.Get("/v1/clients/" + ann_id, staff);
    REQUIRE(list.status == 200);
    Traceparent answer = Split(list.header("traceparent"));
    CHECK(answer.trace_id != kTraceId);
    CHECK(answer.trace_id.find_first_not_of('0') != std::string::npos);
    const std::string request_id = list.header("x-request-id");
    REQUIRE_FALSE(request_id.empty());
    auto lines = LinesOfTrace(log_path, answer.trace_id, [](const std::vector<json>& l) {
      return HttpLine(l) && RpcLine(l, "ClientsService/");
    });
    REQUIRE(HttpLine(lines));
    REQUIRE(RpcLine(lines, "ClientsService/"));
    CHECK((*HttpLine(lines))["request_id"] == request_id);
    CHECK_FALSE(HttpLine(lines)->contains("parent_span_id"));
    CHECK((*RpcLine(lines, "ClientsService/"))["request_id"] == request_id);
    CHECK((*RpcLine(lines, "ClientsService/"))["clinic_id"] == clinic_id);
  }

  {  // a malformed traceparent is replaced by a new trace, never refused
    const std::string upper = "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01";
    for (const std::string& bad : {upper, std::string("00-") + std::string(32, '0') + "-" + kBrowserSpan + "-01",
                                   std::string("garbage")}) {
      INFO(bad);
      auto list = http.Get("/v1/clients/" + ann_id, with({{"traceparent", bad}, {"tracestate", "clinicvendor=x"}}));
      CHECK(list.status == 200);
      Traceparent answer = Split(list.header("traceparent"));
      CHECK(answer.trace_id != "0af7651916cd43dd8448eb211c80319c");
      CHECK(answer.trace_id.find_first_not_of('0') != std::string::npos);
      auto lines = LinesOfTrace(log_path, answer.trace_id, [](const std::vector<json>& l) { return HttpLine(l) != nullptr; });
      REQUIRE(HttpLine(lines));
      CHECK_FALSE(HttpLine(lines)->contains("parent_span_id"));
    }
  }
}
