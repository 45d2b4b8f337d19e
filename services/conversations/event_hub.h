// This replica's watchers of conversation events, by clinic, fed by the announcements
// every replica hears (Redis) and kept whole by the log: a clinic's events reach its
// watchers in seq order, each once. When an announcement shows a gap (seq N+2 after N:
// one was lost) or the subscription was re-established (CatchUp), the missing events are
// read from the log before anything newer is delivered.
//
// No thread waits on a watcher: delivering queues the event on each watcher that may see
// it and calls the watcher's `ready` hook. Each queue is bounded; a watcher that falls
// that far behind is dropped (its stream ends and the client resumes with Last-Event-ID).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/rpc/watch_queue.h"
#include "services/conversations/event_log.h"

namespace vetline::conversations {

// Who is watching: staff see every event of their clinic; a client only the events of
// their own conversations that are not staff-only.
struct EventViewer {
  bool staff = false;
  std::string client_id;  // the client principal's client record
};
bool Sees(const EventViewer& viewer, const LoggedEvent& e);

class EventHub final : public EventAnnouncer {
 public:
  static constexpr size_t kDefaultMaxQueued = 1024;
  explicit EventHub(const EventLog& log, size_t max_queued = kDefaultMaxQueued);

  // One watcher: its queue, and who it is (the hub queues only what it may see).
  class Watcher : public rpc::WatchQueue<LoggedEvent> {
   public:
    Watcher(EventViewer viewer, std::function<void()> ready)
        : WatchQueue(std::move(ready)), viewer_(std::move(viewer)) {}
    const EventViewer& viewer() const { return viewer_; }

   private:
    const EventViewer viewer_;
  };
  using Event = Watcher::Event;

  // Watches `clinic_id`: every event the hub delivers for it from now on that `viewer`
  // may see is queued. The first watcher of a clinic reads its head from the log.
  absl::StatusOr<std::shared_ptr<Watcher>> Watch(const std::string& clinic_id, EventViewer viewer,
                                                 std::function<void()> ready);
  void Unwatch(const std::string& clinic_id, const std::shared_ptr<Watcher>& w);

  // An announced event: any order, possibly repeated or after a gap.
  void Deliver(LoggedEvent e);
  // Without Redis (one replica): committed events go straight to the hub.
  void Announce(const std::vector<LoggedEvent>& events) override;
  // Reads every watched clinic's log past what was delivered (after the subscription
  // came back, and now and then in case an announcement was lost at the tail).
  void CatchUp();

  size_t size() const;  // watchers open on this replica

 private:
  struct Clinic {
    int64_t last = 0;  // the last seq delivered to this clinic's watchers
    std::set<std::shared_ptr<Watcher>> watchers;
  };
  using Ready = std::vector<std::shared_ptr<Watcher>>;
  // Delivers the log's events of `clinic` up to `upto` (and `e` when given) under mu_;
  // collects the watchers to wake. A failing log closes the clinic's watchers.
  void FillLocked(const std::string& clinic_id, int64_t upto, Ready& ready);
  void PushLocked(Clinic& c, const Event& e, Ready& ready);
  void CloseClinicLocked(const std::string& clinic_id, const absl::Status& why, Ready& ready);
  static void Wake(const Ready& ready);

  const EventLog& log_;
  const size_t max_queued_;
  const std::string overflow_;  // why a watcher that fell behind was dropped
  mutable std::mutex mu_;  // held while a gap is read from the log, so order holds
  std::map<std::string, Clinic> clinics_;
  size_t count_ = 0;
};

}  // namespace vetline::conversations
