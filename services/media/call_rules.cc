#include "services/media/call_rules.h"

#include <array>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace vetline::media::rules {
namespace {

// One table per enum: its values in order with their text.
template <typename E, size_t N>
using Names = std::array<std::pair<E, std::string_view>, N>;

constexpr Names<CallState, 4> kCallStates{{{CallState::kScheduled, "scheduled"},
                                           {CallState::kWaiting, "waiting"},
                                           {CallState::kLive, "live"},
                                           {CallState::kEnded, "ended"}}};
constexpr Names<ParticipantState, 4> kParticipantStates{{{ParticipantState::kWaiting, "waiting"},
                                                         {ParticipantState::kAdmitted, "admitted"},
                                                         {ParticipantState::kRemoved, "removed"},
                                                         {ParticipantState::kLeft, "left"}}};
constexpr Names<Role, 3> kRoles{{{Role::kHost, "host"}, {Role::kClient, "client"}, {Role::kGuest, "guest"}}};
constexpr Names<RecordingState, 5> kRecordingStates{{{RecordingState::kRecording, "recording"},
                                                     {RecordingState::kPending, "pending"},
                                                     {RecordingState::kComposing, "composing"},
                                                     {RecordingState::kReady, "ready"},
                                                     {RecordingState::kFailed, "failed"}}};
constexpr Names<PublicationKind, 2> kKinds{{{PublicationKind::kCamera, "camera"},
                                            {PublicationKind::kScreen, "screen"}}};

template <typename E, size_t N>
std::string_view Text(const Names<E, N>& names, E value) {
  for (const auto& [v, text] : names) {
    if (v == value) return text;
  }
  return "";
}

template <typename E, size_t N>
std::optional<E> From(const Names<E, N>& names, std::string_view text) {
  for (const auto& [v, t] : names) {
    if (t == text) return v;
  }
  return std::nullopt;
}

}  // namespace

std::string_view ToText(CallState s) { return Text(kCallStates, s); }
std::string_view ToText(ParticipantState s) { return Text(kParticipantStates, s); }
std::string_view ToText(Role r) { return Text(kRoles, r); }
std::string_view ToText(RecordingState s) { return Text(kRecordingStates, s); }
std::string_view ToText(PublicationKind k) { return Text(kKinds, k); }

std::optional<CallState> CallStateFrom(std::string_view text) { return From(kCallStates, text); }
std::optional<ParticipantState> ParticipantStateFrom(std::string_view text) {
  return From(kParticipantStates, text);
}
std::optional<Role> RoleFrom(std::string_view text) { return From(kRoles, text); }
std::optional<RecordingState> RecordingStateFrom(std::string_view text) {
  return From(kRecordingStates, text);
}

absl::StatusOr<PublicationKind> PublicationKindFrom(std::string_view field, std::string_view text) {
  std::optional<PublicationKind> kind = From(kKinds, text);
  if (!kind) return InvalidField(field, absl::StrCat(std::string(field), " must be camera or screen"));
  return *kind;
}

bool Starts(CallState state, int admitted_participants) {
  return (state == CallState::kScheduled || state == CallState::kWaiting) &&
         admitted_participants >= kParticipantsToStart;
}

CallState AfterJoin(CallState state) {
  return state == CallState::kScheduled ? CallState::kWaiting : state;
}

absl::Status CanRecord(CallState state) {
  switch (state) {
    case CallState::kLive:
      return absl::OkStatus();
    case CallState::kEnded:
      return absl::FailedPreconditionError("the call has ended");
    default:
      return absl::FailedPreconditionError(
          "the call has not started yet: recording can start once a second participant is admitted");
  }
}

absl::Status CanJoin(CallState state) {
  if (state == CallState::kEnded) return absl::FailedPreconditionError("the call has ended");
  return absl::OkStatus();
}

std::optional<absl::Time> JoinOpensAt(std::optional<absl::Time> scheduled_start, absl::Duration join_early) {
  if (!scheduled_start) return std::nullopt;
  return *scheduled_start - join_early;
}

absl::Status JoinWindowOpen(std::optional<absl::Time> scheduled_start, absl::Duration join_early,
                            absl::Time now) {
  const std::optional<absl::Time> at = JoinOpensAt(scheduled_start, join_early);
  if (!at || now >= *at) return absl::OkStatus();
  const absl::Time opens = *at;
  return absl::FailedPreconditionError(absl::StrCat(
      "too early: this call opens for joining at ",
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", opens, absl::UTCTimeZone()), " (",
      absl::ToInt64Minutes(join_early), " minutes before it starts)"));
}

bool CanMove(ParticipantState from, ParticipantState to) {
  switch (to) {
    case ParticipantState::kAdmitted:
      return from == ParticipantState::kWaiting;
    case ParticipantState::kRemoved:
    case ParticipantState::kLeft:
      return from == ParticipantState::kWaiting || from == ParticipantState::kAdmitted;
    case ParticipantState::kWaiting:
      return false;  // a participant only enters the waiting room by joining
  }
  return false;
}

bool RemovalRevokesInvitation(Role role) { return role == Role::kClient; }

absl::Status MayAct(ParticipantState state, bool must_be_admitted) {
  switch (state) {
    case ParticipantState::kRemoved:
      return absl::PermissionDeniedError("the host removed you from this call");
    case ParticipantState::kLeft:
      return absl::FailedPreconditionError("you left this call: join again");
    case ParticipantState::kWaiting:
      if (must_be_admitted) return absl::FailedPreconditionError("wait until the host admits you");
      return absl::OkStatus();
    case ParticipantState::kAdmitted:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

bool Sees(std::string_view event_type, bool viewer_is_host, bool about_viewer) {
  return viewer_is_host || about_viewer || event_type != "waiting";
}

bool EndsStream(std::string_view event_type, bool about_viewer) {
  return event_type == "ended" || (about_viewer && (event_type == "removed" || event_type == "left"));
}

bool Downloadable(RecordingState state, double duration_seconds, absl::Duration max_download) {
  return state == RecordingState::kReady && duration_seconds < absl::ToDoubleSeconds(max_download);
}

}  // namespace vetline::media::rules
