// The rules of a video call, as plain values: the states of calls, participants and
// recordings (with their text in the API and the database), which moves are allowed,
// when a call starts, who sees which event, when a recording may be downloaded, and
// when an invitation opens. No gRPC, SQL or clock here: the edge and the repository
// call these, and the unit tests build them in one line.
#pragma once

#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vetline::media::rules {

enum class CallState { kScheduled, kWaiting, kLive, kEnded };
enum class ParticipantState { kWaiting, kAdmitted, kRemoved, kLeft };
enum class Role { kHost, kClient, kGuest };
enum class RecordingState { kRecording, kPending, kComposing, kReady, kFailed };
enum class PublicationKind { kCamera, kScreen };

std::string_view ToText(CallState s);
std::string_view ToText(ParticipantState s);
std::string_view ToText(Role r);
std::string_view ToText(RecordingState s);
std::string_view ToText(PublicationKind k);

// Text from the database or a request; nullopt for anything outside the set.
std::optional<CallState> CallStateFrom(std::string_view text);
std::optional<ParticipantState> ParticipantStateFrom(std::string_view text);
std::optional<Role> RoleFrom(std::string_view text);
std::optional<RecordingState> RecordingStateFrom(std::string_view text);
// A request's `kind`: a field error naming `field` when it is not camera or screen.
absl::StatusOr<PublicationKind> PublicationKindFrom(std::string_view field, std::string_view text);

// --- calls
// A call starts (goes live, its start time set) when a second participant is admitted:
// the host waiting alone is not call time, and there is nothing to record yet.
inline constexpr int kParticipantsToStart = 2;
bool Starts(CallState state, int admitted_participants);
// Someone joined the waiting room: a scheduled call is now waiting.
CallState AfterJoin(CallState state);
// Recording needs a started call; FailedPrecondition saying why otherwise.
absl::Status CanRecord(CallState state);
// Joining needs a call that has not ended; FailedPrecondition otherwise.
absl::Status CanJoin(CallState state);

// When an invitation opens: `join_early` before the scheduled start; nullopt (open
// always) for a call without one.
std::optional<absl::Time> JoinOpensAt(std::optional<absl::Time> scheduled_start, absl::Duration join_early);
// FailedPrecondition naming the opening time when `now` is before JoinOpensAt.
absl::Status JoinWindowOpen(std::optional<absl::Time> scheduled_start, absl::Duration join_early,
                            absl::Time now);

// --- participants
// Allowed moves: waiting -> admitted; waiting | admitted -> removed | left. Nothing
// leaves removed or left (a participant who left joins again as a new participant).
bool CanMove(ParticipantState from, ParticipantState to);
// Removing a participant revokes the invitation they joined with only when it was
// theirs alone (the client's personal link). The call's shared link stays usable by
// others: removal applies to that participant only.
bool RemovalRevokesInvitation(Role role);
// What a participant's own token allows, given its state: Ok, or the reason it is
// refused (PermissionDenied when removed, FailedPrecondition when left or still
// waiting and `must_be_admitted`).
absl::Status MayAct(ParticipantState state, bool must_be_admitted);

// --- events
// Whether a participant sees an event: the waiting room is the host's alone.
bool Sees(std::string_view event_type, bool viewer_is_host, bool about_viewer);
// Whether an event is the last one on a participant's stream.
bool EndsStream(std::string_view event_type, bool about_viewer);

// --- recordings
// Ready and shorter than `max_download` (longer ones are kept, not served).
bool Downloadable(RecordingState state, double duration_seconds, absl::Duration max_download);

}  // namespace vetline::media::rules
