#include "services/conversations/client_view.h"

namespace vetline::conversations {

void RedactForClient(v1::Conversation& c) {
  c.clear_assignee_user_id();
  c.clear_assignee_team_id();
  c.clear_staff_unread();
  c.clear_sender_address();
}

void RedactForClient(v1::Message& m) {
  m.clear_deliveries();
  // Recordings are the clinic's (downloaded by staff); the record itself stays.
  for (v1::Attachment& a : *m.mutable_attachments()) {
    if (a.has_call_record()) {
      a.mutable_call_record()->clear_recording_url();
      a.mutable_call_record()->clear_recording_urls();
    }
  }
}

void RedactForClient(v1::Event& e) {
  if (e.has_conversation()) {
    RedactForClient(*e.mutable_conversation());
    e.mutable_conversation()->clear_last_message_preview();
  }
  if (e.has_message()) RedactForClient(*e.mutable_message());
}

}  // namespace vetline::conversations
