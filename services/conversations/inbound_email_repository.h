// All SQL of inbound email: the inbound_items rows (every email the webhook took past its
// secret, placed or failed) and the conversation a reply address names. An accepted
// email's row, files and message commit in one transaction, so a provider's retry of the
// same email finds the row and adds nothing.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/pg/pg.h"
#include "services/conversations/conversations_repository.h"
#include "vetline/conversations/v1/inbound_email.pb.h"

namespace vetline::conversations {

// A row of inbound_items to write. `clinic_id`/`conversation_id` stay empty when the
// email named no conversation of any clinic.
struct NewInboundItem {
  std::string id;
  std::string dedup_key;
  std::string reason;
  absl::StatusCode code = absl::StatusCode::kOk;  // what the webhook answered (failed items)
  std::string field;
  std::string clinic_id, conversation_id;
  std::string email_message_id, from_address, recipient, subject;
  int64_t size_bytes = 0;
  std::string raw_blob_key;
  std::vector<v1::RejectedAttachment> rejected;
};

// An item as stored, with the answer a failed one got (repeated to a retry).
struct StoredInboundItem {
  v1::InboundItem item;
  std::string clinic_id;
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string field;
};

// Where a reply address points.
struct ConversationOwner {
  std::string clinic_id;
  std::string client_id;  // empty: an unknown sender's conversation, not linked yet
};

class InboundEmailRepository {
 public:
  InboundEmailRepository(std::shared_ptr<pg::Pool> pool, ConversationsRepository& conversations)
      : pool_(std::move(pool)), conversations_(conversations) {}

  // The conversation with this id in any clinic (the webhook has no caller clinic: the
  // reply address is the authority), or nullopt.
  absl::StatusOr<std::optional<ConversationOwner>> FindConversation(const std::string& id);
  absl::StatusOr<std::optional<StoredInboundItem>> FindItem(const std::string& dedup_key);

  // Stores a failed item; when one with the same dedup key exists already, returns that
  // one instead (nothing written).
  absl::StatusOr<StoredInboundItem> RecordFailed(const NewInboundItem& item);

  struct Accepted {
    StoredInboundItem item;
    v1::Message message;  // empty when `duplicate`
    bool duplicate = false;
  };
  // In one transaction: the item, its files (already in the blob store), the client's
  // message with those files (conversations' SendMessage, events appended to `events`),
  // the item's message id. A concurrent or earlier item with the dedup key wins: then
  // nothing is written and that item comes back as a duplicate.
  absl::StatusOr<Accepted> Accept(const NewInboundItem& item, const Viewer& client,
                                  const std::vector<NewFile>& files, NewMessage message,
                                  Events* events);

  // The clinic's failed items, newest first, after `after` (receive time, id).
  absl::StatusOr<std::vector<v1::InboundItem>> ListFailed(const std::string& clinic_id,
                                                          const std::optional<Cursor>& after,
                                                          int limit);

 private:
  std::shared_ptr<pg::Pool> pool_;
  ConversationsRepository& conversations_;
};

}  // namespace vetline::conversations
