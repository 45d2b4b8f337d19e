#include "services/conversations/sms_repository.h"

#include "libs/core/status.h"
#include "nlohmann/json.hpp"

namespace vetline::conversations {
namespace {

constexpr pg::Statement kClinicForNumber{
    "conversations_sms_clinic_for_number",
    "SELECT clinic_id FROM conversations.clinics WHERE sms_from_number = $1 AND $1 <> ''"};
// Twilio's retries of one text wait for each other here, then find it recorded.
constexpr pg::Statement kLockSid{
    "conversations_sms_lock_sid",
    "SELECT pg_advisory_xact_lock(hashtextextended('conversations.inbound-text:' || $1, 0))"};
constexpr pg::Statement kSeenSid{
    "conversations_sms_seen_sid",
    "SELECT i.message_id, m.conversation_id FROM conversations.inbound_texts i "
    "JOIN conversations.messages m ON m.id = i.message_id WHERE i.message_sid = $1"};
constexpr pg::Statement kInsertInbound{
    "conversations_sms_insert_inbound",
    "INSERT INTO conversations.inbound_texts (message_sid, clinic_id, message_id, from_number, media) "
    "VALUES ($1, $2, $3, $4, $5::jsonb)"};
constexpr pg::Statement kOptOut{
    "conversations_sms_opt_out",
    "INSERT INTO conversations.sms_opt_outs (clinic_id, phone) VALUES ($1, $2) "
    "ON CONFLICT DO NOTHING"};
constexpr pg::Statement kOptIn{
    "conversations_sms_opt_in",
    "DELETE FROM conversations.sms_opt_outs WHERE clinic_id = $1 AND phone = $2"};
constexpr pg::Statement kOptedOut{
    "conversations_sms_opted_out",
    "SELECT EXISTS (SELECT 1 FROM conversations.sms_opt_outs WHERE clinic_id = $1 AND phone = $2) "
    "AS opted_out"};

std::string PhoneEvent(const std::string& clinic_id, const std::string& phone) {
  return nlohmann::json{{"clinicId", clinic_id}, {"phone", phone}}.dump();
}

}  // namespace

absl::StatusOr<std::string> SmsRepository::ClinicForNumber(const std::string& number) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kClinicForNumber, {number}));
  if (r.rows() == 0) return NotFoundField("To", "no clinic texts from this number");
  return r.Text(0, "clinic_id");
}

absl::StatusOr<InboundRecorded> SmsRepository::RecordInbound(const InboundText& t) {
  InboundRecorded out;
  Events logged;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    out = {};
    logged.clear();
    VL_RETURN_IF_ERROR(s.Exec(kLockSid, {t.message_sid}).status());
    VL_ASSIGN_OR_RETURN(pg::Result seen, s.Exec(kSeenSid, {t.message_sid}));
    if (seen.rows() > 0) {
      out.duplicate = true;
      out.message_id = seen.Text(0, "message_id");
      out.conversation_id = seen.Text(0, "conversation_id");
      return absl::OkStatus();
    }
    ConversationRecord conv;
    if (!t.client_id.empty()) {
      VL_ASSIGN_OR_RETURN(conv, inbox_.StartConversation(s, t.clinic_id, t.client_id, "", &logged));
    } else {
      VL_ASSIGN_OR_RETURN(conv, inbox_.OpenForSender(s, t.clinic_id, t.from, &logged));
    }
    NewMessage nm{.conversation_id = conv.conversation.id(),
                  .author = v1::CLIENT,
                  .author_id = t.client_id,  // empty for an unknown sender
                  .text = t.text,
                  .received_via = v1::TEXT};
    VL_ASSIGN_OR_RETURN(v1::Message m,
                        inbox_.SendMessage(s, Viewer{.clinic_id = t.clinic_id}, nm, &logged));
    out.conversation_id = conv.conversation.id();
    out.message_id = m.id();
    VL_RETURN_IF_ERROR(
        s.Exec(kInsertInbound, {t.message_sid, t.clinic_id, m.id(), t.from, t.media_json}).status());
    if (t.keyword == channels::SmsKeyword::kOptOut) {
      VL_RETURN_IF_ERROR(s.Exec(kOptOut, {t.clinic_id, t.from}).status());
      VL_ASSIGN_OR_RETURN(out.cancelled_texts, deliveries_.CancelQueuedTexts(s, t.clinic_id, t.from));
      return outbox_.Add(s, kTopicOptedOut, PhoneEvent(t.clinic_id, t.from));
    }
    if (t.keyword == channels::SmsKeyword::kOptIn) {
      VL_RETURN_IF_ERROR(s.Exec(kOptIn, {t.clinic_id, t.from}).status());
      return outbox_.Add(s, kTopicOptedIn, PhoneEvent(t.clinic_id, t.from));
    }
    return absl::OkStatus();
  }));
  if (!logged.empty()) announcer_.Announce(logged);
  return out;
}

absl::Status SmsRepository::RecordStatus(
    const std::string& provider_id, const std::string& state, const std::string& reason,
    bool not_texting_capable,
    const std::function<bool(const std::string&, const std::string&)>& advances) {
  return deliveries_.UpdateFromProvider(
      provider_id, state, reason, advances,
      [&](pg::Session& s, const ProviderUpdate& u) -> absl::Status {
        if (!not_texting_capable || u.channel != "text") return absl::OkStatus();
        return outbox_.Add(s, kTopicNotTextingCapable, PhoneEvent(u.clinic_id, u.destination));
      });
}

absl::StatusOr<bool> SmsRepository::OptedOut(const std::string& clinic_id, const std::string& phone) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kOptedOut, {clinic_id, phone}));
  return r.Bool(0, "opted_out");
}

}  // namespace vetline::conversations
