// The gRPC edge of realtime events: ConversationEventsService.WatchEvents (GET
// /v1/events as Server-Sent Events through the gateway). Staff watch their clinic; a
// client principal only their own conversations' events. On the callback API: an open
// stream holds no thread.
#pragma once

#include "libs/auth/auth.h"
#include "services/conversations/event_hub.h"
#include "vetline/conversations/v1/events.grpc.pb.h"

namespace vetline::conversations {

class EventsService final : public v1::ConversationEventsService::CallbackService {
 public:
  EventsService(const auth::PrincipalSigner& signer, EventHub& hub, const EventLog& log)
      : signer_(signer), hub_(hub), log_(log) {}

  grpc::ServerWriteReactor<v1::Event>* WatchEvents(grpc::CallbackServerContext* ctx,
                                                   const v1::WatchEventsRequest* req) override;

 private:
  const auth::PrincipalSigner& signer_;
  EventHub& hub_;
  const EventLog& log_;
};

// Last-Event-ID as sent back by an EventSource: empty (from now on) or an event id of
// this stream (a decimal seq); anything else is a field error on `lastEventId`.
absl::StatusOr<std::optional<int64_t>> ParseLastEventId(const std::string& text);

}  // namespace vetline::conversations
