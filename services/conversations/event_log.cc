#include "services/conversations/event_log.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

constexpr pg::Statement kHead{
    "conversations_event_head",
    "SELECT last_seq FROM conversations.event_heads WHERE clinic_id = $1"};
constexpr pg::Statement kHeads{
    "conversations_event_heads",
    "SELECT clinic_id::text AS clinic_id, last_seq FROM conversations.event_heads "
    "WHERE clinic_id = ANY($1::uuid[])"};
constexpr pg::Statement kAfter{
    "conversations_events_after",
    "SELECT seq, coalesce(client_id::text, '') AS client_id, staff_only, "
    "encode(payload, 'base64') AS payload FROM conversations.events "
    "WHERE clinic_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"};

absl::StatusOr<v1::Event> ParseEvent(std::string_view bytes) {
  v1::Event e;
  if (!e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("unreadable conversation event payload");
  }
  return e;
}

}  // namespace

absl::StatusOr<int64_t> EventLog::Head(const std::string& clinic_id) const {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kHead, {clinic_id}));
  return r.rows() ? r.Int(0, "last_seq") : 0;
}

absl::StatusOr<std::map<std::string, int64_t>> EventLog::Heads(const std::vector<std::string>& clinic_ids) const {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kHeads, {absl::StrCat("{", absl::StrJoin(clinic_ids, ","), "}")}));
  std::map<std::string, int64_t> heads;
  for (int i = 0; i < r.rows(); ++i) heads[r.Text(i, "clinic_id")] = r.Int(i, "last_seq");
  return heads;
}

absl::StatusOr<std::vector<LoggedEvent>> EventLog::After(const std::string& clinic_id, int64_t after,
                                                         int limit) const {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kAfter, {clinic_id, after, limit}));
  std::vector<LoggedEvent> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    std::string payload;
    if (!absl::Base64Unescape(r.Text(i, "payload"), &payload)) return absl::DataLossError("bad event payload");
    VL_ASSIGN_OR_RETURN(v1::Event event, ParseEvent(payload));
    out.push_back({.clinic_id = clinic_id,
                   .client_id = r.Text(i, "client_id"),
                   .staff_only = r.Bool(i, "staff_only"),
                   .event = std::move(event),
                   .seq = r.Int(i, "seq"),
                   .wire = std::move(payload)});
  }
  return out;
}

std::string EncodeAnnouncement(const LoggedEvent& e) {
  v1::AnnouncedEvent a;
  a.set_clinic_id(e.clinic_id);
  a.set_seq(e.seq);
  a.set_client_id(e.client_id);
  a.set_staff_only(e.staff_only);
  if (e.wire.empty()) {
    e.event.SerializeToString(a.mutable_payload());
  } else {
    a.set_payload(e.wire);
  }
  return a.SerializeAsString();
}

absl::StatusOr<LoggedEvent> DecodeAnnouncement(std::string_view bytes) {
  v1::AnnouncedEvent a;
  if (!a.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) || a.seq() <= 0 || a.clinic_id().empty()) {
    return absl::InvalidArgumentError("not an announced conversation event");
  }
  VL_ASSIGN_OR_RETURN(v1::Event event, ParseEvent(a.payload()));
  return LoggedEvent{.clinic_id = a.clinic_id(),
                     .client_id = a.client_id(),
                     .staff_only = a.staff_only(),
                     .event = std::move(event),
                     .seq = a.seq(),
                     .wire = std::move(*a.mutable_payload())};
}

absl::Status AppendEvent(pg::Session& s, LoggedEvent& e) {
  VL_ASSIGN_OR_RETURN(pg::Result head, s.Exec(kNextSeq, {e.clinic_id}));
  const int64_t seq = head.Int(0, "last_seq");
  e.seq = seq;
  e.event.set_id(std::to_string(seq));
  if (!e.event.has_time()) *e.event.mutable_time() = ToTimestamp(absl::Now());
  e.wire.clear();
  e.event.SerializeToString(&e.wire);
  return s.Exec(kInsert, {e.clinic_id, seq, e.client_id, e.staff_only, absl::Base64Escape(e.wire)})
      .status();
}

absl::Status AppendEvents(pg::Session& s, std::vector<LoggedEvent>& events) {
  std::stable_sort(events.begin(), events.end(),
                   [](const LoggedEvent& a, const LoggedEvent& b) { return a.clinic_id < b.clinic_id; });
  for (LoggedEvent& e : events) VL_RETURN_IF_ERROR(AppendEvent(s, e));
  return absl::OkStatus();
}

}  // namespace vetline::conversations
