// Follows the payments service's `payment.requested` and `payment.status_changed` outbox
// records: the client's conversation gets a system message with the record's text (the
// amount, the pay link, the new status), delivered to the client like any message, with
// a payment_request attachment naming the request and its pay link. De-duplicated on the
// record's noticeId (conversations.requested): a replayed record posts nothing twice.
#pragma once

#include <optional>
#include <string>

#include "libs/rpc/outbox_feed.h"
#include "services/conversations/conversations_repository.h"
#include "services/conversations/conversations_service.h"
#include "services/conversations/feed_events.h"
#include "services/conversations/requested_repository.h"

namespace vetline::conversations {

struct PaymentNotice {
  std::string clinic_id, client_id, payment_request_id, notice_id, text, pay_url, status;
};
// std::nullopt without clinicId, clientId, paymentRequestId, noticeId or text.
std::optional<PaymentNotice> ParsePaymentNotice(const std::string& payload);

rpc::ConsumerSpec FollowPayments(ConversationsRepository& repo, RequestedRepository& requested,
                                 ConversationsService& inbox, ConsumerEvents& events);

}  // namespace vetline::conversations
