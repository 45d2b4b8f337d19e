// The call engine on its own: real webrtcbin peers over loopback UDP, no database.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"

#include "services/media/call_engine.h"
#include "tests/support/webrtc_peer.h"

using namespace vetline;
using testing::Publisher;
using testing::Subscriber;

namespace {

std::shared_ptr<const testing::EncodedClip> Clip() {
  static auto clip = *testing::EncodeClip(320, 180, 30, absl::Seconds(2), 300);
  return clip;
}

media::CallEngine::Options LoopbackOptions() {
  media::CallEngine::Options o;
  o.ice.local_addresses = {"127.0.0.1"};
  return o;
}

}  // namespace

TEST_CASE("engine: a subscriber receives a publisher's frames, starting with a keyframe") {
  media::CallEngine engine(LoopbackOptions());
  auto pub = Publisher::Start({.clip = Clip(), .signal = [&](const std::string& offer) {
                                 return engine.Publish("call-1", "pub-1", "camera", offer);
                               }});
  INFO(pub.status().ToString());
  REQUIRE(pub.ok());
  auto sub = Subscriber::Start({.signal = [&](const std::string& offer) {
    return engine.Subscribe("call-1", "sub-1", "pub-1", offer);
  }});
  INFO(sub.status().ToString());
  REQUIRE(sub.ok());
  REQUIRE((*sub)->WaitForVideoFrames(30, absl::Seconds(10)));
  CHECK((*sub)->keyframes() >= 1);
  CHECK((*sub)->audio_packets() > 0);
  auto stats = engine.stats();
  CHECK(stats.publications == 1);
  CHECK(stats.subscriptions == 1);

  // Ending the publication ends the subscription with it; a second end is NotFound.
  auto ended = engine.EndSession("call-1", "pub-1");
  REQUIRE(ended.ok());
  CHECK(*ended == std::vector<std::string>{"sub-1"});
  CHECK(engine.EndSession("call-1", "pub-1").status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("engine: bad offers are refused with the field named and change nothing") {
  media::CallEngine engine(LoopbackOptions());
  auto garbage = engine.Publish("call-2", "pub-1", "camera", "hello");
  CHECK(garbage.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(garbage.status().message(), "sdpOffer"));
  // An H.264-only offer has no codec we forward.
  std::string h264 =
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\n"
      "a=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 00:11\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:102 H264/90000\r\n"
      "a=sendonly\r\na=mid:0\r\n";
  auto none = engine.Publish("call-2", "pub-1", "camera", h264);
  CHECK(none.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(none.status().message(), "VP8"));
  CHECK(engine.stats().publications == 0);
  CHECK(engine.Subscribe("call-2", "s", "nope", h264).status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("engine: recording writes one readable WebM per publication") {
  auto dir = std::filesystem::temp_directory_path() / ("vetline-rec-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  media::CallEngine engine(LoopbackOptions());
  std::mutex mu;
  std::vector<media::RecordedTrack> tracks;
  REQUIRE(engine.StartRecording("call-3", dir.string(), [&](const media::RecordedTrack& t) {
                  std::lock_guard<std::mutex> l(mu);
                  tracks.push_back(t);
                }).ok());
  auto pub = Publisher::Start({.clip = Clip(), .signal = [&](const std::string& offer) {
                                 return engine.Publish("call-3", "pub-1", "camera", offer);
                               }});
  INFO(pub.status().ToString());
  REQUIRE(pub.ok());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  REQUIRE(engine.StopRecording("call-3").ok());
  {
    std::lock_guard<std::mutex> l(mu);
    REQUIRE(tracks.size() == 1);
    CHECK(tracks[0].publication_id == "pub-1");
  }
  std::string cmd = "gst-discoverer-1.0 " + tracks[0].path + " > " + dir.string() + "/d.txt 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream f(dir / "d.txt");
  std::string out((std::istreambuf_iterator<char>(f)), {});
  CHECK(absl::StrContains(out, "VP8"));
  CHECK(absl::StrContains(out, "Opus"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("engine: a late subscriber and a late recording get a keyframe from a sender that makes one only when asked") {
  auto dir = std::filesystem::temp_directory_path() / ("vetline-late-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  media::CallEngine engine(LoopbackOptions());
  // Like a browser: one keyframe at the start, then only on RTCP PLI/FIR.
  auto pub = Publisher::Start({.signal = [&](const std::string& offer) {
                                 return engine.Publish("call-5", "pub-1", "camera", offer);
                               },
                               .encode_live = true});
  INFO(pub.status().ToString());
  REQUIRE(pub.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the first keyframe is long gone

  auto sub = Subscriber::Start({.signal = [&](const std::string& offer) {
    return engine.Subscribe("call-5", "sub-1", "pub-1", offer);
  }});
  REQUIRE(sub.ok());
  CHECK((*sub)->WaitForVideoFrames(15, absl::Seconds(5)));
  CHECK((*sub)->keyframes() >= 1);

  std::mutex mu;
  std::condition_variable cv;
  int started = 0;
  REQUIRE(engine.StartRecording("call-5", dir.string(), [&](const media::RecordedTrack&) {
                  std::lock_guard<std::mutex> l(mu);
                  ++started;
                  cv.notify_all();
                }).ok());
  std::unique_lock<std::mutex> l(mu);
  CHECK(cv.wait_for(l, std::chrono::seconds(5), [&] { return started == 1; }));
  l.unlock();
  REQUIRE(engine.StopRecording("call-5").ok());
  std::filesystem::remove_all(dir);
}

TEST_CASE("engine: stats and lost sessions answer while a negotiation is stuck in ICE gathering") {
  // A STUN server that never answers holds the publication's ICE gathering open until
  // the gather timeout: a negotiation made slow on purpose, not a timing race.
  int stun = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(stun >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(stun, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(getsockname(stun, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  timeval wait{.tv_sec = 10, .tv_usec = 0};
  setsockopt(stun, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));

  media::CallEngine::Options options = LoopbackOptions();
  options.ice.stun_server = "stun://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  options.ice.gather_timeout = absl::Seconds(4);
  media::CallEngine engine(options);
  std::atomic<bool> publish_returned{false};
  absl::Status publish_status;
  std::thread publishing([&] {
    auto pub = Publisher::Start({.clip = Clip(), .signal = [&](const std::string& offer) {
                                   auto answer = engine.Publish("call-6", "pub-1", "camera", offer);
                                   publish_status = answer.status();
                                   publish_returned = true;
                                   return answer;
                                 }});
  });
  // The engine's binding request arrives: the negotiation is inside ICE gathering now.
  char buf[1500];
  ssize_t got = recv(stun, buf, sizeof(buf), 0);
  CHECK(got > 0);

  media::CallEngine::Stats stats = engine.stats();
  (void)engine.TakeLostSessions();
  CHECK_FALSE(publish_returned.load());  // answered before the negotiation finished
  CHECK(stats.calls == 1);
  CHECK(stats.publications == 0);  // not live until negotiated

  publishing.join();
  // libnice gives up on the silent STUN server (or the gather timeout ends it): either
  // way the negotiation finishes, and the publication is live only if it succeeded.
  REQUIRE(publish_returned.load());
  CHECK(engine.stats().publications == (publish_status.ok() ? 1 : 0));
  close(stun);
}
