#include "services/conversations/event_hub.h"

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"

namespace vetline::conversations {
namespace {

constexpr int kFillPage = 500;

// Serialized once here, so every staff stream writes the same bytes.
EventHub::Event Shared(LoggedEvent e) {
  if (e.wire.empty()) e.event.SerializeToString(&e.wire);
  return std::make_shared<const LoggedEvent>(std::move(e));
}

}  // namespace

EventHub::EventHub(const EventLog& log, size_t max_queued)
    : log_(log),
      max_queued_(max_queued),
      overflow_(absl::StrCat("this event stream fell ", max_queued,
                             " events behind and was closed: reconnect with Last-Event-ID")) {}

bool Sees(const EventViewer& viewer, const LoggedEvent& e) {
  if (viewer.staff) return true;
  return !e.staff_only && !viewer.client_id.empty() && e.client_id == viewer.client_id;
}

absl::StatusOr<std::shared_ptr<EventHub::Watcher>> EventHub::Watch(const std::string& clinic_id, EventViewer viewer,
                                                                   std::function<void()> ready) {
  auto w = std::make_shared<Watcher>(std::move(viewer), std::move(ready));
  std::lock_guard<std::mutex> l(mu_);
  auto it = clinics_.find(clinic_id);
  if (it == clinics_.end()) {
    // Under the lock: an announcement for this clinic waits until we know where it stands.
    absl::StatusOr<int64_t> head = log_.Head(clinic_id);
    if (!head.ok()) return head.status();
    it = clinics_.emplace(clinic_id, Clinic{.last = *head}).first;
  }
  if (it->second.watchers.insert(w).second) ++count_;
  return w;
}

void EventHub::Unwatch(const std::string& clinic_id, const std::shared_ptr<Watcher>& w) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = clinics_.find(clinic_id);
  if (it == clinics_.end()) return;
  count_ -= it->second.watchers.erase(w);
  if (it->second.watchers.empty()) clinics_.erase(it);
}

void EventHub::PushLocked(Clinic& c, const Event& e, Ready& ready) {
  c.last = e->seq;
  for (auto w = c.watchers.begin(); w != c.watchers.end();) {
    if (!Sees((*w)->viewer(), *e)) {
      ++w;
      continue;
    }
    ready.push_back(*w);
    if ((*w)->Push(e, max_queued_, overflow_)) {
      ++w;
    } else {
      w = c.watchers.erase(w);  // dropped: its stream ends, the client resumes
      --count_;
    }
  }
}

void EventHub::CloseClinicLocked(const std::string& clinic_id, const absl::Status& why, Ready& ready) {
  auto it = clinics_.find(clinic_id);
  if (it == clinics_.end()) return;
  for (const auto& w : it->second.watchers) {
    w->Close(why);
    ready.push_back(w);
  }
  count_ -= it->second.watchers.size();
  clinics_.erase(it);
}

void EventHub::FillLocked(const std::string& clinic_id, int64_t upto, Ready& ready) {
  for (;;) {
    auto it = clinics_.find(clinic_id);
    if (it == clinics_.end() || it->second.last >= upto) return;
    absl::StatusOr<std::vector<LoggedEvent>> page =
        log_.After(clinic_id, it->second.last, static_cast<int>(std::min<int64_t>(kFillPage, upto - it->second.last)));
    if (!page.ok() || page->empty()) {
      // Delivering past a hole would lose events for good: end these streams instead;
      // their clients resume from the log.
      log::Warn("conversation events: cannot fill a gap from the log",
                {{"clinic_id", clinic_id}, {"error", page.ok() ? "no rows" : page.status().ToString()}});
      return CloseClinicLocked(clinic_id, absl::UnavailableError("event stream interrupted: reconnect with Last-Event-ID"),
                               ready);
    }
    for (LoggedEvent& e : *page) PushLocked(it->second, Shared(std::move(e)), ready);
  }
}

void EventHub::Wake(const Ready& ready) {
  for (const auto& w : ready) w->Ready();
}

void EventHub::Deliver(LoggedEvent e) {
  Ready ready;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = clinics_.find(e.clinic_id);
    if (it == clinics_.end() || e.seq <= it->second.last) return;  // unwatched, or had it
    if (e.seq > it->second.last + 1) FillLocked(e.clinic_id, e.seq - 1, ready);
    it = clinics_.find(e.clinic_id);
    if (it != clinics_.end() && e.seq == it->second.last + 1) {
      PushLocked(it->second, Shared(std::move(e)), ready);
    }
  }
  Wake(ready);
}

void EventHub::Announce(const std::vector<LoggedEvent>& events) {
  for (const LoggedEvent& e : events) Deliver(e);
}

void EventHub::CatchUp() {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [id, c] : clinics_) ids.push_back(id);
  }
  if (ids.empty()) return;
  absl::StatusOr<std::map<std::string, int64_t>> heads = log_.Heads(ids);
  if (!heads.ok()) {
    log::Warn("conversation events: cannot read the log's heads", {{"error", heads.status().ToString()}});
    return;
  }
  Ready ready;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [id, head] : *heads) FillLocked(id, head, ready);
  }
  Wake(ready);
}

size_t EventHub::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return count_;
}

}  // namespace vetline::conversations
