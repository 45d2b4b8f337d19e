#include "services/conversations/event_log.h"

#include "absl/strings/escaping.h"
#include "libs/core/status.h"
#include "libs/core/time.h"

namespace vetline::conversations {
namespace {

constexpr pg::Statement kNextSeq{
    "conversations_event_next_seq",
    "INSERT INTO conversations.event_heads AS h (clinic_id, last_seq) VALUES ($1, 1) "
    "ON CONFLICT (clinic_id) DO UPDATE SET last_seq = h.last_seq + 1 RETURNING last_seq"};
constexpr pg::Statement kInsert{
    "conversations_event_insert",
    "INSERT INTO conversations.events (clinic_id, seq, client_id, staff_only, payload) "
    "VALUES ($1, $2, NULLIF($3, '')::uuid, $4, decode($5, 'base64'))"};

}  // namespace

absl::Status AppendEvent(pg::Session& s, LoggedEvent& e) {
  VL_ASSIGN_OR_RETURN(pg::Result head, s.Exec(kNextSeq, {e.clinic_id}));
  const int64_t seq = head.Int(0, "last_seq");
  e.event.set_id(std::to_string(seq));
  if (!e.event.has_time()) *e.event.mutable_time() = ToTimestamp(absl::Now());
  std::string payload;
  e.event.SerializeToString(&payload);
  return s.Exec(kInsert, {e.clinic_id, seq, e.client_id, e.staff_only, absl::Base64Escape(payload)})
      .status();
}

}  // namespace vetline::conversations
