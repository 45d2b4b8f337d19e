// The SQL of push subscriptions as their owner (a client) registers and removes them; the
// delivery side reads them in conversations_repository / delivery_repository. A client's
// first subscription and the loss of its last one are written to the conversations outbox
// (the clients service shows push on the profile from them).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/outbox/outbox.h"
#include "libs/pg/pg.h"
#include "vetline/conversations/v1/conversations.pb.h"

namespace vetline::conversations {

// Outbox topics the clients service follows; payload {"clinicId", "clientId"}.
inline constexpr char kTopicPushSubscribed[] = "push.subscribed";
inline constexpr char kTopicPushUnsubscribed[] = "push.unsubscribed";

// Locks the client's subscriptions until the transaction ends, so two removals of a
// client's last two subscriptions cannot each see the other's row and both stay silent.
absl::Status LockClientSubscriptions(pg::Session& s, const std::string& clinic_id,
                                     const std::string& client_id);
// After one of the client's subscriptions went (removed, moved to another client, or
// dropped as gone): "push.unsubscribed" when none is left. Call with the lock above held.
absl::Status NoteUnsubscribed(pg::Session& s, const outbox::Outbox& outbox,
                              const std::string& clinic_id, const std::string& client_id);

class PushRepository {
 public:
  PushRepository(std::shared_ptr<pg::Pool> pool, const outbox::Outbox& outbox)
      : pool_(std::move(pool)), outbox_(outbox) {}
  // One row per endpoint: registering it again (the browser re-subscribing, or another
  // client signing in on the same browser) updates its keys and owner.
  absl::StatusOr<v1::PushSubscription> Register(const std::string& clinic_id,
                                                const std::string& client_id,
                                                const std::string& endpoint,
                                                const std::string& p256dh,
                                                const std::string& auth);
  // NotFound naming id unless it is this client's subscription.
  absl::Status Delete(const std::string& clinic_id, const std::string& client_id,
                      const std::string& id);

 private:
  std::shared_ptr<pg::Pool> pool_;
  const outbox::Outbox& outbox_;
};

}  // namespace vetline::conversations
