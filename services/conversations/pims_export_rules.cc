#include "services/conversations/pims_export_rules.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "libs/core/time.h"
#include "services/conversations/inbox_rules.h"

namespace vetline::conversations::rules {
namespace {

std::string Local(const google::protobuf::Timestamp& t, const absl::TimeZone& zone) {
  return absl::FormatTime("%Y-%m-%d %H:%M", FromTimestamp(t), zone);
}

std::string Size(int64_t bytes) {
  char buf[32];
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  if (bytes < 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.0f KB", bytes / 1024.0);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MB", bytes / (1024.0 * 1024.0));
  }
  return buf;
}

std::string Author(const v1::Message& m) {
  switch (m.author()) {
    case v1::STAFF: return m.internal_note() ? "Staff (internal note)" : "Staff";
    case v1::CLIENT:
      switch (m.received_via()) {
        case v1::TEXT: return "Client (text)";
        case v1::EMAIL: return "Client (email)";
        default: return "Client";
      }
    default: return "Vetline";
  }
}

std::string Line(const v1::Message& m, const absl::TimeZone& zone) {
  std::vector<std::string> parts;
  // Continuation lines are indented so each message still starts a line of its own.
  if (!m.text().empty()) parts.push_back(absl::StrReplaceAll(m.text(), {{"\r\n", "\n"}, {"\n", "\n    "}}));
  for (const v1::Attachment& a : m.attachments()) parts.push_back(DescribeAttachment(a, zone));
  return absl::StrCat(Local(m.create_time(), zone), " ", Author(m), ": ", absl::StrJoin(parts, " "), "\n");
}

}  // namespace

std::string DescribeAttachment(const v1::Attachment& a, const absl::TimeZone& zone) {
  switch (a.content_case()) {
    case v1::Attachment::kFile:
      return absl::StrCat("[file ", a.file().filename(), ", ", a.file().category(), ", ", Size(a.file().size_bytes()),
                          "]");
    case v1::Attachment::kVideoCall:
      return a.video_call().has_scheduled_start()
                 ? absl::StrCat("[video call invitation for ", Local(a.video_call().scheduled_start(), zone), "]")
                 : "[video call invitation]";
    case v1::Attachment::kCallRecord: {
      const v1::CallRecord& r = a.call_record();
      std::string out = absl::StrCat("[video call, ", CallDuration(r.duration_seconds()));
      if (r.participants_size() > 0) absl::StrAppend(&out, ", with ", absl::StrJoin(r.participants(), ", "));
      absl::StrAppend(&out, r.recorded() ? ", recorded (the recording stays in Vetline)]" : "]");
      return out;
    }
    case v1::Attachment::kPaymentRequest: return "[payment request]";
    case v1::Attachment::kForm: return "[form]";
    case v1::Attachment::kSurvey: return "[survey]";
    default: return "[attachment]";
  }
}

PimsNote RenderPimsNote(const std::vector<v1::Message>& messages, const absl::TimeZone& zone,
                        const std::string& zone_name, size_t max_bytes) {
  PimsNote note;
  std::string body;
  for (const v1::Message& m : messages) {
    std::string line = Line(m, zone);
    if (note.message_count > 0 && body.size() + line.size() > max_bytes) break;
    body += line;
    ++note.message_count;
  }
  if (note.message_count == 0) return note;
  const v1::Message& first = messages.front();
  const v1::Message& last = messages[note.message_count - 1];
  note.text = absl::StrCat("Conversation from Vetline, ", note.message_count,
                           note.message_count == 1 ? " message, " : " messages, ", Local(first.create_time(), zone),
                           " to ", Local(last.create_time(), zone), " (", zone_name, ")\n", body);
  return note;
}

}  // namespace vetline::conversations::rules
