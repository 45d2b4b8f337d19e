// The gateway over real sockets: HTTP in, real gRPC out to a test-only Echo service
// (which has no gateway code of its own) and the real identity service for sessions.
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>


#include <cstdio>
#include <fstream>

#include <grpcpp/generic/generic_stub.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "libs/core/status.h"
#include "libs/rpc/rpc.h"
#include "libs/rpc/server.h"
#include "libs/testing/servers.h"
#include "libs/testing/wait.h"
#include "services/gateway/cors_policy.h"
#include "services/gateway/gateway.h"
#include "services/gateway/gateway_settings.h"
#include "services/gateway/route_table.h"
#include "services/gateway/trusted_proxies.h"
#include "tests/support/http_client.h"
#include "tests/support/identity_stack.h"
#include "tests/support/process_status.h"
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
  std::atomic<int> calls{0};  // Echo calls answered
  grpc::Status Echo(grpc::ServerContext* ctx, const tv1::EchoRequest* req,
                    tv1::EchoResponse* resp) override {
    auto p = rpc::PrincipalOf(*ctx, signer_);
    if (!p.ok()) return rpc::ToGrpc(p.status());
    Copy(*req, resp);
    ++calls;
    resp->set_principal_user_id(p->user_id());
    resp->set_principal_clinic_id(p->clinic_id());
    return grpc::Status::OK;
  }
  grpc::Status EchoStream(grpc::ServerContext* ctx, const tv1::EchoRequest* req,
                          grpc::ServerWriter<tv1::EchoResponse>* out) override {
    streams_open++;
    int64_t after = 0;
    (void)absl::SimpleAtoi(req->last_event_id(), &after);
    for (int i = 0; i < req->count(); ++i) {
      tv1::EchoResponse r;
      Copy(*req, &r);
      r.set_count(i);
      r.set_id(std::to_string(after + i + 1));  // the SSE id:, numbered on from Last-Event-ID
      out->Write(r);
    }
    if (req->text() == "HOLD") {
      // Silent until the caller goes away (bounded: a stand-in, not a real watcher).
      for (int i = 0; i < 3000 && !ctx->IsCancelled(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (ctx->IsCancelled()) streams_cancelled++;
    }
    streams_open--;
    return grpc::Status::OK;
  }
  std::atomic<int> slow_started{0}, streams_open{0}, streams_cancelled{0};

  grpc::Status EchoHeaders(grpc::ServerContext*, const tv1::EchoRequest* req,
                           tv1::EchoResponse* resp) override {
    Copy(*req, resp);
    return grpc::Status::OK;
  }
  grpc::Status EchoUpload(grpc::ServerContext*, const tv1::EchoRequest* req,
                          tv1::EchoResponse* resp) override {
    Copy(*req, resp);
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
    if (req->text() == "SLOW") {  // a call still running when the gateway stops
      slow_started++;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      return grpc::Status::OK;
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
    out->set_signature(in.signature());
    out->set_target(in.target());
    out->set_payload(in.payload());
    out->set_content_type(in.content_type());
  }
  const auth::PrincipalSigner& signer_;
};

// A "Redis" that never answers: a listener that never accepts, so connections open and
// commands wait out their timeout.
struct SilentRedis {
  SilentRedis() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(fd, 64) == 0);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~SilentRedis() { close(fd); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
  int fd = -1, port = 0;
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

TEST_CASE("gateway: a service with two replicas gets calls on both and goes on when one stops", "[gateway]") {
  auth::PrincipalSigner signer(auth::Key::FromSecret(testing::kTestInternalSecret).value());
  EchoService second(signer);
  auto second_server = rpc::Server::Start({.name = "echo2", .registry = std::make_shared<prometheus::Registry>()},
                                          {&second}).value();
  second_server->SetServing(true);
  const std::string second_address = "127.0.0.1:" + std::to_string(second_server->port());
  Harness h([&](gateway::GatewayOptions& o) {
    o.backends["testing"] = "ipv4:" + o.backends["testing"] + "," + second_address;
  });
  auto auth = Bearer(h.Login());
  for (int i = 0; i < 20; ++i) REQUIRE(h.Client().Get("/v1/echo/x", auth).status == 200);
  // Round robin: each replica takes its share, not one of them everything.
  CHECK(h.echo.calls >= 5);
  CHECK(second.calls >= 5);

  // A replica going away (a rollout, a node lost): calls go to the one left.
  second_server.reset();
  const int before = h.echo.calls;
  int failed = 0;
  for (int i = 0; i < 20; ++i) failed += h.Client().Get("/v1/echo/x", auth).status != 200;
  CHECK(failed == 0);
  CHECK(h.echo.calls - before == 20);
}

TEST_CASE("gateway settings: --backends can list several replicas of a service", "[gateway]") {
  auto parse = [](const std::string& backends) {
    gateway::GatewaySettings settings;
    ConfigParser p("vetline-gateway");
    settings.Register(p, /*with_backends=*/true);
    REQUIRE(p.Parse({"--backends=" + backends}, {}).ok());
    return settings.Options("", "a secret", {});
  };
  auto o = parse("identity=identity:50051,clients=ipv4:10.0.0.5:50052,10.0.0.6:50052,booking=booking:50056");
  REQUIRE(o.ok());
  CHECK(o->backends == std::map<std::string, std::string>{{"identity", "identity:50051"},
                                                         {"clients", "ipv4:10.0.0.5:50052,10.0.0.6:50052"},
                                                         {"booking", "booking:50056"}});
  // An address before any service name belongs to nothing.
  auto bad = parse("10.0.0.6:50052,identity=identity:50051");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "--backends must look like identity=host:port,...");
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
  SilentRedis silent;
  Harness h([&](gateway::GatewayOptions& o) {
    o.redis = silent.address();
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
}

// ---- Transcoding errors name their field ----

TEST_CASE("gateway: every malformed JSON shape is a 400 naming the field", "[gateway]") {
  Harness h;
  auto auth = Bearer(h.Login());
  struct Case {
    std::string body, field;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"text":["a","b"]})", "text"},            // array for a scalar
           {R"({"count":[1]})", "count"},                // array for an int64
           {R"({"text":{"a":1}})", "text"},              // object for a scalar
           {R"({"count":"many"})", "count"},             // string for an int
           {R"({"count":1.5})", "count"},                // fraction for an int
           {R"({"mood":"GRUMPY"})", "mood"},             // bad enum name
           {R"({"mood":["CALM"]})", "mood"},             // array for an enum
           {R"({"at":"yesterday"})", "at"},              // not a timestamp
           {R"({"tags":"cat"})", "tags"},                // scalar for a repeated field
           {R"({"tags":["cat",3]})", "tags[1]"},         // bad element
           {R"({"inner":{"level":"high"}})", "inner.level"},  // nested field
           {R"({"inner":{"noteText":[1]}})", "inner.noteText"},
           {R"({"inner":{"nope":1}})", "inner.nope"},     // unknown nested field
           {R"({"inner":7})", "inner"},                   // scalar for a message
       }) {
    auto r = h.Client().Post("/v1/echo/x", c.body, auth);
    INFO(c.body << " -> " << r.body);
    CHECK(r.status == 400);
    CHECK(r.json()["error"]["code"] == "INVALID_ARGUMENT");
    CHECK(r.json()["error"]["field"] == c.field);
    // Our own words, not the parser's echo of the input.
    CHECK(absl::StrContains(r.json()["error"]["message"].get<std::string>(), c.field));
  }
  // The same shapes, well-formed, still pass.
  auto ok = h.Client().Post("/v1/echo/x", R"({"mood":"CALM","inner":{"level":3},"count":"7","tags":null})", auth);
  CHECK(ok.status == 200);
}

// ---- Backpressure ----

namespace {


std::vector<int> Burst(int port, int n, const std::string& request, absl::Duration limit) {
  std::vector<int> statuses;
  for (const auto& a : testing::HttpBurst(port, n, request, limit)) statuses.push_back(a.status);
  return statuses;
}

}  // namespace

TEST_CASE("gateway: a burst past the cap is refused with 503 and costs bounded threads", "[gateway]") {
  Harness h([](gateway::GatewayOptions& o) { o.max_backend_calls = 8; });
  std::string token = h.Login();
  REQUIRE(h.Client().Get("/v1/me", Bearer(token)).status == 200);
  testing::ProcessStatus before = testing::ReadProcessStatus();
  std::atomic<bool> done{false};
  std::atomic<long> peak_threads{before.threads}, peak_rss{before.rss_kb};
  std::thread sampler([&] {
    for (int i = 0; i < 6000 && !done; ++i) {  // at most 60 s
      testing::ProcessStatus s = testing::ReadProcessStatus();
      peak_threads = std::max(peak_threads.load(), s.threads);
      peak_rss = std::max(peak_rss.load(), s.rss_kb);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  std::string request = "GET /v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
                        "\r\nConnection: close\r\n\r\n";
  std::vector<int> statuses = Burst(h.gw->port(), 800, request, absl::Seconds(60));
  done = true;
  sampler.join();
  std::map<int, int> by_status;
  for (int s : statuses) by_status[s]++;
  for (auto [s, count] : by_status) INFO("status " << s << ": " << count);
  INFO("threads " << before.threads << " -> peak " << peak_threads << ", RSS " << before.rss_kb / 1024
                  << " -> peak " << peak_rss / 1024 << " MiB");
  CHECK(by_status[200] + by_status[503] == 800);  // nothing else, and every request answered
  CHECK(by_status[503] > 0);                       // the cap was reached and held
  CHECK(by_status[200] > 0);
  // Identity runs in this process: without bounds it starts a thread per call in flight.
  CHECK(peak_threads - before.threads < 100);
  CHECK(peak_rss - before.rss_kb < 200 * 1024);
  // A refusal is the standard error, says when to retry, and is counted.
  auto refused = h.Client().Get("/metrics");
  CHECK(absl::StrContains(refused.body, "vetline_http_overload_refused_total{what=\"backend_calls\"}"));
  CHECK_FALSE(absl::StrContains(refused.body, "vetline_http_overload_refused_total{what=\"backend_calls\"} 0\n"));
  // After the burst the gateway serves normally.
  CHECK(h.Client().Get("/v1/me", Bearer(token)).status == 200);
}

TEST_CASE("gateway: a refusal at the cap is a 503 with Retry-After and the error body", "[gateway]") {
  Harness h([](gateway::GatewayOptions& o) { o.max_backend_calls = 1; });
  // One slow call holds the only slot; the next request is refused at once.
  std::thread slow([&] { h.Client().Post("/v1/echo-fail", R"({"text":"SLOW"})"); });
  REQUIRE(testing::WaitUntil([&] { return h.echo.slow_started == 1; }, absl::Seconds(10)));
  auto r = h.Client().Post("/v1/echo-fail", R"({"text":"OK"})");
  slow.join();
  CHECK(r.status == 503);
  CHECK(r.header("retry-after") == "1");
  CHECK(r.json()["error"]["code"] == "UNAVAILABLE");
  // A backend's own RESOURCE_EXHAUSTED is a 429 that also says when to retry.
  auto busy = h.Client().Post("/v1/echo-fail", R"({"text":"RESOURCE_EXHAUSTED"})");
  CHECK(busy.status == 429);
  CHECK(busy.header("retry-after") == "1");
}

TEST_CASE("gateway: a full login queue answers 429 at once instead of queueing", "[gateway]") {
  SilentRedis silent;
  Harness h([&](gateway::GatewayOptions& o) {
    o.redis = silent.address();
    o.max_pending_logins = 2;
  });
  std::string body = nlohmann::json{{"email", h.email}, {"password", kPassword}}.dump();
  std::vector<testing::HttpResponse> answers(6);
  std::vector<std::thread> logins;
  for (int i = 0; i < 6; ++i) {
    logins.emplace_back([&, i] { answers[i] = h.Client().Post("/v1/auth/login", body); });
  }
  for (auto& t : logins) t.join();
  int refused = 0;
  for (const auto& a : answers) {
    INFO(a.status << " " << a.body);
    if (a.status == 429) {
      ++refused;
      CHECK(a.json()["error"]["code"] == "RESOURCE_EXHAUSTED");
      CHECK(std::stoi(a.header("retry-after")) >= 1);
    } else {
      CHECK(a.status == 200);  // waited for Redis, which failed open
    }
  }
  // At most 2 wait for the (silent) Redis; the rest are told to come back.
  CHECK(refused >= 4);
}

// ---- Shutdown drains ----

TEST_CASE("gateway: stopping under load answers the requests in flight, then stops", "[gateway]") {
  Harness h;
  constexpr int kSlow = 12;
  std::vector<int> slow_status(kSlow, 0);
  std::vector<std::thread> slow;
  for (int i = 0; i < kSlow; ++i) {
    slow.emplace_back([&, i] {
      try {
        slow_status[i] = h.Client().Post("/v1/echo-fail", R"({"text":"SLOW"})").status;
      } catch (const std::exception&) {
        slow_status[i] = -1;  // connection closed without an answer
      }
    });
  }
  // Load besides: quick requests until the gateway is gone (bounded).
  std::atomic<bool> stopped{false};
  std::atomic<int> other{0}, closed{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 3; ++t) {
    load.emplace_back([&] {
      HttpClient c = h.Client();
      for (int i = 0; i < 2000 && !stopped; ++i) {
        try {
          int s = c.Post("/v1/echo-fail", R"({"text":"OK"})").status;
          if (s != 200 && s != 503) other++;
        } catch (const std::exception&) {
          closed++;
          break;
        }
      }
    });
  }
  REQUIRE(testing::WaitUntil([&] { return h.echo.slow_started == kSlow; }, absl::Seconds(10)));
  h.gw.reset();  // while all the slow calls are still running in the backend
  stopped = true;
  for (auto& t : slow) t.join();
  for (auto& t : load) t.join();
  for (int s : slow_status) CHECK(s == 200);  // drained: answered, not dropped
  CHECK(other == 0);
}

// ---- Trusted proxies ----

TEST_CASE("gateway: trusted proxies: the right-most untrusted address is the client", "[gateway]") {
  auto proxies = gateway::TrustedProxies::Parse({"10.0.0.0/8", "127.0.0.1", "fd00::/8"}).value();
  CHECK(proxies.Contains("10.1.2.3"));
  CHECK(proxies.Contains("fd12::1"));
  CHECK_FALSE(proxies.Contains("11.0.0.1"));
  CHECK(proxies.ClientOf("127.0.0.1", {"203.0.113.9"}) == "203.0.113.9");
  // The client may prepend anything; only what our proxies appended counts.
  CHECK(proxies.ClientOf("127.0.0.1", {"1.1.1.1, 203.0.113.9, 10.0.0.5"}) == "203.0.113.9");
  CHECK(proxies.ClientOf("127.0.0.1", {"1.1.1.1", "203.0.113.9"}) == "203.0.113.9");
  CHECK(proxies.ClientOf("127.0.0.1", {"garbage, 203.0.113.9"}) == "203.0.113.9");
  CHECK(proxies.ClientOf("127.0.0.1", {}) == "127.0.0.1");
  // From anyone else the header is ignored.
  CHECK(proxies.ClientOf("198.51.100.1", {"203.0.113.9"}) == "198.51.100.1");
  CHECK_FALSE(gateway::TrustedProxies::Parse({"10.0.0.0/33"}).ok());
  CHECK_FALSE(gateway::TrustedProxies::Parse({"ingress"}).ok());
}

TEST_CASE("gateway: per-IP login limits key on the client behind a trusted proxy", "[gateway]") {
  auto login = [](Harness& h, int i, const std::string& xff) {
    auto body = nlohmann::json{{"email", "n" + std::to_string(i) + "@x.example"}, {"password", "p"}};
    return h.Client().Post("/v1/auth/login", body.dump(), {{"X-Forwarded-For", xff}}).status;
  };
  SECTION("peer is a trusted proxy: each client has its own bucket") {
    Harness h([](gateway::GatewayOptions& o) {
      o.login_ip_burst = o.login_ip_per_minute = 3;
      o.trusted_proxies = {"127.0.0.0/8"};
    });
    std::vector<int> statuses;
    for (int i = 0; i < 5; ++i) statuses.push_back(login(h, i, "198.51.100." + std::to_string(i)));
    CHECK(statuses == std::vector<int>{401, 401, 401, 401, 401});
    // A client cannot escape its bucket by prepending addresses.
    statuses.clear();
    for (int i = 0; i < 5; ++i) statuses.push_back(login(h, i, "10.9.9." + std::to_string(i) + ", 203.0.113.50"));
    CHECK(statuses == std::vector<int>{401, 401, 401, 429, 429});
  }
  SECTION("peer is not trusted: X-Forwarded-For is ignored") {
    Harness h([](gateway::GatewayOptions& o) { o.login_ip_burst = o.login_ip_per_minute = 3; });
    std::vector<int> statuses;
    for (int i = 0; i < 5; ++i) statuses.push_back(login(h, i, "198.51.100." + std::to_string(i)));
    CHECK(statuses == std::vector<int>{401, 401, 401, 429, 429});
  }
}

// ---- Logout does not wait for Redis on a gRPC thread ----

TEST_CASE("gateway: logout answers without waiting for the revocation PUBLISH", "[gateway]") {
  SilentRedis silent;
  Harness h([&](gateway::GatewayOptions& o) { o.redis = silent.address(); });
  std::string token = h.Login();  // waits out Redis once; limits then fail open
  auto started = absl::Now();
  auto out = h.Client().Post("/v1/auth/logout", "{}", Bearer(token));
  // Redis's command timeout is 2 s: the answer does not wait for it.
  CHECK(absl::Now() - started < absl::Seconds(1));
  CHECK(out.status == 200);
  CHECK(h.Client().Get("/v1/me", Bearer(token)).status == 401);  // revoked here at once
  h.gw.reset();
}

// ---- CORS ----

TEST_CASE("gateway: CORS for configured origins only, with credentials and never *", "[gateway]") {
  const std::string app = "https://app.example";
  SECTION("allowed origin") {
    Harness h([&](gateway::GatewayOptions& o) { o.cors_origins = {app}; });
    auto pre = h.Client().Send("OPTIONS", "/v1/echo/x", "",
                               {{"Origin", app},
                                {"Access-Control-Request-Method", "POST"},
                                {"Access-Control-Request-Headers", "authorization, content-type"}});
    CHECK(pre.status == 204);
    CHECK(pre.header("access-control-allow-origin") == app);
    CHECK(pre.header("access-control-allow-credentials") == "true");
    CHECK(absl::StrContains(pre.header("vary"), "Origin"));
    CHECK(absl::StrContains(pre.header("access-control-allow-methods"), "POST"));
    CHECK(absl::StrContains(pre.header("access-control-allow-methods"), "GET"));
    CHECK(absl::StrContains(pre.header("access-control-allow-headers"), "Authorization"));
    CHECK(absl::StrContains(pre.header("access-control-allow-headers"), "Content-Type"));
    CHECK(std::stoi(pre.header("access-control-max-age")) > 0);

    auto me = h.Client().Get("/v1/me", {{"Origin", app}, {"Authorization", "Bearer " + h.Login()}});
    CHECK(me.status == 200);
    CHECK(me.header("access-control-allow-origin") == app);
    CHECK(me.header("access-control-allow-credentials") == "true");
    CHECK(absl::StrContains(me.header("vary"), "Origin"));
    // Errors carry them too, or the browser hides the error body from the front end.
    auto err = h.Client().Get("/v1/me", {{"Origin", app}});
    CHECK(err.status == 401);
    CHECK(err.header("access-control-allow-origin") == app);

    auto evil = h.Client().Send("OPTIONS", "/v1/echo/x", "",
                                {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}});
    CHECK(evil.status == 403);
    CHECK(evil.header("access-control-allow-origin").empty());
    CHECK(evil.header("access-control-allow-credentials").empty());
    auto evil_get = h.Client().Get("/healthz", {{"Origin", "https://evil.example"}});
    CHECK(evil_get.status == 200);
    CHECK(evil_get.header("access-control-allow-origin").empty());
  }
  SECTION("none configured (the default)") {
    Harness h;
    auto pre = h.Client().Send("OPTIONS", "/v1/echo/x", "",
                               {{"Origin", app}, {"Access-Control-Request-Method", "POST"}});
    CHECK(pre.status == 403);
    CHECK(pre.header("access-control-allow-origin").empty());
    CHECK(h.Client().Get("/healthz", {{"Origin", app}}).header("access-control-allow-origin").empty());
  }
  CHECK_FALSE(gateway::CorsPolicy::Create({"*"}).ok());
  CHECK_FALSE(gateway::CorsPolicy::Create({"https://app.example/path"}).ok());
}

// ---- Event streams: heartbeats and vanished clients ----

TEST_CASE("gateway: SSE streams carry heartbeats and a vanished client cancels the backend", "[gateway]") {
  Harness h([](gateway::GatewayOptions& o) { o.sse_heartbeat = absl::Milliseconds(100); });
  SECTION("events, then the stream ends") {
    testing::EventStream es(h.gw->port(), "/v1/echo-stream/s1?count=3&text=hi");
    CHECK(es.status() == 200);
    for (int i = 0; i < 3; ++i) {
      auto e = es.Next(5000);
      REQUIRE(e);
      CHECK(e->data["text"] == "hi");
      CHECK(e->data["count"] == std::to_string(i));
    }
    CHECK_FALSE(es.Next(5000));  // ended
  }
  for (int count : {1, 0}) {  // after an event, and a stream that never says anything
    DYNAMIC_SECTION("quiet stream after " << count << " events") {
      {
        testing::EventStream es(h.gw->port(), "/v1/echo-stream/s2?text=HOLD&count=" + std::to_string(count));
        CHECK(es.status() == 200);
        if (count) CHECK(es.Next(5000));
        for (int i = 0; i < 50 && es.comments() < 2; ++i) es.Next(100);
        CHECK(es.comments() >= 2);  // keepalives while the backend says nothing
        CHECK(h.echo.streams_open == 1);
      }  // the client hangs up
      // The backend stream is cancelled.
      CHECK(testing::WaitUntil([&] { return h.echo.streams_cancelled == 1; }, absl::Seconds(5)));
    }
  }
}

TEST_CASE("rpc server: calls past its threads are refused cleanly, and the gateway says 429/503",
          "[gateway]") {
  auto registry = std::make_shared<prometheus::Registry>();
  auth::PrincipalSigner signer(auth::Key::FromSecret(testing::kTestInternalSecret).value());
  EchoService echo(signer);
  auto server = rpc::Server::Start({.name = "echo", .registry = registry, .max_threads = 8}, {&echo}).value();
  server->SetServing(true);
  std::string address = "127.0.0.1:" + std::to_string(server->port());
  testing::ProcessStatus before = testing::ReadProcessStatus();
  {
    // 100 slow calls at once, straight to the server.
    grpc::GenericStub stub(rpc::Dial(address));
    tv1::EchoRequest req;
    req.set_text("SLOW");
    std::string bytes = req.SerializeAsString();
    struct Call {
      grpc::ClientContext ctx;
      grpc::ByteBuffer request, reply;
    };
    std::vector<std::unique_ptr<Call>> calls;
    std::mutex mu;
    std::condition_variable cv;
    std::map<grpc::StatusCode, int> codes;
    int finished = 0;
    for (int i = 0; i < 100; ++i) {
      calls.push_back(std::make_unique<Call>());
      Call* c = calls.back().get();
      grpc::Slice slice(bytes);
      c->request = grpc::ByteBuffer(&slice, 1);
      rpc::SetDeadline(c->ctx, absl::Seconds(30));
      stub.UnaryCall(&c->ctx, "/vetline.testing.v1.EchoService/Fail", grpc::StubOptions(), &c->request,
                     &c->reply, [&](grpc::Status st) {
                       std::lock_guard<std::mutex> l(mu);
                       codes[st.error_code()]++;
                       ++finished;
                       cv.notify_all();
                     });
    }
    long peak = 0;
    std::unique_lock<std::mutex> l(mu);
    for (int i = 0; i < 600 && finished < 100; ++i) {  // at most 60 s
      cv.wait_for(l, std::chrono::milliseconds(100));
      peak = std::max(peak, testing::ReadProcessStatus().threads);
    }
    REQUIRE(finished == 100);
    INFO("OK " << codes[grpc::StatusCode::OK] << ", RESOURCE_EXHAUSTED "
               << codes[grpc::StatusCode::RESOURCE_EXHAUSTED] << ", threads " << before.threads
               << " -> " << peak);
    CHECK(codes[grpc::StatusCode::OK] + codes[grpc::StatusCode::RESOURCE_EXHAUSTED] == 100);
    CHECK(codes[grpc::StatusCode::RESOURCE_EXHAUSTED] > 0);
    CHECK(codes[grpc::StatusCode::OK] > 0);
    CHECK(peak - before.threads < 40);  // not a thread per call
  }
  // Through a gateway whose own cap is above the backend's threads: an overloaded backend
  // is 429 (its RESOURCE_EXHAUSTED), never a 500.
  gateway::GatewayOptions o;
  o.http_address = "127.0.0.1:0";
  o.backends = {{"testing", address}};
  o.internal_secret = testing::kTestInternalSecret;
  o.registry = registry;
  o.proto_files = {"vetline/testing/v1/echo.proto"};
  o.max_backend_calls = 1000;
  auto gw = gateway::Gateway::Start(o).value();
  std::string body = R"({"text":"SLOW"})";
  std::string request = "POST /v1/echo-fail HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  std::map<int, int> by_status;
  for (int s : Burst(gw->port(), 100, request, absl::Seconds(60))) by_status[s]++;
  for (auto [s, count] : by_status) INFO("status " << s << ": " << count);
  CHECK(by_status[200] + by_status[429] == 100);
  CHECK(by_status[429] > 0);
}

TEST_CASE("gateway: header_fields and target_field bring headers and the URL as received", "[gateway]") {
  Harness h;
  const std::string target = "/v1/echo-headers?count=5&tags=a%20b";
  auto r = h.Client().Post(target, R"({"text":"from the body"})",
                           {{"x-echo-signature", "sig=="}, {"X-ECHO-TEXT", "from a header"}});
  REQUIRE(r.status == 200);
  auto j = r.json();
  CHECK(j["signature"] == "sig==");       // header names compare case-insensitively
  CHECK(j["text"] == "from a header");    // a header wins over the body
  CHECK(j["target"] == target);           // exactly as sent, escapes and all
  CHECK(j["count"] == "5");
  // No header: the field keeps what the body said (or stays empty).
  auto plain = h.Client().Post("/v1/echo-headers", R"({"text":"from the body"})");
  REQUIRE(plain.status == 200);
  CHECK(plain.json()["text"] == "from the body");
  CHECK(plain.json()["signature"] == "");
  // A header that is not UTF-8 is a field error naming the field it was going into.
  auto bad = h.Client().Post("/v1/echo-headers", "{}", {{"X-Echo-Signature", "\xff\xfe"}});
  CHECK(bad.status == 400);
  CHECK(bad.json()["error"]["field"] == "signature");
}

TEST_CASE("gateway: a */* raw body takes any type into a bytes field, with the route's own limit",
          "[gateway]") {
  Harness h;  // the harness's global limit is 4096 bytes; the upload route's is 8 KiB
  std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + std::string(6000, '\0') + "\xff\xfe";
  auto r = h.Client().Post("/v1/echo-upload/f1", png, {{"Content-Type", "image/png"}});
  REQUIRE(r.status == 200);
  CHECK(r.json()["payload"] == absl::Base64Escape(png));  // every byte, not only UTF-8
  CHECK(r.json()["contentType"] == "image/png");
  CHECK(r.json()["id"] == "f1");
  auto text = h.Client().Post("/v1/echo-upload/f2", "plain words", {{"Content-Type", "text/plain; charset=utf-8"}});
  CHECK(text.status == 200);  // any other type too
  CHECK(text.json()["contentType"] == "text/plain; charset=utf-8");
  auto big = h.Client().Post("/v1/echo-upload/f3", std::string(8 * 1024 + 1, 'x'), {{"Content-Type", "video/mp4"}});
  CHECK(big.status == 413);
  CHECK(absl::StrContains(big.json()["error"]["message"].get<std::string>(), "8192"));
  // Other routes keep the gateway's limit.
  CHECK(h.Client().Post("/v1/echo/x", std::string(5000, ' '), Bearer(h.Login())).status == 413);
}

TEST_CASE("gateway: a streamed message's id is the SSE id:, and Last-Event-ID reaches the service",
          "[gateway]") {
  Harness h;
  {
    testing::EventStream es(h.gw->port(), "/v1/echo-stream/s1?count=2");
      auto e = es.Next(5000);
    REQUIRE(e);
    CHECK(e->id == "1");
    CHECK(e->data["id"] == "1");
    CHECK(es.Next(5000));
    CHECK_FALSE(es.Next(5000));  // the backend's stream ended
  }
  testing::EventStream resumed(h.gw->port(), "/v1/echo-stream/s1?count=3", {{"Last-Event-ID", "41"}});
  for (const char* id : {"42", "43", "44"}) {
    auto e = resumed.Next(5000);
    REQUIRE(e);
    CHECK(e->id == id);
  }
}

namespace {

// A route table over one made-up service whose rule is `rule`, in a pool of its own.
absl::Status BuildWithRule(const api::HttpRule& rule) {
  google::protobuf::DescriptorPool pool(google::protobuf::DescriptorPool::generated_pool());
  google::protobuf::FileDescriptorProto file;
  file.set_name("vetline/testing/v1/rules_probe.proto");
  file.set_package("vetline.testing.v1");
  file.set_syntax("proto3");
  auto* msg = file.add_message_type();
  msg->set_name("ProbeRequest");
  auto* text = msg->add_field();
  text->set_name("text");
  text->set_number(1);
  text->set_type(google::protobuf::FieldDescriptorProto::TYPE_STRING);
  text->set_label(google::protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
  auto* count = msg->add_field();
  *count = *text;
  count->set_name("count");
  count->set_number(2);
  count->set_type(google::protobuf::FieldDescriptorProto::TYPE_INT32);
  auto* method = file.add_service()->add_method();
  file.mutable_service(0)->set_name("ProbeService");
  method->set_name("Probe");
  method->set_input_type(".vetline.testing.v1.ProbeRequest");
  method->set_output_type(".vetline.testing.v1.ProbeRequest");
  *method->mutable_options()->MutableExtension(api::http) = rule;
  if (!pool.BuildFile(file)) return absl::InternalError("probe proto did not build");
  return gateway::RouteTable::Build({file.name()}, &pool).status();
}

}  // namespace

TEST_CASE("gateway: a rule naming a missing or wrong field is a start-up error", "[gateway]") {
  api::HttpRule ok;
  ok.set_post("/v1/probe");
  ok.set_body("*");
  ok.add_header_fields("X-Probe=text");
  ok.set_target_field("text");
  REQUIRE(BuildWithRule(ok).ok());
  struct Case {
    std::string what;
    std::function<void(api::HttpRule&)> change;
  };
  for (const Case& c : std::vector<Case>{
           {"header field missing", [](api::HttpRule& r) { r.add_header_fields("X-Sig=signature"); }},
           {"header field not a string", [](api::HttpRule& r) { r.add_header_fields("X-Count=count"); }},
           {"header entry without =", [](api::HttpRule& r) { r.add_header_fields("X-Sig"); }},
           {"header name not a token", [](api::HttpRule& r) { r.add_header_fields("X Sig=text"); }},
           {"target field missing", [](api::HttpRule& r) { r.set_target_field("url"); }},
           {"target field not a string", [](api::HttpRule& r) { r.set_target_field("count"); }},
           {"*/* without a raw body", [](api::HttpRule& r) { r.set_content_type("*/*"); }},
           {"negative body limit", [](api::HttpRule& r) { r.set_max_body_kib(-1); }},
       }) {
    INFO(c.what);
    api::HttpRule rule = ok;
    c.change(rule);
    absl::Status st = BuildWithRule(rule);
    CHECK(st.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(st.message(), "vetline.testing.v1.ProbeService.Probe"));
  }
}
