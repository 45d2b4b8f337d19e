#include "services/conversations/delivery_repository.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "services/conversations/conversations_repository.h"
#include "services/conversations/push_repository.h"

namespace vetline::conversations {
namespace {

constexpr pg::Statement kClaim{
    "conversations_delivery_claim",
    "WITH due AS ("
    "  SELECT id FROM conversations.deliveries WHERE state = 'queued' AND next_attempt_at <= now()"
    "  ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED),"
    " claimed AS ("
    "  UPDATE conversations.deliveries d SET attempts = d.attempts + 1,"
    "    next_attempt_at = now() + make_interval(secs => $2::double precision)"
    "  FROM due WHERE d.id = due.id"
    "  RETURNING d.id, d.clinic_id, d.message_id, d.channel, d.destination, d.attempts)"
    " SELECT c.id, c.clinic_id, c.message_id, c.channel, c.destination, c.attempts, m.body,"
    "  m.conversation_id, coalesce(v.client_id::text, '') AS client_id,"
    "  EXISTS (SELECT 1 FROM conversations.attachments a WHERE a.message_id = m.id) OR"
    "  EXISTS (SELECT 1 FROM conversations.files f WHERE f.message_id = m.id) AS has_attachments,"
    "  coalesce(k.sms_from_number, '') AS sms_from, coalesce(k.email_from_name, '') AS email_from_name,"
    "  coalesce(k.email_from_address, '') AS email_from_address,"
    "  coalesce(p.p256dh, '') AS p256dh, coalesce(p.auth, '') AS auth,"
    "  c.channel = 'text' AND EXISTS (SELECT 1 FROM conversations.sms_opt_outs o"
    "    WHERE o.clinic_id = c.clinic_id AND o.phone = c.destination) AS opted_out"
    " FROM claimed c JOIN conversations.messages m ON m.id = c.message_id"
    " JOIN conversations.conversations v ON v.id = m.conversation_id"
    " LEFT JOIN conversations.clinics k ON k.clinic_id = c.clinic_id"
    " LEFT JOIN conversations.push_subscriptions p ON c.channel = 'push' AND p.endpoint = c.destination"
    " ORDER BY c.id"};

constexpr pg::Statement kRecord{
    "conversations_delivery_record",
    "UPDATE conversations.deliveries SET state = $2, reason = $3,"
    " provider_id = CASE WHEN $4 = '' THEN provider_id ELSE $4 END,"
    " next_attempt_at = coalesce($5::timestamptz, next_attempt_at), update_time = now()"
    " WHERE id = $1 AND state = 'queued'"
    " RETURNING channel, destination, state, reason, attempts, update_time"};

constexpr pg::Statement kDropSubscription{
    "conversations_delivery_drop_subscription",
    "DELETE FROM conversations.push_subscriptions WHERE endpoint = $1 RETURNING clinic_id, client_id"};

constexpr pg::Statement kByProvider{
    "conversations_delivery_by_provider",
    "SELECT d.id, d.clinic_id, d.message_id, d.state, d.channel, d.destination, m.conversation_id,"
    " coalesce(v.client_id::text, '') AS client_id"
    " FROM conversations.deliveries d JOIN conversations.messages m ON m.id = d.message_id"
    " JOIN conversations.conversations v ON v.id = m.conversation_id"
    " WHERE d.provider_id = $1 FOR UPDATE OF d"};

constexpr pg::Statement kProviderUpdate{
    "conversations_delivery_provider_update",
    "UPDATE conversations.deliveries SET state = $2, reason = $3, update_time = now() WHERE id = $1"
    " RETURNING channel, destination, state, reason, attempts, update_time"};

constexpr pg::Statement kCancelTexts{
    "conversations_delivery_cancel_texts",
    "UPDATE conversations.deliveries SET state = 'cancelled',"
    " reason = 'the client texted STOP', update_time = now()"
    " WHERE clinic_id = $1 AND channel = 'text' AND destination = $2 AND state = 'queued'"};

// The delivery.updated event staff consoles follow (clients never see delivery details).
LoggedEvent DeliveryEvent(const std::string& clinic_id, const std::string& client_id,
                          const std::string& conversation_id, const std::string& message_id,
                          const pg::Result& row) {
  LoggedEvent e{.clinic_id = clinic_id, .client_id = client_id, .staff_only = true};
  e.event.set_type("delivery.updated");
  v1::Message* m = e.event.mutable_message();
  m->set_id(message_id);
  m->set_conversation_id(conversation_id);
  DeliveryFromRow(row, 0, m->add_deliveries());
  return e;
}

}  // namespace

absl::StatusOr<std::vector<DueDelivery>> DeliveryRepository::Claim(int limit, absl::Duration lease) {
  VL_ASSIGN_OR_RETURN(pg::Result r,
                      pool_->Exec(kClaim, {limit, absl::StrCat(absl::ToDoubleSeconds(lease))}));
  std::vector<DueDelivery> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({.id = r.Int(i, "id"),
                   .clinic_id = r.Text(i, "clinic_id"),
                   .client_id = r.Text(i, "client_id"),
                   .conversation_id = r.Text(i, "conversation_id"),
                   .message_id = r.Text(i, "message_id"),
                   .channel = r.Text(i, "channel"),
                   .destination = r.Text(i, "destination"),
                   .attempts = static_cast<int>(r.Int(i, "attempts")),
                   .body = r.Text(i, "body"),
                   .has_attachments = r.Bool(i, "has_attachments"),
                   .sms_from = r.Text(i, "sms_from"),
                   .email_from_name = r.Text(i, "email_from_name"),
                   .email_from_address = r.Text(i, "email_from_address"),
                   .push_p256dh = r.Text(i, "p256dh"),
                   .push_auth = r.Text(i, "auth"),
                   .opted_out = r.Bool(i, "opted_out")});
  }
  return out;
}

absl::Status DeliveryRepository::Record(const std::vector<DueDelivery>& claimed,
                                        const std::vector<DeliveryResult>& results) {
  std::vector<LoggedEvent> events;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    events.clear();
    std::set<std::pair<std::string, std::string>> dropped;  // (clinic, client) whose endpoint went
    for (size_t i = 0; i < results.size(); ++i) {
      const DeliveryResult& res = results[i];
      const DueDelivery& d = claimed[i];
      std::optional<absl::Time> retry;
      if (res.state == "queued") retry = res.retry_at;
      VL_ASSIGN_OR_RETURN(pg::Result row,
                          s.Exec(kRecord, {res.id, res.state, res.reason, res.provider_id, retry}));
      if (row.rows() == 0) continue;  // cancelled meanwhile (STOP): leave it so
      if (res.drop_subscription) {
        VL_ASSIGN_OR_RETURN(pg::Result gone, s.Exec(kDropSubscription, {d.destination}));
        if (gone.rows() > 0) dropped.emplace(gone.Text(0, "clinic_id"), gone.Text(0, "client_id"));
      }
      events.push_back(DeliveryEvent(d.clinic_id, d.client_id, d.conversation_id, d.message_id, row));
    }
    VL_RETURN_IF_ERROR(AppendEvents(s, events));
    // Last, as the outbox asks: a client whose last subscription went has push off now.
    for (const auto& [clinic, client] : dropped) {
      VL_RETURN_IF_ERROR(LockClientSubscriptions(s, clinic, client));
      VL_RETURN_IF_ERROR(NoteUnsubscribed(s, outbox_, clinic, client));
    }
    return absl::OkStatus();
  }));
  if (!events.empty()) announcer_.Announce(events);
  return absl::OkStatus();
}

absl::Status DeliveryRepository::UpdateFromProvider(
    const std::string& provider_id, const std::string& state, const std::string& reason,
    const std::function<bool(const std::string&, const std::string&)>& advances,
    const std::function<absl::Status(pg::Session&, const ProviderUpdate&)>& also) {
  std::vector<LoggedEvent> events;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    events.clear();
    VL_ASSIGN_OR_RETURN(pg::Result d, s.Exec(kByProvider, {provider_id}));
    if (d.rows() == 0) return absl::NotFoundError("no delivery has this provider id");
    if (!advances(d.Text(0, "state"), state)) return absl::OkStatus();  // late or repeated
    VL_ASSIGN_OR_RETURN(pg::Result row, s.Exec(kProviderUpdate, {d.Int(0, "id"), state, reason}));
    events.push_back(DeliveryEvent(d.Text(0, "clinic_id"), d.Text(0, "client_id"),
                                   d.Text(0, "conversation_id"), d.Text(0, "message_id"), row));
    VL_RETURN_IF_ERROR(AppendEvent(s, events.back()));
    if (!also) return absl::OkStatus();
    return also(s, {.clinic_id = d.Text(0, "clinic_id"),
                    .channel = d.Text(0, "channel"),
                    .destination = d.Text(0, "destination"),
                    .state = state});
  }));
  if (!events.empty()) announcer_.Announce(events);
  return absl::OkStatus();
}

absl::StatusOr<int> DeliveryRepository::CancelQueuedTexts(const std::string& clinic_id,
                                                          const std::string& number) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kCancelTexts, {clinic_id, number}));
  return r.affected();
}

absl::StatusOr<int> DeliveryRepository::CancelQueuedTexts(pg::Session& s, const std::string& clinic_id,
                                                          const std::string& number) {
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kCancelTexts, {clinic_id, number}));
  return r.affected();
}

}  // namespace vetline::conversations
