// Two media replicas on one database, each behind its own gateway: calls are placed on
// the less loaded replica, and every request about a call — WHIP, WHEP, control, event
// streams — reaches the replica holding it, whichever gateway it came through.
#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

#include "absl/strings/match.h"
#include "libs/metrics/metrics.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"
#include "libs/testing/servers.h"
#include "services/gateway/gateway.h"
#include "services/media/client/media_router.h"
#include "services/media/media_component.h"
#include "tests/support/http_client.h"
#include "tests/support/identity_stack.h"
#include "tests/support/principals.h"
#include "tests/support/webrtc_peer.h"

using namespace vetline;
using nlohmann::json;
using testing::Bearer;
using testing::EventStream;
using testing::HttpClient;
using testing::Publisher;
using testing::Subscriber;

namespace {

constexpr char kPassword[] = "correct horse battery";

struct TwoReplicas {
  TwoReplicas() {
    dir = std::filesystem::temp_directory_path() / ("vetline-replicas-" + testing::UniqueRedisPrefix().substr(5, 12));
    pool = pg::Pool::Create({.conninfo = db.conninfo(), .size = 2, .name = "test"}).value();
    for (int i = 0; i < 2; ++i) {
      media::MediaOptions mo;
      mo.data_dir = (dir / ("data" + std::to_string(i))).string();
      mo.blob_dir = (dir / "blobs").string();
      mo.compose_poll = absl::Milliseconds(100);
      rpc::ServiceEnv env = testing::TestServiceEnv(db.conninfo());
      env.peers = {{"clients", "127.0.0.1:1"}, {"conversations", "127.0.0.1:1"}};
      registries[i] = env.registry;
      media[i] = media::Start(env, mo).value();
      addresses[i] = "127.0.0.1:" + std::to_string(media[i]->server().port());
    }
    // Each gateway knows one replica's address only, as a Service address would give.
    for (int i = 0; i < 2; ++i) {
      gateway::GatewayOptions o;
      o.http_address = "127.0.0.1:0";
      o.backends = {{"identity", identity.address()}, {"media", addresses[i]}};
      o.internal_secret = testing::kTestInternalSecret;
      o.registry = std::make_shared<prometheus::Registry>();
      o.proto_files = {"vetline/identity/v1/identity.proto", "vetline/media/v1/media.proto"};
      gateways[i] = gateway::Gateway::Start(o).value();
    }
    std::string email = "host+" + testing::UniqueRedisPrefix().substr(5, 12) + "@maple.example";
    identity.CreateClinic("Maple Vet", email, kPassword);
    auto r = Client(0).Post("/v1/auth/login", json{{"email", email}, {"password", kPassword}}.dump());
    REQUIRE(r.status == 200);
    maple = r.json()["token"];
  }
  ~TwoReplicas() {
    for (auto& g : gateways) g.reset();
    for (auto& m : media) m.reset();
    std::filesystem::remove_all(dir);
  }

  HttpClient Client(int gateway) { return HttpClient(gateways[gateway]->port()); }
  // The replica a call was placed on, as recorded on the call.
  std::string OwnerOf(const std::string& call_id) {
    auto r = pool->Exec(pg::Statement{"owner", "SELECT coalesce(owner, '') AS owner FROM media.calls WHERE id = $1"},
                        {call_id});
    REQUIRE(r.ok());
    return r->Text(0, "owner");
  }
  testing::Signal Whip(int gateway, const std::string& path, const std::string& token, std::string* location) {
    return [this, gateway, path, token, location](const std::string& offer) -> absl::StatusOr<std::string> {
      auto headers = Bearer(token);
      headers["Content-Type"] = "application/sdp";
      auto r = Client(gateway).Post(path, offer, headers);
      if (r.status != 201) return absl::InvalidArgumentError(std::to_string(r.status) + " " + r.body);
      if (location) *location = r.header("location");
      return r.body;
    };
  }
  std::string Metrics(int replica) { return metrics::Serialize(*registries[replica]); }

  testing::TestDatabase db;
  testing::IdentityStack identity;
  std::shared_ptr<pg::Pool> pool;
  std::filesystem::path dir;
  std::shared_ptr<prometheus::Registry> registries[2];
  std::unique_ptr<rpc::RunningService> media[2];
  std::string addresses[2];
  std::unique_ptr<gateway::Gateway> gateways[2];
  std::string maple;
};

std::shared_ptr<const testing::EncodedClip> Clip() {
  static auto clip = *testing::EncodeClip(320, 180, 30, absl::Seconds(2), 300);
  return clip;
}

}  // namespace

TEST_CASE("media replicas: calls go to the less loaded replica and all of a call reaches its owner") {
  TwoReplicas r;
  // Two calls, each first used through gateway 0: the second goes to the replica the
  // first did not take.
  std::vector<json> calls;
  std::vector<std::string> hosts;
  for (int i = 0; i < 2; ++i) {
    auto created = r.Client(0).Post("/v1/calls", "{}", Bearer(r.maple));
    REQUIRE(created.status == 200);
    calls.push_back(created.json());
    std::string id = created.json()["call"]["id"];
    CHECK(r.OwnerOf(id).empty());  // placed when first used, not when created
    auto joined = r.Client(0).Post("/v1/calls/" + id + "/host-join", "{\"displayName\":\"Dr. Rivera\"}", Bearer(r.maple));
    REQUIRE(joined.status == 200);
    hosts.push_back(joined.json()["participantToken"]);
  }
  const std::string first = r.OwnerOf(calls[0]["call"]["id"]), second = r.OwnerOf(calls[1]["call"]["id"]);
  CHECK((first == r.addresses[0] || first == r.addresses[1]));
  CHECK((second == r.addresses[0] || second == r.addresses[1]));
  CHECK(first != second);

  // The call held by replica 1: gateway 0 knows only replica 0, so it has to route.
  const int held = second == r.addresses[1] ? 1 : 0;
  const std::string call = calls[held]["call"]["id"];
  const std::string host = hosts[held];
  REQUIRE(r.OwnerOf(call) == r.addresses[1]);

  // The host watches through gateway 1; a guest joins and is admitted through gateway 0,
  // and the host hears of it.
  EventStream host_events(r.gateways[1]->port(), "/v1/calls/" + call + "/events", Bearer(host));
  REQUIRE(host_events.status() == 200);
  REQUIRE(host_events.NextOf("snapshot", 5000));
  auto joined = r.Client(0).Post("/v1/calls/" + call + "/join",
                                 json{{"invitationToken", calls[held]["invitation"]["directToken"]},
                                      {"displayName", "Sam Owner"}}.dump());
  REQUIRE(joined.status == 200);
  std::string guest = joined.json()["participantToken"];
  std::string guest_id = joined.json()["participant"]["id"];
  REQUIRE(host_events.NextOf("waiting", 5000));
  REQUIRE(r.Client(0).Post("/v1/calls/" + call + "/participants/" + guest_id + "/admit", "", Bearer(r.maple)).status == 200);
  EventStream guest_events(r.gateways[0]->port(), "/v1/calls/" + call + "/events?access_token=" + guest);
  REQUIRE(guest_events.NextOf("snapshot", 5000));

  // WHIP through gateway 0, WHEP of it through gateway 1: media flows on replica 1.
  std::string host_pub;
  auto camera = Publisher::Start({.clip = Clip(), .signal = r.Whip(0, "/v1/calls/" + call + "/whip/camera", host, &host_pub)});
  INFO(camera.status().ToString());
  REQUIRE(camera.ok());
  auto published = guest_events.NextOf("published", 5000);
  REQUIRE(published);
  std::string pub_id = host_pub.substr(host_pub.rfind('/') + 1);
  auto sees_host = Subscriber::Start({.signal = r.Whip(1, "/v1/calls/" + call + "/whep/" + pub_id, guest, nullptr)});
  INFO(sees_host.status().ToString());
  REQUIRE(sees_host.ok());
  CHECK((*sees_host)->WaitForVideoFrames(30, absl::Seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the keepers refresh the gauges
  CHECK(absl::StrContains(r.Metrics(1), "vetline_media_live{what=\"publications\"} 1"));
  CHECK(absl::StrContains(r.Metrics(0), "vetline_media_live{what=\"publications\"} 0"));

  // Control through either gateway reaches the owner's watchers.
  REQUIRE(r.Client(1).Post("/v1/calls/" + call + "/media-state", "{\"muted\":true}", Bearer(guest)).status == 200);
  auto muted = host_events.NextOf("media_state", 5000);
  REQUIRE(muted);
  CHECK(muted->data["participant"]["muted"] == true);

  // A replica asked directly about a call it does not hold refuses (the router asks
  // again), rather than splitting the call.
  {
    auto stub = media::v1::MediaService::NewStub(rpc::Dial(r.addresses[0]));
    grpc::ClientContext ctx;
    media::v1::SetMediaStateRequest req;
    req.set_call_id(call);
    req.set_participant_token(guest);
    media::v1::Participant out;
    grpc::Status s = stub->SetMediaState(&ctx, req, &out);
    CHECK(s.error_code() == grpc::StatusCode::UNAVAILABLE);
    CHECK(absl::StrContains(s.error_message(), "held by another media server"));
  }

  // Ending through gateway 0 tells the watchers on replica 1; afterwards any replica
  // answers for the call.
  REQUIRE(r.Client(0).Post("/v1/calls/" + call + "/end", "", Bearer(r.maple)).status == 200);
  REQUIRE(guest_events.NextOf("ended", 5000));
  auto again = r.Client(0).Get("/v1/calls/" + call, Bearer(r.maple));
  CHECK(again.json()["state"] == "ended");
  CHECK(again.json().value("lost", false) == false);
}

TEST_CASE("media replicas: LocateCall is for Vetline services only and names a bad call id") {
  TwoReplicas r;
  auto stub = media::v1::MediaService::NewStub(rpc::Dial(r.addresses[0]));
  media::v1::LocateCallRequest req;
  req.set_call_id("0d9f3a55-8a4e-4bb8-b4a4-2f6c7e1d5a22");
  media::v1::CallLocation out;
  {
    grpc::ClientContext ctx;
    CHECK(stub->LocateCall(&ctx, req, &out).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  }
  auth::PrincipalSigner signer(auth::Key::FromSecret(testing::kTestInternalSecret).value());
  {
    grpc::ClientContext ctx;
    rpc::AttachPrincipal(ctx, testing::StaffPrincipal("6f0b8f8e-4d7e-4b1a-9d55-0c3a1f2e9b10",
                                                     "0d9f3a55-8a4e-4bb8-b4a4-2f6c7e1d5a22", "admin"), signer);
    CHECK(stub->LocateCall(&ctx, req, &out).error_code() == grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext ctx;
    rpc::AttachPrincipal(ctx, rpc::ServiceForClinic(""), signer);
    CHECK(stub->LocateCall(&ctx, req, &out).error_code() == grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext ctx;
    rpc::AttachPrincipal(ctx, rpc::ServiceForClinic(""), signer);
    req.set_call_id("not-an-id");
    grpc::Status s = stub->LocateCall(&ctx, req, &out);
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(s.error_details() == "callId");
  }
}
