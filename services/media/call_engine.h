// The live media of every call on this replica: one GStreamer pipeline per call, one
// webrtcbin per WHIP publication or WHEP subscription. Media is forwarded as it arrives
// (depayload → tee → payload with the receiver's payload type), never decoded, and each
// publication can be written to its own WebM while recording is on.
//
// Calls are pinned to one replica (the gateway routes a call's WHIP/WHEP to it); the
// engine holds no database state, the service tells it what to do.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/webrtc/webrtc.h"

namespace vetline::media {

// A track file that began: which publication, where, and when its first frame arrived
// (the compose step aligns tracks by this).
struct RecordedTrack {
  std::string publication_id;
  std::string path;
  absl::Time start_time;
};

class CallEngine {
 public:
  struct Options {
    webrtc::IceSettings ice;
    absl::Duration negotiate_timeout = absl::Seconds(5);
  };
  explicit CallEngine(Options options);
  ~CallEngine();  // ends every call, finishing recordings

  CallEngine(const CallEngine&) = delete;
  CallEngine& operator=(const CallEngine&) = delete;

  // WHIP: answers a publisher's offer. `kind` "camera" takes VP8 video and Opus audio,
  // "screen" VP8 video only. Returns the SDP answer; InvalidArgument names "sdpOffer".
  absl::StatusOr<std::string> Publish(const std::string& call_id, const std::string& publication_id,
                                      const std::string& kind, const std::string& offer);
  // WHEP: answers a receiver's offer for one publication.
  absl::StatusOr<std::string> Subscribe(const std::string& call_id, const std::string& session_id,
                                        const std::string& publication_id, const std::string& offer);
  // Ends a publication (and every subscription to it) or a subscription. Returns the
  // ids of subscriptions that ended with it. NotFound when no such session is live.
  absl::StatusOr<std::vector<std::string>> EndSession(const std::string& call_id,
                                                      const std::string& session_id);

  using TrackStarted = std::function<void(const RecordedTrack&)>;
  // From now until StopRecording, every publication (present or later) is written to
  // `directory/<publication>-<n>.webm`; `on_track` runs when each file gets its first frame.
  absl::Status StartRecording(const std::string& call_id, const std::string& directory,
                              TrackStarted on_track);
  // Finishes every track file (waits until each is complete on disk).
  absl::Status StopRecording(const std::string& call_id);
  // Stops the call's pipeline, finishing recordings first.
  void EndCall(const std::string& call_id);

  // Sessions whose peer stopped answering ICE (a closed tab, a lost network) since the
  // last call, as (call id, session id). The caller ends them as if the peer had left.
  std::vector<std::pair<std::string, std::string>> TakeLostSessions();

  struct Stats {
    int calls = 0, publications = 0, subscriptions = 0, recorders = 0;
  };
  // Never waits on a call: negotiations and ICE gathering run without any lock that
  // stats() (the keeper's gauges) takes.
  Stats stats() const;

  struct Call;  // GStreamer state of one call, kept out of this header

 private:
  std::shared_ptr<Call> FindOrCreate(const std::string& call_id);
  std::shared_ptr<Call> Find(const std::string& call_id) const;
  // Claims a session id for a negotiation in progress; AlreadyExists when it is taken,
  // FailedPrecondition when the call has ended.
  static absl::Status Reserve(Call& call, const std::string& session_id);

  // Watches a session's ICE state; a failed connection goes to lost_.
  void WatchConnection(GstElement* webrtc, const std::string& call_id, const std::string& session_id);

  Options options_;
  mutable std::mutex mu_;  // guards calls_ and lost_; held only briefly
  std::map<std::string, std::shared_ptr<Call>> calls_;
  std::vector<std::pair<std::string, std::string>> lost_;  // guarded by mu_
};

}  // namespace vetline::media
