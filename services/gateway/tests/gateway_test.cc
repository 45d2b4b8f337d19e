// The gateway over real sockets: HTTP in, real gRPC out to a test-only Echo service
// (which has no gateway code of its own) and the real identity service for sessions.
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <cstdio>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "libs/core/status.h"
#include "libs/rpc/rpc.h"
#include "libs/rpc/server.h"
#include "libs/testing/servers.h"
#include "services/gateway/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/identity_stack.h"
#include "vetline/testing/v1/echo.grpc.pb.h"

using namespace vetline;
using testing::Bearer;
using testing::HttpClient;
namespace tv1 = vetline::testing::v1;

namespace {

constexpr char kPassword[] = "correct horse battery";

// Echoes its request and the principal it verified: proof of what reached the backend.
class EchoService final : public tv1::EchoService::Service {
 public:
  explicit EchoService(const auth::PrincipalSigner& signer) : signer_(signer) {}
  grpc::Status Echo(grpc::ServerContext* ctx, const tv1::EchoRequest* req,
                    tv1::EchoResponse* resp) override {
    auto p = rpc::PrincipalOf(*ctx, signer_);
    if (!p.ok()) return rpc::ToGrpc(p.status());
    Copy(*req, resp);
    resp->set_principal_user_id(p->user_id());
    resp->set_principal_clinic_id(p->clinic_id());
    return grpc::Status::OK;
  }
  grpc::Status EchoQuery(grpc::ServerContext* ctx, const tv1::EchoRequest* req,
                         tv1::EchoResponse* resp) override {
    return Echo(ctx, req, resp);
  }
  // Answers with the status named in `text`; "PRINCIPAL" asks whether one was verified.
  grpc::Status Fail(grpc::ServerContext* ctx, const tv1::EchoRequest* req,
                    tv1::EchoResponse* resp) override {
    if (req->text() == "PRINCIPAL") {
      auto p = rpc::PrincipalOf(*ctx, signer_);
      return p.ok() ? grpc::Status::OK : rpc::ToGrpc(p.status());
    }
    for (int c = 1; c <= 16; ++c) {
      if (req->text() == rpc::CodeName(static_cast<grpc::StatusCode>(c))) {
        return grpc::Status(static_cast<grpc::StatusCode>(c), "echo failed as asked", req->id());
      }
    }
    return grpc::Status::OK;
  }

 private:
  static void Copy(const tv1::EchoRequest& in, tv1::EchoResponse* out) {
    out->set_id(in.id());
    out->set_text(in.text());
    out->set_count(in.count());
    if (in.has_at()) *out->mutable_at() = in.at();
    *out->mutable_tags() = in.tags();
  }
  const auth::PrincipalSigner& signer_;
};

struct Harness {
  explicit Harness(std::function<void(gateway::GatewayOptions&)> tweak = nullptr)
      : registry(std::make_shared<prometheus::Registry>()), echo(identity.signer()) {
    echo_server = rpc::Server::Start({.name = "echo", .registry = registry}, {&echo}).value();
    echo_server->SetServing(true);
    gateway::GatewayOptions o;
    o.http_address = "127.0.0.1:0";
    o.backends = {{"identity", identity.address()},
                  {"testing", "127.0.0.1:" + std::to_string(echo_server->port())}};
    o.redis = testing::SharedRedis().address();
    o.internal_secret = testing::kTestInternalSecret;
    o.registry = registry;
    o.max_body_bytes = 4096;
    o.rate_limit_prefix = rate_limit_prefix;
    // Only the services this harness runs, so /readyz can be all green.
    o.proto_files = {"vetline/identity/v1/identity.proto", "vetline/testing/v1/echo.proto"};
    if (tweak) tweak(o);
    gw = gateway::Gateway::Start(o).value();
    clinic = identity.CreateClinic("Maple Vet", email, kPassword);
  }

  HttpClient Client() { return HttpClient(gw->port()); }
  std::string Login() {
    auto r = Client().Post("/v1/auth/login",
                           nlohmann::json{{"email", email}, {"password", kPassword}}.dump());
    REQUIRE(r.status == 200);
    return r.json()["token"];
  }

  // Each harness uses its own account so rate limits of one test do not touch another.
  std::string email = "admin+" + testing::UniqueRedisPrefix().substr(5, 12) + "@maple.example";
  // Buckets live in the run's shared Redis: each harness gets its own.
  std::string rate_limit_prefix = testing::UniqueRedisPrefix();
  std::shared_ptr<prometheus::Registry> registry;
  testing::IdentityStack identity;
  EchoService echo;
  std::unique_ptr<rpc::Server> echo_server;
  std::unique_ptr<gateway::Gateway> gw;
  identity::v1::CreateClinicResponse clinic;
};

}  // namespace

TEST_CASE("gateway: an RPC with an HTTP rule is a REST route, with no gateway code",
          "[gateway]") {
  Harness h;
  std::string token = h.Login();
  auto r = h.Client().Post("/v1/echo/pet-7",
                           R"({"id":"ignored","text":"hello","count":"42",)"
                           R"("at":"2026-03-01T09:30:00Z","tags":["cat","senior"]})",
                           Bearer(token));
  REQUIRE(r.status == 200);
  auto j = r.json();
  CHECK(j["id"] == "pet-7");  // the path capture wins over the body
  CHECK(j["text"] == "hello");
  CHECK(j["count"] == "42");  // int64 travels as a string
  CHECK(j["at"] == "2026-03-01T09:30:00Z");
  CHECK(j["tags"] == nlohmann::json::array({"cat", "senior"}));
  // lowerCamelCase names, and the backend saw the signed principal of the session.
  CHECK(j["principalClinicId"] == h.clinic.clinic().id());
  CHECK(j["principalUserId"] == h.clinic.admin().id());
  CHECK(r.header("content-type") == "application/json");
}

TEST_CASE("gateway: GET routes read scalars, repeated fields and timestamps from the query",
          "[gateway]") {
  Harness h;
  auto r = h.Client().Get(
      "/v1/echo/a%20b?text=caf%C3%A9&count=-3&tags=x&tags=y&at=2026-01-02T03:04:05.5Z",
      Bearer(h.Login()));
  REQUIRE(r.status == 200);
  auto j = r.json();
  CHECK(j["id"] == "a b");
  CHECK(j["text"] == "café");
  CHECK(j["count"] == "-3");
  CHECK(j["tags"].size() == 2);
  CHECK(j["at"] == "2026-01-02T03:04:05.500Z");
  auto bad = h.Client().Get("/v1/echo/x?count=many", Bearer(h.Login()));
  CHECK(bad.status == 400);
  CHECK(bad.json()["error"]["field"] == "count");
  auto unknown = h.Client().Get("/v1/echo/x?colour=red", Bearer(h.Login()));
  CHECK(unknown.status == 400);
  CHECK(unknown.json()["error"]["field"] == "colour");
  // A route without a body takes an empty JSON object (some clients always send one),
  // but refuses anything in it rather than silently dropping it.
  CHECK(h.Client().Send("GET", "/v1/echo/x?text=hi", " {} ", Bearer(h.Login())).json()["text"] == "hi");
  auto body = h.Client().Send("GET", "/v1/echo/x", R"({"text":"hi"})", Bearer(h.Login()));
  CHECK(body.status == 400);
  CHECK(absl::StrContains(body.json()["error"]["message"].get<std::string>(), "takes no request body"));
}

TEST_CASE("gateway: bad input gets a clear 4xx and reaches no backend", "[gateway]") {
  Harness h;
  auto auth = Bearer(h.Login());
  struct Case {
    std::string body;
    int status;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{
           {"{not json", 400, ""},
           {R"({"text":"hi","nope":1})", 400, "nope"},
           {R"({"count":{"a":1}})", 400, "count"},
           {"{\"text\":\"\xff\xfe\"}", 400, ""},
           {std::string(5000, ' '), 413, ""},
       }) {
    auto r = h.Client().Post("/v1/echo/x", c.body, auth);
    INFO(c.body.substr(0, 40) << " -> " << r.body);
    CHECK(r.status == c.status);
    auto err = r.json()["error"];
    CHECK(err["code"] == (c.status == 413 ? "RESOURCE_EXHAUSTED" : "INVALID_ARGUMENT"));
    CHECK_FALSE(err["message"].get<std::string>().empty());
    if (!c.field.empty()) CHECK(err["field"] == c.field);
  }
  auto missing = h.Client().Get("/v1/no/such/route", auth);
  CHECK(missing.status == 404);
  CHECK(missing.json()["error"]["code"] == "NOT_FOUND");
  auto verb = h.Client().Send("DELETE", "/v1/echo/x", "", auth);
  CHECK(verb.status == 405);
  CHECK(verb.header("allow").find("POST") != std::string::npos);
  CHECK(verb.header("allow").find("GET") != std::string::npos);
}

TEST_CASE("gateway: sessions by bearer or cookie, and no session means no entry", "[gateway]") {
  Harness h;
  CHECK(h.Client().Get("/v1/me").status == 401);
  CHECK(h.Client().Get("/v1/me", Bearer("vls_made_up")).json()["error"]["code"] ==
        "UNAUTHENTICATED");
  CHECK(h.Client().Get("/v1/me", {{"Authorization", "Basic abc"}}).status == 401);

  auto login = h.Client().Post("/v1/auth/login",
                               nlohmann::json{{"email", h.email}, {"password", kPassword}}.dump());
  REQUIRE(login.status == 200);
  std::string cookie = login.header("set-cookie");
  CHECK(cookie.find("vetline_session=vls_") == 0);
  CHECK(cookie.find("HttpOnly") != std::string::npos);
  std::string token = login.json()["token"];
  CHECK_FALSE(login.json()["expiresAt"].get<std::string>().empty());

  auto me = h.Client().Get("/v1/me", {{"Cookie", "theme=dark; vetline_session=" + token}});
  REQUIRE(me.status == 200);
  CHECK(me.json()["staff"]["email"] == h.email);
  CHECK(me.json()["clinic"]["id"] == h.clinic.clinic().id());

  // Logout ends the session at once, even though the gateway had it cached.
  auto out = h.Client().Post("/v1/auth/logout", "{}", Bearer(token));
  CHECK(out.status == 200);
  CHECK(out.header("set-cookie").find("Max-Age=0") != std::string::npos);
  CHECK(h.Client().Get("/v1/me", Bearer(token)).status == 401);
}

TEST_CASE("gateway: clients cannot smuggle a principal past the gateway", "[gateway]") {
  Harness h;
  // A signed principal copied into HTTP headers is not forwarded: the service sees none.
  grpc::ClientContext ctx;
  api::Principal forged;
  forged.set_kind(api::Principal::SERVICE);
  auto [bytes, mac] = h.identity.signer().Sign(forged);
  // (base64, as gRPC-web clients send binary metadata)
  auto r = h.Client().Post("/v1/echo-fail", R"({"text":"PRINCIPAL"})",
                           {{"x-vetline-principal-bin", absl::Base64Escape(bytes)},
                            {"x-vetline-principal-mac-bin", absl::Base64Escape(mac)}});
  CHECK(r.status == 401);
}

TEST_CASE("gateway: backend errors map to HTTP statuses with the field named", "[gateway]") {
  Harness h;
  struct Case {
    std::string code;
    int status;
  };
  for (const Case& c : std::vector<Case>{{"NOT_FOUND", 404}, {"ALREADY_EXISTS", 409},
                                         {"FAILED_PRECONDITION", 400}, {"PERMISSION_DENIED", 403},
                                         {"INTERNAL", 500}, {"UNAVAILABLE", 503},
                                         {"RESOURCE_EXHAUSTED", 429}}) {
    auto r = h.Client().Post("/v1/echo-fail", nlohmann::json{{"text", c.code}, {"id", "petId"}}.dump());
    INFO(c.code);
    CHECK(r.status == c.status);
    CHECK(r.json()["error"]["code"] == c.code);
    CHECK(r.json()["error"]["field"] == "petId");
  }
}

TEST_CASE("gateway: an unreachable backend answers 503 and /readyz says so", "[gateway]") {
  Harness h;
  auto ready = h.Client().Get("/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.json()["backends"]["testing"] == "serving");
  CHECK(h.Client().Get("/healthz").status == 200);
  h.echo_server->Shutdown(absl::ZeroDuration());
  auto r = h.Client().Post("/v1/echo-fail", R"({"text":"OK"})");
  CHECK(r.status == 503);
  CHECK(r.json()["error"]["code"] == "UNAVAILABLE");
  auto not_ready = h.Client().Get("/readyz");
  CHECK(not_ready.status == 503);
  CHECK(not_ready.json()["backends"]["testing"] != "serving");
  CHECK(not_ready.json()["backends"]["identity"] == "serving");
}

TEST_CASE("gateway: login is rate-limited per account and per client IP", "[gateway]") {
  SECTION("per account") {
    Harness h;
    std::string wrong = nlohmann::json{{"email", h.email}, {"password", "wrong password"}}.dump();
    int refused = 0;
    std::string retry_after;
    for (int i = 0; i < 8; ++i) {
      auto r = h.Client().Post("/v1/auth/login", wrong);
      if (r.status == 429) {
        ++refused;
        retry_after = r.header("retry-after");
        CHECK(r.json()["error"]["code"] == "RESOURCE_EXHAUSTED");
      } else {
        CHECK(r.status == 401);
      }
    }
    CHECK(refused == 3);  // 5 attempts allowed, then refused
    CHECK(std::stoi(retry_after) >= 1);
    // The correct password is refused too while the account is locked out.
    CHECK(h.Client().Post("/v1/auth/login",
                          nlohmann::json{{"email", h.email}, {"password", kPassword}}.dump())
              .status == 429);
  }
  SECTION("per IP, across accounts") {
    Harness h([](gateway::GatewayOptions& o) {
      o.login_ip_burst = 3;
      o.login_ip_per_minute = 3;
    });
    std::vector<int> statuses;
    for (int i = 0; i < 5; ++i) {
      auto body = nlohmann::json{{"email", "n" + std::to_string(i) + "@x.example"}, {"password", "p"}};
      statuses.push_back(h.Client().Post("/v1/auth/login", body.dump()).status);
    }
    CHECK(statuses == std::vector<int>{401, 401, 401, 429, 429});
  }
}

TEST_CASE("gateway: request ids are echoed when sane and made up otherwise", "[gateway]") {
  Harness h;
  CHECK(h.Client().Get("/healthz", {{"X-Request-Id", "abc-123_x"}}).header("x-request-id") ==
        "abc-123_x");
  std::string made = h.Client().Get("/healthz", {{"X-Request-Id", "bad id\twith spaces"}})
                         .header("x-request-id");
  CHECK(made.size() == 32);
  CHECK(h.Client().Get("/v1/nope").header("x-request-id").size() == 32);
}

TEST_CASE("gateway: /metrics passes promtool and counts requests by route", "[gateway]") {
  Harness h;
  h.Client().Get("/v1/me", Bearer(h.Login()));
  h.Client().Post("/v1/echo-fail", R"({"text":"NOT_FOUND"})");
  // The backend counts a call after its answer has left, so the count may trail a moment.
  auto m = h.Client().Get("/metrics");
  for (int i = 0; i < 50 && m.body.find("vetline_rpc_server_handled_total{") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    m = h.Client().Get("/metrics");
  }
  REQUIRE(m.status == 200);
  CHECK(m.body.find("vetline_http_requests_total{") != std::string::npos);
  CHECK(m.body.find("route=\"/v1/me\"") != std::string::npos);
  CHECK(m.body.find("vetline_rpc_server_handled_total{") != std::string::npos);
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    WARN("promtool not installed: exposition format not checked");
    return;
  }
  std::string path = "/tmp/vetline-metrics-" + testing::UniqueRedisPrefix().substr(5, 20) + ".txt";
  std::ofstream(path) << m.body;
  int rc = std::system(("promtool check metrics < " + path + " > " + path + ".out 2>&1").c_str());
  std::ifstream out(path + ".out");
  INFO(std::string((std::istreambuf_iterator<char>(out)), {}));
  INFO(m.body);
  std::remove(path.c_str());
  std::remove((path + ".out").c_str());
  CHECK(rc == 0);
}

TEST_CASE("gateway: /openapi.json describes the same routes", "[gateway]") {
  Harness h;
  auto doc = h.Client().Get("/openapi.json").json();
  REQUIRE(doc.is_object());
  CHECK(doc["openapi"].get<std::string>().rfind("3.0", 0) == 0);
  CHECK(doc["paths"].contains("/v1/echo/{id}"));
  CHECK(doc["paths"]["/v1/echo/{id}"].contains("post"));
  CHECK(doc["paths"]["/v1/echo/{id}"].contains("get"));
  auto login = doc["paths"]["/v1/auth/login"]["post"];
  CHECK(login["security"].empty());  // anonymous
  CHECK(login["requestBody"]["content"]["application/json"]["schema"]["$ref"] ==
        "#/components/schemas/vetline.identity.v1.LoginRequest");
  auto schema = doc["components"]["schemas"]["vetline.testing.v1.EchoResponse"]["properties"];
  CHECK(schema["count"]["type"] == "string");
  CHECK(schema["at"]["format"] == "date-time");
  CHECK(schema.contains("principalUserId"));
}

TEST_CASE("gateway: a Redis that does not answer delays logins only, and they still succeed", "[gateway]") {
  // A listener that never accepts: connections open, commands are never answered.
  int silent = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(listen(silent, 16) == 0);
  socklen_t len = sizeof addr;
  getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &len);
  Harness h([&](gateway::GatewayOptions& o) {
    o.redis = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    o.io_threads = 1;  // one io thread: a blocked one would hold up everything
  });
  std::atomic<bool> login_done{false};
  int login_status = 0;
  auto started = absl::Now();
  std::thread login([&] {
    login_status = h.Client().Post("/v1/auth/login",
                                   nlohmann::json{{"email", h.email}, {"password", kPassword}}.dump()).status;
    login_done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(h.Client().Get("/healthz").status == 200);
  CHECK(h.Client().Get("/openapi.json").status == 200);
  // Answered while the login still waits out Redis's 2 s command timeout, not after it.
  CHECK(absl::Now() - started < absl::Seconds(1));
  CHECK_FALSE(login_done);
  login.join();
  CHECK(login_status == 200);  // the limiter fails open: Redis trouble locks nobody out
  // The next logins do not each wait for Redis again: limits are skipped for a while.
  auto again = absl::Now();
  CHECK(h.Client().Post("/v1/auth/login", nlohmann::json{{"email", h.email}, {"password", kPassword}}.dump())
            .status == 200);
  CHECK(absl::Now() - again < absl::Seconds(1));
  close(silent);
}
