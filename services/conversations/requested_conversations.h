// Follows booking's `conversation.requested` outbox records (a direct booking, a request
// form): the client's conversation (or one for the unknown contact) gets the record's
// staff text as a system message and, when it has one, its clientText as a second system
// message delivered to the client like any message (the booking confirmation). The
// conversation goes to the top of the queue, unread for staff. De-duplicated on requestId:
// a replayed record posts nothing twice.
#pragma once

#include <optional>
#include <string>

#include "libs/rpc/outbox_feed.h"
#include "services/conversations/conversations_repository.h"
#include "services/conversations/conversations_service.h"
#include "services/conversations/feed_events.h"
#include "services/conversations/requested_repository.h"

namespace vetline::conversations {

// What a conversation.requested record says; std::nullopt without clinicId, requestId,
// text, or both clientId and contact (logged and skipped).
struct RequestedConversation {
  std::string clinic_id, client_id, pet_id, contact, contact_name, subject, text, client_text,
      request_id;
};
std::optional<RequestedConversation> ParseConversationRequested(const std::string& payload);

// `inbox` chooses the client text's deliveries as for any staff or system message.
rpc::ConsumerSpec FollowBookingRequests(ConversationsRepository& repo, RequestedRepository& requested,
                                        ConversationsService& inbox, ConsumerEvents& events);

}  // namespace vetline::conversations
