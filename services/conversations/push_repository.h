// The SQL of push subscriptions as their owner (a client) registers and removes them; the
// delivery side reads them in conversations_repository / delivery_repository.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/pg/pg.h"
#include "vetline/conversations/v1/conversations.pb.h"

namespace vetline::conversations {

class PushRepository {
 public:
  explicit PushRepository(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}
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
};

}  // namespace vetline::conversations
