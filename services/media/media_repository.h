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

  absl::StatusOr<v1::Recording> StartRecording(const v1::Call& call);  // FailedPrecondition if on
  absl::StatusOr<v1::Recording> StopRecording(const std::string& call_id);  // FailedPrecondition if off
  absl::StatusOr<std::optional<std::string>> ActiveRecording(const std::string& call_id);
  absl::Status AddTrack(const std::string& recording_id, const std::string& publication_id,
                        const std::string& path, absl::Time start_time);
  absl::StatusOr<RecordingRow> GetRecording(const std::string& recording_id);  // NotFound
  absl::StatusOr<std::vector<v1::Recording>> RecordingsOf(const std::string& call_id);

  // Compose queue: takes the oldest pending recording (skipping ones others hold).
  absl::StatusOr<std::optional<ComposeJob>> ClaimCompose();
  absl::Status SetProgress(const std::string& recording_id, double progress);
  absl::Status FinishCompose(const std::string& recording_id, const std::string& blob_key,
                             double duration_seconds);
  absl::Status FailCompose(const std::string& recording_id, const std::string& error);
  // After a crash: live recordings become interrupted and are composed from what was
  // written; half-done composes start again; sessions of the dead process end.
  absl::StatusOr<int> RecoverAfterRestart();

  absl::StatusOr<v1::CallHistoryResponse> CallHistory(const std::string& clinic_id, int limit,
                                                      int offset);

 private:
  std::shared_ptr<pg::Pool> pool_;
  outbox::Outbox outbox_{"media"};
};

}  // namespace vetline::media
