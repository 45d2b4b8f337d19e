// tools/bench media [--min-calls=N] [--max-calls=N] [--seconds=S] — N concurrent two-party calls against
// a separate `vetline-media` process, every participant recorded; each publisher sends a
// pre-encoded 640x360 VP8 + Opus clip (~600 kbps) and each receives the other. Steps N
// up until frames are lost and reports the media process's CPU per call and the largest
// N held without loss. The peers run in this process and share the same two cores.
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "libs/testing/servers.h"
#include "services/media/tests/media_process.h"

using namespace vetline;
namespace v1 = media::v1;

namespace {

// "Without loss": every frame sent in the window reached its subscriber.
constexpr double kLossAllowed = 0;

double ProcessCpuSeconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), {});
  std::istringstream in(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
}

double OwnCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Call {
  std::string id, recording_id;
  std::vector<std::unique_ptr<testing::Publisher>> publishers;
  std::vector<std::unique_ptr<testing::Subscriber>> subscribers;
};

struct StepResult {
  int calls = 0;
  bool started = true;
  double loss = 0, media_core_per_call = 0, peers_core = 0, wall = 0;
  double compose_seconds = 0;  // until every recording of the step was composed
  int64_t frames_sent = 0, frames_lost = 0;
  double last_frame_ms = 0;  // from pausing the publishers until the last frame arrived
};

}  // namespace

int main(int argc, char** argv) {
  int min_calls = 1, max_calls = 40, seconds = 10;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--min-calls=", 0) == 0) min_calls = std::stoi(a.substr(12));
    if (a.rfind("--max-calls=", 0) == 0) max_calls = std::stoi(a.substr(12));
    if (a.rfind("--seconds=", 0) == 0) seconds = std::stoi(a.substr(10));
  }
  testing::TestDatabase db;
  std::string dir = (std::filesystem::temp_directory_path() / ("vetline-bench-media-" + std::to_string(getpid()))).string();
  testing::MediaProcess media(VETLINE_MEDIA_BINARY, db.conninfo(), dir, testing::FreePort());
  if (!media.ready()) {
    std::cerr << "vetline-media did not start\n";
    return 1;
  }
  auto stub = media.Stub();
  testing::StaffCaller staff;
  auto clip = testing::EncodeClip(640, 360, 30, absl::Seconds(4), 550, "smpte horizontal-speed=8").value();
  size_t clip_bytes = 0;
  for (const auto& f : clip->video) clip_bytes += f.data.size();
  for (const auto& f : clip->audio) clip_bytes += f.data.size();
  std::cout << "clip: 640x360 VP8+Opus, " << clip_bytes * 8 / 4 / 1000 << " kbps\n";

  std::vector<int> steps = {1, 5, 10, 15, 18, 20, 22, 25, 30, 35, 40};
  StepResult best;
  std::vector<StepResult> results;
  for (int n : steps) {
    if (n < min_calls) continue;
    if (n > max_calls) break;
    StepResult r;
    r.calls = n;
    std::vector<Call> calls(n);
    std::fprintf(stderr, "step %d: starting calls\n", n);
    for (Call& c : calls) {
      grpc::ClientContext c1, c2, c3, c4;
      staff.Sign(c1);
      v1::CreateCallResponse created;
      if (!stub->CreateCall(&c1, v1::CreateCallRequest(), &created).ok()) r.started = false;
      c.id = created.call().id();
      v1::HostJoinRequest hj;
      hj.set_call_id(c.id);
      v1::JoinResponse a, b;
      staff.Sign(c2);
      staff.Sign(c3);
      stub->HostJoin(&c2, hj, &a);
      stub->HostJoin(&c3, hj, &b);
      std::string pub_a, pub_b;
      auto pa = testing::Publisher::Start({.clip = clip, .signal = testing::GrpcSignal(*stub, c.id, a.participant_token(), "camera", true, &pub_a)});
      auto pb = testing::Publisher::Start({.clip = clip, .signal = testing::GrpcSignal(*stub, c.id, b.participant_token(), "camera", true, &pub_b)});
      if (!pa.ok() || !pb.ok()) {
        r.started = false;
        break;
      }
      staff.Sign(c4);
      v1::RecordingRequest rr;
      rr.set_call_id(c.id);
      v1::Recording rec;
      stub->StartRecording(&c4, rr, &rec);
      c.recording_id = rec.id();
      auto sa = testing::Subscriber::Start({.signal = testing::GrpcSignal(*stub, c.id, a.participant_token(), pub_b, false), .decode = false});
      auto sb = testing::Subscriber::Start({.signal = testing::GrpcSignal(*stub, c.id, b.participant_token(), pub_a, false), .decode = false});
      if (!sa.ok() || !sb.ok()) {
        r.started = false;
        break;
      }
      // Subscriber i receives publisher (1 - i): keep them paired by index.
      c.publishers.push_back(std::move(*pb));
      c.publishers.push_back(std::move(*pa));
      c.subscribers.push_back(std::move(*sa));
      c.subscribers.push_back(std::move(*sb));
    }
    if (r.started) {
      std::this_thread::sleep_for(std::chrono::seconds(2));  // every leg past its first keyframe
      // Frames are counted with the publishers paused and every frame delivered (or lost),
      // so the difference between sent and received is loss, not frames in flight.
      auto pause = [&](bool paused) {
        for (Call& c : calls) {
          for (auto& p : c.publishers) p->Pause(paused);
        }
      };
      auto totals = [&](bool sent) {
        int64_t t = 0;
        for (const Call& c : calls) {
          for (const auto& p : c.publishers) t += sent ? p->video_frames_sent() : 0;
          for (const auto& s : c.subscribers) t += sent ? 0 : s->video_frames();
        }
        return t;
      };
      pause(true);
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      int64_t sent0 = totals(true), recv0 = totals(false);
      double media0 = ProcessCpuSeconds(media.pid()), own0 = OwnCpuSeconds();
      auto t0 = std::chrono::steady_clock::now();
      pause(false);
      std::this_thread::sleep_for(std::chrono::seconds(seconds));
      double media1 = ProcessCpuSeconds(media.pid()), own1 = OwnCpuSeconds();
      r.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      pause(true);
      // Until the last frame sent is in (its delivery time, through both jitter buffers)
      // or 3 s have passed (then what is missing is lost).
      auto paused_at = std::chrono::steady_clock::now();
      int64_t sent1 = totals(true), recv1 = totals(false);
      while (recv1 - recv0 < sent1 - sent0 && std::chrono::steady_clock::now() - paused_at < std::chrono::seconds(3)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        recv1 = totals(false);
      }
      r.last_frame_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - paused_at).count();
      double sent = static_cast<double>(sent1 - sent0), received = static_cast<double>(recv1 - recv0);
      r.loss = sent > 0 ? 1.0 - received / sent : 1.0;
      r.frames_sent = sent1 - sent0;
      r.frames_lost = (sent1 - sent0) - (recv1 - recv0);
      r.media_core_per_call = (media1 - media0) / r.wall / n;
      r.peers_core = (own1 - own0) / r.wall;
    }
    std::fprintf(stderr, "step %d: ending calls\n", n);
    for (Call& c : calls) {
      grpc::ClientContext ctx;
      staff.Sign(ctx);
      v1::EndCallRequest end;
      end.set_id(c.id);
      v1::Call ended;
      stub->EndCall(&ctx, end, &ended);
      c.subscribers.clear();
      c.publishers.clear();
    }
    // The compose worker runs after the calls; wait for it so that composing one step's
    // recordings does not load the next step's calls.
    auto compose_start = std::chrono::steady_clock::now();
    for (const Call& c : calls) {
      for (int i = 0; i < 6000 && !c.recording_id.empty(); ++i) {
        grpc::ClientContext ctx;
        staff.Sign(ctx);
        v1::GetRecordingRequest get;
        get.set_id(c.recording_id);
        v1::Recording rec;
        if (stub->GetRecording(&ctx, get, &rec).ok() && (rec.state() == "ready" || rec.state() == "failed")) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    r.compose_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - compose_start).count();
    std::printf("calls=%d started=%s frames_sent=%lld frames_lost=%lld frame_loss=%.5f last_frame_ms=%.0f "
                "media_core_per_call=%.4f peers_cores=%.2f compose_all_s=%.1f\n",
                n, r.started ? "yes" : "no", static_cast<long long>(r.frames_sent),
                static_cast<long long>(r.frames_lost), r.loss, r.last_frame_ms, r.media_core_per_call, r.peers_core, r.compose_seconds);
    std::fflush(stdout);
    results.push_back(r);
    if (!r.started || r.loss > kLossAllowed) break;
    best = r;
  }
  media.Kill();
  std::filesystem::remove_all(dir);
  // limit_found=no: every step held, the real limit lies above the largest step tried.
  bool limit_found = !results.empty() && results.back().calls != best.calls;
  constexpr int kTargetCalls = 20;  // recorded two-party calls on one 2-core replica
  const bool met = best.calls >= kTargetCalls;
  std::printf("recorded calls without loss: %d (target >= %d) %s\n", best.calls, kTargetCalls,
              met ? "met" : "NOT met");
  std::printf("max_recorded_calls_without_loss=%d limit_found=%s media_core_per_call=%.4f peers_cores=%.2f "
              "last_frame_ms=%.0f loss_allowed=%.3f target=%d targets_met=%s\n",
              best.calls, limit_found ? "yes" : "no", best.media_core_per_call, best.peers_core, best.last_frame_ms,
              kLossAllowed, kTargetCalls, met ? "yes" : "no");
  return 0;
}
