// The conversation event log: every change a watcher should hear of (a new message, a
// status, an assignment, a delivery update, a read) is appended in the same transaction
// as the change, with the clinic's next sequence number, then announced to every replica
// after commit. The log, not Redis, is the record: a watcher that reconnects with
// Last-Event-ID, or whose replica lost Redis for a while, catches up from it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "libs/pg/pg.h"
#include "vetline/conversations/v1/events.pb.h"

namespace vetline::conversations {

struct LoggedEvent {
  std::string clinic_id;
  std::string client_id;    // whose conversation; empty for an unknown sender's
  bool staff_only = false;  // internal notes, assignment: never reach a client
  v1::Event event;          // as staff see it; `id` is set by Append
  int64_t seq = 0;          // the clinic's sequence number (event.id), set by Append
  // `event` serialized, when known (the log's and the announcement's payload): staff
  // streams write these bytes as they are instead of serializing the event per watcher.
  std::string wire;
};

// Appends `e` inside the caller's transaction and sets e.event.id to its sequence
// number. It locks the clinic's head row until commit, so make it the transaction's
// last statement.
absl::Status AppendEvent(pg::Session& s, LoggedEvent& e);
// Appends events of several clinics in one transaction. The head rows are locked in
// clinic order (events of one clinic keep theirs), so two such transactions never wait on
// each other in a cycle: unordered, delivery workers recording batches that span clinics
// deadlocked on each other again and again under load.
absl::Status AppendEvents(pg::Session& s, std::vector<LoggedEvent>& events);

// Reading the log back: where a clinic stands, and what came after a point (replay on
// Last-Event-ID, gaps the hub fills).
class EventLog {
 public:
  explicit EventLog(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}
  // The clinic's last seq; 0 before its first event.
  absl::StatusOr<int64_t> Head(const std::string& clinic_id) const;
  // Heads of several clinics (clinics without events are left out).
  absl::StatusOr<std::map<std::string, int64_t>> Heads(const std::vector<std::string>& clinic_ids) const;
  // The clinic's events with seq > `after`, oldest first, at most `limit`.
  absl::StatusOr<std::vector<LoggedEvent>> After(const std::string& clinic_id, int64_t after, int limit) const;

 private:
  std::shared_ptr<pg::Pool> pool_;
};

// An event as announced between replicas (an AnnouncedEvent), and back.
std::string EncodeAnnouncement(const LoggedEvent& e);
absl::StatusOr<LoggedEvent> DecodeAnnouncement(std::string_view bytes);

// Tells every replica's watchers about events that committed. Losing an announcement
// only delays it: watchers fill gaps from the log.
class EventAnnouncer {
 public:
  virtual ~EventAnnouncer() = default;
  virtual void Announce(const std::vector<LoggedEvent>& events) = 0;
};

}  // namespace vetline::conversations
