// The media service's background jobs, apart from the gRPC edge: composing stopped
// recordings into one file (those on this replica's volume), ending sessions whose peer
// vanished without a DELETE, this replica's heartbeat, ending the calls of replicas that
// died, and the live gauges. The component runs each step on a PeriodicWorker; the steps take
// plain parts so a test drives them directly.
#pragma once

#include <memory>
#include <string>

#include "libs/blob/blob.h"
#include "libs/core/clock.h"
#include "services/media/call_engine.h"
#include "services/media/call_room.h"
#include "services/media/event_hub.h"
#include "services/media/media_repository.h"
#include "services/media/replica.h"
#include "prometheus/registry.h"

namespace vetline::media {

class RecordingWorker {
 public:
  // `registry` (optional) gets the live gauges that Keep() refreshes.
  RecordingWorker(MediaRepository& repo, CallEngine& engine, EventHub& events, blob::BlobStore& blobs,
                  const Clock& clock, std::string data_dir, const Replica& replica,
                  prometheus::Registry* registry = nullptr);
  ~RecordingWorker();

  // Composes the oldest stopped recording, if any; false when there was none.
  bool ComposeNext();
  // Ends the sessions whose peer vanished (closed tab, lost network) as if it had ended
  // them; the others in the call are told. Returns how many.
  int ReapLostSessions();
  // Registers this replica or refreshes its row: its load, alive for the TTL.
  absl::Status Beat();
  // Ends the calls of replicas whose beat stopped (as lost); returns how many.
  int ReapDeadReplicas();
  // The keeper's step: reaps lost sessions, beats, reaps dead replicas, refreshes the gauges.
  void Keep();

 private:
  struct Gauges;  // declared with the metrics, in the .cc

  MediaRepository& repo_;
  CallEngine& engine_;
  EventHub& events_;
  blob::BlobStore& blobs_;
  CallRoom room_;
  const std::string data_dir_;
  const Replica& replica_;
  std::unique_ptr<Gauges> gauges_;
};

}  // namespace vetline::media
