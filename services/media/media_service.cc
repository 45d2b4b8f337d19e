#include "services/media/media_service.h"

#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/core/time.h"
#include "libs/core/ids.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/rpc/rpc.h"
#include "services/media/composer.h"

namespace vetline::media {
namespace {

constexpr char kJoinPurpose[] = "video-join";
constexpr char kParticipantPurpose[] = "video-participant";
constexpr absl::Duration kParticipantTokenLife = absl::Hours(12);
constexpr size_t kMaxDisplayName = 80;
constexpr size_t kChunkBytes = 64 * 1024;

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

absl::Status CheckId(std::string_view field, const std::string& value) {
  if (!IsUuid(value)) return InvalidField(field, absl::StrCat(std::string(field), " must be an id"));
  return absl::OkStatus();
}

absl::StatusOr<std::string> DisplayName(const std::string& name, const std::string& fallback) {
  std::string trimmed(absl::StripAsciiWhitespace(name));
  if (trimmed.empty()) {
    if (!fallback.empty()) return fallback;
    return InvalidField("display_name", "display_name is required: the host sees it in the waiting room");
  }
  if (trimmed.size() > kMaxDisplayName) {
    return InvalidField("display_name", "display_name must be at most 80 characters");
  }
  return trimmed;
}

}  // namespace

absl::StatusOr<v1::Call> MediaService::StaffCall(grpc::ServerContext* ctx, const std::string& call_id,
                                                 bool host_only, api::Principal* who) {
  VL_ASSIGN_OR_RETURN(api::Principal p, rpc::PrincipalOf(*ctx, signer_));
  if (p.kind() != api::Principal::STAFF) return absl::PermissionDeniedError("only clinic staff may do this");
  VL_RETURN_IF_ERROR(CheckId("call_id", call_id));
  absl::StatusOr<v1::Call> call = repo_.GetCall(call_id);
  if (absl::IsNotFound(call.status()) || (call.ok() && call->clinic_id() != p.clinic_id())) {
    return absl::NotFoundError("no such call");
  }
  if (!call.ok()) return call.status();
  if (host_only && call->host_id() != p.user_id() && p.role() != "admin") {
    return absl::PermissionDeniedError("only the call's host can do this");
  }
  if (who) *who = p;
  return call;
}

absl::StatusOr<ParticipantRow> MediaService::Participant(const std::string& token,
                                                         const std::string& call_id,
                                                         bool must_be_admitted) {
  if (token.empty()) return absl::UnauthenticatedError("a participant token is required");
  absl::StatusOr<std::string> id = links_.Verify(token, kParticipantPurpose, clock_.Now());
  if (!id.ok()) return absl::UnauthenticatedError("the participant token is invalid or expired: join again");
  VL_ASSIGN_OR_RETURN(ParticipantRow row, repo_.GetParticipant(*id));
  if (row.call_id != call_id) return absl::PermissionDeniedError("this participant token is for another call");
  const std::string& state = row.participant.state();
  if (state == "removed") return absl::PermissionDeniedError("the host removed you from this call");
  if (state == "left") return absl::FailedPreconditionError("you left this call: join again");
  if (must_be_admitted && state != "admitted") {
    return absl::FailedPreconditionError("wait until the host admits you");
  }
  return row;
}

absl::StatusOr<v1::JoinResponse> MediaService::Joined(const v1::Participant& p, const v1::Call& call) {
  v1::JoinResponse out;
  *out.mutable_participant() = p;
  absl::Time expires = clock_.Now() + kParticipantTokenLife;
  out.set_participant_token(links_.Sign(kParticipantPurpose, p.id(), expires));
  *out.mutable_expire_time() = ToTimestamp(expires);
  return out;
}

void MediaService::Emit(const std::string& type, const v1::Call& call, const v1::Participant* about) {
  v1::CallEvent e;
  e.set_type(type);
  *e.mutable_call() = call;
  if (about) *e.mutable_participant() = *about;
  *e.mutable_time() = ToTimestamp(clock_.Now());
  events_.Publish(call.id(), e);
}

void MediaService::EndSessionsOf(const std::string& call_id, const std::string& participant_id) {
  auto sessions = repo_.LiveSessions(call_id, participant_id);
  if (!sessions.ok()) return;
  for (const std::string& id : *sessions) {
    (void)engine_.EndSession(call_id, id);  // may have ended with its publication already
    if (auto s = repo_.EndSession(id); !s.ok()) log::Warn("ending a session failed", {{"error", s.ToString()}});
  }
}

absl::Status MediaService::StopRecordingIfOn(const std::string& call_id) {
  VL_ASSIGN_OR_RETURN(std::optional<std::string> active, repo_.ActiveRecording(call_id));
  if (!active) return absl::OkStatus();
  VL_RETURN_IF_ERROR(engine_.StopRecording(call_id));
  return repo_.StopRecording(call_id).status();
}

grpc::Status MediaService::CreateCall(grpc::ServerContext* ctx, const v1::CreateCallRequest* req,
                                      v1::CreateCallResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::PrincipalOf(*ctx, signer_));
    if (p.kind() != api::Principal::STAFF) return absl::PermissionDeniedError("only clinic staff can create calls");
    if (!req->client_id().empty()) VL_RETURN_IF_ERROR(CheckId("client_id", req->client_id()));
    if (req->has_scheduled_start() && FromProto(req->scheduled_start()) < clock_.Now() - absl::Hours(24)) {
      return InvalidField("scheduled_start", "scheduled_start is more than a day in the past");
    }
    VL_ASSIGN_OR_RETURN(v1::Call call, repo_.CreateCall(p.clinic_id(), p.user_id(), *req));
    absl::Time base = req->has_scheduled_start() ? FromProto(req->scheduled_start()) : clock_.Now();
    absl::Time expires = std::max(base, clock_.Now()) + options_.invitation_ttl;
    v1::Invitation* inv = resp->mutable_invitation();
    inv->set_join_token(links_.Sign(kJoinPurpose, call.id() + "/client", expires));
    inv->set_direct_token(links_.Sign(kJoinPurpose, call.id() + "/guest", expires));
    inv->set_join_url(absl::StrCat(options_.web_url, "/video/", call.id(), "?invitation=", inv->join_token()));
    inv->set_direct_url(absl::StrCat(options_.web_url, "/video/", call.id(), "?invitation=", inv->direct_token()));
    *inv->mutable_expire_time() = ToTimestamp(expires);
    *resp->mutable_call() = std::move(call);
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::GetCall(grpc::ServerContext* ctx, const v1::GetCallRequest* req, v1::Call* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(*resp, StaffCall(ctx, req->id(), false));
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::EndCall(grpc::ServerContext* ctx, const v1::EndCallRequest* req, v1::Call* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(v1::Call call, StaffCall(ctx, req->id(), true));
    if (call.state() == "ended") {
      *resp = call;
      return absl::OkStatus();
    }
    VL_RETURN_IF_ERROR(StopRecordingIfOn(call.id()));
    engine_.EndCall(call.id());
    EndSessionsOf(call.id(), "");
    VL_ASSIGN_OR_RETURN(std::vector<v1::Participant> people, repo_.ListParticipants(call.id()));
    for (const auto& person : people) {
      (void)repo_.MoveParticipant(call.id(), person.id(), {"waiting", "admitted"}, "left");
    }
    VL_ASSIGN_OR_RETURN(*resp, repo_.EndCall(call.id()));
    Emit("ended", *resp, nullptr);
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::HostJoin(grpc::ServerContext* ctx, const v1::HostJoinRequest* req,
                                    v1::JoinResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(v1::Call call, StaffCall(ctx, req->call_id(), true));
    if (call.state() == "ended") return absl::FailedPreconditionError("the call has ended");
    VL_ASSIGN_OR_RETURN(std::string name, DisplayName(req->display_name(), "Host"));
    VL_ASSIGN_OR_RETURN(v1::Participant p, repo_.AddParticipant(call.id(), name, "host", "admitted", ""));
    VL_ASSIGN_OR_RETURN(call, repo_.SetCallState(call.id(), "live"));
    Emit("admitted", call, &p);
    VL_ASSIGN_OR_RETURN(*resp, Joined(p, call));
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::Join(grpc::ServerContext*, const v1::JoinRequest* req, v1::JoinResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(CheckId("call_id", req->call_id()));
    if (req->invitation_token().empty()) {
      return InvalidField("invitation_token", "invitation_token is required (from the join link)");
    }
    absl::StatusOr<std::string> subject = links_.Verify(req->invitation_token(), kJoinPurpose, clock_.Now());
    if (!subject.ok()) {
      return absl::PermissionDeniedError("this join link is invalid or has expired: ask the clinic for a new one");
    }
    std::pair<std::string, std::string> call_role = absl::StrSplit(*subject, '/');
    if (call_role.first != req->call_id()) {
      return absl::PermissionDeniedError("this join link is for another call");
    }
    VL_ASSIGN_OR_RETURN(std::string name, DisplayName(req->display_name(), ""));
    VL_ASSIGN_OR_RETURN(v1::Call call, repo_.GetCall(req->call_id()));
    if (call.state() == "ended") return absl::FailedPreconditionError("this call has ended");
    if (call.has_scheduled_start()) {
      absl::Time opens = FromProto(call.scheduled_start()) - options_.join_early;
      if (clock_.Now() < opens) {
        return absl::FailedPreconditionError(absl::StrCat(
            "too early: this call opens for joining at ", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", opens, absl::UTCTimeZone()),
            " (", absl::ToInt64Minutes(options_.join_early), " minutes before it starts)"));
      }
    }
    std::string invitation = auth::TokenHash(req->invitation_token());
    VL_ASSIGN_OR_RETURN(bool revoked, repo_.InvitationRevoked(call.id(), invitation));
    if (revoked) return absl::PermissionDeniedError("the host removed you from this call");
    VL_ASSIGN_OR_RETURN(v1::Participant p,
                        repo_.AddParticipant(call.id(), name, call_role.second, "waiting", invitation));
    if (call.state() == "scheduled") {
      VL_ASSIGN_OR_RETURN(call, repo_.SetCallState(call.id(), "waiting"));
    }
    Emit("waiting", call, &p);
    VL_ASSIGN_OR_RETURN(*resp, Joined(p, call));
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::ListParticipants(grpc::ServerContext* ctx, const v1::ListParticipantsRequest* req,
                                            v1::ListParticipantsResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(v1::Call call, StaffCall(ctx, req->call_id(), true));
    VL_ASSIGN_OR_RETURN(std::vector<v1::Participant> people, repo_.ListParticipants(call.id()));
    for (auto& p : people) *resp->add_participants() = std::move(p);
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::Admit(grpc::ServerContext* ctx, const v1::ParticipantRequest* req,
                                 v1::Participant* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(v1::Call call, StaffCall(ctx, req->call_id(), true));
    if (call.state() == "ended") return absl::FailedPreconditionError("the call has ended");
    VL_RETURN_IF_ERROR(CheckId("participant_id", req->participant_id()));
    VL_ASSIGN_OR_RETURN(*resp, repo_.MoveParticipant(call.id(), req->participant_id(), {"waiting"}, "admitted"));
    VL_ASSIGN_OR_RETURN(call, repo_.SetCallState(call.id(), "live"));
    Emit("admitted", call, resp);
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::Remove(grpc::ServerContext* ctx, const v1::ParticipantRequest* req,
                                  v1::Participant* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(v1::Call call, StaffCall(ctx, req->call_id(), true));
    VL_RETURN_IF_ERROR(CheckId("participant_id", req->participant_id()));
    VL_ASSIGN_OR_RETURN(*resp, repo_.MoveParticipant(call.id(), req->participant_id(),
                                                     {"waiting", "admitted"}, "removed"));
    EndSessionsOf(call.id(), resp->id());
    Emit("removed", call, resp);
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::StartRecording(grpc::ServerContext* ctx, const v1::RecordingRequest* req,
                                          v1::Recording* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(v1::Call call, StaffCall(ctx, req->call_id(), true));
    if (call.state() != "live") return absl::FailedPreconditionError("only a live call can be recorded");
    VL_ASSIGN_OR_RETURN(*resp, repo_.StartRecording(call));
    std::string dir = absl::StrCat(options_.data_dir, "/", resp->id());
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    absl::Status started =
        ec ? absl::UnavailableError(absl::StrCat("cannot write recordings to ", dir, ": ", ec.message()))
           : engine_.StartRecording(call.id(), dir, [this, id = resp->id()](const RecordedTrack& t) {
               if (auto s = repo_.AddTrack(id, t.publication_id, t.path, t.start_time); !s.ok()) {
                 log::Error("recording track not saved", {{"recording_id", id}, {"error", s.ToString()}});
               }
             });
    if (!started.ok()) {
      (void)repo_.StopRecording(call.id());
      (void)repo_.FailCompose(resp->id(), std::string(started.message()));
      return started;
    }
    call.set_recording(true);
    Emit("recording_started", call, nullptr);
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::StopRecording(grpc::ServerContext* ctx, const v1::RecordingRequest* req,
                                         v1::Recording* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(v1::Call call, StaffCall(ctx, req->call_id(), true));
    VL_ASSIGN_OR_RETURN(std::optional<std::string> active, repo_.ActiveRecording(call.id()));
    if (!active) return absl::FailedPreconditionError("the call is not being recorded");
    VL_RETURN_IF_ERROR(engine_.StopRecording(call.id()));
    VL_ASSIGN_OR_RETURN(*resp, repo_.StopRecording(call.id()));
    call.set_recording(false);
    Emit("recording_stopped", call, nullptr);
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::SetMediaState(grpc::ServerContext*, const v1::SetMediaStateRequest* req,
                                         v1::Participant* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(ParticipantRow row, Participant(req->participant_token(), req->call_id(), true));
    VL_ASSIGN_OR_RETURN(*resp, repo_.SetMediaState(row.participant.id(), req->muted(), req->camera_off()));
    VL_ASSIGN_OR_RETURN(v1::Call call, repo_.GetCall(req->call_id()));
    Emit("media_state", call, resp);
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::Publish(grpc::ServerContext*, const v1::PublishRequest* req,
                                   v1::SessionResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    if (req->kind() != "camera" && req->kind() != "screen") {
      return InvalidField("kind", "kind must be camera or screen");
    }
    VL_ASSIGN_OR_RETURN(ParticipantRow row, Participant(req->participant_token(), req->call_id(), true));
    VL_ASSIGN_OR_RETURN(v1::Call call, repo_.GetCall(req->call_id()));
    if (call.state() == "ended") return absl::FailedPreconditionError("the call has ended");
    VL_ASSIGN_OR_RETURN(std::string id, repo_.AddSession(call.id(), row.participant.id(), req->kind(), ""));
    absl::StatusOr<std::string> answer = engine_.Publish(call.id(), id, req->kind(), req->sdp_offer());
    if (!answer.ok()) {
      (void)repo_.DeleteSession(id);
      return answer.status();
    }
    resp->set_session_id(id);
    resp->set_sdp_answer(*answer);
    resp->set_location(absl::StrCat("/v1/calls/", call.id(), "/sessions/", id));
    VL_ASSIGN_OR_RETURN(ParticipantRow now, repo_.GetParticipant(row.participant.id()));
    Emit("published", call, &now.participant);
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::Subscribe(grpc::ServerContext*, const v1::SubscribeRequest* req,
                                     v1::SessionResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(ParticipantRow row, Participant(req->participant_token(), req->call_id(), true));
    VL_RETURN_IF_ERROR(CheckId("publication_id", req->publication_id()));
    absl::StatusOr<SessionRow> pub = repo_.GetSession(req->publication_id());
    if (!pub.ok() || pub->call_id != req->call_id() || pub->kind == "subscription" || pub->ended) {
      return absl::NotFoundError("that publication is not live in this call");
    }
    VL_ASSIGN_OR_RETURN(std::string id,
                        repo_.AddSession(req->call_id(), row.participant.id(), "subscription", pub->id));
    absl::StatusOr<std::string> answer = engine_.Subscribe(req->call_id(), id, pub->id, req->sdp_offer());
    if (!answer.ok()) {
      (void)repo_.DeleteSession(id);
      return answer.status();
    }
    resp->set_session_id(id);
    resp->set_sdp_answer(*answer);
    resp->set_location(absl::StrCat("/v1/calls/", req->call_id(), "/sessions/", id));
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::EndSession(grpc::ServerContext*, const v1::EndSessionRequest* req, v1::Empty*) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(ParticipantRow row, Participant(req->participant_token(), req->call_id(), false));
    VL_RETURN_IF_ERROR(CheckId("session_id", req->session_id()));
    absl::StatusOr<SessionRow> s = repo_.GetSession(req->session_id());
    if (!s.ok() || s->call_id != req->call_id() || s->participant_id != row.participant.id()) {
      return absl::NotFoundError("no such media session of yours in this call");
    }
    if (s->ended) return absl::NotFoundError("that media session has already ended");
    return EndMediaSession(*s);
  }());
}

absl::Status MediaService::EndMediaSession(const SessionRow& s) {
  (void)engine_.EndSession(s.call_id, s.id);  // may have ended with its publication already
  VL_RETURN_IF_ERROR(repo_.EndSession(s.id));
  if (s.kind != "subscription") {
    VL_ASSIGN_OR_RETURN(v1::Call call, repo_.GetCall(s.call_id));
    VL_ASSIGN_OR_RETURN(ParticipantRow now, repo_.GetParticipant(s.participant_id));
    Emit("unpublished", call, &now.participant);
  }
  return absl::OkStatus();
}

int MediaService::ReapLostSessions() {
  int reaped = 0;
  for (const auto& [call_id, session_id] : engine_.TakeLostSessions()) {
    absl::StatusOr<SessionRow> s = repo_.GetSession(session_id);
    if (!s.ok() || s->ended) continue;  // ended on purpose while its connection went down
    absl::Status ended = EndMediaSession(*s);
    log::Warn("media session ended: its peer stopped answering",
              {{"call_id", call_id}, {"session_id", session_id}, {"kind", s->kind},
               {"error", ended.ok() ? "" : ended.ToString()}});
    if (ended.ok()) ++reaped;
  }
  return reaped;
}

grpc::Status MediaService::Leave(grpc::ServerContext*, const v1::LeaveRequest* req, v1::Empty*) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(ParticipantRow row, Participant(req->participant_token(), req->call_id(), false));
    EndSessionsOf(req->call_id(), row.participant.id());
    VL_ASSIGN_OR_RETURN(v1::Participant p, repo_.MoveParticipant(req->call_id(), row.participant.id(),
                                                                  {"waiting", "admitted"}, "left"));
    VL_ASSIGN_OR_RETURN(v1::Call call, repo_.GetCall(req->call_id()));
    Emit("left", call, &p);
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::Watch(grpc::ServerContext* ctx, const v1::WatchRequest* req,
                                 grpc::ServerWriter<v1::CallEvent>* writer) {
  absl::StatusOr<ParticipantRow> me = Participant(req->participant_token(), req->call_id(), false);
  if (!me.ok()) return rpc::ToGrpc(me.status());
  const bool host = me->participant.role() == "host";
  const std::string my_id = me->participant.id();
  // Subscribe before the snapshot so nothing between the two is missed.
  std::shared_ptr<EventHub::Watcher> watcher = events_.Watch(req->call_id());
  auto unwatch = [&] { events_.Unwatch(req->call_id(), watcher); };
  {
    absl::StatusOr<v1::Call> call = repo_.GetCall(req->call_id());
    absl::StatusOr<std::vector<v1::Participant>> people = repo_.ListParticipants(req->call_id());
    if (!call.ok() || !people.ok()) {
      unwatch();
      return rpc::ToGrpc(call.ok() ? people.status() : call.status());
    }
    v1::CallEvent snapshot;
    snapshot.set_type("snapshot");
    *snapshot.mutable_call() = *call;
    *snapshot.mutable_participant() = me->participant;
    for (const auto& p : *people) {
      if (host || p.state() == "admitted" || p.id() == my_id) *snapshot.add_participants() = p;
    }
    *snapshot.mutable_time() = ToTimestamp(clock_.Now());
    if (!writer->Write(snapshot) || call->state() == "ended") {
      unwatch();
      return grpc::Status::OK;
    }
  }
  v1::CallEvent e;
  while (!ctx->IsCancelled()) {
    if (!watcher->Next(&e, absl::Milliseconds(250))) continue;
    const bool about_me = e.participant().id() == my_id;
    // Only the host sees the waiting room.
    if (!host && e.type() == "waiting" && !about_me) continue;
    if (!writer->Write(e)) break;
    if (e.type() == "ended" || (about_me && (e.type() == "removed" || e.type() == "left"))) break;
  }
  unwatch();
  return grpc::Status::OK;
}

grpc::Status MediaService::CallHistory(grpc::ServerContext* ctx, const v1::CallHistoryRequest* req,
                                       v1::CallHistoryResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::PrincipalOf(*ctx, signer_));
    if (p.kind() != api::Principal::STAFF) return absl::PermissionDeniedError("only clinic staff see call history");
    int size = req->page_size() == 0 ? 50 : req->page_size();
    if (size < 1 || size > 200) return InvalidField("page_size", "page_size must be between 1 and 200");
    int offset = 0;
    if (!req->page_token().empty() && (!absl::SimpleAtoi(req->page_token(), &offset) || offset < 0)) {
      return InvalidField("page_token", "page_token is not one this report returned");
    }
    VL_ASSIGN_OR_RETURN(*resp, repo_.CallHistory(p.clinic_id(), size, offset));
    for (auto& row : *resp->mutable_calls()) {
      for (auto& rec : *row.mutable_recordings()) {
        rec.set_downloadable(rec.state() == "ready" &&
                             rec.duration_seconds() < absl::ToDoubleSeconds(options_.max_download));
        if (rec.downloadable()) rec.set_download_url(absl::StrCat("/v1/recordings/", rec.id(), "/download"));
      }
    }
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::GetRecording(grpc::ServerContext* ctx, const v1::GetRecordingRequest* req,
                                        v1::Recording* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::PrincipalOf(*ctx, signer_));
    if (p.kind() != api::Principal::STAFF) return absl::PermissionDeniedError("only clinic staff see recordings");
    VL_RETURN_IF_ERROR(CheckId("id", req->id()));
    absl::StatusOr<RecordingRow> row = repo_.GetRecording(req->id());
    if (!row.ok() || row->clinic_id != p.clinic_id()) return absl::NotFoundError("no such recording");
    *resp = row->recording;
    resp->set_downloadable(resp->state() == "ready" &&
                           resp->duration_seconds() < absl::ToDoubleSeconds(options_.max_download));
    if (resp->downloadable()) resp->set_download_url(absl::StrCat("/v1/recordings/", resp->id(), "/download"));
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::DownloadRecording(grpc::ServerContext* ctx, const v1::DownloadRequest* req,
                                             grpc::ServerWriter<v1::Chunk>* writer) {
  v1::Recording rec;
  v1::GetRecordingRequest get;
  get.set_id(req->id());
  if (grpc::Status s = GetRecording(ctx, &get, &rec); !s.ok()) return s;
  if (rec.state() != "ready") {
    return rpc::ToGrpc(absl::FailedPreconditionError(
        rec.state() == "failed" ? absl::StrCat("the recording could not be composed: ", rec.error())
                                : absl::StrCat("the recording is not ready yet (", rec.state(), ", ",
                                               static_cast<int>(rec.progress() * 100), "% composed)")));
  }
  if (!rec.downloadable()) {
    return rpc::ToGrpc(absl::FailedPreconditionError(absl::StrCat(
        "recordings of ", absl::ToInt64Minutes(options_.max_download),
        " minutes or longer cannot be downloaded; this one lasts ",
        static_cast<int>(rec.duration_seconds() / 60), " minutes")));
  }
  absl::StatusOr<RecordingRow> row = repo_.GetRecording(req->id());
  if (!row.ok()) return rpc::ToGrpc(row.status());
  absl::StatusOr<std::unique_ptr<std::istream>> in = blobs_.Open(row->blob_key);
  if (!in.ok()) return rpc::ToGrpc(in.status());
  std::string buffer(kChunkBytes, '\0');
  v1::Chunk chunk;
  while (!ctx->IsCancelled() && (*in)->read(buffer.data(), buffer.size()).gcount() > 0) {
    chunk.set_data(buffer.data(), (*in)->gcount());
    if (!writer->Write(chunk)) break;
  }
  return grpc::Status::OK;
}

bool MediaService::ComposeNext() {
  absl::StatusOr<std::optional<ComposeJob>> job = repo_.ClaimCompose();
  if (!job.ok()) {
    log::Warn("compose queue unavailable", {{"error", job.status().ToString()}});
    return false;
  }
  if (!*job) return false;
  const ComposeJob& j = **job;
  std::vector<ComposeTrack> tracks;
  absl::Time zero = absl::InfiniteFuture();
  for (const auto& t : j.tracks) zero = std::min(zero, t.start_time);
  for (const auto& t : j.tracks) tracks.push_back({t.path, t.start_time - zero});
  const std::string output = absl::StrCat(options_.data_dir, "/", j.recording_id, "/composed.webm");
  absl::Status status;
  if (tracks.empty()) {
    status = absl::FailedPreconditionError("nothing was recorded: no participant sent video while recording was on");
  } else {
    ComposeOptions options;
    options.progress = [&](double p) { (void)repo_.SetProgress(j.recording_id, p); };
    absl::StatusOr<ComposeResult> result = Compose(tracks, output, options);
    status = result.status();
    const std::string key = absl::StrCat("recordings/", j.recording_id, ".webm");
    if (status.ok()) status = blobs_.Put(key, output);
    if (status.ok()) status = repo_.FinishCompose(j.recording_id, key, absl::ToDoubleSeconds(result->duration));
    if (status.ok()) {
      log::Info("recording composed", {{"recording_id", j.recording_id}, {"tiles", result->tiles},
                                       {"seconds", absl::ToDoubleSeconds(result->duration)}});
    }
  }
  if (!status.ok()) {
    log::Warn("recording not composed", {{"recording_id", j.recording_id}, {"error", status.ToString()}});
    (void)repo_.FailCompose(j.recording_id, std::string(status.message()));
  }
  return true;
}

}  // namespace vetline::media
