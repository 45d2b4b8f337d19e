// Follows the media service's `call.ended` outbox records (through its feed): a call made
// from a conversation gets a system message there with its time, duration, participants
// and recording links (a `call_record` attachment, unique per call, so a replayed event
// adds nothing). The message.created event is announced after the consumer commits.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "libs/rpc/outbox_feed.h"
#include "services/conversations/conversations_repository.h"
#include "services/conversations/feed_events.h"

namespace vetline::conversations {

// What a call.ended record says, read from its JSON. std::nullopt for a record without
// the ids it needs (logged and skipped: a malformed record must not hold the feed back).
struct EndedCall {
  std::string call_id, clinic_id, conversation_id;  // conversation_id empty: none
  v1::CallRecord record;                              // recording urls not yet set
  std::vector<std::string> recording_ids;
};
std::optional<EndedCall> ParseCallEnded(const std::string& payload);

// The system message's words: "Video call, 12 min 5 s, with Dr Lee and Pat (recorded)".
std::string CallRecordText(const v1::CallRecord& record);

// `public_url` is the base of the recording links (media's GET /v1/recordings/{id}, which
// shows the recording's state and, once composed, its download link).
rpc::ConsumerSpec FollowCalls(ConversationsRepository& repo, ConsumerEvents& events,
                              std::string public_url);

}  // namespace vetline::conversations
