// The media service as a clinic and a pet owner use it: through the real gateway over
// HTTP (JSON, WHIP/WHEP with application/sdp, Server-Sent Events), with GStreamer peers
// sending and receiving real media over loopback.
#include <catch2/catch.hpp>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "libs/metrics/metrics.h"
#include "libs/redis/redis.h"
#include "libs/testing/servers.h"
#include "services/clients/clients_component.h"
#include "services/gateway/gateway.h"
#include "services/media/media_component.h"
#include "tests/support/http_client.h"
#include "tests/support/identity_stack.h"
#include "libs/core/time.h"
#include "libs/webrtc/turn.h"
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

std::shared_ptr<const testing::EncodedClip> Clip() {
  static auto clip = *testing::EncodeClip(320, 180, 30, absl::Seconds(2), 300);
  return clip;
}

std::string Discover(const std::string& path) {
  std::string out_path = path + ".discover.txt";
  std::string cmd = "gst-discoverer-1.0 -v " + path + " > " + out_path + " 2>&1";
  if (std::system(cmd.c_str()) != 0) return "";
  std::ifstream f(out_path);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

struct Harness {
  explicit Harness(absl::Duration max_download = absl::Minutes(60), std::string turn_urls = "",
                   std::string turn_secret = "")
      : registry(std::make_shared<prometheus::Registry>()) {
    dir = std::filesystem::temp_directory_path() / ("vetline-media-" + testing::UniqueRedisPrefix().substr(5, 12));
    media::MediaOptions mo;
    mo.data_dir = (dir / "data").string();
    mo.blob_dir = (dir / "blobs").string();
    mo.compose_poll = absl::Milliseconds(100);
    mo.max_download = max_download;
    mo.turn_urls = std::move(turn_urls);
    mo.turn_secret = std::move(turn_secret);
    // The real clients service: client ids a call names are checked there.
    clients = clients::Start(testing::TestServiceEnv(clients_db.conninfo()), {}).value();
    const std::string clients_address = "127.0.0.1:" + std::to_string(clients->server().port());
    rpc::ServiceEnv env = testing::TestServiceEnv(db.conninfo(), /*with_redis=*/true);
    env.peers["clients"] = clients_address;
    // No conversations service here: a call naming a conversation would be Unavailable.
    env.peers["conversations"] = "127.0.0.1:1";
    media_registry = env.registry;
    media = media::Start(env, mo).value();
    gateway::GatewayOptions o;
    o.http_address = "127.0.0.1:0";
    o.backends = {{"identity", identity.address()},
                  {"clients", clients_address},
                  {"media", "127.0.0.1:" + std::to_string(media->server().port())}};
    o.redis = testing::SharedRedis().address();
    o.internal_secret = testing::kTestInternalSecret;
    o.registry = registry;
    o.rate_limit_prefix = testing::UniqueRedisPrefix();
    o.proto_files = {"vetline/identity/v1/identity.proto", "vetline/clients/v1/clients.proto",
                     "vetline/media/v1/media.proto"};
    gw = gateway::Gateway::Start(o).value();
    std::string suffix = testing::UniqueRedisPrefix().substr(5, 12);
    identity.CreateClinic("Maple Vet", "host+" + suffix + "@maple.example", kPassword);
    identity.CreateClinic("Birch Vet", "admin+" + suffix + "@birch.example", kPassword);
    maple = Login("host+" + suffix + "@maple.example");
    birch = Login("admin+" + suffix + "@birch.example");
  }
  ~Harness() {
    gw.reset();
    media.reset();
    std::filesystem::remove_all(dir);
  }

  HttpClient Client() { return HttpClient(gw->port()); }
  std::string Login(const std::string& email) {
    auto r = Client().Post("/v1/auth/login", json{{"email", email}, {"password", kPassword}}.dump());
    REQUIRE(r.status == 200);
    return r.json()["token"];
  }
  // A call of Maple Vet with its host in it: {call, invitation, host token}.
  json NewCall(json body = json::object()) {
    auto created = Client().Post("/v1/calls", body.dump(), Bearer(maple));
    REQUIRE(created.status == 200);
    return created.json();
  }
  std::string HostJoin(const std::string& call_id) {
    auto r = Client().Post("/v1/calls/" + call_id + "/host-join", "{\"displayName\":\"Dr. Rivera\"}", Bearer(maple));
    REQUIRE(r.status == 200);
    return r.json()["participantToken"];
  }
  json Join(const std::string& call_id, const std::string& invitation, const std::string& name) {
    auto r = Client().Post("/v1/calls/" + call_id + "/join",
                           json{{"invitationToken", invitation}, {"displayName", name}}.dump());
    INFO(r.body);
    REQUIRE(r.status == 200);
    return r.json();
  }
  // WHIP/WHEP over HTTP: the signal a GStreamer peer uses; keeps the Location.
  testing::Signal Whip(const std::string& path, const std::string& token, std::string* location) {
    return [this, path, token, location](const std::string& offer) -> absl::StatusOr<std::string> {
      auto headers = Bearer(token);
      headers["Content-Type"] = "application/sdp";
      auto r = Client().Post(path, offer, headers);
      if (r.status != 201) return absl::InvalidArgumentError(std::to_string(r.status) + " " + r.body);
      if (location) *location = r.header("location");
      return r.body;
    };
  }
  // Polls a recording until the compose worker is done with it.
  json WaitComposed(const std::string& recording) {
    json rec;
    for (int i = 0; i < 600; ++i) {
      rec = Client().Get("/v1/recordings/" + recording, Bearer(maple)).json();
      if (rec["state"] == "ready" || rec["state"] == "failed") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return rec;
  }
  static std::string LastSegment(const std::string& location) {
    return location.substr(location.rfind('/') + 1);
  }

  testing::TestDatabase db;
  testing::IdentityStack identity;
  testing::TestDatabase clients_db;
  std::unique_ptr<rpc::RunningService> clients;
  std::shared_ptr<prometheus::Registry> registry;
  std::filesystem::path dir;
  std::shared_ptr<prometheus::Registry> media_registry;
  std::unique_ptr<rpc::RunningService> media;
  std::unique_ptr<gateway::Gateway> gw;
  std::string maple, birch;  // staff session tokens
};

}  // namespace

TEST_CASE("media: waiting room, admit, both see each other, screen share, recording composed and downloaded") {
  Harness h;
  json created = h.NewCall();
  std::string call = created["call"]["id"];
  CHECK(created["call"]["state"] == "waiting");
  std::string host = h.HostJoin(call);
  EventStream host_events(h.gw->port(), "/v1/calls/" + call + "/events", Bearer(host));
  REQUIRE(host_events.status() == 200);
  REQUIRE(host_events.NextOf("snapshot", 5000));

  // The pet owner joins with the invitation and waits; only the host is told.
  json joined = h.Join(call, created["invitation"]["joinToken"], "Sam Owner");
  std::string client = joined["participantToken"];
  std::string client_id = joined["participant"]["id"];
  CHECK(joined["participant"]["state"] == "waiting");
  auto waiting = host_events.NextOf("waiting", 5000);
  REQUIRE(waiting);
  CHECK(waiting->data["participant"]["displayName"] == "Sam Owner");
  EventStream client_events(h.gw->port(), "/v1/calls/" + call + "/events?access_token=" + client);
  REQUIRE(client_events.NextOf("snapshot", 5000));

  // Not admitted yet: no media.
  std::string host_pub, client_pub, screen_pub;
  auto early = Publisher::Start({.clip = Clip(), .signal = h.Whip("/v1/calls/" + call + "/whip/camera", client, nullptr)});
  REQUIRE_FALSE(early.ok());
  CHECK(absl::StrContains(early.status().message(), "wait until the host admits you"));

  auto listed = h.Client().Get("/v1/calls/" + call + "/participants", Bearer(h.maple));
  REQUIRE(listed.status == 200);
  CHECK(listed.json()["participants"].size() == 2);
  REQUIRE(h.Client().Post("/v1/calls/" + call + "/participants/" + client_id + "/admit", "", Bearer(h.maple)).status == 200);
  auto admitted = client_events.NextOf("admitted", 5000);
  REQUIRE(admitted);
  CHECK(admitted->data["participant"]["id"] == client_id);

  auto host_cam = Publisher::Start({.clip = Clip(), .signal = h.Whip("/v1/calls/" + call + "/whip/camera", host, &host_pub)});
  INFO(host_cam.status().ToString());
  REQUIRE(host_cam.ok());
  auto client_cam = Publisher::Start({.clip = Clip(), .signal = h.Whip("/v1/calls/" + call + "/whip/camera", client, &client_pub)});
  REQUIRE(client_cam.ok());
  CHECK(absl::StartsWith(host_pub, "/v1/calls/" + call + "/sessions/"));
  auto published = client_events.NextOf("published", 5000);
  REQUIRE(published);

  REQUIRE(h.Client().Post("/v1/calls/" + call + "/recording/start", "", Bearer(h.maple)).status == 200);
  REQUIRE(client_events.NextOf("recording_started", 5000));

  auto client_sees_host = Subscriber::Start(
      {.signal = h.Whip("/v1/calls/" + call + "/whep/" + Harness::LastSegment(host_pub), client, nullptr)});
  REQUIRE(client_sees_host.ok());
  auto host_sees_client = Subscriber::Start(
      {.signal = h.Whip("/v1/calls/" + call + "/whep/" + Harness::LastSegment(client_pub), host, nullptr)});
  REQUIRE(host_sees_client.ok());
  CHECK((*client_sees_host)->WaitForVideoFrames(30, absl::Seconds(10)));
  CHECK((*host_sees_client)->WaitForVideoFrames(30, absl::Seconds(10)));
  CHECK((*client_sees_host)->keyframes() >= 1);
  CHECK((*host_sees_client)->audio_packets() > 0);

  // Screen share is its own publication: on, seen, off — the cameras go on untouched.
  {
    auto screen = Publisher::Start({.clip = Clip(), .audio = false,
                                    .signal = h.Whip("/v1/calls/" + call + "/whip/screen", client, &screen_pub)});
    REQUIRE(screen.ok());
    auto shared = host_events.NextOf("published", 5000);
    while (shared && !shared->data["participant"].value("screenSharing", false)) shared = host_events.NextOf("published", 5000);
    REQUIRE(shared);
    auto host_sees_screen = Subscriber::Start(
        {.signal = h.Whip("/v1/calls/" + call + "/whep/" + Harness::LastSegment(screen_pub), host, nullptr),
         .video_only = true});
    REQUIRE(host_sees_screen.ok());
    CHECK((*host_sees_screen)->WaitForVideoFrames(20, absl::Seconds(10)));
    auto stop = h.Client().Send("DELETE", screen_pub, "", Bearer(client));
    CHECK(stop.status == 200);
    auto again = h.Client().Send("DELETE", screen_pub, "", Bearer(client));
    CHECK(again.status == 404);
    auto unshared = host_events.NextOf("unpublished", 5000);
    REQUIRE(unshared);
    CHECK(unshared->data["participant"].value("screenSharing", true) == false);
  }
  int64_t before = (*host_sees_client)->video_frames();
  CHECK((*host_sees_client)->WaitForVideoFrames(before + 15, absl::Seconds(5)));

  // Operators see the live load: one call, two cameras, two receivers, two track files.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // gauges refresh every poll
  std::string metrics = metrics::Serialize(*h.media_registry);
  CHECK(absl::StrContains(metrics, "vetline_media_live{what=\"calls\"} 1"));
  CHECK(absl::StrContains(metrics, "vetline_media_live{what=\"publications\"} 2"));
  CHECK(absl::StrContains(metrics, "vetline_media_live{what=\"recorders\"} 2"));

  // Mute is a state change, not a renegotiation.
  REQUIRE(h.Client().Post("/v1/calls/" + call + "/media-state", "{\"muted\":true}", Bearer(client)).status == 200);
  auto muted = host_events.NextOf("media_state", 5000);
  REQUIRE(muted);
  CHECK(muted->data["participant"]["muted"] == true);

  auto stopped = h.Client().Post("/v1/calls/" + call + "/recording/stop", "", Bearer(h.maple));
  REQUIRE(stopped.status == 200);
  std::string recording = stopped.json()["id"];
  REQUIRE(client_events.NextOf("recording_stopped", 5000));
  REQUIRE(h.Client().Post("/v1/calls/" + call + "/leave", "", Bearer(client)).status == 200);
  auto left = host_events.NextOf("left", 5000);
  REQUIRE(left);
  CHECK(left->data["participant"]["id"] == client_id);
  // The call record reaches the conversations service as an event.
  std::mutex mu;
  std::condition_variable cv;
  std::vector<json> records;
  auto sub = redis::Subscriber::Start(redis::ParseAddress(testing::SharedRedis().address()).value(),
                                      {"vetline.events.call.ended"}, [&](const std::string&, const std::string& payload) {
                                        std::lock_guard<std::mutex> l(mu);
                                        records.push_back(json::parse(payload));
                                        cv.notify_all();
                                      });
  REQUIRE(sub.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // subscribed before the event
  auto ended = h.Client().Post("/v1/calls/" + call + "/end", "", Bearer(h.maple));
  REQUIRE(ended.status == 200);
  CHECK(ended.json()["state"] == "ended");
  REQUIRE(host_events.NextOf("ended", 5000));
  {
    std::unique_lock<std::mutex> l(mu);
    REQUIRE(cv.wait_for(l, std::chrono::seconds(5), [&] {
      return std::any_of(records.begin(), records.end(), [&](const json& r) { return r["callId"] == call; });
    }));
    json record = *std::find_if(records.begin(), records.end(), [&](const json& r) { return r["callId"] == call; });
    CHECK(record["durationSeconds"].get<double>() > 1.0);
    CHECK(record["participants"].size() == 2);
    CHECK(record["participants"][1]["name"] == "Sam Owner");
    CHECK(record["recordingIds"][0] == recording);
    CHECK(record["link"] == "/v1/calls/" + call);
  }
  CHECK(h.Client().Post("/v1/calls/" + call + "/end", "", Bearer(h.maple)).status == 200);  // idempotent

  // The compose worker turns the tracks into one file within the time limit.
  json rec = h.WaitComposed(recording);
  INFO(rec.dump());
  REQUIRE(rec["state"] == "ready");
  CHECK(rec["downloadable"] == true);
  CHECK(rec["progress"] == 1.0);
  CHECK(h.Client().Get("/v1/recordings/" + recording, Bearer(h.birch)).status == 404);
  auto download = h.Client().Get(rec["downloadUrl"], Bearer(h.maple));
  REQUIRE(download.status == 200);
  CHECK(download.header("content-type") == "video/webm");
  std::string file = (h.dir / "download.webm").string();
  std::ofstream(file, std::ios::binary) << download.body;
  std::string info = Discover(file);
  CHECK(absl::StrContains(info, "VP8"));
  CHECK(absl::StrContains(info, "Opus"));
  CHECK(absl::StrContains(info, "Width: 1920"));  // host camera, client camera, client screen

  auto history = h.Client().Get("/v1/reports/call-history", Bearer(h.maple));
  REQUIRE(history.status == 200);
  json row = history.json()["calls"][0];
  CHECK(row["call"]["id"] == call);
  CHECK(row["hostName"] == "Dr. Rivera");
  CHECK(row["clientName"] == "Sam Owner");
  CHECK(row["recorded"] == true);
  CHECK(row["recordings"][0]["downloadable"] == true);
  CHECK(h.Client().Get("/v1/reports/call-history", Bearer(h.birch)).json().value("calls", json::array()).empty());
}

TEST_CASE("media: bad input gets a clear error and the call keeps running for everyone else") {
  Harness h;
  json created = h.NewCall();
  std::string call = created["call"]["id"];
  std::string host = h.HostJoin(call);
  std::string pub_location;
  auto cam = Publisher::Start({.clip = Clip(), .signal = h.Whip("/v1/calls/" + call + "/whip/camera", host, &pub_location)});
  REQUIRE(cam.ok());
  json guest = h.Join(call, created["invitation"]["directToken"], "Guest");
  REQUIRE(h.Client().Post("/v1/calls/" + call + "/participants/" + std::string(guest["participant"]["id"]) + "/admit", "",
                          Bearer(h.maple)).status == 200);
  std::string guest_token = guest["participantToken"];
  auto watcher = Subscriber::Start(
      {.signal = h.Whip("/v1/calls/" + call + "/whep/" + Harness::LastSegment(pub_location), guest_token, nullptr)});
  REQUIRE(watcher.ok());
  REQUIRE((*watcher)->WaitForVideoFrames(10, absl::Seconds(10)));

  auto sdp = [&](const std::string& body, const std::string& type = "application/sdp") {
    auto headers = Bearer(guest_token);
    headers["Content-Type"] = type;
    return h.Client().Post("/v1/calls/" + call + "/whip/camera", body, headers);
  };
  auto malformed = sdp("this is not SDP");
  CHECK(malformed.status == 400);
  CHECK(malformed.json()["error"]["field"] == "sdpOffer");
  std::string h264 =
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
      "a=fingerprint:sha-256 00:11\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\n"
      "a=rtpmap:102 H264/90000\r\na=sendonly\r\na=mid:0\r\n";
  auto no_codec = sdp(h264);
  CHECK(no_codec.status == 400);
  CHECK(absl::StrContains(no_codec.body, "VP8"));
  CHECK(sdp(h264, "application/json").status == 415);
  CHECK(h.Client().Post("/v1/calls/" + call + "/whip/microphone", h264,
                        [&] { auto x = Bearer(guest_token); x["Content-Type"] = "application/sdp"; return x; }())
            .json()["error"]["field"] == "kind");
  auto no_token = h.Client().Post("/v1/calls/" + call + "/whip/camera", h264, {{"Content-Type", "application/sdp"}});
  CHECK(no_token.status == 401);

  // Joining before the window opens says when it opens.
  absl::Time later = absl::Now() + absl::Hours(2);
  json scheduled = h.NewCall(json{{"scheduledStart", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", later, absl::UTCTimeZone())}});
  CHECK(scheduled["call"]["state"] == "scheduled");
  auto too_early = h.Client().Post("/v1/calls/" + std::string(scheduled["call"]["id"]) + "/join",
                                   json{{"invitationToken", scheduled["invitation"]["joinToken"]}, {"displayName", "Sam"}}.dump());
  CHECK(too_early.status == 400);
  CHECK(absl::StrContains(too_early.body, "opens for joining at " +
                                              absl::FormatTime("%Y-%m-%dT%H:%M", later - absl::Minutes(30), absl::UTCTimeZone())));
  // The join page asks first: when the call is and when joining opens, by the link alone.
  const std::string scheduled_id = scheduled["call"]["id"];
  auto invitation = h.Client().Get("/v1/calls/" + scheduled_id + "/invitation",
                                   Bearer(scheduled["invitation"]["joinToken"].get<std::string>()));
  REQUIRE(invitation.status == 200);
  CHECK(invitation.json()["joinOpensAt"] ==
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", later - absl::Minutes(30), absl::UTCTimeZone()));
  CHECK(invitation.json()["scheduledStart"] == absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", later, absl::UTCTimeZone()));
  CHECK_FALSE(invitation.json().value("ended", false));
  auto open_now = h.Client().Get("/v1/calls/" + call + "/invitation",
                                 Bearer(created["invitation"]["joinToken"].get<std::string>()));
  REQUIRE(open_now.status == 200);
  CHECK_FALSE(open_now.json().contains("joinOpensAt"));
  CHECK(h.Client().Get("/v1/calls/" + scheduled_id + "/invitation",
                       Bearer(created["invitation"]["joinToken"].get<std::string>())).status == 403);
  CHECK(h.Client().Get("/v1/calls/" + scheduled_id + "/invitation").status == 401);
  // An invitation only opens its own call.
  auto wrong_call = h.Client().Post("/v1/calls/" + std::string(scheduled["call"]["id"]) + "/join",
                                    json{{"invitationToken", created["invitation"]["joinToken"]}, {"displayName", "Sam"}}.dump());
  CHECK(wrong_call.status == 403);
  CHECK(h.Client().Post("/v1/calls/" + call + "/join", json{{"invitationToken", created["invitation"]["joinToken"]}}.dump())
            .json()["error"]["field"] == "displayName");

  // Another clinic's staff cannot see, host or record the call.
  CHECK(h.Client().Get("/v1/calls/" + call, Bearer(h.birch)).status == 404);
  CHECK(h.Client().Post("/v1/calls/" + call + "/host-join", "{}", Bearer(h.birch)).status == 404);
  CHECK(h.Client().Post("/v1/calls/" + call + "/recording/start", "", Bearer(h.birch)).status == 404);

  // A removed participant is out for good: its token and its invitation stop working.
  json sam = h.Join(call, created["invitation"]["joinToken"], "Sam Owner");
  std::string sam_id = sam["participant"]["id"];
  REQUIRE(h.Client().Post("/v1/calls/" + call + "/participants/" + sam_id + "/admit", "", Bearer(h.maple)).status == 200);
  REQUIRE(h.Client().Post("/v1/calls/" + call + "/participants/" + sam_id + "/remove", "", Bearer(h.maple)).status == 200);
  auto rejoin = h.Client().Post("/v1/calls/" + call + "/join",
                                json{{"invitationToken", created["invitation"]["joinToken"]}, {"displayName", "Sam again"}}.dump());
  CHECK(rejoin.status == 403);
  CHECK(absl::StrContains(rejoin.body, "removed"));
  auto removed_publish = Publisher::Start(
      {.clip = Clip(), .signal = h.Whip("/v1/calls/" + call + "/whip/camera", sam["participantToken"], nullptr)});
  CHECK(absl::StrContains(removed_publish.status().message(), "403"));
  auto people = h.Client().Get("/v1/calls/" + call + "/participants", Bearer(h.maple)).json()["participants"];
  CHECK(people.size() == 2);  // host and guest

  // After all that, the guest still receives the host.
  int64_t before = (*watcher)->video_frames();
  CHECK((*watcher)->WaitForVideoFrames(before + 30, absl::Seconds(10)));
  CHECK(h.Client().Get("/v1/calls/" + call, Bearer(h.maple)).json()["state"] == "live");
}

TEST_CASE("media: a recording over the download limit says so and is not served") {
  Harness h(/*max_download=*/absl::Seconds(1));  // stands in for the 60-minute limit
  json created = h.NewCall();
  std::string call = created["call"]["id"];
  std::string host = h.HostJoin(call);
  auto cam = Publisher::Start({.clip = Clip(), .signal = h.Whip("/v1/calls/" + call + "/whip/camera", host, nullptr)});
  REQUIRE(cam.ok());
  // The host alone has not started the call: recording waits for a second participant.
  auto alone = h.Client().Post("/v1/calls/" + call + "/recording/start", "", Bearer(h.maple));
  CHECK(alone.status == 400);
  CHECK(absl::StrContains(alone.body, "second participant"));
  json sam = h.Join(call, created["invitation"]["joinToken"], "Sam Owner");
  REQUIRE(h.Client().Post("/v1/calls/" + call + "/participants/" + std::string(sam["participant"]["id"]) + "/admit", "",
                          Bearer(h.maple)).status == 200);
  REQUIRE(h.Client().Post("/v1/calls/" + call + "/recording/start", "", Bearer(h.maple)).status == 200);
  CHECK(h.Client().Post("/v1/calls/" + call + "/recording/start", "", Bearer(h.maple)).status == 400);  // already on
  std::this_thread::sleep_for(std::chrono::seconds(3));
  auto stopped = h.Client().Post("/v1/calls/" + call + "/recording/stop", "", Bearer(h.maple));
  REQUIRE(stopped.status == 200);
  std::string recording = stopped.json()["id"];
  auto early = h.Client().Get("/v1/recordings/" + recording + "/download", Bearer(h.maple));
  if (early.status != 400 || !absl::StrContains(early.body, "cannot be downloaded")) {
    // Caught before the compose worker finished: it says so and how far it is.
    CHECK(early.status == 400);
    CHECK(absl::StrContains(early.body, "not ready yet"));
  }
  json rec = h.WaitComposed(recording);
  REQUIRE(rec["state"] == "ready");
  CHECK(rec.value("downloadable", false) == false);
  auto refused = h.Client().Get("/v1/recordings/" + recording + "/download", Bearer(h.maple));
  CHECK(refused.status == 400);
  CHECK(absl::StrContains(refused.body, "cannot be downloaded"));
  json row = h.Client().Get("/v1/reports/call-history", Bearer(h.maple)).json()["calls"][0];
  CHECK(row["recorded"] == true);
  CHECK(row["recordings"][0].value("downloadable", false) == false);
}

TEST_CASE("media: a participant whose connection drops without leaving is taken off the call") {
  Harness h;
  json created = h.NewCall();
  std::string call = created["call"]["id"];
  std::string host = h.HostJoin(call);
  json joined = h.Join(call, created["invitation"]["joinToken"], "Sam Owner");
  std::string client = joined["participantToken"];
  std::string client_id = joined["participant"]["id"];
  REQUIRE(h.Client().Post("/v1/calls/" + call + "/participants/" + client_id + "/admit", "", Bearer(h.maple)).status == 200);
  EventStream host_events(h.gw->port(), "/v1/calls/" + call + "/events", Bearer(host));
  REQUIRE(host_events.NextOf("snapshot", 5000));

  std::string client_pub;
  auto client_cam = Publisher::Start({.clip = Clip(), .signal = h.Whip("/v1/calls/" + call + "/whip/camera", client, &client_pub)});
  REQUIRE(client_cam.ok());
  auto host_sees_client = Subscriber::Start(
      {.signal = h.Whip("/v1/calls/" + call + "/whep/" + Harness::LastSegment(client_pub), host, nullptr)});
  REQUIRE(host_sees_client.ok());
  REQUIRE((*host_sees_client)->WaitForVideoFrames(10, absl::Seconds(10)));

  // The pet owner's tab dies: no DELETE, the peer simply stops answering. Within the
  // keepalive period (25 s) plus its retries (~25 s), the host is told the camera is gone.
  client_cam->reset();
  auto gone = host_events.NextOf("unpublished", 75000);  // at most ~51 s seen
  REQUIRE(gone);
  CHECK(gone->data["participant"]["id"] == client_id);
  CHECK(h.Client().Send("DELETE", client_pub, "", Bearer(client)).status == 404);  // already ended
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // gauges refresh every poll
  std::string metrics = metrics::Serialize(*h.media_registry);
  CHECK(absl::StrContains(metrics, "vetline_media_live{what=\"publications\"} 0"));
  CHECK(absl::StrContains(metrics, "vetline_media_live{what=\"subscriptions\"} 0"));

  // Reloading the page brings them back: the same participant publishes again.
  auto again = Publisher::Start({.clip = Clip(), .signal = h.Whip("/v1/calls/" + call + "/whip/camera", client, &client_pub)});
  CHECK(again.ok());
}

TEST_CASE("media: a call names only a client of the caller's clinic, and ids are well-formed") {
  Harness h;
  auto client_of = [&](const std::string& staff) {
    auto r = h.Client().Post("/v1/clients", R"({"firstName":"Pat","lastName":"Lee"})", Bearer(staff));
    INFO(r.body);
    REQUIRE(r.status == 200);
    return std::string(r.json()["id"]);
  };
  const std::string maple_client = client_of(h.maple);
  const std::string birch_client = client_of(h.birch);

  auto create = [&](const json& body) { return h.Client().Post("/v1/calls", body.dump(), Bearer(h.maple)); };
  auto other_clinic = create({{"clientId", birch_client}});
  CHECK(other_clinic.status == 404);
  CHECK(other_clinic.json()["error"]["field"] == "clientId");
  auto made_up = create({{"clientId", "9c3a5e77-3333-4a4c-9d2e-7f8a9b0c1d2e"}});
  CHECK(made_up.status == 404);
  CHECK(made_up.json()["error"]["field"] == "clientId");
  CHECK(create({{"clientId", "x"}}).json()["error"]["field"] == "clientId");
  auto huge = create({{"conversationId", std::string(64 * 1024, 'a')}});
  CHECK(huge.status == 400);
  CHECK(huge.json()["error"]["field"] == "conversationId");
  CHECK(h.Client().Get("/v1/reports/call-history", Bearer(h.maple)).json().value("calls", json::array()).empty());

  auto ok = create({{"clientId", maple_client}});
  REQUIRE(ok.status == 200);
  CHECK(ok.json()["call"]["clientId"] == maple_client);
}

TEST_CASE("media: joining answers the clinic's TURN relay with this participant's own credentials and never its secret") {
  constexpr char kSecret[] = "maple-vet-turn-secret-0123";
  const std::string urls = "turn:turn.maple.example:3478?transport=udp,turns:turn.maple.example:5349?transport=tcp";
  Harness h(absl::Minutes(60), urls, kSecret);
  json made = h.NewCall();
  const std::string call_id = made["call"]["id"];

  // What each participant's browser gets: the relay's URLs and a credential bound to its
  // participant id and to the participant token's expiry.
  auto relay_of = [&](const testing::HttpResponse& r, const std::string& who) {
    INFO(who << ": " << r.body);
    REQUIRE(r.status == 200);
    CHECK_FALSE(absl::StrContains(r.body, kSecret));
    json j = r.json();
    REQUIRE(j["iceServers"].size() == 1);
    json server = j["iceServers"][0];
    CHECK(server["urls"] == json::array({"turn:turn.maple.example:3478?transport=udp",
                                         "turns:turn.maple.example:5349?transport=tcp"}));
    absl::Time expires;
    std::string err;
    REQUIRE(absl::ParseTime(absl::RFC3339_full, j["expireTime"].get<std::string>(), &expires, &err));
    CHECK(server["username"] == std::to_string(absl::ToUnixSeconds(expires)) + ":" +
                                    j["participant"]["id"].get<std::string>());
    CHECK(server["credential"] == webrtc::TurnCredential(kSecret, server["username"].get<std::string>()));
    return server;
  };
  json host = relay_of(h.Client().Post("/v1/calls/" + call_id + "/host-join", "{}", Bearer(h.maple)), "host");
  json client = relay_of(h.Client().Post("/v1/calls/" + call_id + "/join",
                                         json{{"invitationToken", made["invitation"]["joinToken"]},
                                              {"displayName", "Pat Lee"}}.dump()),
                         "client");
  CHECK(host["username"] != client["username"]);

  // Only whoever may join gets a relay: another clinic's staff do not see the call, no
  // session is not signed in, a made-up or another call's invitation is refused.
  auto refused = [&](const testing::HttpResponse& r, int status) {
    INFO(r.body);
    CHECK(r.status == status);
    CHECK_FALSE(absl::StrContains(r.body, "iceServers"));
    CHECK_FALSE(absl::StrContains(r.body, "turn.maple.example"));
    CHECK_FALSE(absl::StrContains(r.body, kSecret));
  };
  refused(h.Client().Post("/v1/calls/" + call_id + "/host-join", "{}", Bearer(h.birch)), 404);
  refused(h.Client().Post("/v1/calls/" + call_id + "/host-join", "{}"), 401);
  refused(h.Client().Post("/v1/calls/" + call_id + "/join",
                          json{{"invitationToken", "not-an-invitation"}, {"displayName", "Sam"}}.dump()),
          403);
  json other = h.NewCall();
  refused(h.Client().Post("/v1/calls/" + other["call"]["id"].get<std::string>() + "/join",
                          json{{"invitationToken", made["invitation"]["joinToken"]}, {"displayName", "Sam"}}.dump()),
          403);
}

TEST_CASE("media: without a TURN relay configured the join answers no ICE servers") {
  Harness h;
  json made = h.NewCall();
  const std::string call_id = made["call"]["id"];
  auto host = h.Client().Post("/v1/calls/" + call_id + "/host-join", "{}", Bearer(h.maple));
  REQUIRE(host.status == 200);
  CHECK(host.json().value("iceServers", json::array()).empty());
  json client = h.Join(call_id, made["invitation"]["joinToken"], "Pat Lee");
  CHECK(client.value("iceServers", json::array()).empty());
}

TEST_CASE("media: a TURN relay set without its secret stops the service from starting, naming the setting") {
  testing::TestDatabase db;
  media::MediaOptions mo;
  mo.turn_urls = "turn:turn.maple.example:3478";
  rpc::ServiceEnv env = testing::TestServiceEnv(db.conninfo());
  env.peers["clients"] = "127.0.0.1:1";
  env.peers["conversations"] = "127.0.0.1:1";
  auto started = media::Start(env, mo);
  REQUIRE_FALSE(started.ok());
  CHECK(started.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(started.status().message(), "media-turn-secret"));
}
