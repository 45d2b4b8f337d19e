// What the gRPC edge and the recording worker both do to a live call: tell its
// participants what changed, end WHIP/WHEP sessions (and the subscriptions to a
// publication), stop its recording.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "libs/core/clock.h"
#include "services/media/call_engine.h"
#include "services/media/event_hub.h"
#include "services/media/media_repository.h"

namespace vetline::media {

class CallRoom {
 public:
  CallRoom(MediaRepository& repo, CallEngine& engine, EventHub& events, const Clock& clock)
      : repo_(repo), engine_(engine), events_(events), clock_(clock) {}

  // Tells everyone watching the call; `about` is whom the event is about (may be null).
  void Emit(const std::string& type, const v1::Call& call, const v1::Participant* about);
  // Stops a participant's sessions (or the whole call's when `participant_id` is empty).
  void EndSessionsOf(const std::string& call_id, const std::string& participant_id);
  // Ends one live session (a publication's subscriptions with it) and tells the call.
  absl::Status EndMediaSession(const SessionRow& s);
  absl::Status StopRecordingIfOn(const std::string& call_id);

 private:
  MediaRepository& repo_;
  CallEngine& engine_;
  EventHub& events_;
  const Clock& clock_;
};

}  // namespace vetline::media
