// kill -9 of the media service while it records: what reached the disk stays readable,
// and the restarted service composes it, marked as interrupted.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "libs/auth/auth.h"
#include "libs/rpc/rpc.h"
#include "libs/testing/servers.h"
#include "tests/support/identity_stack.h"
#include "tests/support/webrtc_peer.h"
#include "vetline/media/v1/media.grpc.pb.h"

using namespace vetline;
namespace v1 = media::v1;

namespace {

// `vetline-media` as its own process, as Kubernetes runs it.
class MediaProcess {
 public:
  MediaProcess(const std::string& conninfo, const std::string& dir, int port) {
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<std::string> env = {
          "VETLINE_PG_DSN=" + conninfo, "VETLINE_REDIS=",
          std::string("VETLINE_INTERNAL_SECRET=") + testing::kTestInternalSecret,
          "VETLINE_GRPC_ADDRESS=127.0.0.1:" + std::to_string(port),
          "VETLINE_MEDIA_DATA_DIR=" + dir + "/data", "VETLINE_MEDIA_BLOB_DIR=" + dir + "/blobs"};
      for (const std::string& e : env) putenv(strdup(e.c_str()));
      execl(VETLINE_MEDIA_BINARY, VETLINE_MEDIA_BINARY, nullptr);
      _exit(127);
    }
    channel_ = rpc::Dial("127.0.0.1:" + std::to_string(port));
    for (int i = 0; i < 100; ++i) {
      auto serving = rpc::CheckHealth(*channel_, "", absl::Seconds(1));
      if (serving.ok() && *serving) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    Kill();
    FAIL("vetline-media did not become ready");
  }
  ~MediaProcess() { Kill(); }
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::unique_ptr<v1::MediaService::Stub> Stub() { return v1::MediaService::NewStub(channel_); }

 private:
  pid_t pid_ = -1;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace

TEST_CASE("media: kill -9 while recording keeps the track readable and it is composed after restart") {
  testing::TestDatabase db;
  std::string dir = (std::filesystem::temp_directory_path() / ("vetline-crash-" + std::to_string(getpid()))).string();
  int port = testing::FreePort();
  auth::PrincipalSigner signer(auth::Key::FromSecret(testing::kTestInternalSecret).value());
  api::Principal staff;
  staff.set_kind(api::Principal::STAFF);
  staff.set_clinic_id("6f0b8f8e-4d7e-4b1a-9d55-0c3a1f2e9b10");
  staff.set_user_id("0d9f3a55-8a4e-4bb8-b4a4-2f6c7e1d5a22");
  staff.set_role("admin");
  auto as_staff = [&](grpc::ClientContext& ctx) { rpc::AttachPrincipal(ctx, staff, signer); };
  auto clip = testing::EncodeClip(320, 180, 30, absl::Seconds(2), 300).value();

  std::string recording_id, track;
  {
    MediaProcess media(db.conninfo(), dir, port);
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
    v1::JoinResponse host;
    REQUIRE(stub->HostJoin(&c2, hj, &host).ok());
    auto publisher = testing::Publisher::Start(
        {.clip = clip, .signal = [&](const std::string& offer) -> absl::StatusOr<std::string> {
           grpc::ClientContext ctx;
           v1::PublishRequest req;
           req.set_call_id(call);
           req.set_kind("camera");
           req.set_participant_token(host.participant_token());
           req.set_sdp_offer(offer);
           v1::SessionResponse resp;
           grpc::Status s = stub->Publish(&ctx, req, &resp);
           if (!s.ok()) return absl::InternalError(s.error_message());
           return resp.sdp_answer();
         }});
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
  MediaProcess media(db.conninfo(), dir, port);
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
