#include "services/conversations/events_service.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "libs/core/status.h"
#include "libs/rpc/rpc.h"
#include "services/conversations/event_stream.h"

namespace vetline::conversations {

absl::StatusOr<std::optional<int64_t>> ParseLastEventId(const std::string& text) {
  if (text.empty()) return std::nullopt;
  int64_t seq;
  bool digits = text.size() <= 18 && std::all_of(text.begin(), text.end(), [](char c) {
                  return absl::ascii_isdigit(static_cast<unsigned char>(c));
                });
  if (!digits || !absl::SimpleAtoi(text, &seq)) {
    return InvalidField("lastEventId", "lastEventId must be the id of an event from this stream");
  }
  return seq;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* EventsService::WatchEvents(grpc::CallbackServerContext* ctx,
                                                                       const grpc::ByteBuffer* request) {
  v1::WatchEventsRequest req;
  if (!rpc::FromBuffer(*request, &req)) {
    return EventStream::Refuse(absl::InvalidArgumentError("unreadable WatchEventsRequest"));
  }
  absl::StatusOr<api::Principal> p = rpc::PrincipalOf(*ctx, signer_);
  if (!p.ok()) return EventStream::Refuse(p.status());
  EventViewer viewer;
  if (p->kind() == api::Principal::STAFF) {
    viewer.staff = true;
  } else if (p->kind() == api::Principal::CLIENT && !p->client_id().empty()) {
    viewer.client_id = p->client_id();
  } else {
    return EventStream::Refuse(absl::PermissionDeniedError("only clinic staff and clients may watch events"));
  }
  absl::StatusOr<std::optional<int64_t>> after = ParseLastEventId(req.last_event_id());
  if (!after.ok()) return EventStream::Refuse(after.status());
  return EventStream::Open(hub_, log_, p->clinic_id(), std::move(viewer), *after);
}

}  // namespace vetline::conversations
