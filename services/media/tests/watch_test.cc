// Event streams (Watch) on the gRPC callback API, in this process over loopback: many
// open streams cost no threads, a watcher that falls behind is dropped and comes back
// with a snapshot, and a client that goes away is released at once.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>
#include <string>

#include "absl/strings/match.h"
#include "libs/testing/wait.h"
#include "services/media/tests/media_fixture.h"
#include "tests/support/process_status.h"

using namespace vetline;
using testing::MediaFixture;
using testing::WaitUntil;
namespace v1 = media::v1;

namespace {

// Events seen by many watchers together, by type.
struct Tally {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, int> seen;
  int done = 0;
  bool WaitFor(const std::string& type, int n, absl::Duration timeout) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, absl::ToChronoNanoseconds(timeout), [&] { return seen[type] >= n; });
  }
  bool WaitDone(int n, absl::Duration timeout) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, absl::ToChronoNanoseconds(timeout), [&] { return done >= n; });
  }
};

// One participant's stream, read with the client callback API (no thread per stream on
// this side either).
class Watching final : public grpc::ClientReadReactor<v1::CallEvent> {
 public:
  Watching(v1::MediaService::Stub& stub, const std::string& call_id, const std::string& token, Tally& tally)
      : tally_(tally) {
    req_.set_call_id(call_id);
    req_.set_participant_token(token);
    stub.async()->Watch(&ctx_, &req_, this);
    StartRead(&event_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    {
      std::lock_guard<std::mutex> l(tally_.mu);
      ++tally_.seen[event_.type()];
    }
    tally_.cv.notify_all();
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& s) override {
    {
      std::lock_guard<std::mutex> l(tally_.mu);
      status_ = s;
      finished_ = true;
      ++tally_.done;
    }
    tally_.cv.notify_all();
  }
  void Cancel() { ctx_.TryCancel(); }
  // gRPC must be done with the stream before it goes (a failed REQUIRE unwinds here).
  ~Watching() {
    Cancel();
    std::unique_lock<std::mutex> l(tally_.mu);
    tally_.cv.wait_for(l, std::chrono::seconds(10), [&] { return finished_; });
  }

 private:
  Tally& tally_;
  grpc::ClientContext ctx_;
  v1::WatchRequest req_;
  v1::CallEvent event_;
  grpc::Status status_;
  bool finished_ = false;  // guarded by tally_.mu
};

}  // namespace

TEST_CASE("watch: 500 concurrent watchers on one call each get the event, on a handful of threads") {
  constexpr int kWatchers = 500;
  MediaFixture f;
  auto hosted = f.HostedCall();
  REQUIRE(hosted.ok());
  const MediaFixture::Hosted& call = *hosted;
  const long threads_before = testing::ReadProcessStatus().threads;

  Tally tally;
  std::vector<std::unique_ptr<Watching>> watchers;
  for (int i = 0; i < kWatchers; ++i) {
    watchers.push_back(std::make_unique<Watching>(*f.stub, call.id, call.host_token, tally));
  }
  REQUIRE(tally.WaitFor("snapshot", kWatchers, absl::Seconds(60)));
  CHECK(f.hub.size() == kWatchers);
  const long threads_open = testing::ReadProcessStatus().threads;

  // One change of the call reaches every open stream.
  v1::SetMediaStateRequest mute;
  mute.set_call_id(call.id);
  mute.set_participant_token(call.host_token);
  mute.set_muted(true);
  v1::Participant muted;
  REQUIRE(f.stub->SetMediaState(f.Anonymous().get(), mute, &muted).ok());
  CHECK(tally.WaitFor("media_state", kWatchers, absl::Seconds(30)));
  const long threads_after_event = testing::ReadProcessStatus().threads;
  WARN("threads: before " << threads_before << ", 500 streams open " << threads_open << ", after the event "
                          << threads_after_event);
  // A thread per stream would add 500; streams on the callback API add none of their own.
  CHECK(threads_open - threads_before < 40);
  CHECK(threads_after_event - threads_before < 40);

  for (auto& w : watchers) w->Cancel();
  REQUIRE(tally.WaitDone(kWatchers, absl::Seconds(30)));
  CHECK(WaitUntil([&] { return f.hub.size() == 0; }, absl::Seconds(10)));
}

TEST_CASE("watch: a client that goes away is removed from the hub at once") {
  MediaFixture f;
  auto hosted = f.HostedCall();
  REQUIRE(hosted.ok());
  const MediaFixture::Hosted& call = *hosted;
  Tally tally;
  Watching w(*f.stub, call.id, call.host_token, tally);
  REQUIRE(tally.WaitFor("snapshot", 1, absl::Seconds(10)));
  CHECK(f.hub.size() == 1);
  w.Cancel();  // the stream is cancelled: a closed tab, the gateway dropping it
  CHECK(WaitUntil([&] { return f.hub.size() == 0; }, absl::Seconds(5)));
  REQUIRE(tally.WaitDone(1, absl::Seconds(5)));
}

TEST_CASE("watch: a watcher that falls behind its bound is dropped with a clear status and reconnects to a snapshot") {
  constexpr size_t kBound = 8;
  MediaFixture f(kBound);
  auto hosted = f.HostedCall();
  REQUIRE(hosted.ok());
  const MediaFixture::Hosted& call = *hosted;

  Tally fast_tally;
  Watching fast(*f.stub, call.id, call.host_token, fast_tally);
  REQUIRE(fast_tally.WaitFor("snapshot", 1, absl::Seconds(10)));

  // The slow one never reads: its own channel grants the server a small window and
  // does not grow it, so the server's writes to it stop completing.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 * 1024);
  auto slow_channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(f.server->port()),
                                                grpc::InsecureChannelCredentials(), args);
  auto slow_stub = v1::MediaService::NewStub(slow_channel);
  grpc::ClientContext slow_ctx;
  rpc::SetDeadline(slow_ctx, absl::Seconds(60));
  v1::WatchRequest req;
  req.set_call_id(call.id);
  req.set_participant_token(call.host_token);
  auto slow = slow_stub->Watch(&slow_ctx, req);
  REQUIRE(WaitUntil([&] { return f.hub.size() == 2; }, absl::Seconds(10)));

  // Large events, one at a time: the reading watcher keeps up with each, the slow one
  // falls behind until its queue overflows and the hub drops it.
  v1::CallEvent e;
  e.set_type("media_state");
  e.mutable_participant()->set_display_name(std::string(16 * 1024, 'x'));
  int published = 0;
  while (f.hub.size() == 2 && published < 200) {
    f.hub.Publish(call.id, e);
    ++published;
    REQUIRE(fast_tally.WaitFor("media_state", published, absl::Seconds(10)));
  }
  INFO("events published until the slow watcher was dropped: " << published);
  CHECK(f.hub.size() == 1);  // the reading watcher is still there
  CHECK(published > static_cast<int>(kBound));

  // What reached the slow client before the drop, then a status saying what to do.
  v1::CallEvent got;
  int read = 0;
  while (read < 400 && slow->Read(&got)) ++read;
  grpc::Status ended = slow->Finish();
  CHECK(ended.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(absl::StrContains(ended.error_message(), "reconnect"));
  CHECK(read < published + 1);  // it did not get everything: it was cut off

  // Reconnecting starts again from a snapshot.
  Tally again_tally;
  Watching again(*f.stub, call.id, call.host_token, again_tally);
  CHECK(again_tally.WaitFor("snapshot", 1, absl::Seconds(10)));
  CHECK(f.hub.size() == 2);
  again.Cancel();
  fast.Cancel();
  REQUIRE(again_tally.WaitDone(1, absl::Seconds(10)));
  REQUIRE(fast_tally.WaitDone(1, absl::Seconds(10)));
}
