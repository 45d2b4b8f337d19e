// WebRTC participants for media tests and benchmarks, built on GStreamer webrtcbin.
//
// The peers are always the offerer and use non-trickle ICE: the offer handed to the
// Signal already carries every local candidate, and the answer is applied as is.
// ICE is restricted to loopback (127.0.0.1, UDP, no STUN) since the media service
// under test runs on the same machine.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vetline::testing {

// Sends an SDP offer to the media service and returns its SDP answer (or the HTTP error).
using Signal = std::function<absl::StatusOr<std::string>(const std::string& offer_sdp)>;

// Pre-encoded media, made once and looped by publishers, so that encoding does not eat
// the cores: VP8 frames and Opus packets with their durations.
struct EncodedClip {
  struct Frame {
    std::vector<uint8_t> data;
    int64_t duration_ns = 0;
    bool keyframe = false;
  };
  std::vector<Frame> video;  // VP8, keyframe at least every second
  std::vector<Frame> audio;  // Opus, 20 ms packets, 48 kHz stereo
  int width = 0, height = 0;
};

// Encodes `length` of videotestsrc + audiotestsrc at the size and bitrate given (CBR).
// `pattern` is videotestsrc's: the moving ball compresses far below most bitrates;
// "smpte horizontal-speed=8" fills about 550 kbps at 640x360, as a camera would. Takes a few seconds of CPU once; cache the result.
absl::StatusOr<std::shared_ptr<const EncodedClip>> EncodeClip(int width, int height, int fps,
                                                              absl::Duration length,
                                                              int video_kbps,
                                                              const std::string& pattern = "ball");

// A participant sending media (sendonly offer): VP8 video and, if `audio`, Opus audio,
// looping the clip in real time (appsrc, timestamps rewritten per loop, is-live).
class Publisher {
 public:
  struct Options {
    std::shared_ptr<const EncodedClip> clip;
    bool audio = true;  // a screen share is video only
    Signal signal;
    absl::Duration timeout = absl::Seconds(10);  // gathering + connection
    // Instead of the clip: encode a test pattern live (320x180) and make a keyframe only
    // at the start and when the receiver asks (RTCP PLI/FIR), as browsers do.
    bool encode_live = false;
  };
  // Returns once the offer/answer is done and ICE+DTLS is connected (or the timeout, an error).
  static absl::StatusOr<std::unique_ptr<Publisher>> Start(Options options);
  ~Publisher();  // stops the pipeline

  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  int64_t video_frames_sent() const;
  // Holds the clip (nothing is sent) until resumed; the clip then goes on from where it
  // stopped, so a receiver sees one continuous stream. Lets a benchmark count frames with
  // nothing in flight.
  void Pause(bool paused);
  // The SDP answer that came back (tests inspect it).
  const std::string& answer() const;

  struct Impl;  // GStreamer state, kept out of this header

 private:
  explicit Publisher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A participant receiving one publication (recvonly offer, video + audio unless video_only).
class Subscriber {
 public:
  struct Options {
    Signal signal;
    bool video_only = false;
    // Count decoded video frames (vp8dec); false: count depayloaded frames only (cheap,
    // for benchmarks).
    bool decode = true;
    absl::Duration timeout = absl::Seconds(10);
  };
  static absl::StatusOr<std::unique_ptr<Subscriber>> Start(Options options);
  ~Subscriber();

  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  int64_t video_frames() const;   // decoded (or depayloaded) VP8 frames so far
  int64_t audio_packets() const;  // depayloaded Opus packets so far
  int64_t keyframes() const;      // VP8 keyframes received (first frame should be one)
  // Waits until video_frames() >= n; false on timeout.
  bool WaitForVideoFrames(int64_t n, absl::Duration timeout) const;
  const std::string& answer() const;

  struct Impl;  // GStreamer state, kept out of this header

 private:
  explicit Subscriber(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Initializes GStreamer once per process (webrtcbin signals run on their own threads, so
// no main loop is required). Safe to call many times, from any thread.
void InitGstreamer();

}  // namespace vetline::testing
