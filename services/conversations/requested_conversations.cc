#include "services/conversations/requested_conversations.h"

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/rpc/edge.h"
#include "nlohmann/json.hpp"
#include "services/conversations/feed_events.h"

namespace vetline::conversations {
std::optional<RequestedConversation> ParseConversationRequested(const std::string& payload) {
  nlohmann::json e = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!e.is_object()) return std::nullopt;
  RequestedConversation r{.clinic_id = FeedText(e, "clinicId"),
                          .client_id = FeedText(e, "clientId"),
                          .pet_id = FeedText(e, "petId"),
                          .contact = FeedText(e, "contact"),
                          .contact_name = FeedText(e, "contactName"),
                          .subject = FeedText(e, "subject"),
                          .text = FeedText(e, "text"),
                          .client_text = FeedText(e, "clientText"),
                          .request_id = FeedText(e, "requestId")};
  if (r.clinic_id.empty() || r.request_id.empty() || r.text.empty()) return std::nullopt;
  if (r.client_id.empty() && r.contact.empty()) return std::nullopt;
  return r;
}

rpc::ConsumerSpec FollowBookingRequests(ConversationsRepository& repo, RequestedRepository& requested,
                                        ConversationsService& inbox, ConsumerEvents& events) {
  return {
      .source = "booking",
      .topics = {"conversation.requested"},
      .handle = [&repo, &requested, &inbox, &events](pg::Session& s, const std::string&,
                                                     const std::string& payload) -> absl::Status {
        Events* logged = events.Begin();
        std::optional<RequestedConversation> r = ParseConversationRequested(payload);
        if (!r) {
          log::Error("conversation.requested record without its ids or text; skipped", {{"payload", payload}});
          return absl::OkStatus();  // a malformed record must not hold the feed back
        }
        VL_ASSIGN_OR_RETURN(bool seen, requested.Seen(s, r->clinic_id, r->request_id));
        if (seen) return absl::OkStatus();
        absl::StatusOr<ConversationRecord> conv =
            r->client_id.empty() ? repo.OpenForSender(s, r->clinic_id, r->contact, logged)
                                 : repo.StartConversation(s, r->clinic_id, r->client_id, r->pet_id, logged);
        VL_RETURN_IF_ERROR(conv.status());
        const v1::Conversation& c = conv->conversation;
        const Viewer clinic{.clinic_id = r->clinic_id};
        NewMessage staff{.conversation_id = c.id(), .author = v1::SYSTEM,
                         .text = r->subject.empty() ? r->text : absl::StrCat(r->subject, "\n", r->text)};
        VL_RETURN_IF_ERROR(repo.SendMessage(s, clinic, staff, logged).status());
        if (!r->client_text.empty()) {
          NewMessage to_client{.conversation_id = c.id(), .author = v1::SYSTEM, .text = r->client_text};
          VL_ASSIGN_OR_RETURN(to_client.deliveries, inbox.DeliveriesFor(rpc::ServiceForClinic(r->clinic_id), c));
          VL_RETURN_IF_ERROR(repo.SendMessage(s, clinic, to_client, logged).status());
        }
        return requested.Record(s, r->clinic_id, r->request_id, c.id());
      },
      .after_commit = [&events] { events.AfterCommit(); }};
}

}  // namespace vetline::conversations
