// The gRPC edge of realtime events: ConversationEventsService.WatchEvents (GET
// /v1/events as Server-Sent Events through the gateway). Staff watch their clinic; a
// client principal only their own conversations' events. On the callback API: an open
// stream holds no thread. Raw (serialized) messages, so an event is serialized once for
// all the staff streams it goes to.
#pragma once

#include "libs/auth/auth.h"
#include "services/conversations/event_hub.h"
#include "vetline/conversations/v1/events.grpc.pb.h"

namespace vetline::conversations {

class EventsService final
    : public v1::ConversationEventsService::WithRawCallbackMethod_WatchEvents<v1::ConversationEventsService::Service> {
 public:
  EventsService(const auth::PrincipalSigner& signer, EventHub& hub, const EventLog& log)
      : signer_(signer), hub_(hub), log_(log) {}

  // A WatchEventsRequest in, Events out.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchEvents(grpc::CallbackServerContext* ctx,
                                                          const grpc::ByteBuffer* request) override;

 private:
  const auth::PrincipalSigner& signer_;
  EventHub& hub_;
  const EventLog& log_;
};

// Last-Event-ID as sent back by an EventSource: empty (from now on) or an event id of
// this stream (a decimal seq); anything else is a field error on `lastEventId`.
absl::StatusOr<std::optional<int64_t>> ParseLastEventId(const std::string& text);

}  // namespace vetline::conversations
