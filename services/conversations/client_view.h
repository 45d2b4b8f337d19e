// What a client may see of a conversation, a message or an event: the one place that
// strips staff-only fields, used by the edge and by the event stream alike.
#pragma once

#include "vetline/conversations/v1/events.pb.h"

namespace vetline::conversations {

// Clears assignee, staff unread count, sender address; the preview is the caller's to
// set (the client's own preview never shows an internal note).
void RedactForClient(v1::Conversation& c);
// Clears delivery details. Internal notes must never get here: callers drop them.
void RedactForClient(v1::Message& m);
// Both of the above; also clears the conversation's preview, which in an event is the
// staff preview (it may be an internal note).
void RedactForClient(v1::Event& e);

}  // namespace vetline::conversations
