// The media service's gRPC edge: who may do what to a call, input checks, and the
// order of database and media steps. SQL lives in the repository, GStreamer in the
// engine, the rules of a call in call_rules, background jobs in recording_worker.
// Watch uses the callback API: an open event stream holds no thread.
#pragma once

#include <memory>
#include <string>

#include "libs/auth/auth.h"
#include "libs/blob/blob.h"
#include "libs/core/clock.h"
#include "libs/refs/refs.h"
#include "libs/webrtc/turn.h"
#include "services/media/call_engine.h"
#include "services/media/call_room.h"
#include "services/media/event_hub.h"
#include "services/media/media_repository.h"
#include "services/media/replica.h"
#include "vetline/media/v1/media.grpc.pb.h"

namespace vetline::media {

struct MediaOptions {
  std::string web_url = "http://localhost:8080";          // where join links point
  std::string data_dir = "/var/lib/vetline/media";         // live track files
  std::string blob_dir = "/var/lib/vetline/blobs";         // composed recordings
  std::string ice_addresses = "127.0.0.1";                 // host candidates, comma-separated
  std::string stun_server;
  // The clinic's TURN relay (coturn, use-auth-secret): its URLs as browsers take them and
  // the shared secret. Start() parses them into `turn`; participants get credentials
  // derived from the secret, never the secret.
  std::string turn_urls, turn_secret;
  webrtc::TurnRelay turn;
  // host:port other processes dial to reach this replica (its id); empty: the listen
  // host (loopback for a wildcard) and the server's port.
  std::string advertise_address;
  absl::Duration replica_ttl = absl::Seconds(10);  // a replica without a beat this long is dead
  absl::Duration invitation_ttl = absl::Hours(24);         // after the scheduled start
  absl::Duration join_early = absl::Minutes(30);           // how early clients may join
  absl::Duration max_download = absl::Minutes(60);         // longer recordings: no download
  absl::Duration compose_poll = absl::Seconds(1);
};

class MediaService final : public v1::MediaService::WithCallbackMethod_Watch<v1::MediaService::Service> {
 public:
  // `clients` checks that a client id a call names is a client of the caller's clinic,
  // `conversations` the same for a conversation id. `replica` is this process among the
  // media replicas: calls it does not hold are refused (Unavailable) where their live
  // state matters.
  MediaService(MediaRepository& repo, CallEngine& engine, EventHub& events, blob::BlobStore& blobs,
               const auth::PrincipalSigner& signer, const auth::LinkSigner& links, const Clock& clock,
               MediaOptions options, const refs::ClientRefs& clients,
               const refs::ConversationRefs& conversations, const Replica& replica)
      : repo_(repo), engine_(engine), events_(events), signer_(signer), links_(links), clock_(clock),
        options_(std::move(options)), clients_(clients), conversations_(conversations), blobs_(blobs),
        replica_(replica), room_(repo, engine, events, clock) {}

  grpc::Status LocateCall(grpc::ServerContext*, const v1::LocateCallRequest*, v1::CallLocation*) override;

  grpc::Status CreateCall(grpc::ServerContext*, const v1::CreateCallRequest*, v1::CreateCallResponse*) override;
  grpc::Status GetCall(grpc::ServerContext*, const v1::GetCallRequest*, v1::Call*) override;
  grpc::Status EndCall(grpc::ServerContext*, const v1::EndCallRequest*, v1::Call*) override;
  grpc::Status HostJoin(grpc::ServerContext*, const v1::HostJoinRequest*, v1::JoinResponse*) override;
  grpc::Status Join(grpc::ServerContext*, const v1::JoinRequest*, v1::JoinResponse*) override;
  grpc::Status GetInvitation(grpc::ServerContext*, const v1::GetInvitationRequest*, v1::JoinWindow*) override;
  grpc::Status ListParticipants(grpc::ServerContext*, const v1::ListParticipantsRequest*,
                                v1::ListParticipantsResponse*) override;
  grpc::Status Admit(grpc::ServerContext*, const v1::ParticipantRequest*, v1::Participant*) override;
  grpc::Status Remove(grpc::ServerContext*, const v1::ParticipantRequest*, v1::Participant*) override;
  grpc::Status StartRecording(grpc::ServerContext*, const v1::RecordingRequest*, v1::Recording*) override;
  grpc::Status StopRecording(grpc::ServerContext*, const v1::RecordingRequest*, v1::Recording*) override;
  grpc::Status SetMediaState(grpc::ServerContext*, const v1::SetMediaStateRequest*, v1::Participant*) override;
  grpc::Status Publish(grpc::ServerContext*, const v1::PublishRequest*, v1::SessionResponse*) override;
  grpc::Status Subscribe(grpc::ServerContext*, const v1::SubscribeRequest*, v1::SessionResponse*) override;
  grpc::Status EndSession(grpc::ServerContext*, const v1::EndSessionRequest*, v1::Empty*) override;
  grpc::Status Leave(grpc::ServerContext*, const v1::LeaveRequest*, v1::Empty*) override;
  grpc::ServerWriteReactor<v1::CallEvent>* Watch(grpc::CallbackServerContext*, const v1::WatchRequest*) override;
  grpc::Status CallHistory(grpc::ServerContext*, const v1::CallHistoryRequest*, v1::CallHistoryResponse*) override;
  grpc::Status GetRecording(grpc::ServerContext*, const v1::GetRecordingRequest*, v1::Recording*) override;
  grpc::Status DownloadRecording(grpc::ServerContext*, const v1::DownloadRequest*,
                                 grpc::ServerWriter<v1::Chunk>*) override;

 private:
  // A staff member of the call's clinic (other clinics' calls do not exist for them).
  absl::StatusOr<v1::Call> StaffCall(grpc::ServerContext* ctx, const std::string& call_id,
                                     bool host_only, api::Principal* who = nullptr);
  // The participant behind a token, in this call and not removed.
  absl::StatusOr<ParticipantRow> Participant(const std::string& token, const std::string& call_id,
                                             bool must_be_admitted);
  absl::StatusOr<v1::JoinResponse> Joined(const v1::Participant& p, const v1::Call& call);
  // The role a join link invites to `call_id` (never the host's).
  absl::StatusOr<rules::Role> Invited(const std::string& call_id, const std::string& token);
  // OK when this replica holds the call's live state (claiming it when nobody does yet)
  // or the call has ended; Unavailable when another replica holds it, so the router asks
  // where it is again.
  absl::Status HeldHere(const std::string& call_id);
  // Starts the call once enough participants are admitted (see rules::Starts).
  absl::StatusOr<v1::Call> StartIfReady(v1::Call call);
  // The recording as the API shows it: downloadable and its link per the rules.
  void Present(v1::Recording& rec) const;

  MediaRepository& repo_;
  CallEngine& engine_;
  EventHub& events_;
  const auth::PrincipalSigner& signer_;
  const auth::LinkSigner& links_;
  const Clock& clock_;
  MediaOptions options_;
  const refs::ClientRefs& clients_;
  const refs::ConversationRefs& conversations_;
  blob::BlobStore& blobs_;
  const Replica& replica_;
  CallRoom room_;
};

}  // namespace vetline::media
