#include "services/conversations/event_stream.h"

#include "libs/core/time.h"
#include "libs/rpc/rpc.h"
#include "services/conversations/client_view.h"

namespace vetline::conversations {
namespace {

constexpr int kReplayPage = 500;

class Refused final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit Refused(const absl::Status& why) { Finish(rpc::ToGrpc(why)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<grpc::ByteBuffer>* EventStream::Refuse(const absl::Status& why) { return new Refused(why); }

grpc::ServerWriteReactor<grpc::ByteBuffer>* EventStream::Open(EventHub& hub, const EventLog& log, std::string clinic_id,
                                                       EventViewer viewer, std::optional<int64_t> after) {
  std::shared_ptr<EventStream> s(new EventStream(hub, log, std::move(clinic_id), std::move(viewer)));
  // Live first: whatever commits from here on is queued for us, so the head read next
  // (or the replay) and the live events overlap rather than leave a hole.
  std::weak_ptr<EventStream> weak = s;
  absl::StatusOr<std::shared_ptr<EventHub::Watcher>> w = hub.Watch(s->clinic_id_, s->viewer_, [weak] {
    if (auto stream = weak.lock()) stream->Pump();
  });
  if (!w.ok()) return Refuse(w.status());
  s->watcher_ = *w;
  absl::StatusOr<int64_t> head = log.Head(s->clinic_id_);
  if (!head.ok()) {
    hub.Unwatch(s->clinic_id_, s->watcher_);
    return Refuse(head.status());
  }
  // Resuming: the snapshot names the resume point, so a client that drops right after it
  // resumes from there again. An id past the head (another database) starts afresh.
  s->replaying_ = after && *after < *head;
  s->sent_ = s->replayed_ = s->replaying_ ? *after : *head;
  v1::Event snapshot;
  snapshot.set_type("snapshot");
  snapshot.set_id(std::to_string(s->sent_));
  *snapshot.mutable_time() = ToTimestamp(absl::Now());
  s->current_ = rpc::ToBuffer(snapshot);
  EventStream* raw = s.get();
  raw->Begin(std::move(s), &raw->current_);
  return raw;
}

const grpc::ByteBuffer* EventStream::Send(EventHub::Event e) {
  sent_ = e->seq;
  if (viewer_.staff) {
    current_ = e->wire.empty() ? rpc::ToBuffer(e->event) : rpc::ToBuffer(e->wire);
  } else {
    v1::Event redacted = e->event;
    RedactForClient(redacted);
    current_ = rpc::ToBuffer(redacted);
  }
  return &current_;
}

EventStream::Step EventStream::Next() {
  for (;;) {
    while (!replay_.empty()) {
      EventHub::Event e = std::move(replay_.front());
      replay_.pop_front();
      if (e->seq > sent_ && Sees(viewer_, *e)) return Write(Send(std::move(e)));
    }
    if (!replaying_) break;
    absl::StatusOr<std::vector<LoggedEvent>> page = log_.After(clinic_id_, replayed_, kReplayPage);
    if (!page.ok()) return End(rpc::ToGrpc(page.status()));
    if (!page->empty()) replayed_ = page->back().seq;
    replaying_ = static_cast<int>(page->size()) == kReplayPage;
    for (LoggedEvent& e : *page) replay_.push_back(std::make_shared<const LoggedEvent>(std::move(e)));
  }
  while (EventHub::Event e = watcher_->Take()) {
    if (e->seq > sent_) return Write(Send(std::move(e)));  // else replayed (or in the snapshot) already
  }
  absl::Status closed = watcher_->closed();
  return closed.ok() ? Idle() : End(rpc::ToGrpc(closed));
}

}  // namespace vetline::conversations
