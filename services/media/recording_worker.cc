#include "services/media/recording_worker.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "prometheus/gauge.h"
#include "services/media/composer.h"

namespace vetline::media {

// What an operator watches on a media replica: its live load and open event streams.
struct RecordingWorker::Gauges {
  explicit Gauges(prometheus::Registry& r)
      : live(prometheus::BuildGauge().Name("vetline_media_live")
                 .Help("Live calls, publications, subscriptions and track recorders on this replica")
                 .Register(r)),
        calls(live.Add({{"what", "calls"}})),
        publications(live.Add({{"what", "publications"}})),
        subscriptions(live.Add({{"what", "subscriptions"}})),
        recorders(live.Add({{"what", "recorders"}})),
        streams(prometheus::BuildGauge().Name("vetline_media_event_streams")
                    .Help("Open call event streams (SSE watchers) on this replica")
                    .Register(r)
                    .Add({})) {}
  prometheus::Family<prometheus::Gauge>& live;
  prometheus::Gauge &calls, &publications, &subscriptions, &recorders, &streams;
};

RecordingWorker::RecordingWorker(MediaRepository& repo, CallEngine& engine, EventHub& events,
                                 blob::BlobStore& blobs, const Clock& clock, std::string data_dir,
                                 const Replica& replica, prometheus::Registry* registry)
    : repo_(repo), engine_(engine), events_(events), blobs_(blobs), room_(repo, engine, events, clock),
      data_dir_(std::move(data_dir)), replica_(replica),
      gauges_(registry ? std::make_unique<Gauges>(*registry) : nullptr) {}

RecordingWorker::~RecordingWorker() = default;

absl::Status RecordingWorker::Beat() {
  const CallEngine::Stats s = engine_.stats();  // never waits on a negotiation
  return repo_.Heartbeat({.id = replica_.id(), .volume = replica_.volume(), .calls = s.calls,
                          .sessions = s.publications + s.subscriptions});
}

int RecordingWorker::ReapDeadReplicas() {
  absl::StatusOr<std::vector<std::string>> dead = repo_.DeadOwners(replica_.ttl());
  if (!dead.ok()) return 0;
  int lost = 0;
  for (const std::string& id : *dead) {
    if (id == replica_.id()) continue;  // this one is alive: its beat was merely late
    absl::StatusOr<int> n = repo_.LoseReplica(id, replica_.ttl());
    if (!n.ok()) {
      log::Warn("a dead media replica's calls were not ended", {{"replica", id}, {"error", n.status().ToString()}});
      continue;
    }
    if (*n > 0) log::Warn("calls lost with their media server", {{"replica", id}, {"calls", *n}});
    lost += *n;
  }
  return lost;
}

void RecordingWorker::Keep() {
  // The beat first: a slow reap must not make this live replica look dead to the others.
  if (absl::Status st = Beat(); !st.ok()) log::Warn("media heartbeat not recorded", {{"error", st.ToString()}});
  ReapLostSessions();
  ReapDeadReplicas();
  if (!gauges_) return;
  const CallEngine::Stats s = engine_.stats();
  gauges_->calls.Set(s.calls);
  gauges_->publications.Set(s.publications);
  gauges_->subscriptions.Set(s.subscriptions);
  gauges_->recorders.Set(s.recorders);
  gauges_->streams.Set(static_cast<double>(events_.size()));
}

bool RecordingWorker::ComposeNext() {
  absl::StatusOr<std::optional<ComposeJob>> job = repo_.ClaimCompose(replica_.volume(), replica_.id());
  if (!job.ok()) {
    log::Warn("compose queue unavailable", {{"error", job.status().ToString()}});
    return false;
  }
  if (!*job) return false;
  const ComposeJob& j = **job;
  std::vector<ComposeTrack> tracks;
  absl::Time zero = absl::InfiniteFuture();
  for (const auto& t : j.tracks) zero = std::min(zero, t.start_time);
  for (const auto& t : j.tracks) tracks.push_back({t.path, t.start_time - zero});
  const std::string output = absl::StrCat(data_dir_, "/", j.recording_id, "/composed.webm");
  absl::Status status;
  if (tracks.empty()) {
    status = absl::FailedPreconditionError("nothing was recorded: no participant sent video while recording was on");
  } else {
    ComposeOptions options;
    options.progress = [&](double p) { (void)repo_.SetProgress(j.recording_id, p); };
    absl::StatusOr<ComposeResult> result = Compose(tracks, output, options);
    status = result.status();
    const std::string key = absl::StrCat("recordings/", j.recording_id, ".webm");
    if (status.ok()) status = blobs_.Put(key, output);
    if (status.ok()) status = repo_.FinishCompose(j.recording_id, key, absl::ToDoubleSeconds(result->duration));
    if (status.ok()) {
      log::Info("recording composed", {{"recording_id", j.recording_id}, {"tiles", result->tiles},
                                       {"seconds", absl::ToDoubleSeconds(result->duration)}});
    }
  }
  if (!status.ok()) {
    log::Warn("recording not composed", {{"recording_id", j.recording_id}, {"error", status.ToString()}});
    (void)repo_.FailCompose(j.recording_id, std::string(status.message()));
  }
  return true;
}

int RecordingWorker::ReapLostSessions() {
  int reaped = 0;
  for (const auto& [call_id, session_id] : engine_.TakeLostSessions()) {
    absl::StatusOr<SessionRow> s = repo_.GetSession(session_id);
    if (!s.ok() || s->ended) continue;  // ended on purpose while its connection went down
    absl::Status ended = room_.EndMediaSession(*s);
    log::Warn("media session ended: its peer stopped answering",
              {{"call_id", call_id}, {"session_id", session_id}, {"kind", s->kind},
               {"error", ended.ok() ? "" : ended.ToString()}});
    if (ended.ok()) ++reaped;
  }
  return reaped;
}

}  // namespace vetline::media
