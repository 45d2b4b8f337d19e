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
  s->self_ = s;
  std::weak_ptr<WatchStream> weak = s;
  s->watcher_ = hub.Watch(call_id, [weak] {
    if (auto stream = weak.lock()) stream->Pump();
  });
  absl::StatusOr<v1::CallEvent> first = snapshot();
  if (!first.ok()) {
    hub.Unwatch(call_id, s->watcher_);
    {
      std::lock_guard<std::mutex> l(s->mu_);
      s->finished_ = true;
    }
    s->Finish(rpc::ToGrpc(first.status()));
    return s.get();
  }
  {
    std::lock_guard<std::mutex> l(s->mu_);
    s->last_ = first->call().state() == rules::ToText(rules::CallState::kEnded);
    s->current_ = std::make_shared<const v1::CallEvent>(*std::move(first));
  }
  s->StartWrite(s->current_.get());
  return s.get();
}

void WatchStream::Pump() {
  grpc::Status finish;
  const v1::CallEvent* write = nullptr;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (writing_ || finished_) return;
    if (gone_) {
      finish = grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
    } else if (last_) {
      finish = grpc::Status::OK;
    } else {
      while (EventHub::Watcher::Event e = watcher_->Take()) {
        const bool about_me = e->participant().id() == viewer_.participant_id;
        if (!rules::Sees(e->type(), viewer_.host, about_me)) continue;
        current_ = std::move(e);
        last_ = rules::EndsStream(current_->type(), about_me);
        writing_ = true;
        break;
      }
      if (!writing_) {
        absl::Status closed = watcher_->closed();
        if (closed.ok()) return;  // idle: the hub calls again when something arrives
        finish = rpc::ToGrpc(closed);
      }
    }
    if (writing_) {
      write = current_.get();  // stays put until OnWriteDone
    } else {
      finished_ = true;
    }
  }
  if (write) {
    StartWrite(write);
  } else {
    Finish(finish);
  }
}

void WatchStream::OnWriteDone(bool ok) {
  {
    std::lock_guard<std::mutex> l(mu_);
    writing_ = false;
    current_.reset();
    if (!ok) gone_ = true;
  }
  Pump();
}

void WatchStream::OnCancel() {
  {
    std::lock_guard<std::mutex> l(mu_);
    gone_ = true;
  }
  hub_.Unwatch(call_id_, watcher_);  // released at once, not when the stream is torn down
  Pump();
}

void WatchStream::OnDone() {
  hub_.Unwatch(call_id_, watcher_);
  std::shared_ptr<WatchStream> last_reference = std::move(self_);  // may delete this on return
}

}  // namespace vetline::media
