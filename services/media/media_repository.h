// SQL for calls, participants, media sessions and recordings (schema `media`). Returns
// API messages where they map one to one; access rules live in the service.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/outbox/outbox.h"
#include "libs/pg/pg.h"
#include "services/media/call_rules.h"
#include "vetline/media/v1/media.pb.h"

namespace vetline::media {

struct ParticipantRow {
  v1::Participant participant;
  std::string call_id;
};

struct SessionRow {
  std::string id, call_id, participant_id, kind, publication_id;
  bool ended = false;
};

struct RecordingRow {
  v1::Recording recording;
  std::string clinic_id;
  std::string blob_key;
};

// A media replica's heartbeat: who it is and its load.
struct ReplicaBeat {
  std::string id;      // its advertise address
  std::string volume;  // its data volume (ReadVolumeId)
  int calls = 0, sessions = 0;  // held in memory
};

// Where a call lives, as the edge checks it.
struct CallOwner {
  bool ended = false;
  std::string owner;  // replica id; empty: not placed yet
};

// A stopped recording ready to compose.
struct ComposeJob {
  std::string recording_id;
  absl::Time start_time;
  struct Track {
    std::string path;
    absl::Time start_time;
  };
  std::vector<Track> tracks;
};

class MediaRepository {
 public:
  explicit MediaRepository(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}

  absl::StatusOr<v1::Call> CreateCall(const std::string& clinic_id, const std::string& host_id,
                                      const v1::CreateCallRequest& req);
  absl::StatusOr<v1::Call> GetCall(const std::string& call_id);  // NotFound
  // Ends the call and, in the same transaction, records the "call.ended" event (time,
  // duration, participants, recordings, link) for the conversation.
  absl::StatusOr<v1::Call> EndCall(const std::string& call_id);
  const outbox::Outbox& events() const { return outbox_; }
  // Moves the call to `state`; live sets start_time once, ended sets end_time.
  absl::StatusOr<v1::Call> SetCallState(const std::string& call_id, rules::CallState state);

  absl::StatusOr<v1::Participant> AddParticipant(const std::string& call_id, const std::string& name,
                                                 rules::Role role, rules::ParticipantState state,
                                                 const std::string& invitation_hash);
  absl::StatusOr<ParticipantRow> GetParticipant(const std::string& participant_id);  // NotFound
  absl::StatusOr<std::vector<v1::Participant>> ListParticipants(const std::string& call_id);
  // Whether removing someone who joined with this invitation revoked it (only a
  // personal link is revoked: rules::RemovalRevokesInvitation).
  absl::StatusOr<bool> InvitationRevoked(const std::string& call_id, const std::string& invitation_hash);
  absl::StatusOr<int> CountAdmitted(const std::string& call_id);
  // Moves a participant to `to` from any state rules::CanMove allows; FailedPrecondition
  // otherwise.
  absl::StatusOr<v1::Participant> MoveParticipant(const std::string& call_id,
                                                  const std::string& participant_id,
                                                  rules::ParticipantState to);
  absl::StatusOr<v1::Participant> SetMediaState(const std::string& participant_id, bool muted,
                                                bool camera_off);

  absl::StatusOr<std::string> AddSession(const std::string& call_id, const std::string& participant_id,
                                         const std::string& kind, const std::string& publication_id);
  absl::Status DeleteSession(const std::string& session_id);  // a session that never started
  absl::StatusOr<SessionRow> GetSession(const std::string& session_id);  // NotFound
  // Ends a session and, for a publication, every subscription to it.
  absl::Status EndSession(const std::string& session_id);
  // Live session ids of one participant (or of the whole call when participant is empty).
  absl::StatusOr<std::vector<std::string>> LiveSessions(const std::string& call_id,
                                                        const std::string& participant_id);

  // FailedPrecondition if on. `volume` is where its tracks will be written.
  absl::StatusOr<v1::Recording> StartRecording(const v1::Call& call, const std::string& volume);
  absl::StatusOr<v1::Recording> StopRecording(const std::string& call_id);  // FailedPrecondition if off
  absl::StatusOr<std::optional<std::string>> ActiveRecording(const std::string& call_id);
  absl::Status AddTrack(const std::string& recording_id, const std::string& publication_id,
                        const std::string& path, absl::Time start_time);
  absl::StatusOr<RecordingRow> GetRecording(const std::string& recording_id);  // NotFound
  absl::StatusOr<std::vector<v1::Recording>> RecordingsOf(const std::string& call_id);

  // Compose queue: takes the oldest pending recording whose tracks are on `volume`
  // (skipping ones others hold), noting `composer` as the replica composing it.
  absl::StatusOr<std::optional<ComposeJob>> ClaimCompose(const std::string& volume,
                                                         const std::string& composer);
  absl::Status SetProgress(const std::string& recording_id, double progress);
  absl::Status FinishCompose(const std::string& recording_id, const std::string& blob_key,
                             double duration_seconds);
  absl::Status FailCompose(const std::string& recording_id, const std::string& error);
  // Replicas. A beat registers or refreshes this replica (its row is alive for `ttl`).
  absl::Status Heartbeat(const ReplicaBeat& beat);
  absl::Status Deregister(const std::string& replica_id);
  // The call's owner, or NotFound. An unplaced call that has not ended is claimed for
  // `claim_for` when that is not empty.
  absl::StatusOr<CallOwner> OwnerOf(const std::string& call_id, const std::string& claim_for);
  // Places an unplaced call on the live replica holding the fewest open calls (then the
  // fewest sessions); returns the owner (the existing one if it was placed meanwhile).
  // Unavailable when no replica is alive.
  absl::StatusOr<std::string> PlaceCall(const std::string& call_id, absl::Duration ttl);
  // Whether the replica's heartbeat is younger than `ttl`.
  absl::StatusOr<bool> ReplicaAlive(const std::string& replica_id, absl::Duration ttl);
  // Owners of open calls that are not alive (beat older than `ttl`, or no row at all).
  absl::StatusOr<std::vector<std::string>> DeadOwners(absl::Duration ttl);
  // A replica is gone (dead, or restarting under the same id: `ttl` zero): unless its
  // beat is younger than `ttl` (it came back), in one transaction its row goes, its open
  // calls end as lost (sessions ended, the call.ended record; participants keep their
  // state, so one reconnecting is shown the lost call rather than "you left"), their
  // recordings become interrupted and queued for composing, and its half-done composes
  // are queued again. Returns how many calls were lost.
  absl::StatusOr<int> LoseReplica(const std::string& replica_id, absl::Duration ttl);

  // Newest first; `client_id` empty: every client's.
  absl::StatusOr<v1::CallHistoryResponse> CallHistory(const std::string& clinic_id, const std::string& client_id,
                                                      int limit, int offset);

 private:
  std::shared_ptr<pg::Pool> pool_;
  outbox::Outbox outbox_{"media"};
};

}  // namespace vetline::media
