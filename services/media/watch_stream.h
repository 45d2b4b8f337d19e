// One participant's stream of call events (gRPC callback API, rpc::WatchWriter): costs no
// thread while idle. Writes the snapshot, then each event the hub queues for it that the
// participant may see, one write at a time; ends on the participant's last event, when
// the hub drops it (it fell too far behind) or when the client goes away.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/rpc/watch_writer.h"
#include "services/media/event_hub.h"
#include "vetline/media/v1/media.pb.h"

namespace vetline::media {

class WatchStream final : public rpc::WatchWriter<v1::CallEvent> {
 public:
  struct Viewer {
    std::string participant_id;
    bool host = false;
  };
  // Watches `call_id` on `hub` first, then writes `snapshot()` (taken after, so nothing
  // in between is missed). The stream owns itself until gRPC is done with it.
  static grpc::ServerWriteReactor<v1::CallEvent>* Open(
      EventHub& hub, const std::string& call_id, Viewer viewer,
      const std::function<absl::StatusOr<v1::CallEvent>()>& snapshot);
  // A stream refused before it started (bad token, no such call).
  static grpc::ServerWriteReactor<v1::CallEvent>* Refuse(const absl::Status& why);

 private:
  WatchStream(EventHub& hub, std::string call_id, Viewer viewer)
      : hub_(hub), call_id_(std::move(call_id)), viewer_(std::move(viewer)) {}
  Step Next() override;
  void Released() override { hub_.Unwatch(call_id_, watcher_); }

  EventHub& hub_;
  const std::string call_id_;
  const Viewer viewer_;
  std::shared_ptr<EventHub::Watcher> watcher_;
  // Touched only by Next() (one at a time) and before Begin().
  bool last_ = false;                 // the write in flight is the stream's last event
  EventHub::Watcher::Event current_;  // what the write in flight sends
};

}  // namespace vetline::media
