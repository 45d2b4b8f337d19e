#include "services/conversations/payment_notices.h"

#include <google/protobuf/util/json_util.h>

#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/rpc/edge.h"
#include "nlohmann/json.hpp"
#include "services/conversations/feed_events.h"

namespace vetline::conversations {
std::optional<PaymentNotice> ParsePaymentNotice(const std::string& payload) {
  nlohmann::json e = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!e.is_object()) return std::nullopt;
  PaymentNotice n{.clinic_id = FeedText(e, "clinicId"),
                  .client_id = FeedText(e, "clientId"),
                  .payment_request_id = FeedText(e, "paymentRequestId"),
                  .notice_id = FeedText(e, "noticeId"),
                  .text = FeedText(e, "text"),
                  .pay_url = FeedText(e, "payUrl"),
                  .status = FeedText(e, "status")};
  if (n.clinic_id.empty() || n.client_id.empty() || n.payment_request_id.empty() || n.notice_id.empty() ||
      n.text.empty()) {
    return std::nullopt;
  }
  return n;
}

rpc::ConsumerSpec FollowPayments(ConversationsRepository& repo, RequestedRepository& requested,
                                 ConversationsService& inbox, ConsumerEvents& events) {
  return {
      .source = "payments",
      .topics = {"payment.requested", "payment.status_changed"},
      .handle = [&repo, &requested, &inbox, &events](pg::Session& s, const std::string&,
                                                     const std::string& payload) -> absl::Status {
        Events* logged = events.Begin();
        std::optional<PaymentNotice> n = ParsePaymentNotice(payload);
        if (!n) {
          log::Error("payment record without its ids or text; skipped", {{"payload", payload}});
          return absl::OkStatus();  // a malformed record must not hold the feed back
        }
        VL_ASSIGN_OR_RETURN(bool seen, requested.Seen(s, n->clinic_id, n->notice_id));
        if (seen) return absl::OkStatus();
        VL_ASSIGN_OR_RETURN(ConversationRecord conv, repo.StartConversation(s, n->clinic_id, n->client_id, "", logged));
        v1::Attachment a;
        a.mutable_payment_request()->set_payment_request_id(n->payment_request_id);
        a.mutable_payment_request()->set_portal_url(n->pay_url);
        a.mutable_payment_request()->set_status(n->status);
        std::string content;
        if (!google::protobuf::util::MessageToJsonString(a, &content).ok()) {
          return absl::InternalError("encoding the payment request attachment failed");
        }
        NewMessage m{.conversation_id = conv.conversation.id(), .author = v1::SYSTEM, .text = n->text};
        m.attachments.push_back({.kind = "payment_request", .content = content, .ref_id = n->payment_request_id});
        VL_ASSIGN_OR_RETURN(m.deliveries,
                            inbox.DeliveriesFor(rpc::ServiceForClinic(n->clinic_id), conv.conversation));
        VL_RETURN_IF_ERROR(repo.SendMessage(s, Viewer{.clinic_id = n->clinic_id}, m, logged).status());
        // The earlier messages' attachments show the new status too (records arrive in order).
        if (!n->status.empty()) {
          VL_RETURN_IF_ERROR(repo.SetPaymentRequestStatus(s, n->clinic_id, n->payment_request_id, n->status));
        }
        return requested.Record(s, n->clinic_id, n->notice_id, conv.conversation.id());
      },
      .after_commit = [&events] { events.AfterCommit(); }};
}

}  // namespace vetline::conversations
