#include "services/media/call_room.h"

#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/core/time.h"

namespace vetline::media {

void CallRoom::Emit(const std::string& type, const v1::Call& call, const v1::Participant* about) {
  v1::CallEvent e;
  e.set_type(type);
  *e.mutable_call() = call;
  if (about) *e.mutable_participant() = *about;
  *e.mutable_time() = ToTimestamp(clock_.Now());
  events_.Publish(call.id(), e);
}

void CallRoom::EndSessionsOf(const std::string& call_id, const std::string& participant_id) {
  auto sessions = repo_.LiveSessions(call_id, participant_id);
  if (!sessions.ok()) return;
  for (const std::string& id : *sessions) {
    (void)engine_.EndSession(call_id, id);  // may have ended with its publication already
    if (auto s = repo_.EndSession(id); !s.ok()) log::Warn("ending a session failed", {{"error", s.ToString()}});
  }
}

absl::Status CallRoom::EndMediaSession(const SessionRow& s) {
  (void)engine_.EndSession(s.call_id, s.id);  // may have ended with its publication already
  VL_RETURN_IF_ERROR(repo_.EndSession(s.id));
  if (s.kind != "subscription") {
    VL_ASSIGN_OR_RETURN(v1::Call call, repo_.GetCall(s.call_id));
    VL_ASSIGN_OR_RETURN(ParticipantRow now, repo_.GetParticipant(s.participant_id));
    Emit("unpublished", call, &now.participant);
  }
  return absl::OkStatus();
}

absl::Status CallRoom::StopRecordingIfOn(const std::string& call_id) {
  VL_ASSIGN_OR_RETURN(std::optional<std::string> active, repo_.ActiveRecording(call_id));
  if (!active) return absl::OkStatus();
  VL_RETURN_IF_ERROR(engine_.StopRecording(call_id));
  return repo_.StopRecording(call_id).status();
}

}  // namespace vetline::media
