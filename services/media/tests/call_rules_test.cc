// The rules of a call on their own: plain values in, decisions out.
#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "libs/core/status.h"
#include "services/media/call_rules.h"

using namespace vetline::media::rules;

TEST_CASE("call rules: every state reads back from its text, and nothing else does") {
  for (CallState s : {CallState::kScheduled, CallState::kWaiting, CallState::kLive, CallState::kEnded}) {
    CHECK(CallStateFrom(ToText(s)) == s);
  }
  for (ParticipantState s : {ParticipantState::kWaiting, ParticipantState::kAdmitted, ParticipantState::kRemoved,
                             ParticipantState::kLeft}) {
    CHECK(ParticipantStateFrom(ToText(s)) == s);
  }
  for (RecordingState s : {RecordingState::kRecording, RecordingState::kPending, RecordingState::kComposing,
                           RecordingState::kReady, RecordingState::kFailed}) {
    CHECK(RecordingStateFrom(ToText(s)) == s);
  }
  for (Role r : {Role::kHost, Role::kClient, Role::kGuest}) CHECK(RoleFrom(ToText(r)) == r);
  CHECK(ToText(CallState::kLive) == "live");
  CHECK_FALSE(CallStateFrom("LIVE"));
  CHECK_FALSE(ParticipantStateFrom(""));
  CHECK_FALSE(RoleFrom("admin"));
}

TEST_CASE("call rules: a publication kind outside camera and screen is a field error") {
  CHECK(*PublicationKindFrom("kind", "camera") == PublicationKind::kCamera);
  CHECK(*PublicationKindFrom("kind", "screen") == PublicationKind::kScreen);
  auto bad = PublicationKindFrom("kind", "microphone");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(bad.status().GetPayload(vetline::kFieldPayload).value_or(absl::Cord())) == "kind");
}

TEST_CASE("call rules: a call starts with its second admitted participant, not with the host alone") {
  CHECK_FALSE(Starts(CallState::kWaiting, 1));
  CHECK(Starts(CallState::kWaiting, 2));
  CHECK(Starts(CallState::kScheduled, 3));
  CHECK_FALSE(Starts(CallState::kLive, 2));   // already started: the start time stays
  CHECK_FALSE(Starts(CallState::kEnded, 2));
  CHECK(AfterJoin(CallState::kScheduled) == CallState::kWaiting);
  CHECK(AfterJoin(CallState::kLive) == CallState::kLive);
}

TEST_CASE("call rules: recording needs a started call and says why otherwise") {
  CHECK(CanRecord(CallState::kLive).ok());
  absl::Status alone = CanRecord(CallState::kWaiting);
  CHECK(alone.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(alone.message(), "second participant"));
  CHECK(CanRecord(CallState::kEnded).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(CanJoin(CallState::kEnded).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(CanJoin(CallState::kScheduled).ok());
}

TEST_CASE("call rules: participants move waiting -> admitted -> removed or left, never back") {
  CHECK(CanMove(ParticipantState::kWaiting, ParticipantState::kAdmitted));
  CHECK_FALSE(CanMove(ParticipantState::kAdmitted, ParticipantState::kAdmitted));
  CHECK(CanMove(ParticipantState::kWaiting, ParticipantState::kRemoved));
  CHECK(CanMove(ParticipantState::kAdmitted, ParticipantState::kLeft));
  CHECK_FALSE(CanMove(ParticipantState::kRemoved, ParticipantState::kAdmitted));
  CHECK_FALSE(CanMove(ParticipantState::kLeft, ParticipantState::kRemoved));
  CHECK_FALSE(CanMove(ParticipantState::kAdmitted, ParticipantState::kWaiting));
  CHECK(MayAct(ParticipantState::kRemoved, false).code() == absl::StatusCode::kPermissionDenied);
  CHECK(MayAct(ParticipantState::kLeft, false).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(MayAct(ParticipantState::kWaiting, true).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(MayAct(ParticipantState::kWaiting, false).ok());
  CHECK(MayAct(ParticipantState::kAdmitted, true).ok());
}

TEST_CASE("call rules: removing a guest leaves the shared link usable, the client's own link is revoked") {
  CHECK_FALSE(RemovalRevokesInvitation(Role::kGuest));
  CHECK(RemovalRevokesInvitation(Role::kClient));
}

TEST_CASE("call rules: only the host sees the waiting room, and a stream ends on its participant's exit") {
  CHECK(Sees("waiting", /*host=*/true, false));
  CHECK_FALSE(Sees("waiting", false, false));
  CHECK(Sees("waiting", false, /*about_viewer=*/true));
  CHECK(Sees("admitted", false, false));
  CHECK(EndsStream("ended", false));
  CHECK(EndsStream("removed", true));
  CHECK_FALSE(EndsStream("removed", false));
  CHECK(EndsStream("left", true));
  CHECK_FALSE(EndsStream("media_state", true));
}

TEST_CASE("call rules: a recording is downloadable when ready and under the limit") {
  CHECK(Downloadable(RecordingState::kReady, 59.9 * 60, absl::Minutes(60)));
  CHECK_FALSE(Downloadable(RecordingState::kReady, 60 * 60, absl::Minutes(60)));
  CHECK_FALSE(Downloadable(RecordingState::kComposing, 10, absl::Minutes(60)));
  CHECK_FALSE(Downloadable(RecordingState::kFailed, 10, absl::Minutes(60)));
}

TEST_CASE("call rules: an invitation opens join_early before the scheduled start") {
  const absl::Time start = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z
  CHECK(JoinWindowOpen(std::nullopt, absl::Minutes(30), start - absl::Hours(100)).ok());
  CHECK(JoinWindowOpen(start, absl::Minutes(30), start - absl::Minutes(30)).ok());
  absl::Status early = JoinWindowOpen(start, absl::Minutes(30), start - absl::Minutes(31));
  CHECK(early.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(early.message(), "opens for joining at 2025-12-31T23:30:00Z"));
  CHECK(absl::StrContains(early.message(), "30 minutes before"));
}
