// The small layer over GStreamer's webrtcbin that the media service and its test peers
// share: one-time init, synchronous offer/answer steps with time limits, ICE settings,
// and SDP checks that turn a bad offer into a clear error.
#pragma once

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/webrtc/turn.h"

namespace vetline::webrtc {

// gst_init once per process; safe from any thread.
void Init();

// Where ICE looks for a path. Host candidates come from `local_addresses` (loopback in
// tests); STUN ("stun://host:port") and the clinic's TURN relay are for production behind
// NAT. With a relay, each webrtcbin gets its own credentials, valid `turn_life` from its
// creation (a session longer than that loses its relay path).
struct IceSettings {
  std::vector<std::string> local_addresses;
  std::string stun_server;
  TurnRelay turn;
  absl::Duration turn_life = absl::Hours(12);
  absl::Duration gather_timeout = absl::Seconds(5);
};

// A new webrtcbin (floating ref) configured for `ice`: max-bundle, UDP only.
GstElement* NewWebrtcBin(const std::string& name, const IceSettings& ice);

// Runs `lost` once, on a GStreamer thread, when the connection fails: the peer stopped
// answering ICE keepalives (closed tab, lost network) or never connected. Detection
// takes 25–50 s: libnice checks every 25 s and retries an unanswered check for ~25 s.
// `lost` must only hand off (it runs inside webrtcbin).
void OnConnectionLost(GstElement* webrtc, std::function<void()> lost);

// One media section of an offer: its kind, the payload type of the codec we use (-1
// when the offer has none), and its direction.
struct OfferedMedia {
  std::string kind;       // "video" | "audio"
  int payload_type = -1;  // VP8 for video, OPUS for audio
  std::string direction;  // sendrecv | sendonly | recvonly | inactive
};

// Parses an SDP offer; InvalidArgument naming `field` when it is not SDP at all or has
// no media. The caller owns the returned message (gst_sdp_message_free).
absl::StatusOr<GstSDPMessage*> ParseSdp(const std::string& text, std::string_view field);
std::vector<OfferedMedia> DescribeMedia(const GstSDPMessage& sdp);

// RTP caps for our codecs with a given payload type.
GstCaps* RtpCaps(const std::string& kind, int payload_type);

// The offer/answer steps, each waiting for webrtcbin's promise (bounded by `timeout`).
absl::Status SetDescription(GstElement* webrtc, bool remote, GstWebRTCSDPType type,
                            GstSDPMessage* sdp, absl::Duration timeout);  // takes sdp
absl::StatusOr<GstWebRTCSessionDescription*> Create(GstElement* webrtc, bool offer,
                                                    absl::Duration timeout);
// Waits until ICE gathering completes, then returns the local description as text
// (non-trickle: every candidate is inside).
absl::StatusOr<std::string> GatheredLocalSdp(GstElement* webrtc, absl::Duration timeout);

// Drops delta frames on the source pad `pad` until the first keyframe, asking upstream
// for one (RTCP PLI/FIR to the sender) when the first delta frame arrives and every
// 500 ms after, so a receiver that starts mid-stream sees a picture at once.
// `on_keyframe` (optional) runs once, on the streaming thread, with the keyframe.
void StartAtKeyframe(GstPad* pad, std::function<void()> on_keyframe = {});

// Removes `elements` from `bin` after stopping them (state NULL). Call from an
// application thread, never from a streaming thread.
void RemoveElements(GstBin* bin, const std::vector<GstElement*>& elements);

}  // namespace vetline::webrtc
