#include "libs/webrtc/webrtc.h"

#include <gst/video/video.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace vetline::webrtc {
namespace {

// A promise reply handed from webrtcbin's thread to the waiting caller. Shared, because
// a caller that timed out must not be the one to free it.
struct PromiseWait {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  GstStructure* reply = nullptr;  // owned copy
  ~PromiseWait() {
    if (reply) gst_structure_free(reply);
  }
};

void OnPromise(GstPromise* promise, gpointer data) {
  auto wait = *static_cast<std::shared_ptr<PromiseWait>*>(data);
  const GstStructure* reply = gst_promise_get_reply(promise);
  std::lock_guard<std::mutex> l(wait->mu);
  wait->reply = reply ? gst_structure_copy(reply) : nullptr;
  wait->done = true;
  wait->cv.notify_all();
}

GstPromise* NewPromise(const std::shared_ptr<PromiseWait>& wait) {
  return gst_promise_new_with_change_func(
      OnPromise, new std::shared_ptr<PromiseWait>(wait),
      [](gpointer p) { delete static_cast<std::shared_ptr<PromiseWait>*>(p); });
}

absl::Status Await(PromiseWait& wait, absl::Duration timeout, std::string_view what) {
  std::unique_lock<std::mutex> l(wait.mu);
  if (!wait.cv.wait_for(l, absl::ToChronoNanoseconds(timeout), [&] { return wait.done; })) {
    return absl::DeadlineExceededError(absl::StrCat(std::string(what), " did not finish in time"));
  }
  if (wait.reply && gst_structure_has_field(wait.reply, "error")) {
    GError* error = nullptr;
    gst_structure_get(wait.reply, "error", G_TYPE_ERROR, &error, nullptr);
    std::string message = error ? error->message : "unknown error";
    if (error) g_error_free(error);
    return absl::InvalidArgumentError(absl::StrCat(std::string(what), " failed: ", message));
  }
  return absl::OkStatus();
}

}  // namespace

void Init() {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
}

GstElement* NewWebrtcBin(const std::string& name, const IceSettings& ice) {
  GstElement* webrtc = gst_element_factory_make("webrtcbin", name.c_str());
  g_object_set(webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency", 50,
               nullptr);
  if (!ice.stun_server.empty()) g_object_set(webrtc, "stun-server", ice.stun_server.c_str(), nullptr);
  // The media service relays through the clinic's TURN server too, so a browser that can
  // reach only the relay still meets the media service there.
  for (const std::string& uri : ice.turn.WebrtcbinUris("media", absl::Now() + ice.turn_life)) {
    gboolean added = FALSE;
    g_signal_emit_by_name(webrtc, "add-turn-server", uri.c_str(), &added);
  }
  GstWebRTCICE* agent = nullptr;
  g_object_get(webrtc, "ice-agent", &agent, nullptr);
  if (agent) {
    g_object_set(agent, "ice-tcp", FALSE, nullptr);
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(agent), "agent")) {
      GObject* nice = nullptr;  // libnice's agent inside
      g_object_get(agent, "agent", &nice, nullptr);
      if (nice) {
        // libnice would also try UPnP port mapping (SSDP multicast on every interface):
        // candidates come only from the configured addresses and STUN/TURN.
        g_object_set(nice, "upnp", FALSE, nullptr);
        // Keepalives that need an answer: a peer that vanished (closed tab, lost
        // network) turns the connection to failed instead of living on forever.
        g_object_set(nice, "keepalive-conncheck", TRUE, nullptr);
        g_object_unref(nice);
      }
    }
    for (const std::string& address : ice.local_addresses) {
      gboolean added = FALSE;
      g_signal_emit_by_name(agent, "add-local-ip-address", address.c_str(), &added);
    }
    gst_object_unref(agent);
  }
  return webrtc;
}

void OnConnectionLost(GstElement* webrtc, std::function<void()> lost) {
  struct Watch {
    std::function<void()> lost;
    std::atomic<bool> reported{false};
  };
  auto* watch = new Watch;
  watch->lost = std::move(lost);
  g_signal_connect_data(
      webrtc, "notify::ice-connection-state",
      G_CALLBACK(+[](GstElement* element, GParamSpec*, gpointer data) {
        auto* w = static_cast<Watch*>(data);
        GstWebRTCICEConnectionState state = GST_WEBRTC_ICE_CONNECTION_STATE_NEW;
        g_object_get(element, "ice-connection-state", &state, nullptr);
        if (state == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED && !w->reported.exchange(true)) w->lost();
      }),
      watch, [](gpointer data, GClosure*) { delete static_cast<Watch*>(data); }, GConnectFlags(0));
}

absl::StatusOr<GstSDPMessage*> ParseSdp(const std::string& text, std::string_view field) {
  if (text.empty()) return InvalidField(field, absl::StrCat(std::string(field), " is required (an SDP offer)"));
  if (!absl::StartsWith(text, "v=0")) {
    return InvalidField(field, absl::StrCat(std::string(field), " is not an SDP offer (it must start with v=0)"));
  }
  GstSDPMessage* sdp = nullptr;
  gst_sdp_message_new(&sdp);
  if (gst_sdp_message_parse_buffer(reinterpret_cast<const guint8*>(text.data()), text.size(), sdp) !=
          GST_SDP_OK ||
      gst_sdp_message_medias_len(sdp) == 0) {
    gst_sdp_message_free(sdp);
    return InvalidField(field, absl::StrCat(std::string(field), " has no media sections (m= lines)"));
  }
  for (guint i = 0; i < gst_sdp_message_medias_len(sdp); ++i) {
    const GstSDPMedia* m = gst_sdp_message_get_media(sdp, i);
    if (!gst_sdp_media_get_attribute_val(m, "ice-ufrag") &&
        !gst_sdp_message_get_attribute_val(sdp, "ice-ufrag")) {
      gst_sdp_message_free(sdp);
      return InvalidField(field, absl::StrCat(std::string(field), " lacks ICE credentials (a=ice-ufrag)"));
    }
    if (!gst_sdp_media_get_attribute_val(m, "fingerprint") &&
        !gst_sdp_message_get_attribute_val(sdp, "fingerprint")) {
      gst_sdp_message_free(sdp);
      return InvalidField(field, absl::StrCat(std::string(field), " lacks a DTLS fingerprint (a=fingerprint)"));
    }
  }
  return sdp;
}

std::vector<OfferedMedia> DescribeMedia(const GstSDPMessage& sdp) {
  std::vector<OfferedMedia> out;
  for (guint i = 0; i < gst_sdp_message_medias_len(&sdp); ++i) {
    const GstSDPMedia* m = gst_sdp_message_get_media(&sdp, i);
    OfferedMedia media;
    media.kind = gst_sdp_media_get_media(m) ? gst_sdp_media_get_media(m) : "";
    media.direction = "sendrecv";
    const std::string want = media.kind == "video" ? "vp8/" : "opus/";
    for (guint a = 0; a < gst_sdp_media_attributes_len(m); ++a) {
      const GstSDPAttribute* attr = gst_sdp_media_get_attribute(m, a);
      std::string key = attr->key ? attr->key : "";
      if (key == "sendonly" || key == "recvonly" || key == "inactive" || key == "sendrecv") {
        media.direction = key;
      }
      if (key != "rtpmap" || !attr->value || media.payload_type >= 0) continue;
      std::string value = absl::AsciiStrToLower(attr->value);  // "96 VP8/90000"
      size_t space = value.find(' ');
      if (space != std::string::npos && value.compare(space + 1, want.size(), want) == 0) {
        media.payload_type = std::atoi(value.c_str());
      }
    }
    out.push_back(media);
  }
  return out;
}

GstCaps* RtpCaps(const std::string& kind, int payload_type) {
  if (kind == "video") {
    return gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, "video",
                               "encoding-name", G_TYPE_STRING, "VP8", "clock-rate", G_TYPE_INT,
                               90000, "payload", G_TYPE_INT, payload_type, nullptr);
  }
  return gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, "audio", "encoding-name",
                             G_TYPE_STRING, "OPUS", "clock-rate", G_TYPE_INT, 48000, "payload",
                             G_TYPE_INT, payload_type, nullptr);
}

absl::Status SetDescription(GstElement* webrtc, bool remote, GstWebRTCSDPType type,
                            GstSDPMessage* sdp, absl::Duration timeout) {
  GstWebRTCSessionDescription* desc = gst_webrtc_session_description_new(type, sdp);
  auto wait = std::make_shared<PromiseWait>();
  g_signal_emit_by_name(webrtc, remote ? "set-remote-description" : "set-local-description", desc,
                        NewPromise(wait));
  gst_webrtc_session_description_free(desc);
  return Await(*wait, timeout, remote ? "applying the remote description" : "applying the local description");
}

absl::StatusOr<GstWebRTCSessionDescription*> Create(GstElement* webrtc, bool offer,
                                                    absl::Duration timeout) {
  auto wait = std::make_shared<PromiseWait>();
  g_signal_emit_by_name(webrtc, offer ? "create-offer" : "create-answer", nullptr, NewPromise(wait));
  const char* what = offer ? "offer" : "answer";
  VL_RETURN_IF_ERROR(Await(*wait, timeout, absl::StrCat("creating the ", what)));
  GstWebRTCSessionDescription* desc = nullptr;
  if (wait->reply) gst_structure_get(wait->reply, what, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, nullptr);
  if (!desc) return absl::InvalidArgumentError(absl::StrCat("no ", what, " could be made for this offer"));
  return desc;
}

absl::StatusOr<std::string> GatheredLocalSdp(GstElement* webrtc, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    GstWebRTCICEGatheringState state = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
    g_object_get(webrtc, "ice-gathering-state", &state, nullptr);
    if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) break;
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError("ICE candidate gathering did not complete in time");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  GstWebRTCSessionDescription* local = nullptr;
  g_object_get(webrtc, "local-description", &local, nullptr);
  if (!local) return absl::InternalError("webrtcbin has no local description");
  gchar* text = gst_sdp_message_as_text(local->sdp);
  std::string out = text;
  g_free(text);
  gst_webrtc_session_description_free(local);
  return out;
}

namespace {
struct KeyframeGate {
  std::atomic<bool> open{false};
  gint64 last_request_us = 0;  // touched only by the streaming thread
  std::function<void()> on_keyframe;
};
constexpr gint64 kKeyframeRequestEveryUs = 500'000;
}  // namespace

void StartAtKeyframe(GstPad* pad, std::function<void()> on_keyframe) {
  auto* gate = new KeyframeGate;
  gate->on_keyframe = std::move(on_keyframe);
  gst_pad_add_probe(
      pad, GST_PAD_PROBE_TYPE_BUFFER,
      [](GstPad* pad, GstPadProbeInfo* info, gpointer data) -> GstPadProbeReturn {
        auto* gate = static_cast<KeyframeGate*>(data);
        if (gate->open.load()) return GST_PAD_PROBE_REMOVE;
        GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
        if (GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT)) {
          // Asked from here, once media reaches the branch (it is linked by then), and
          // again every 500 ms while waiting: a request (RTCP PLI/FIR) can be lost, and
          // browsers send keyframes only when asked. The event travels upstream through
          // the tee and the depayloader to webrtcbin, which turns it into RTCP.
          gint64 now = g_get_monotonic_time();
          if (now - gate->last_request_us >= kKeyframeRequestEveryUs) {
            gate->last_request_us = now;
            gst_pad_send_event(pad, gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
          }
          return GST_PAD_PROBE_DROP;
        }
        gate->open = true;
        if (gate->on_keyframe) gate->on_keyframe();
        return GST_PAD_PROBE_OK;
      },
      gate, [](gpointer data) { delete static_cast<KeyframeGate*>(data); });
}

void RemoveElements(GstBin* bin, const std::vector<GstElement*>& elements) {
  for (GstElement* e : elements) {
    gst_element_set_locked_state(e, TRUE);
    gst_element_set_state(e, GST_STATE_NULL);
  }
  for (GstElement* e : elements) gst_bin_remove(bin, e);
}

}  // namespace vetline::webrtc
