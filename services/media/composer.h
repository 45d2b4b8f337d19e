// Composes a finished recording: every participant's camera track side by side (screen
// shares take a tile of their own) with all audio mixed, into one WebM (VP8 + Opus) that
// anyone can play. Tracks are aligned by the offset at which each started. Runs off the
// call's live pipeline, in the compose worker, so a slow compose never touches a call.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vetline::media {

struct ComposeTrack {
  std::string path;              // a WebM written by the live recorder (VP8 and/or Opus)
  absl::Duration offset;         // when it started, relative to the recording's start
};

struct ComposeResult {
  absl::Duration duration;       // of the composed file
  int tiles = 0;                 // video tiles laid out
};

struct ComposeOptions {
  int tile_width = 640;
  int tile_height = 360;
  int video_kbps = 800;
  // Called now and then with 0..1 (position / expected length); may be empty.
  std::function<void(double)> progress;
  absl::Duration timeout = absl::Minutes(10);
};

// Writes `output` (WebM, VP8 + Opus). Tracks that cannot be read (an empty file from a
// participant who sent nothing) are skipped; none readable is an error naming the files.
absl::StatusOr<ComposeResult> Compose(const std::vector<ComposeTrack>& tracks,
                                      const std::string& output, const ComposeOptions& options);

}  // namespace vetline::media
