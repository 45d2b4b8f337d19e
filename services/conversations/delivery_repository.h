// All SQL of message delivery: the deliveries table is the work queue. Workers claim due
// rows with FOR UPDATE SKIP LOCKED and push their next attempt out by a lease before
// sending, so several replicas never send the same row at once, and a worker that dies
// mid-send leaves its rows to be claimed again when the lease runs out.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/outbox/outbox.h"
#include "libs/pg/pg.h"
#include "services/conversations/event_log.h"

namespace vetline::conversations {

// A claimed delivery with what sending it needs.
struct DueDelivery {
  int64_t id = 0;
  std::string clinic_id;
  std::string client_id;
  std::string conversation_id;
  std::string message_id;
  std::string channel;       // text | email | push
  std::string destination;   // E.164, address or push endpoint
  int attempts = 0;          // including this one
  std::string body;
  bool has_attachments = false;
  std::string sms_from;      // the clinic's texting number
  std::string email_from_name, email_from_address;
  std::string push_p256dh, push_auth;  // for push
  bool opted_out = false;  // a text to a number that texted STOP: not sent
};

// The delivery a provider's callback moved, for what else that transaction records.
struct ProviderUpdate {
  std::string clinic_id, channel, destination, state;
};

// What became of one attempt.
struct DeliveryResult {
  int64_t id = 0;
  std::string state;        // sent | failed | queued (try again at retry_at)
  std::string reason;
  std::string provider_id;
  absl::Time retry_at;      // for queued
  bool drop_subscription = false;  // push subscription expired
};

class DeliveryRepository {
 public:
  DeliveryRepository(std::shared_ptr<pg::Pool> pool, EventAnnouncer& announcer)
      : pool_(std::move(pool)), announcer_(announcer) {}

  // Up to `limit` due deliveries, each leased for `lease` (its attempt counted).
  absl::StatusOr<std::vector<DueDelivery>> Claim(int limit, absl::Duration lease);
  // Stores the results in one transaction, with a delivery.updated event each, then
  // announces them.
  absl::Status Record(const std::vector<DueDelivery>& claimed,
                      const std::vector<DeliveryResult>& results);

  // A provider's status callback (Twilio's MessageSid): the delivery it names moves to
  // `state` only if that is forward (see channels::DeliveryStateAdvances, applied by the
  // caller through `advances`), and `also` (may be empty) runs in the same transaction
  // when it did. NotFound for an unknown provider id.
  absl::Status UpdateFromProvider(
      const std::string& provider_id, const std::string& state, const std::string& reason,
      const std::function<bool(const std::string& stored, const std::string& incoming)>& advances,
      const std::function<absl::Status(pg::Session&, const ProviderUpdate&)>& also = nullptr);

  // Text deliveries still queued to `number` in `clinic_id` are cancelled (the client
  // texted STOP): returns how many.
  absl::StatusOr<int> CancelQueuedTexts(const std::string& clinic_id, const std::string& number);
  absl::StatusOr<int> CancelQueuedTexts(pg::Session& s, const std::string& clinic_id,
                                        const std::string& number);

 private:
  std::shared_ptr<pg::Pool> pool_;
  EventAnnouncer& announcer_;
  // The service's outbox (the same table Wiring's instance writes): "push.unsubscribed"
  // when a dropped endpoint was the client's last.
  const outbox::Outbox outbox_{"conversations"};
};

}  // namespace vetline::conversations
