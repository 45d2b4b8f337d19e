// One participant's stream of call events (gRPC callback API): costs no thread while
// idle. Writes the snapshot, then each event the hub queues for it that the participant
// may see, one write at a time; ends on the participant's last event, when the hub
// drops it (it fell too far behind) or when the client goes away.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "services/media/event_hub.h"
#include "vetline/media/v1/media.pb.h"

namespace vetline::media {

class WatchStream final : public grpc::ServerWriteReactor<v1::CallEvent> {
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

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  WatchStream(EventHub& hub, std::string call_id, Viewer viewer)
      : hub_(hub), call_id_(std::move(call_id)), viewer_(std::move(viewer)) {}
  // Starts the next write or finishes; never holds mu_ while calling into gRPC (its
  // reactions may run inline).
  void Pump();

  EventHub& hub_;
  const std::string call_id_;
  const Viewer viewer_;
  std::shared_ptr<EventHub::Watcher> watcher_;
  std::shared_ptr<WatchStream> self_;  // released in OnDone; the hub's hook holds a weak one

  std::mutex mu_;
  bool writing_ = true;  // the snapshot goes first: events wait until it is written
  bool last_ = false;    // the write in flight is the stream's last event
  bool gone_ = false;    // cancelled, or a write failed: the client is not reading any more
  bool finished_ = false;
  EventHub::Watcher::Event current_;  // what the write in flight sends
};

}  // namespace vetline::media
