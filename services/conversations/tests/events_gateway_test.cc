// GET /v1/events through the real gateway: Server-Sent Events with `id:` lines from the
// events' sequence numbers, and a reconnect with Last-Event-ID that misses nothing.
#include <catch2/catch.hpp>

#include "services/conversations/tests/events_fixture.h"
#include "services/gateway/gateway.h"
#include "tests/support/http_client.h"

using namespace vetline;
using testing::EventsFixture;
using testing::EventStream;

namespace {

constexpr char kPassword[] = "correct horse battery";

struct GatewayHarness {
  GatewayHarness() {
    gateway::GatewayOptions o;
    o.http_address = "127.0.0.1:0";
    o.backends = {{"identity", identity.address()},
                  {"conversations", "127.0.0.1:" + std::to_string(events.service().server().port())}};
    o.internal_secret = testing::kTestInternalSecret;
    o.registry = std::make_shared<prometheus::Registry>();
    o.proto_files = {"vetline/identity/v1/identity.proto", "vetline/conversations/v1/events.proto"};
    gw = gateway::Gateway::Start(o).value();
    clinic = identity.CreateClinic("Maple Vet", "admin@maple.example", kPassword).clinic().id();
    auto login = testing::HttpClient(gw->port())
                     .Post("/v1/auth/login",
                           nlohmann::json{{"email", "admin@maple.example"}, {"password", kPassword}}.dump());
    REQUIRE(login.status == 200);
    token = login.json()["token"];
  }
  std::map<std::string, std::string> Auth(const std::string& last_event_id = "") const {
    auto h = testing::Bearer(token);
    if (!last_event_id.empty()) h["Last-Event-ID"] = last_event_id;
    return h;
  }

  testing::IdentityStack identity;
  EventsFixture events;
  std::unique_ptr<gateway::Gateway> gw;
  std::string clinic, token;
};

}  // namespace

TEST_CASE("events over the gateway: SSE with id: lines, and Last-Event-ID resumes without loss", "[events]") {
  GatewayHarness h;
  const std::string client = testing::NewUuid();
  {
    EventStream es(h.gw->port(), "/v1/events", h.Auth());
    REQUIRE(es.status() == 200);
    auto snapshot = es.Next(10000);
    REQUIRE(snapshot);
    CHECK(snapshot->type == "snapshot");
    CHECK(snapshot->id == "0");
    h.events.Append({EventsFixture::Message(h.clinic, client, "one"), EventsFixture::Message(h.clinic, client, "two")});
    for (const char* id : {"1", "2"}) {
      auto e = es.Next(10000);
      REQUIRE(e);
      CHECK(e->type == "message.created");
      CHECK(e->id == id);
      CHECK(e->data["id"] == id);
    }
  }  // the browser loses the connection; meanwhile two more events commit
  h.events.Append({EventsFixture::Message(h.clinic, client, "three")});
  h.events.Append({EventsFixture::Message(h.clinic, client, "four")});
  EventStream resumed(h.gw->port(), "/v1/events", h.Auth("2"));
  REQUIRE(resumed.status() == 200);
  auto first = resumed.Next(10000);
  REQUIRE(first);
  CHECK(first->type == "snapshot");
  CHECK(first->id == "2");
  std::vector<std::string> texts;
  for (const char* id : {"3", "4"}) {
    auto e = resumed.Next(10000);
    REQUIRE(e);
    CHECK(e->id == id);
    texts.push_back(e->data["message"]["text"]);
  }
  CHECK(texts == std::vector<std::string>{"three", "four"});
  h.events.Append({EventsFixture::Message(h.clinic, client, "five")});
  auto live = resumed.Next(10000);
  REQUIRE(live);
  CHECK(live->id == "5");
}

TEST_CASE("events over the gateway: a garbled Last-Event-ID is a 400 naming lastEventId", "[events]") {
  GatewayHarness h;
  testing::HttpClient c(h.gw->port());
  auto r = c.Get("/v1/events", h.Auth("not-an-id"));
  CHECK(r.status == 400);
  CHECK(r.json()["error"]["field"] == "lastEventId");
  CHECK(c.Get("/v1/events").status == 401);  // no session, no events
}
