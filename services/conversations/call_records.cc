#include "services/conversations/call_records.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/core/time.h"
#include "nlohmann/json.hpp"
#include "services/conversations/feed_events.h"
#include "services/conversations/inbox_rules.h"

namespace vetline::conversations {
namespace {

// PostgreSQL's json of a timestamptz: "2026-12-01T14:10:03.123456+00:00".
std::optional<absl::Time> JsonTime(const nlohmann::json& v) {
  if (!v.is_string()) return std::nullopt;
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, v.get<std::string>(), &t, &err)) return std::nullopt;
  return t;
}

}  // namespace

std::optional<EndedCall> ParseCallEnded(const std::string& payload) {
  nlohmann::json e = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!e.is_object()) return std::nullopt;
  EndedCall out;
  out.call_id = FeedText(e, "callId");
  out.clinic_id = FeedText(e, "clinicId");
  out.conversation_id = FeedText(e, "conversationId");
  if (out.call_id.empty() || out.clinic_id.empty()) return std::nullopt;
  v1::CallRecord& r = out.record;
  r.set_call_id(out.call_id);
  if (auto t = JsonTime(e.value("startTime", nlohmann::json()))) *r.mutable_start_time() = ToTimestamp(*t);
  if (auto t = JsonTime(e.value("endTime", nlohmann::json()))) *r.mutable_end_time() = ToTimestamp(*t);
  const nlohmann::json d = e.value("durationSeconds", nlohmann::json());
  if (d.is_number()) r.set_duration_seconds(std::llround(d.get<double>()));
  for (const auto& p : e.value("participants", nlohmann::json::array())) {
    if (!p.is_object() || !p.value("name", nlohmann::json()).is_string()) continue;
    const std::string name = p["name"].get<std::string>();
    // Someone who rejoined is one participant.
    if (std::find(r.participants().begin(), r.participants().end(), name) == r.participants().end()) {
      r.add_participants(name);
    }
  }
  for (const auto& id : e.value("recordingIds", nlohmann::json::array())) {
    if (id.is_string()) out.recording_ids.push_back(id.get<std::string>());
  }
  r.set_recorded(!out.recording_ids.empty());
  return out;
}

std::string CallRecordText(const v1::CallRecord& r) {
  std::string text = r.has_start_time() ? absl::StrCat("Video call, ", rules::CallDuration(r.duration_seconds()))
                                        : std::string("Video call (nobody joined the host)");
  if (r.participants_size() > 0) {
    absl::StrAppend(&text, ", with ", absl::StrJoin(r.participants(), ", "));
  }
  absl::StrAppend(&text, r.recorded() ? " (recorded)." : ".");
  return text;
}

rpc::ConsumerSpec FollowCalls(ConversationsRepository& repo, ConsumerEvents& events,
                              std::string public_url) {
  return {
      .source = "media",
      .topics = {"call.ended"},
      .handle = [&repo, &events, public_url](pg::Session& s, const std::string&,
                                            const std::string& payload) -> absl::Status {
        Events* logged = events.Begin();
        std::optional<EndedCall> call = ParseCallEnded(payload);
        if (!call) {
          log::Error("call.ended record without its ids; skipped", {{"payload", payload}});
          return absl::OkStatus();
        }
        if (call->conversation_id.empty()) return absl::OkStatus();  // not made from a conversation
        VL_ASSIGN_OR_RETURN(bool done, repo.CallRecorded(s, call->clinic_id, call->call_id));
        if (done) return absl::OkStatus();
        for (const std::string& id : call->recording_ids) {
          call->record.add_recording_urls(absl::StrCat(public_url, "/v1/recordings/", id));
        }
        if (!call->recording_ids.empty()) call->record.set_recording_url(call->record.recording_urls(0));
        v1::Attachment a;
        *a.mutable_call_record() = call->record;
        std::string content;
        if (!google::protobuf::util::MessageToJsonString(a, &content).ok()) {
          return absl::InternalError("encoding the call record failed");
        }
        NewMessage m;
        m.conversation_id = call->conversation_id;
        m.author = v1::SYSTEM;
        m.text = CallRecordText(call->record);
        m.attachments.push_back({.kind = "call_record", .content = content, .ref_id = call->call_id});
        // The record is for the conversation's history, not news to send the client.
        auto sent = repo.SendMessage(s, Viewer{.clinic_id = call->clinic_id}, m, logged);
        if (absl::IsNotFound(sent.status())) {
          log::Warn("call.ended for a conversation that is not there; skipped",
                    {{"call", call->call_id}, {"conversation", call->conversation_id}});
          return absl::OkStatus();
        }
        return sent.status();
      },
      .after_commit = [&events] { events.AfterCommit(); }};
}

}  // namespace vetline::conversations
