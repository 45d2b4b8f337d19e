// kill -9 of the media service while it records: what reached the disk stays readable,
// and the restarted service composes it, marked as interrupted.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "libs/testing/servers.h"
#include "tests/support/webrtc_peer.h"
#include "services/media/tests/media_process.h"

using namespace vetline;
namespace v1 = media::v1;


TEST_CASE("media: kill -9 while recording keeps the track readable and it is composed after restart") {
  testing::TestDatabase db;
  std::string dir = (std::filesystem::temp_directory_path() / ("vetline-crash-" + std::to_string(getpid()))).string();
  int port = testing::FreePort();
  testing::StaffCaller staff;
  auto as_staff = [&](grpc::ClientContext& ctx) { staff.Sign(ctx); };
  auto clip = testing::EncodeClip(320, 180, 30, absl::Seconds(2), 300).value();

  std::string recording_id, track;
  {
    testing::MediaProcess media(VETLINE_MEDIA_BINARY, db.conninfo(), dir, port);
    REQUIRE(media.ready());
    auto stub = media.Stub();
    grpc::ClientContext c1, c2, c3;
    as_staff(c1);
    v1::CreateCallRequest create;
    v1::CreateCallResponse created;
    REQUIRE(stub->CreateCall(&c1, create, &created).ok());
    std::string call = created.call().id();
    as_staff(c2);
    v1::HostJoinRequest hj;
    hj.set_call_id(call);
    v1::JoinResponse host, cohost;
    REQUIRE(stub->HostJoin(&c2, hj, &host).ok());
    grpc::ClientContext c4;  // a second participant starts the call, so it can be recorded
    as_staff(c4);
    REQUIRE(stub->HostJoin(&c4, hj, &cohost).ok());
    auto publisher = testing::Publisher::Start(
        {.clip = clip, .signal = testing::GrpcSignal(*stub, call, host.participant_token(), "camera", true)});
    REQUIRE(publisher.ok());
    as_staff(c3);
    v1::RecordingRequest rr;
    rr.set_call_id(call);
    v1::Recording rec;
    REQUIRE(stub->StartRecording(&c3, rr, &rec).ok());
    recording_id = rec.id();
    std::this_thread::sleep_for(std::chrono::seconds(4));
    media.Kill();  // SIGKILL: no EOS, no index written
    for (const auto& e : std::filesystem::directory_iterator(dir + "/data/" + recording_id)) track = e.path().string();
  }
  REQUIRE_FALSE(track.empty());
  // The file as the crash left it is readable, with most of the 4 seconds in it.
  std::string cmd = "gst-discoverer-1.0 " + track + " > " + dir + "/crash.txt 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream f(dir + "/crash.txt");
  std::string out((std::istreambuf_iterator<char>(f)), {});
  INFO(out);
  CHECK(absl::StrContains(out, "VP8"));
  // "Duration: 0:00:03.123000000": at most the last second or two may be missing.
  size_t at = out.find("Duration: ");
  REQUIRE(at != std::string::npos);
  double seconds = std::stod(out.substr(at + 15, 12));
  WARN("track duration after kill -9 at 4 s of recording: " << seconds << " s");
  CHECK(seconds > 2.0);
  std::string verify = "gst-launch-1.0 -q filesrc location=" + track +
                       " ! matroskademux ! vp8dec ! fakesink > /dev/null 2>&1";
  CHECK(std::system(verify.c_str()) == 0);

  // The restarted service composes what was written and says the recording was cut short.
  testing::MediaProcess media(VETLINE_MEDIA_BINARY, db.conninfo(), dir, port);
  REQUIRE(media.ready());
  auto stub = media.Stub();
  v1::Recording rec;
  for (int i = 0; i < 300; ++i) {
    grpc::ClientContext ctx;
    as_staff(ctx);
    v1::GetRecordingRequest get;
    get.set_id(recording_id);
    REQUIRE(stub->GetRecording(&ctx, get, &rec).ok());
    if (rec.state() == "ready" || rec.state() == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO(rec.DebugString());
  CHECK(rec.state() == "ready");
  CHECK(rec.interrupted());
  CHECK(rec.duration_seconds() > 2.0);
  std::filesystem::remove_all(dir);
}
