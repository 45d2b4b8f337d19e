// One watcher's stream of conversation events (gRPC callback API): holds no thread while
// idle. It registers with the hub first, then writes a `snapshot` (id: where the stream
// starts), replays the log after Last-Event-ID in pages, and then the live events the
// hub queued meanwhile, dropping any it already sent (seq at or below the last one
// written) — so a resume neither loses nor repeats. Clients get events through
// RedactForClient. Ends when the hub drops it or the client goes away. The method is a
// raw one (serialized messages): staff streams write each event's bytes as the hub has
// them, so one event to twenty consoles is serialized once, not twenty times.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "libs/rpc/byte_buffer.h"
#include "libs/rpc/watch_writer.h"
#include "services/conversations/event_hub.h"
#include "vetline/conversations/v1/events.pb.h"

namespace vetline::conversations {

class EventStream final : public rpc::WatchWriter<grpc::ByteBuffer> {
 public:
  // `after`: the Last-Event-ID to resume after; none: from now on.
  static grpc::ServerWriteReactor<grpc::ByteBuffer>* Open(EventHub& hub, const EventLog& log, std::string clinic_id,
                                                   EventViewer viewer, std::optional<int64_t> after);
  // A stream refused before it started (caller, bad Last-Event-ID).
  static grpc::ServerWriteReactor<grpc::ByteBuffer>* Refuse(const absl::Status& why);

 private:
  EventStream(EventHub& hub, const EventLog& log, std::string clinic_id, EventViewer viewer)
      : hub_(hub), log_(log), clinic_id_(std::move(clinic_id)), viewer_(std::move(viewer)) {}
  Step Next() override;
  void Released() override { hub_.Unwatch(clinic_id_, watcher_); }
  const grpc::ByteBuffer* Send(EventHub::Event e);  // what to write for `e`

  EventHub& hub_;
  const EventLog& log_;
  const std::string clinic_id_;
  const EventViewer viewer_;
  std::shared_ptr<EventHub::Watcher> watcher_;
  // Touched only by Next() (one at a time) and before Begin().
  int64_t sent_ = 0;      // the seq of the last event written (or the snapshot's id)
  int64_t replayed_ = 0;  // the log is read up to here
  bool replaying_ = false;
  std::deque<EventHub::Event> replay_;
  grpc::ByteBuffer current_;  // the write in flight: the snapshot, an event's bytes, or a client's redacted copy
};

}  // namespace vetline::conversations
