// All SQL of texting's inbound half: which clinic a number belongs to, inbound texts
// recorded once per Twilio MessageSid, STOP/START kept locally (sms_opt_outs, consulted by
// delivery planning and the delivery worker) and told to the clients service through the
// conversations outbox, carrier answers on delivery status.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/outbox/outbox.h"
#include "libs/pg/pg.h"
#include "services/conversations/channels/sms_keywords.h"
#include "services/conversations/conversations_repository.h"
#include "services/conversations/delivery_repository.h"
#include "services/conversations/event_log.h"

namespace vetline::conversations {

// Outbox topics the clients service follows; payload {"clinicId", "phone"}.
inline constexpr char kTopicOptedOut[] = "sms.opted_out";
inline constexpr char kTopicOptedIn[] = "sms.opted_in";
inline constexpr char kTopicNotTextingCapable[] = "phone.not_texting_capable";

struct InboundText {
  std::string clinic_id;
  std::string message_sid;  // Twilio's, unique per text
  std::string from;         // E.164
  std::string text;         // as stored (media URLs appended)
  std::string media_json;   // [{"url", "contentType"}]
  std::string client_id;    // the known client with this number, "" for none
  channels::SmsKeyword keyword = channels::SmsKeyword::kNone;
};

struct InboundRecorded {
  bool duplicate = false;  // this MessageSid was recorded before: nothing changed
  std::string conversation_id, message_id;
  int cancelled_texts = 0;  // queued texts STOP cancelled
};

class SmsRepository {
 public:
  SmsRepository(std::shared_ptr<pg::Pool> pool, ConversationsRepository& inbox,
                DeliveryRepository& deliveries, const outbox::Outbox& outbox,
                EventAnnouncer& announcer)
      : pool_(std::move(pool)), inbox_(inbox), deliveries_(deliveries), outbox_(outbox),
        announcer_(announcer) {}

  // The clinic whose texting number is `number`; NotFound naming "To" otherwise.
  absl::StatusOr<std::string> ClinicForNumber(const std::string& number);

  // One transaction: the client's latest conversation (or the sender's, flagged unknown
  // sender), the client message (unread for staff, message.created), the MessageSid, and
  // for STOP the opt-out, the queued texts cancelled and sms.opted_out (START: the
  // opt-out removed, sms.opted_in). Events are announced after commit. A MessageSid seen
  // before changes nothing.
  absl::StatusOr<InboundRecorded> RecordInbound(const InboundText& t);

  // A status callback: the delivery moves forward only (`advances`), with its
  // delivery.updated event; `not_texting_capable` also writes phone.not_texting_capable
  // for a text's number in the same transaction. NotFound for an unknown provider id.
  absl::Status RecordStatus(
      const std::string& provider_id, const std::string& state, const std::string& reason,
      bool not_texting_capable,
      const std::function<bool(const std::string& stored, const std::string& incoming)>& advances);

  // Whether `phone` texted STOP to the clinic (and not START since).
  absl::StatusOr<bool> OptedOut(const std::string& clinic_id, const std::string& phone);

 private:
  std::shared_ptr<pg::Pool> pool_;
  ConversationsRepository& inbox_;
  DeliveryRepository& deliveries_;
  const outbox::Outbox& outbox_;
  EventAnnouncer& announcer_;
};

}  // namespace vetline::conversations
