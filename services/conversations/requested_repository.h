// SQL of what other services ask conversations for: the requested conversations'
// de-duplication and unread mark (requested_conversations.h), and the clinic's sending
// identity for one-off notices (notice_service.h).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/pg/pg.h"

namespace vetline::conversations {

// The clinic's own texting number and sender address ("" when not set up).
struct ClinicSenders {
  std::string sms_from, email_from_name, email_from_address;
};

class RequestedRepository {
 public:
  explicit RequestedRepository(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}

  absl::StatusOr<ClinicSenders> Senders(const std::string& clinic_id);

  // Inside the consumer's transaction: whether `request_id` was already handled.
  absl::StatusOr<bool> Seen(pg::Session& s, const std::string& clinic_id, const std::string& request_id);
  // Records the request as handled by `conversation_id` and marks that conversation
  // unread for staff (and not archived): it is news for the clinic's queue.
  absl::Status Record(pg::Session& s, const std::string& clinic_id, const std::string& request_id,
                      const std::string& conversation_id);

 private:
  std::shared_ptr<pg::Pool> pool_;
};

}  // namespace vetline::conversations
