#include "services/media/media_service.h"

#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/core/time.h"
#include "libs/core/validate.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"
#include "services/media/call_rules.h"
#include "services/media/watch_stream.h"

namespace vetline::media {
namespace {

constexpr char kJoinPurpose[] = "video-join";
constexpr char kParticipantPurpose[] = "video-participant";
constexpr absl::Duration kParticipantTokenLife = absl::Hours(12);
constexpr size_t kMaxDisplayName = 80;
constexpr size_t kMaxToken = 1024;            // signed tokens are ~150 bytes
constexpr size_t kMaxSdpOffer = 64 * 1024;    // browsers' offers are a few KB
constexpr size_t kChunkBytes = 64 * 1024;

using rules::CallState;
using rules::ParticipantState;

CallState StateOf(const v1::Call& call) {
  return rules::CallStateFrom(call.state()).value_or(CallState::kEnded);
}

// Checks name fields by their JSON (lowerCamelCase) names, as the gateway reports them.
absl::Status CheckToken(std::string_view field, const std::string& token) {
  if (token.size() > kMaxToken) {
    return InvalidField(field, absl::StrCat(std::string(field), " is too long to be a token"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> DisplayName(const std::string& name, const std::string& fallback) {
  if (!fallback.empty() && absl::StripAsciiWhitespace(name).empty()) return fallback;
  return validate::Name("displayName", name, kMaxDisplayName);
}

// A call can be joined and used until it ends; one lost with its media server says so.
absl::Status Usable(const v1::Call& call) {
  if (call.lost()) {
    return absl::FailedPreconditionError(
        "this call was lost: the media server holding it stopped. Start a new call");
  }
  return rules::CanJoin(StateOf(call));
}

absl::Status CheckOffer(const std::string& sdp) {
  if (sdp.size() > kMaxSdpOffer) return InvalidField("sdpOffer", "sdpOffer is larger than 64 KB");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::Call> MediaService::StaffCall(grpc::ServerContext* ctx, const std::string& call_id,
                                                 bool host_only, api::Principal* who) {
  VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
  VL_RETURN_IF_ERROR(validate::Id("callId", call_id));
  absl::StatusOr<v1::Call> call = repo_.GetCall(call_id);
  if (absl::IsNotFound(call.status()) || (call.ok() && call->clinic_id() != p.clinic_id())) {
    return absl::NotFoundError("no such call");
  }
  if (!call.ok()) return call.status();
  if (host_only && call->host_id() != p.user_id() && !rpc::IsAdmin(p)) {
    return absl::PermissionDeniedError("only the call's host can do this");
  }
  if (who) *who = p;
  return call;
}

absl::StatusOr<ParticipantRow> MediaService::Participant(const std::string& token,
                                                         const std::string& call_id,
                                                         bool must_be_admitted) {
  VL_RETURN_IF_ERROR(validate::Id("callId", call_id));
  if (token.empty()) return absl::UnauthenticatedError("a participant token is required");
  VL_RETURN_IF_ERROR(CheckToken("participantToken", token));
  absl::StatusOr<std::string> id = links_.Verify(token, kParticipantPurpose, clock_.Now());
  if (!id.ok()) return absl::UnauthenticatedError("the participant token is invalid or expired: join again");
  VL_ASSIGN_OR_RETURN(ParticipantRow row, repo_.GetParticipant(*id));
  if (row.call_id != call_id) return absl::PermissionDeniedError("this participant token is for another call");
  std::optional<ParticipantState> state = rules::ParticipantStateFrom(row.participant.state());
  VL_RETURN_IF_ERROR(rules::MayAct(state.value_or(ParticipantState::kLeft), must_be_admitted));
  return row;
}

absl::StatusOr<v1::JoinResponse> MediaService::Joined(const v1::Participant& p, const v1::Call& call) {
  v1::JoinResponse out;
  *out.mutable_participant() = p;
  absl::Time expires = clock_.Now() + kParticipantTokenLife;
  out.set_participant_token(links_.Sign(kParticipantPurpose, p.id(), expires));
  *out.mutable_expire_time() = ToTimestamp(expires);
  // The relay is good for as long as the participant token: a call that outlives it
  // needs a new join anyway.
  if (std::optional<webrtc::IceServer> relay = options_.turn.For(p.id(), expires)) {
    v1::IceServer* server = out.add_ice_servers();
    for (const std::string& url : relay->urls) server->add_urls(url);
    server->set_username(relay->username);
    server->set_credential(relay->credential);
  }
  return out;
}

absl::StatusOr<v1::Call> MediaService::StartIfReady(v1::Call call) {
  VL_ASSIGN_OR_RETURN(int admitted, repo_.CountAdmitted(call.id()));
  if (!rules::Starts(StateOf(call), admitted)) return call;
  return repo_.SetCallState(call.id(), CallState::kLive);
}

absl::Status MediaService::HeldHere(const std::string& call_id) {
  const std::string me = replica_.id();
  if (me.empty()) return absl::UnavailableError("the media server is starting: try again");
  absl::StatusOr<CallOwner> where = repo_.OwnerOf(call_id, me);
  if (absl::IsNotFound(where.status())) return absl::OkStatus();  // the RPC says so itself
  VL_RETURN_IF_ERROR(where.status());
  if (where->ended || where->owner == me) return absl::OkStatus();
  return absl::UnavailableError("this call is held by another media server: try again");
}

grpc::Status MediaService::LocateCall(grpc::ServerContext* ctx, const v1::LocateCallRequest* req,
                                      v1::CallLocation* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(rpc::RequireService(*ctx, signer_).status());
    VL_RETURN_IF_ERROR(validate::Id("callId", req->call_id()));
    VL_ASSIGN_OR_RETURN(CallOwner where, repo_.OwnerOf(req->call_id(), ""));
    if (where.ended) return absl::OkStatus();  // any replica answers for an ended call
    if (where.owner.empty()) {
      VL_ASSIGN_OR_RETURN(std::string owner, repo_.PlaceCall(req->call_id(), replica_.ttl()));
      resp->set_address(owner);
      return absl::OkStatus();
    }
    VL_ASSIGN_OR_RETURN(bool alive, repo_.ReplicaAlive(where.owner, replica_.ttl()));
    if (!alive) {
      // Its replica died with the call's media and event streams: the call is lost.
      VL_ASSIGN_OR_RETURN(int lost, repo_.LoseReplica(where.owner, replica_.ttl()));
      if (lost > 0) log::Warn("calls lost with their media server", {{"replica", where.owner}, {"calls", lost}});
      VL_ASSIGN_OR_RETURN(where, repo_.OwnerOf(req->call_id(), ""));
      if (where.ended) return absl::OkStatus();
    }
    resp->set_address(where.owner);
    return absl::OkStatus();
  }());
}

void MediaService::Present(v1::Recording& rec) const {
  std::optional<rules::RecordingState> state = rules::RecordingStateFrom(rec.state());
  rec.set_downloadable(state && rules::Downloadable(*state, rec.duration_seconds(), options_.max_download));
  if (rec.downloadable()) rec.set_download_url(absl::StrCat("/v1/recordings/", rec.id(), "/download"));
}

grpc::Status MediaService::CreateCall(grpc::ServerContext* ctx, const v1::CreateCallRequest* req,
                                      v1::CreateCallResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    if (!req->client_id().empty()) VL_RETURN_IF_ERROR(clients_.Check(p, "clientId", req->client_id()));
    if (!req->conversation_id().empty()) {
      VL_RETURN_IF_ERROR(conversations_.Check(p, "conversationId", req->conversation_id()));
    }
    if (req->has_scheduled_start() && FromTimestamp(req->scheduled_start()) < clock_.Now() - absl::Hours(24)) {
      return InvalidField("scheduledStart", "scheduledStart is more than a day in the past");
    }
    VL_ASSIGN_OR_RETURN(v1::Call call, repo_.CreateCall(p.clinic_id(), p.user_id(), *req));
    absl::Time base = req->has_scheduled_start() ? FromTimestamp(req->scheduled_start()) : clock_.Now();
    absl::Time expires = std::max(base, clock_.Now()) + options_.invitation_ttl;
    v1::Invitation* inv = resp->mutable_invitation();
    inv->set_join_token(links_.Sign(kJoinPurpose, call.id() + "/" + std::string(rules::ToText(rules::Role::kClient)), expires));
    inv->set_direct_token(links_.Sign(kJoinPurpose, call.id() + "/" + std::string(rules::ToText(rules::Role::kGuest)), expires));
    // The client portal serves the join screen (web/src/portal/video).
    inv->set_join_url(absl::StrCat(options_.web_url, "/portal/video/", call.id(), "?invitation=", inv->join_token()));
    inv->set_direct_url(absl::StrCat(options_.web_url, "/portal/video/", call.id(), "?invitation=", inv->direct_token()));
    *inv->mutable_expire_time() = ToTimestamp(expires);
    *resp->mutable_call() = std::move(call);
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::GetCall(grpc::ServerContext* ctx, const v1::GetCallRequest* req, v1::Call* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_ASSIGN_OR_RETURN(*resp, StaffCall(ctx, req->id(), false));
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::EndCall(grpc::ServerContext* ctx, const v1::EndCallRequest* req, v1::Call* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_ASSIGN_OR_RETURN(v1::Call call, StaffCall(ctx, req->id(), true));
    VL_RETURN_IF_ERROR(HeldHere(call.id()));
    if (StateOf(call) == CallState::kEnded) {
      *resp = call;
      return absl::OkStatus();
    }
    VL_RETURN_IF_ERROR(room_.StopRecordingIfOn(call.id()));
    engine_.EndCall(call.id());
    room_.EndSessionsOf(call.id(), "");
    VL_ASSIGN_OR_RETURN(std::vector<v1::Participant> people, repo_.ListParticipants(call.id()));
    for (const auto& person : people) {
      (void)repo_.MoveParticipant(call.id(), person.id(), ParticipantState::kLeft);
    }
    VL_ASSIGN_OR_RETURN(*resp, repo_.EndCall(call.id()));
    room_.Emit("ended", *resp, nullptr);
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::HostJoin(grpc::ServerContext* ctx, const v1::HostJoinRequest* req,
                                    v1::JoinResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(v1::Call call, StaffCall(ctx, req->call_id(), true));
    VL_RETURN_IF_ERROR(Usable(call));
    VL_ASSIGN_OR_RETURN(std::string name, DisplayName(req->display_name(), "Host"));
    VL_RETURN_IF_ERROR(HeldHere(call.id()));
    VL_ASSIGN_OR_RETURN(v1::Participant p, repo_.AddParticipant(call.id(), name, rules::Role::kHost,
                                                                ParticipantState::kAdmitted, ""));
    // The host waiting alone is not call time: the call starts with a second participant.
    if (CallState after = rules::AfterJoin(StateOf(call)); after != StateOf(call)) {
      VL_ASSIGN_OR_RETURN(call, repo_.SetCallState(call.id(), after));
    }
    VL_ASSIGN_OR_RETURN(call, StartIfReady(std::move(call)));
    room_.Emit("admitted", call, &p);
    VL_ASSIGN_OR_RETURN(*resp, Joined(p, call));
    return absl::OkStatus();
  }());
}

absl::StatusOr<rules::Role> MediaService::Invited(const std::string& call_id, const std::string& token) {
  VL_RETURN_IF_ERROR(validate::Id("callId", call_id));
  if (token.empty()) return InvalidField("invitationToken", "invitationToken is required (from the join link)");
  VL_RETURN_IF_ERROR(CheckToken("invitationToken", token));
  absl::StatusOr<std::string> subject = links_.Verify(token, kJoinPurpose, clock_.Now());
  if (!subject.ok()) {
    return absl::PermissionDeniedError("this join link is invalid or has expired: ask the clinic for a new one");
  }
  std::pair<std::string, std::string> call_role = absl::StrSplit(*subject, '/');
  if (call_role.first != call_id) return absl::PermissionDeniedError("this join link is for another call");
  std::optional<rules::Role> role = rules::RoleFrom(call_role.second);
  if (!role || *role == rules::Role::kHost) return absl::PermissionDeniedError("this join link is not an invitation");
  return *role;
}

grpc::Status MediaService::GetInvitation(grpc::ServerContext*, const v1::GetInvitationRequest* req,
                                         v1::JoinWindow* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(Invited(req->call_id(), req->invitation_token()).status());
    VL_ASSIGN_OR_RETURN(v1::Call call, repo_.GetCall(req->call_id()));
    out->set_call_id(call.id());
    std::optional<absl::Time> scheduled;
    if (call.has_scheduled_start()) {
      scheduled = FromTimestamp(call.scheduled_start());
      *out->mutable_scheduled_start() = call.scheduled_start();
    }
    if (std::optional<absl::Time> opens = rules::JoinOpensAt(scheduled, options_.join_early);
        opens && clock_.Now() < *opens) {
      *out->mutable_join_opens_at() = ToTimestamp(*opens);
    }
    out->set_ended(!Usable(call).ok());
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::Join(grpc::ServerContext*, const v1::JoinRequest* req, v1::JoinResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(rules::Role role, Invited(req->call_id(), req->invitation_token()));
    VL_RETURN_IF_ERROR(HeldHere(req->call_id()));
    VL_ASSIGN_OR_RETURN(std::string name, DisplayName(req->display_name(), ""));
    VL_ASSIGN_OR_RETURN(v1::Call call, repo_.GetCall(req->call_id()));
    VL_RETURN_IF_ERROR(Usable(call));
    std::optional<absl::Time> scheduled;
    if (call.has_scheduled_start()) scheduled = FromTimestamp(call.scheduled_start());
    VL_RETURN_IF_ERROR(rules::JoinWindowOpen(scheduled, options_.join_early, clock_.Now()));
    std::string invitation = auth::TokenHash(req->invitation_token());
    VL_ASSIGN_OR_RETURN(bool revoked, repo_.InvitationRevoked(call.id(), invitation));
    if (revoked) return absl::PermissionDeniedError("the host removed you from this call");
    VL_ASSIGN_OR_RETURN(v1::Participant p,
                        repo_.AddParticipant(call.id(), name, role, ParticipantState::kWaiting, invitation));
    if (CallState after = rules::AfterJoin(StateOf(call)); after != StateOf(call)) {
      VL_ASSIGN_OR_RETURN(call, repo_.SetCallState(call.id(), after));
    }
    room_.Emit("waiting", call, &p);
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
    VL_RETURN_IF_ERROR(Usable(call));
    VL_RETURN_IF_ERROR(validate::Id("participantId", req->participant_id()));
    VL_RETURN_IF_ERROR(HeldHere(call.id()));
    VL_ASSIGN_OR_RETURN(*resp, repo_.MoveParticipant(call.id(), req->participant_id(), ParticipantState::kAdmitted));
    VL_ASSIGN_OR_RETURN(call, StartIfReady(std::move(call)));
    room_.Emit("admitted", call, resp);
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::Remove(grpc::ServerContext* ctx, const v1::ParticipantRequest* req,
                                  v1::Participant* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(v1::Call call, StaffCall(ctx, req->call_id(), true));
    VL_RETURN_IF_ERROR(validate::Id("participantId", req->participant_id()));
    VL_RETURN_IF_ERROR(HeldHere(call.id()));
    VL_ASSIGN_OR_RETURN(*resp, repo_.MoveParticipant(call.id(), req->participant_id(), ParticipantState::kRemoved));
    room_.EndSessionsOf(call.id(), resp->id());
    room_.Emit("removed", call, resp);
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::StartRecording(grpc::ServerContext* ctx, const v1::RecordingRequest* req,
                                          v1::Recording* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(v1::Call call, StaffCall(ctx, req->call_id(), true));
    VL_RETURN_IF_ERROR(HeldHere(call.id()));
    VL_RETURN_IF_ERROR(rules::CanRecord(StateOf(call)));
    VL_ASSIGN_OR_RETURN(*resp, repo_.StartRecording(call, replica_.volume()));
    std::string dir = absl::StrCat(options_.data_dir, "/", resp->id());
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    absl::Status started =
        ec ? absl::UnavailableError("recordings cannot be written on this replica right now")
           : engine_.StartRecording(call.id(), dir, [this, id = resp->id()](const RecordedTrack& t) {
               if (auto s = repo_.AddTrack(id, t.publication_id, t.path, t.start_time); !s.ok()) {
                 log::Error("recording track not saved", {{"recording_id", id}, {"error", s.ToString()}});
               }
             });
    if (ec) log::Error("recording directory not writable", {{"dir", dir}, {"error", ec.message()}});
    if (!started.ok()) {
      (void)repo_.StopRecording(call.id());
      (void)repo_.FailCompose(resp->id(), std::string(started.message()));
      return started;
    }
    call.set_recording(true);
    room_.Emit("recording_started", call, nullptr);
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::StopRecording(grpc::ServerContext* ctx, const v1::RecordingRequest* req,
                                         v1::Recording* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(v1::Call call, StaffCall(ctx, req->call_id(), true));
    VL_RETURN_IF_ERROR(HeldHere(call.id()));
    VL_ASSIGN_OR_RETURN(std::optional<std::string> active, repo_.ActiveRecording(call.id()));
    if (!active) return absl::FailedPreconditionError("the call is not being recorded");
    VL_RETURN_IF_ERROR(engine_.StopRecording(call.id()));
    VL_ASSIGN_OR_RETURN(*resp, repo_.StopRecording(call.id()));
    call.set_recording(false);
    room_.Emit("recording_stopped", call, nullptr);
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::SetMediaState(grpc::ServerContext*, const v1::SetMediaStateRequest* req,
                                         v1::Participant* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(ParticipantRow row, Participant(req->participant_token(), req->call_id(), true));
    VL_RETURN_IF_ERROR(HeldHere(req->call_id()));
    VL_ASSIGN_OR_RETURN(*resp, repo_.SetMediaState(row.participant.id(), req->muted(), req->camera_off()));
    VL_ASSIGN_OR_RETURN(v1::Call call, repo_.GetCall(req->call_id()));
    room_.Emit("media_state", call, resp);
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::Publish(grpc::ServerContext*, const v1::PublishRequest* req,
                                   v1::SessionResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(rules::PublicationKind kind, rules::PublicationKindFrom("kind", req->kind()));
    VL_RETURN_IF_ERROR(CheckOffer(req->sdp_offer()));
    VL_ASSIGN_OR_RETURN(ParticipantRow row, Participant(req->participant_token(), req->call_id(), true));
    VL_RETURN_IF_ERROR(HeldHere(req->call_id()));
    VL_ASSIGN_OR_RETURN(v1::Call call, repo_.GetCall(req->call_id()));
    VL_RETURN_IF_ERROR(Usable(call));
    const std::string kind_text(rules::ToText(kind));
    VL_ASSIGN_OR_RETURN(std::string id, repo_.AddSession(call.id(), row.participant.id(), kind_text, ""));
    absl::StatusOr<std::string> answer = engine_.Publish(call.id(), id, kind_text, req->sdp_offer());
    if (!answer.ok()) {
      (void)repo_.DeleteSession(id);
      return answer.status();
    }
    resp->set_session_id(id);
    resp->set_sdp_answer(*answer);
    resp->set_location(absl::StrCat("/v1/calls/", call.id(), "/sessions/", id));
    VL_ASSIGN_OR_RETURN(ParticipantRow now, repo_.GetParticipant(row.participant.id()));
    room_.Emit("published", call, &now.participant);
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::Subscribe(grpc::ServerContext*, const v1::SubscribeRequest* req,
                                     v1::SessionResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(CheckOffer(req->sdp_offer()));
    VL_ASSIGN_OR_RETURN(ParticipantRow row, Participant(req->participant_token(), req->call_id(), true));
    VL_RETURN_IF_ERROR(HeldHere(req->call_id()));
    VL_RETURN_IF_ERROR(validate::Id("publicationId", req->publication_id()));
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
    VL_RETURN_IF_ERROR(HeldHere(req->call_id()));
    VL_RETURN_IF_ERROR(validate::Id("sessionId", req->session_id()));
    absl::StatusOr<SessionRow> s = repo_.GetSession(req->session_id());
    if (!s.ok() || s->call_id != req->call_id() || s->participant_id != row.participant.id()) {
      return absl::NotFoundError("no such media session of yours in this call");
    }
    if (s->ended) return absl::NotFoundError("that media session has already ended");
    return room_.EndMediaSession(*s);
  }());
}

grpc::Status MediaService::Leave(grpc::ServerContext*, const v1::LeaveRequest* req, v1::Empty*) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(ParticipantRow row, Participant(req->participant_token(), req->call_id(), false));
    VL_RETURN_IF_ERROR(HeldHere(req->call_id()));
    room_.EndSessionsOf(req->call_id(), row.participant.id());
    VL_ASSIGN_OR_RETURN(v1::Participant p,
                        repo_.MoveParticipant(req->call_id(), row.participant.id(), ParticipantState::kLeft));
    VL_ASSIGN_OR_RETURN(v1::Call call, repo_.GetCall(req->call_id()));
    room_.Emit("left", call, &p);
    return absl::OkStatus();
  }());
}

grpc::ServerWriteReactor<v1::CallEvent>* MediaService::Watch(grpc::CallbackServerContext*,
                                                             const v1::WatchRequest* req) {
  absl::StatusOr<ParticipantRow> me = Participant(req->participant_token(), req->call_id(), false);
  if (!me.ok()) return WatchStream::Refuse(me.status());
  if (absl::Status held = HeldHere(req->call_id()); !held.ok()) return WatchStream::Refuse(held);
  const bool host = me->participant.role() == rules::ToText(rules::Role::kHost);
  const std::string call_id = req->call_id();
  const v1::Participant self = me->participant;
  return WatchStream::Open(
      events_, call_id, {self.id(), host}, [&]() -> absl::StatusOr<v1::CallEvent> {
        VL_ASSIGN_OR_RETURN(v1::Call call, repo_.GetCall(call_id));
        VL_ASSIGN_OR_RETURN(std::vector<v1::Participant> people, repo_.ListParticipants(call_id));
        v1::CallEvent snapshot;
        snapshot.set_type("snapshot");
        *snapshot.mutable_call() = std::move(call);
        *snapshot.mutable_participant() = self;
        for (const auto& p : people) {
          if (host || p.state() == rules::ToText(ParticipantState::kAdmitted) || p.id() == self.id()) {
            *snapshot.add_participants() = p;
          }
        }
        *snapshot.mutable_time() = ToTimestamp(clock_.Now());
        return snapshot;
      });
}

grpc::Status MediaService::CallHistory(grpc::ServerContext* ctx, const v1::CallHistoryRequest* req,
                                       v1::CallHistoryResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(int size, validate::PageSize("pageSize", req->page_size()));
    int offset = 0;
    if (!req->page_token().empty() &&
        (req->page_token().size() > 9 || !absl::SimpleAtoi(req->page_token(), &offset) || offset < 0)) {
      return InvalidField("pageToken", "pageToken is not one this report returned");
    }
    if (!req->client_id().empty()) VL_RETURN_IF_ERROR(clients_.Check(p, "clientId", req->client_id()));
    VL_ASSIGN_OR_RETURN(*resp, repo_.CallHistory(p.clinic_id(), req->client_id(), size, offset));
    for (auto& row : *resp->mutable_calls()) {
      for (auto& rec : *row.mutable_recordings()) Present(rec);
    }
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::GetRecording(grpc::ServerContext* ctx, const v1::GetRecordingRequest* req,
                                        v1::Recording* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    absl::StatusOr<RecordingRow> row = repo_.GetRecording(req->id());
    if (!row.ok() || row->clinic_id != p.clinic_id()) return absl::NotFoundError("no such recording");
    *resp = row->recording;
    Present(*resp);
    return absl::OkStatus();
  }());
}

grpc::Status MediaService::DownloadRecording(grpc::ServerContext* ctx, const v1::DownloadRequest* req,
                                             grpc::ServerWriter<v1::Chunk>* writer) {
  v1::Recording rec;
  v1::GetRecordingRequest get;
  get.set_id(req->id());
  if (grpc::Status s = GetRecording(ctx, &get, &rec); !s.ok()) return s;
  if (rec.state() != rules::ToText(rules::RecordingState::kReady)) {
    return rpc::ToGrpc(absl::FailedPreconditionError(
        rec.state() == rules::ToText(rules::RecordingState::kFailed)
            ? absl::StrCat("the recording could not be composed: ", rec.error())
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

}  // namespace vetline::media
