// The text of a conversation's record as the PIMS keeps it (a client communication
// note): one line per message in the clinic's local time, who wrote it, how a client's
// message arrived, internal notes marked, and attachments named, never their contents.
// Pure: no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "vetline/conversations/v1/conversations.pb.h"

namespace vetline::conversations::rules {

// A PIMS note holds plain text of modest size; a longer record goes in several exports.
inline constexpr size_t kMaxNoteBytes = 64 * 1024;

struct PimsNote {
  std::string text;
  int message_count = 0;  // how many of the messages (from the first) the note holds
};

// `messages` oldest first. The note always holds at least the first message; it stops
// before the message that would take it past `max_bytes`.
PimsNote RenderPimsNote(const std::vector<v1::Message>& messages, const absl::TimeZone& zone,
                        const std::string& zone_name, size_t max_bytes = kMaxNoteBytes);

// One attachment as the note names it: "[file xray.jpg, image, 1.2 MB]".
std::string DescribeAttachment(const v1::Attachment& a, const absl::TimeZone& zone);

}  // namespace vetline::conversations::rules
