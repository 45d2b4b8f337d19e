#include "services/media/watch_stream.h"

#include "libs/rpc/rpc.h"
#include "services/media/call_rules.h"

namespace vetline::media {
namespace {

class Refused final : public grpc::ServerWriteReactor<v1::CallEvent> {
 public:
  explicit Refused(const absl::Status& why) { Finish(rpc::ToGrpc(why)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<v1::CallEvent>* WatchStream::Refuse(const absl::Status& why) {
  return new Refused(why);
}

grpc::ServerWriteReactor<v1::CallEvent>* WatchStream::Open(
    EventHub& hub, const std::string& call_id, Viewer viewer,
    const std::function<absl::StatusOr<v1::CallEvent>()>& snapshot) {
  std::shared_ptr<WatchStream> s(new WatchStream(hub, call_id, std::move(viewer)));
  std::weak_ptr<WatchStream> weak = s;
  s->watcher_ = hub.Watch(call_id, [weak] {
    if (auto stream = weak.lock()) stream->Pump();
  });
  absl::StatusOr<v1::CallEvent> first = snapshot();
  if (!first.ok()) {
    hub.Unwatch(call_id, s->watcher_);
    return Refuse(first.status());
  }
  s->last_ = first->call().state() == rules::ToText(rules::CallState::kEnded);
  s->current_ = std::make_shared<const v1::CallEvent>(*std::move(first));
  WatchStream* raw = s.get();
  raw->Begin(std::move(s), raw->current_.get());
  return raw;
}

WatchStream::Step WatchStream::Next() {
  if (last_) return End(grpc::Status::OK);
  while (EventHub::Watcher::Event e = watcher_->Take()) {
    const bool about_me = e->participant().id() == viewer_.participant_id;
    if (!rules::Sees(e->type(), viewer_.host, about_me)) continue;
    current_ = std::move(e);  // stays put until the write is done
    last_ = rules::EndsStream(current_->type(), about_me);
    return Write(current_.get());
  }
  absl::Status closed = watcher_->closed();
  return closed.ok() ? Idle() : End(rpc::ToGrpc(closed));
}

}  // namespace vetline::media
