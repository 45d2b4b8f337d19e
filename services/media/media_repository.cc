#include "services/media/media_repository.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/core/time.h"
#include "libs/core/status.h"
#include "services/media/call_rules.h"

namespace vetline::media {
namespace {


#define CALL_COLUMNS                                                                        \
  "c.id, c.clinic_id, c.host_id, coalesce(c.client_id, '') AS client_id, "                    \
  "coalesce(c.conversation_id, '') AS conversation_id, c.scheduled_start, c.state, "          \
  "c.create_time, c.start_time, c.end_time, c.lost, EXISTS (SELECT 1 FROM media.recordings r WHERE "  \
  "r.call_id = c.id AND r.state = 'recording') AS recording"
#define CALL_SELECT "SELECT " CALL_COLUMNS " FROM media.calls c "

constexpr pg::Statement kCreateCall{
    "media_create_call",
    "WITH c AS (INSERT INTO media.calls (clinic_id, host_id, client_id, conversation_id, "
    "scheduled_start, state) VALUES ($1, $2, NULLIF($3, ''), NULLIF($4, ''), $5, $6) RETURNING *) "
    "SELECT id, clinic_id, host_id, coalesce(client_id, '') AS client_id, "
    "coalesce(conversation_id, '') AS conversation_id, scheduled_start, state, create_time, "
    "start_time, end_time, lost, false AS recording FROM c"};
constexpr pg::Statement kGetCall{"media_get_call", CALL_SELECT "WHERE id = $1"};
constexpr pg::Statement kSetCallState{
    "media_set_call_state",
    "UPDATE media.calls SET state = $2, "
    "start_time = CASE WHEN $2 = 'live' THEN coalesce(start_time, now()) ELSE start_time END, "
    "end_time = CASE WHEN $2 = 'ended' THEN coalesce(end_time, now()) ELSE end_time END "
    "WHERE id = $1 AND state <> 'ended'"};

#define PARTICIPANT_SELECT                                                                      \
  "SELECT p.id, p.call_id, p.display_name, p.role, p.state, p.muted, p.camera_off, p.join_time, " \
  "EXISTS (SELECT 1 FROM media.sessions s WHERE s.participant_id = p.id AND s.kind = 'screen' "   \
  "AND s.end_time IS NULL) AS screen_sharing, "                                                  \
  "coalesce((SELECT string_agg(s.id || ':' || s.kind, ',' ORDER BY s.create_time) FROM "         \
  "media.sessions s WHERE s.participant_id = p.id AND s.kind <> 'subscription' AND "            \
  "s.end_time IS NULL), '') AS publications FROM media.participants p "

constexpr pg::Statement kCallEndedEvent{
    "media_call_ended_event",
    "SELECT json_build_object('callId', c.id, 'clinicId', c.clinic_id, 'clientId', c.client_id, "
    "'conversationId', c.conversation_id, 'startTime', c.start_time, 'endTime', c.end_time, "
    "'durationSeconds', coalesce(extract(epoch FROM c.end_time - c.start_time), 0), "
    "'participants', coalesce((SELECT json_agg(json_build_object('name', p.display_name, 'role', p.role) "
    "ORDER BY p.join_time) FROM media.participants p WHERE p.call_id = c.id), '[]'), "
    "'lost', c.lost, 'recordingIds', coalesce((SELECT json_agg(r.id ORDER BY r.start_time) FROM media.recordings r "
    "WHERE r.call_id = c.id), '[]'), 'link', '/v1/calls/' || c.id)::text AS payload "
    "FROM media.calls c WHERE c.id = $1"};

constexpr pg::Statement kAddParticipant{
    "media_add_participant",
    "INSERT INTO media.participants (call_id, display_name, role, state, invitation_hash) "
    "VALUES ($1, $2, $3, $4, NULLIF($5, '')) RETURNING id"};
constexpr pg::Statement kGetParticipant{"media_get_participant", PARTICIPANT_SELECT "WHERE p.id = $1"};
constexpr pg::Statement kListParticipants{
    "media_list_participants",
    PARTICIPANT_SELECT "WHERE p.call_id = $1 AND p.state IN ('waiting', 'admitted') ORDER BY p.join_time, p.id"};
constexpr pg::Statement kRemovedWithInvitation{
    "media_removed_with_invitation",
    "SELECT DISTINCT role FROM media.participants WHERE call_id = $1 AND invitation_hash = $2 "
    "AND state = 'removed'"};
constexpr pg::Statement kCountAdmitted{
    "media_count_admitted",
    "SELECT count(*)::int AS n FROM media.participants WHERE call_id = $1 AND state = 'admitted'"};
constexpr pg::Statement kMoveParticipant{
    "media_move_participant",
    "UPDATE media.participants SET state = $4, "
    "leave_time = CASE WHEN $4 IN ('removed', 'left') THEN now() ELSE NULL END "
    "WHERE call_id = $1 AND id = $2 AND state = ANY(string_to_array($3, ',')) RETURNING id"};
constexpr pg::Statement kSetMediaState{
    "media_set_media_state",
    "UPDATE media.participants SET muted = $2, camera_off = $3 WHERE id = $1 RETURNING id"};

constexpr pg::Statement kAddSession{
    "media_add_session",
    "INSERT INTO media.sessions (call_id, participant_id, kind, publication_id) "
    "VALUES ($1, $2, $3, NULLIF($4, '')::uuid) RETURNING id"};
constexpr pg::Statement kDeleteSession{"media_delete_session", "DELETE FROM media.sessions WHERE id = $1"};
constexpr pg::Statement kGetSession{
    "media_get_session",
    "SELECT id, call_id, participant_id, kind, coalesce(publication_id::text, '') AS publication_id, "
    "end_time IS NOT NULL AS ended FROM media.sessions WHERE id = $1"};
constexpr pg::Statement kEndSession{
    "media_end_session",
    "UPDATE media.sessions SET end_time = now() WHERE (id = $1 OR publication_id = $1) AND end_time IS NULL"};
constexpr pg::Statement kLiveSessions{
    "media_live_sessions",
    "SELECT id FROM media.sessions WHERE call_id = $1 AND end_time IS NULL AND "
    "($2 = '' OR participant_id = NULLIF($2, '')::uuid) ORDER BY kind = 'subscription' DESC, create_time"};

constexpr pg::Statement kStartRecording{
    "media_start_recording",
    "INSERT INTO media.recordings (call_id, clinic_id, state, volume) SELECT $1, $2, 'recording', $3 "
    "WHERE NOT EXISTS (SELECT 1 FROM media.recordings WHERE call_id = $1 AND state = 'recording') "
    "RETURNING id"};
constexpr pg::Statement kStopRecording{
    "media_stop_recording",
    "UPDATE media.recordings SET state = 'pending', stop_time = now(), update_time = now() "
    "WHERE call_id = $1 AND state = 'recording' RETURNING id"};
constexpr pg::Statement kActiveRecording{
    "media_active_recording", "SELECT id FROM media.recordings WHERE call_id = $1 AND state = 'recording'"};
constexpr pg::Statement kAddTrack{
    "media_add_track",
    "INSERT INTO media.recording_tracks (recording_id, publication_id, path, start_time) "
    "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"};
constexpr pg::Statement kGetRecording{
    "media_get_recording",
    "SELECT id, call_id, clinic_id, start_time, stop_time, state, progress, error, duration_seconds, "
    "interrupted, coalesce(blob_key, '') AS blob_key FROM media.recordings WHERE id = $1"};
constexpr pg::Statement kRecordingsOf{
    "media_recordings_of",
    "SELECT id, call_id, clinic_id, start_time, stop_time, state, progress, error, duration_seconds, "
    "interrupted, coalesce(blob_key, '') AS blob_key FROM media.recordings WHERE call_id = $1 "
    "ORDER BY start_time"};
constexpr pg::Statement kClaimCompose{
    "media_claim_compose",
    "UPDATE media.recordings SET state = 'composing', progress = 0, composer = $2, update_time = now() "
    "WHERE id = (SELECT id FROM media.recordings WHERE state = 'pending' AND (volume IS NULL OR "
    "volume = $1) ORDER BY stop_time FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING id, start_time"};
constexpr pg::Statement kTracksOf{
    "media_tracks_of",
    "SELECT path, start_time FROM media.recording_tracks WHERE recording_id = $1 ORDER BY start_time"};
constexpr pg::Statement kSetProgress{
    "media_set_progress",
    "UPDATE media.recordings SET progress = $2, update_time = now() WHERE id = $1 AND state = 'composing'"};
constexpr pg::Statement kFinishCompose{
    "media_finish_compose",
    "UPDATE media.recordings SET state = 'ready', progress = 1, blob_key = $2, duration_seconds = $3, "
    "update_time = now() WHERE id = $1"};
constexpr pg::Statement kFailCompose{
    "media_fail_compose",
    "UPDATE media.recordings SET state = 'failed', error = $2, update_time = now() WHERE id = $1"};
constexpr pg::Statement kHeartbeat{
    "media_heartbeat",
    "INSERT INTO media.replicas (id, volume, calls, sessions) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (id) DO UPDATE SET volume = $2, calls = $3, sessions = $4, heartbeat_time = now()"};
constexpr pg::Statement kDeregister{"media_deregister", "DELETE FROM media.replicas WHERE id = $1"};
constexpr pg::Statement kOwnerOf{
    "media_owner_of",
    "WITH claimed AS (UPDATE media.calls SET owner = $2 WHERE id = $1 AND owner IS NULL AND "
    "state <> 'ended' AND $2 <> '' RETURNING owner) "
    "SELECT state = 'ended' AS ended, coalesce((SELECT owner FROM claimed), owner, '') AS owner "
    "FROM media.calls WHERE id = $1"};
// Placements queue up behind one lock, so two at once see each other's choice.
constexpr pg::Statement kPlacementLock{"media_placement_lock",
                                       "SELECT pg_advisory_xact_lock(hashtext('media.placement'))"};
constexpr pg::Statement kPlaceCall{
    "media_place_call",
    "WITH chosen AS (SELECT r.id FROM media.replicas r WHERE r.heartbeat_time > now() - "
    "make_interval(secs => $2::float8) ORDER BY (SELECT count(*) FROM media.calls c WHERE "
    "c.owner = r.id AND c.state <> 'ended'), r.sessions, r.id LIMIT 1) "
    "UPDATE media.calls SET owner = (SELECT id FROM chosen) WHERE id = $1 AND owner IS NULL AND "
    "EXISTS (SELECT 1 FROM chosen) RETURNING owner"};
constexpr pg::Statement kCallOwner{"media_call_owner",
                                   "SELECT coalesce(owner, '') AS owner FROM media.calls WHERE id = $1"};
constexpr pg::Statement kReplicaAlive{
    "media_replica_alive",
    "SELECT EXISTS (SELECT 1 FROM media.replicas WHERE id = $1 AND heartbeat_time > now() - "
    "make_interval(secs => $2::float8)) AS alive"};
constexpr pg::Statement kDeadOwners{
    "media_dead_owners",
    "SELECT DISTINCT c.owner FROM media.calls c WHERE c.state <> 'ended' AND c.owner IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM media.replicas r WHERE r.id = c.owner AND r.heartbeat_time > "
    "now() - make_interval(secs => $1::float8)) "
    "UNION SELECT id FROM media.replicas WHERE heartbeat_time <= now() - make_interval(secs => $1::float8) "
    "UNION SELECT DISTINCT r.composer FROM media.recordings r WHERE r.state = 'composing' AND "
    "r.composer IS NOT NULL AND NOT EXISTS (SELECT 1 FROM media.replicas x WHERE x.id = r.composer "
    "AND x.heartbeat_time > now() - make_interval(secs => $1::float8))"};
// One reaper per dead replica at a time (others wait, then find nothing left to do).
constexpr pg::Statement kReplicaLock{"media_replica_lock",
                                     "SELECT pg_advisory_xact_lock(hashtext('media.replica:' || $1))"};
constexpr pg::Statement kRemoveDead{
    "media_remove_dead",
    "DELETE FROM media.replicas WHERE id = $1 AND heartbeat_time <= now() - make_interval(secs => $2::float8)"};
constexpr pg::Statement kLoseCalls{
    "media_lose_calls",
    "UPDATE media.calls SET state = 'ended', lost = true, end_time = coalesce(end_time, now()) "
    "WHERE owner = $1 AND state <> 'ended' RETURNING id"};
constexpr pg::Statement kEndLostSessions{
    "media_end_lost_sessions",
    "UPDATE media.sessions SET end_time = now() WHERE call_id = ANY($1::uuid[]) AND end_time IS NULL"};
constexpr pg::Statement kInterruptRecordings{
    "media_interrupt_recordings",
    "UPDATE media.recordings SET interrupted = true, stop_time = coalesce(stop_time, now()), "
    "state = 'pending', update_time = now() WHERE call_id = ANY($1::uuid[]) AND state = 'recording'"};
constexpr pg::Statement kRequeueComposes{
    "media_requeue_composes",
    "UPDATE media.recordings SET state = 'pending', progress = 0, update_time = now() "
    "WHERE composer = $1 AND state = 'composing'"};

constexpr pg::Statement kCallHistory{
    "media_call_history",
    "SELECT " CALL_COLUMNS ", x.host_name, x.client_name, x.names FROM media.calls c, LATERAL (SELECT coalesce((SELECT display_name FROM media.participants WHERE call_id = c.id "
    "AND role = 'host' ORDER BY join_time LIMIT 1), '') AS host_name, "
    "coalesce((SELECT display_name FROM media.participants WHERE call_id = c.id AND role = 'client' "
    "ORDER BY join_time LIMIT 1), '') AS client_name, "
    "coalesce((SELECT string_agg(display_name, chr(31) ORDER BY join_time) FROM media.participants "
    "WHERE call_id = c.id AND state <> 'waiting'), '') AS names) x "
    "WHERE c.clinic_id = $1 AND ($4 = '' OR c.client_id = $4) "
    "ORDER BY c.create_time DESC, c.id LIMIT $2 OFFSET $3"};

v1::Call CallFrom(const pg::Result& r, int i) {
  v1::Call c;
  c.set_id(r.Text(i, "id"));
  c.set_clinic_id(r.Text(i, "clinic_id"));
  c.set_host_id(r.Text(i, "host_id"));
  c.set_client_id(r.Text(i, "client_id"));
  c.set_conversation_id(r.Text(i, "conversation_id"));
  if (!r.IsNull(i, r.column("scheduled_start"))) {
    *c.mutable_scheduled_start() = ToTimestamp(r.Time(i, "scheduled_start"));
  }
  c.set_state(r.Text(i, "state"));
  c.set_lost(r.Bool(i, "lost"));
  c.set_recording(r.Bool(i, "recording"));
  *c.mutable_create_time() = ToTimestamp(r.Time(i, "create_time"));
  if (!r.IsNull(i, r.column("start_time"))) *c.mutable_start_time() = ToTimestamp(r.Time(i, "start_time"));
  if (!r.IsNull(i, r.column("end_time"))) *c.mutable_end_time() = ToTimestamp(r.Time(i, "end_time"));
  return c;
}

v1::Participant ParticipantFrom(const pg::Result& r, int i) {
  v1::Participant p;
  p.set_id(r.Text(i, "id"));
  p.set_display_name(r.Text(i, "display_name"));
  p.set_role(r.Text(i, "role"));
  p.set_state(r.Text(i, "state"));
  p.set_muted(r.Bool(i, "muted"));
  p.set_camera_off(r.Bool(i, "camera_off"));
  p.set_screen_sharing(r.Bool(i, "screen_sharing"));
  *p.mutable_join_time() = ToTimestamp(r.Time(i, "join_time"));
  // "id:kind,id:kind"
  for (absl::string_view item : absl::StrSplit(r.Text(i, "publications"), ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> id_kind = absl::StrSplit(item, ':');
    v1::Publication* pub = p.add_publications();
    pub->set_id(id_kind.first);
    pub->set_participant_id(p.id());
    pub->set_kind(id_kind.second);
  }
  return p;
}

RecordingRow RecordingFrom(const pg::Result& r, int i) {
  RecordingRow row;
  v1::Recording& rec = row.recording;
  rec.set_id(r.Text(i, "id"));
  rec.set_call_id(r.Text(i, "call_id"));
  *rec.mutable_start_time() = ToTimestamp(r.Time(i, "start_time"));
  if (!r.IsNull(i, r.column("stop_time"))) *rec.mutable_stop_time() = ToTimestamp(r.Time(i, "stop_time"));
  rec.set_state(r.Text(i, "state"));
  rec.set_progress(std::stod(r.Text(i, "progress")));
  rec.set_error(r.Text(i, "error"));
  rec.set_duration_seconds(std::stod(r.Text(i, "duration_seconds")));
  rec.set_interrupted(r.Bool(i, "interrupted"));
  row.clinic_id = r.Text(i, "clinic_id");
  row.blob_key = r.Text(i, "blob_key");
  return row;
}

}  // namespace

absl::StatusOr<v1::Call> MediaRepository::CreateCall(const std::string& clinic_id,
                                                      const std::string& host_id,
                                                      const v1::CreateCallRequest& req) {
  std::optional<absl::Time> start;
  if (req.has_scheduled_start()) start = FromTimestamp(req.scheduled_start());
  const rules::CallState state = start ? rules::CallState::kScheduled : rules::CallState::kWaiting;
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kCreateCall, {clinic_id, host_id, req.client_id(),
                                                              req.conversation_id(), start,
                                                              std::string(rules::ToText(state))}));
  return CallFrom(r, 0);
}

absl::StatusOr<v1::Call> MediaRepository::GetCall(const std::string& call_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kGetCall, {call_id}));
  if (r.rows() == 0) return absl::NotFoundError("no such call");
  return CallFrom(r, 0);
}

absl::StatusOr<v1::Call> MediaRepository::SetCallState(const std::string& call_id,
                                                       rules::CallState state) {
  VL_RETURN_IF_ERROR(pool_->Exec(kSetCallState, {call_id, std::string(rules::ToText(state))}).status());
  return GetCall(call_id);
}

absl::StatusOr<v1::Call> MediaRepository::EndCall(const std::string& call_id) {
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(pg::Result ended,
                        s.Exec(kSetCallState, {call_id, std::string(rules::ToText(rules::CallState::kEnded))}));
    if (ended.affected() == 0) return absl::OkStatus();  // already ended: one event only
    VL_ASSIGN_OR_RETURN(pg::Result event, s.Exec(kCallEndedEvent, {call_id}));
    return outbox_.Add(s, "call.ended", event.Text(0, "payload"));
  }));
  return GetCall(call_id);
}

absl::StatusOr<v1::Participant> MediaRepository::AddParticipant(const std::string& call_id,
                                                                const std::string& name, rules::Role role,
                                                                rules::ParticipantState state,
                                                                const std::string& invitation_hash) {
  VL_ASSIGN_OR_RETURN(pg::Result r,
                      pool_->Exec(kAddParticipant, {call_id, name, std::string(rules::ToText(role)),
                                                    std::string(rules::ToText(state)), invitation_hash}));
  VL_ASSIGN_OR_RETURN(ParticipantRow row, GetParticipant(r.Text(0, "id")));
  return row.participant;
}

absl::StatusOr<ParticipantRow> MediaRepository::GetParticipant(const std::string& participant_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kGetParticipant, {participant_id}));
  if (r.rows() == 0) return absl::NotFoundError("no such participant");
  return ParticipantRow{ParticipantFrom(r, 0), r.Text(0, "call_id")};
}

absl::StatusOr<std::vector<v1::Participant>> MediaRepository::ListParticipants(const std::string& call_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kListParticipants, {call_id}));
  std::vector<v1::Participant> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(ParticipantFrom(r, i));
  return out;
}

absl::StatusOr<bool> MediaRepository::InvitationRevoked(const std::string& call_id,
                                                       const std::string& invitation_hash) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kRemovedWithInvitation, {call_id, invitation_hash}));
  for (int i = 0; i < r.rows(); ++i) {
    std::optional<rules::Role> role = rules::RoleFrom(r.Text(i, "role"));
    if (role && rules::RemovalRevokesInvitation(*role)) return true;
  }
  return false;
}

absl::StatusOr<int> MediaRepository::CountAdmitted(const std::string& call_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kCountAdmitted, {call_id}));
  return std::stoi(r.Text(0, "n"));
}

absl::StatusOr<v1::Participant> MediaRepository::MoveParticipant(const std::string& call_id,
                                                                 const std::string& participant_id,
                                                                 rules::ParticipantState to) {
  // The states this move is allowed from (rules::CanMove), as the statement takes them.
  std::string states;
  for (rules::ParticipantState from : {rules::ParticipantState::kWaiting, rules::ParticipantState::kAdmitted,
                                       rules::ParticipantState::kRemoved, rules::ParticipantState::kLeft}) {
    if (rules::CanMove(from, to)) absl::StrAppend(&states, states.empty() ? "" : ",", std::string(rules::ToText(from)));
  }
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kMoveParticipant, {call_id, participant_id, states,
                                                                    std::string(rules::ToText(to))}));
  VL_ASSIGN_OR_RETURN(ParticipantRow row, GetParticipant(participant_id));
  if (row.call_id != call_id) return absl::NotFoundError("no such participant in this call");
  if (r.rows() == 0) {
    return absl::FailedPreconditionError(absl::StrCat("the participant is ", row.participant.state(),
                                                      ": they cannot be ", std::string(rules::ToText(to)), " now"));
  }
  return row.participant;
}

absl::StatusOr<v1::Participant> MediaRepository::SetMediaState(const std::string& participant_id,
                                                               bool muted, bool camera_off) {
  VL_RETURN_IF_ERROR(pool_->Exec(kSetMediaState, {participant_id, muted, camera_off}).status());
  VL_ASSIGN_OR_RETURN(ParticipantRow row, GetParticipant(participant_id));
  return row.participant;
}

absl::StatusOr<std::string> MediaRepository::AddSession(const std::string& call_id,
                                                        const std::string& participant_id,
                                                        const std::string& kind,
                                                        const std::string& publication_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kAddSession, {call_id, participant_id, kind, publication_id}));
  return r.Text(0, "id");
}

absl::Status MediaRepository::DeleteSession(const std::string& session_id) {
  return pool_->Exec(kDeleteSession, {session_id}).status();
}

absl::StatusOr<SessionRow> MediaRepository::GetSession(const std::string& session_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kGetSession, {session_id}));
  if (r.rows() == 0) return absl::NotFoundError("no such media session");
  return SessionRow{r.Text(0, "id"), r.Text(0, "call_id"), r.Text(0, "participant_id"),
                    r.Text(0, "kind"), r.Text(0, "publication_id"), r.Bool(0, "ended")};
}

absl::Status MediaRepository::EndSession(const std::string& session_id) {
  return pool_->Exec(kEndSession, {session_id}).status();
}

absl::StatusOr<std::vector<std::string>> MediaRepository::LiveSessions(const std::string& call_id,
                                                                       const std::string& participant_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kLiveSessions, {call_id, participant_id}));
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.Text(i, "id"));
  return out;
}

absl::StatusOr<v1::Recording> MediaRepository::StartRecording(const v1::Call& call,
                                                              const std::string& volume) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kStartRecording, {call.id(), call.clinic_id(), volume}));
  if (r.rows() == 0) return absl::FailedPreconditionError("the call is already being recorded");
  VL_ASSIGN_OR_RETURN(RecordingRow row, GetRecording(r.Text(0, "id")));
  return row.recording;
}

absl::StatusOr<v1::Recording> MediaRepository::StopRecording(const std::string& call_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kStopRecording, {call_id}));
  if (r.rows() == 0) return absl::FailedPreconditionError("the call is not being recorded");
  VL_ASSIGN_OR_RETURN(RecordingRow row, GetRecording(r.Text(0, "id")));
  return row.recording;
}

absl::StatusOr<std::optional<std::string>> MediaRepository::ActiveRecording(const std::string& call_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kActiveRecording, {call_id}));
  if (r.rows() == 0) return std::optional<std::string>();
  return std::optional<std::string>(r.Text(0, "id"));
}

absl::Status MediaRepository::AddTrack(const std::string& recording_id, const std::string& publication_id,
                                       const std::string& path, absl::Time start_time) {
  return pool_->Exec(kAddTrack, {recording_id, publication_id, path, start_time}).status();
}

absl::StatusOr<RecordingRow> MediaRepository::GetRecording(const std::string& recording_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kGetRecording, {recording_id}));
  if (r.rows() == 0) return absl::NotFoundError("no such recording");
  return RecordingFrom(r, 0);
}

absl::StatusOr<std::vector<v1::Recording>> MediaRepository::RecordingsOf(const std::string& call_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kRecordingsOf, {call_id}));
  std::vector<v1::Recording> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(RecordingFrom(r, i).recording);
  return out;
}

absl::StatusOr<std::optional<ComposeJob>> MediaRepository::ClaimCompose(const std::string& volume,
                                                                        const std::string& composer) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kClaimCompose, {volume, composer}));
  if (r.rows() == 0) return std::optional<ComposeJob>();
  ComposeJob job{r.Text(0, "id"), r.Time(0, "start_time"), {}};
  VL_ASSIGN_OR_RETURN(pg::Result tracks, pool_->Exec(kTracksOf, {job.recording_id}));
  for (int i = 0; i < tracks.rows(); ++i) {
    job.tracks.push_back({tracks.Text(i, "path"), tracks.Time(i, "start_time")});
  }
  return std::optional<ComposeJob>(std::move(job));
}

absl::Status MediaRepository::SetProgress(const std::string& recording_id, double progress) {
  return pool_->Exec(kSetProgress, {recording_id, absl::StrCat(progress)}).status();
}

absl::Status MediaRepository::FinishCompose(const std::string& recording_id, const std::string& blob_key,
                                            double duration_seconds) {
  return pool_->Exec(kFinishCompose, {recording_id, blob_key, absl::StrCat(duration_seconds)}).status();
}

absl::Status MediaRepository::FailCompose(const std::string& recording_id, const std::string& error) {
  return pool_->Exec(kFailCompose, {recording_id, error}).status();
}

absl::Status MediaRepository::Heartbeat(const ReplicaBeat& beat) {
  return pool_->Exec(kHeartbeat, {beat.id, beat.volume, beat.calls, beat.sessions}).status();
}

absl::Status MediaRepository::Deregister(const std::string& replica_id) {
  return pool_->Exec(kDeregister, {replica_id}).status();
}

absl::StatusOr<CallOwner> MediaRepository::OwnerOf(const std::string& call_id, const std::string& claim_for) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kOwnerOf, {call_id, claim_for}));
  if (r.rows() == 0) return absl::NotFoundError("no such call");
  return CallOwner{r.Bool(0, "ended"), r.Text(0, "owner")};
}

absl::StatusOr<std::string> MediaRepository::PlaceCall(const std::string& call_id, absl::Duration ttl) {
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(s.Exec(kPlacementLock).status());
    return s.Exec(kPlaceCall, {call_id, absl::StrCat(absl::ToDoubleSeconds(ttl))}).status();
  }));
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kCallOwner, {call_id}));
  if (r.rows() == 0) return absl::NotFoundError("no such call");
  if (r.Text(0, "owner").empty()) return absl::UnavailableError("no media server is running: try again shortly");
  return r.Text(0, "owner");
}

absl::StatusOr<bool> MediaRepository::ReplicaAlive(const std::string& replica_id, absl::Duration ttl) {
  VL_ASSIGN_OR_RETURN(pg::Result r,
                      pool_->Exec(kReplicaAlive, {replica_id, absl::StrCat(absl::ToDoubleSeconds(ttl))}));
  return r.Bool(0, "alive");
}

absl::StatusOr<std::vector<std::string>> MediaRepository::DeadOwners(absl::Duration ttl) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kDeadOwners, {absl::StrCat(absl::ToDoubleSeconds(ttl))}));
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.Text(i, 0));
  return out;
}

absl::StatusOr<int> MediaRepository::LoseReplica(const std::string& replica_id, absl::Duration ttl) {
  const std::string ttl_seconds = absl::StrCat(absl::ToDoubleSeconds(ttl));
  int lost = 0;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    lost = 0;
    VL_RETURN_IF_ERROR(s.Exec(kReplicaLock, {replica_id}).status());
    VL_ASSIGN_OR_RETURN(pg::Result alive, s.Exec(kReplicaAlive, {replica_id, ttl_seconds}));
    if (alive.Bool(0, "alive")) return absl::OkStatus();  // it beat again: not dead after all
    VL_RETURN_IF_ERROR(s.Exec(kRemoveDead, {replica_id, ttl_seconds}).status());
    VL_ASSIGN_OR_RETURN(pg::Result calls, s.Exec(kLoseCalls, {replica_id}));
    std::string ids = "{";
    for (int i = 0; i < calls.rows(); ++i) absl::StrAppend(&ids, i ? "," : "", calls.Text(i, "id"));
    ids += "}";
    VL_RETURN_IF_ERROR(s.Exec(kEndLostSessions, {ids}).status());
    VL_RETURN_IF_ERROR(s.Exec(kInterruptRecordings, {ids}).status());
    VL_RETURN_IF_ERROR(s.Exec(kRequeueComposes, {replica_id}).status());
    for (int i = 0; i < calls.rows(); ++i) {
      VL_ASSIGN_OR_RETURN(pg::Result event, s.Exec(kCallEndedEvent, {calls.Text(i, "id")}));
      VL_RETURN_IF_ERROR(outbox_.Add(s, "call.ended", event.Text(0, "payload")));
    }
    lost = calls.rows();
    return absl::OkStatus();
  }));
  return lost;
}

absl::StatusOr<v1::CallHistoryResponse> MediaRepository::CallHistory(const std::string& clinic_id,
                                                                     const std::string& client_id, int limit,
                                                                     int offset) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kCallHistory, {clinic_id, limit + 1, offset, client_id}));
  v1::CallHistoryResponse out;
  for (int i = 0; i < std::min(r.rows(), limit); ++i) {
    v1::CallHistoryRow* row = out.add_calls();
    *row->mutable_call() = CallFrom(r, i);
    row->set_host_name(r.Text(i, "host_name"));
    row->set_client_name(r.Text(i, "client_name"));
    // Display names may hold commas: they are joined with the unit separator.
    for (absl::string_view name : absl::StrSplit(r.Text(i, "names"), '\x1f', absl::SkipEmpty())) {
      row->add_participant_names(std::string(name));
    }
    const v1::Call& c = row->call();
    if (c.has_start_time() && c.has_end_time()) {
      // Exact, as in the call.ended record (not whole seconds).
      row->set_duration_seconds(absl::ToDoubleSeconds(FromTimestamp(c.end_time()) - FromTimestamp(c.start_time())));
    }
    VL_ASSIGN_OR_RETURN(std::vector<v1::Recording> recordings, RecordingsOf(c.id()));
    row->set_recorded(!recordings.empty());
    for (auto& rec : recordings) *row->add_recordings() = std::move(rec);
  }
  if (r.rows() > limit) out.set_next_page_token(std::to_string(offset + limit));
  return out;
}

}  // namespace vetline::media
