#include "tests/support/webrtc_peer.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/webrtc/webrtc.h"

namespace vetline::testing {
namespace {

constexpr int kVideoPt = 96;
constexpr int kAudioPt = 111;

webrtc::IceSettings LoopbackIce() {
  webrtc::IceSettings ice;
  ice.local_addresses = {"127.0.0.1"};
  return ice;
}

absl::Status WaitConnected(GstElement* webrtc, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    GstWebRTCPeerConnectionState state = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;
    g_object_get(webrtc, "connection-state", &state, nullptr);
    if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED) return absl::OkStatus();
    if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED) {
      return absl::UnavailableError("the peer connection failed (ICE or DTLS)");
    }
    if (absl::Now() > deadline) return absl::DeadlineExceededError("the peer connection did not connect");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Offer → signal → answer, for a webrtcbin whose transceivers are already set up.
absl::StatusOr<std::string> Negotiate(GstElement* webrtc, const Signal& signal, absl::Duration timeout) {
  VL_ASSIGN_OR_RETURN(GstWebRTCSessionDescription * offer, webrtc::Create(webrtc, true, timeout));
  GstSDPMessage* local = nullptr;
  gst_sdp_message_copy(offer->sdp, &local);
  gst_webrtc_session_description_free(offer);
  VL_RETURN_IF_ERROR(webrtc::SetDescription(webrtc, false, GST_WEBRTC_SDP_TYPE_OFFER, local, timeout));
  VL_ASSIGN_OR_RETURN(std::string offer_text, webrtc::GatheredLocalSdp(webrtc, timeout));
  VL_ASSIGN_OR_RETURN(std::string answer, signal(offer_text));
  GstSDPMessage* remote = nullptr;
  gst_sdp_message_new_from_text(answer.c_str(), &remote);
  if (!remote) return absl::InvalidArgumentError("the answer is not SDP");
  VL_RETURN_IF_ERROR(webrtc::SetDescription(webrtc, true, GST_WEBRTC_SDP_TYPE_ANSWER, remote, timeout));
  VL_RETURN_IF_ERROR(WaitConnected(webrtc, timeout));
  return answer;
}

void StopPipeline(GstElement*& pipeline) {
  if (!pipeline) return;
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  pipeline = nullptr;
}

GstElement* MakeIn(GstElement* pipeline, const char* factory) {
  GstElement* e = gst_element_factory_make(factory, nullptr);
  gst_bin_add(GST_BIN(pipeline), e);
  return e;
}

absl::Status Pull(GstElement* sink, std::vector<EncodedClip::Frame>& out) {
  for (;;) {
    GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 30 * GST_SECOND);
    if (!sample) break;  // EOS
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    EncodedClip::Frame f;
    f.data.resize(gst_buffer_get_size(buffer));
    gst_buffer_extract(buffer, 0, f.data.data(), f.data.size());
    f.duration_ns = GST_BUFFER_DURATION_IS_VALID(buffer) ? GST_BUFFER_DURATION(buffer) : 0;
    f.keyframe = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
    out.push_back(std::move(f));
    gst_sample_unref(sample);
  }
  return out.empty() ? absl::InternalError("the encoder produced nothing") : absl::OkStatus();
}

}  // namespace

void InitGstreamer() { webrtc::Init(); }

absl::StatusOr<std::shared_ptr<const EncodedClip>> EncodeClip(int width, int height, int fps,
                                                              absl::Duration length, int video_kbps,
                                                              const std::string& pattern) {
  InitGstreamer();
  auto clip = std::make_shared<EncodedClip>();
  clip->width = width;
  clip->height = height;
  const int frames = static_cast<int>(absl::ToDoubleSeconds(length) * fps);
  std::string description = absl::StrCat(
      "videotestsrc pattern=", pattern, " num-buffers=", frames, " ! video/x-raw,width=", width,
      ",height=", height, ",framerate=", fps, "/1 ! vp8enc deadline=1 threads=1 end-usage=cbr "
      "max-quantizer=63 target-bitrate=", video_kbps * 1000, " keyframe-max-dist=", fps,
      " ! appsink name=v sync=false  audiotestsrc wave=ticks num-buffers=",
      static_cast<int>(absl::ToDoubleSeconds(length) * 50),
      " samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=2 ! opusenc frame-size=20 ! "
      "appsink name=a sync=false");
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  if (!pipeline) {
    std::string message = error ? error->message : "?";
    if (error) g_error_free(error);
    return absl::InternalError("encoding pipeline: " + message);
  }
  GstElement* v = gst_bin_get_by_name(GST_BIN(pipeline), "v");
  GstElement* a = gst_bin_get_by_name(GST_BIN(pipeline), "a");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  absl::Status status;
  std::thread audio([&] { status.Update(Pull(a, clip->audio)); });
  status.Update(Pull(v, clip->video));
  audio.join();
  gst_object_unref(v);
  gst_object_unref(a);
  StopPipeline(pipeline);
  VL_RETURN_IF_ERROR(status);
  return std::shared_ptr<const EncodedClip>(clip);
}

struct Publisher::Impl {
  Options options;
  GstElement* pipeline = nullptr;
  GstElement* webrtc = nullptr;
  GstElement* video_src = nullptr;
  GstElement* audio_src = nullptr;
  std::string answer;
  std::atomic<int64_t> video_sent{0};
  std::thread feeder;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  bool paused = false;

  ~Impl() {
    {
      std::lock_guard<std::mutex> l(mu);
      stop = true;
    }
    cv.notify_all();
    if (feeder.joinable()) feeder.join();
    StopPipeline(pipeline);
  }

  // Pushes the clip in real time, looping; appsrc stamps each buffer with the running time.
  void Feed() {
    const EncodedClip& clip = *options.clip;
    size_t vi = 0, ai = 0;
    auto start = std::chrono::steady_clock::now();
    int64_t video_at = 0, audio_at = 0;  // ns since start of the next frame of each
    std::unique_lock<std::mutex> l(mu);
    while (!stop) {
      if (paused) {
        auto paused_at = std::chrono::steady_clock::now();
        cv.wait(l, [&] { return stop || !paused; });
        start += std::chrono::steady_clock::now() - paused_at;  // resume without a burst
        continue;
      }
      bool video_next = !audio_src || video_at <= audio_at;
      int64_t due = video_next ? video_at : audio_at;
      if (cv.wait_until(l, start + std::chrono::nanoseconds(due), [&] { return stop || paused; })) continue;
      const auto& frames = video_next ? clip.video : clip.audio;
      size_t& i = video_next ? vi : ai;
      const EncodedClip::Frame& f = frames[i];
      i = (i + 1) % frames.size();
      GstBuffer* buffer = gst_buffer_new_memdup(f.data.data(), f.data.size());
      if (!f.keyframe) GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
      gst_app_src_push_buffer(GST_APP_SRC(video_next ? video_src : audio_src), buffer);
      int64_t step = f.duration_ns > 0 ? f.duration_ns : (video_next ? 33'333'333 : 20'000'000);
      if (video_next) {
        video_at += step;
        ++video_sent;
      } else {
        audio_at += step;
      }
    }
  }
};

absl::StatusOr<std::unique_ptr<Publisher>> Publisher::Start(Options options) {
  InitGstreamer();
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  GstElement* pipeline = impl->pipeline = gst_pipeline_new(nullptr);
  GstElement* webrtc = impl->webrtc = webrtc::NewWebrtcBin("publisher", LoopbackIce());
  gst_bin_add(GST_BIN(pipeline), webrtc);
  // Links `rtp` (payloaded `kind`) into a new send-only transceiver offering our codec.
  auto send_track = [&](const std::string& kind, GstPad* rtp) {
    GstPad* sink = gst_element_request_pad_simple(webrtc, "sink_%u");
    gst_pad_link(rtp, sink);
    gst_object_unref(rtp);
    GstWebRTCRTPTransceiver* t = nullptr;
    g_object_get(sink, "transceiver", &t, nullptr);
    GstCaps* caps = webrtc::RtpCaps(kind, kind == "video" ? kVideoPt : kAudioPt);
    g_object_set(t, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, "codec-preferences", caps,
                 nullptr);
    gst_caps_unref(caps);
    gst_object_unref(t);
    gst_object_unref(sink);
  };
  // The clip's frames go in through an appsrc fed in real time by Feed().
  auto add_track = [&](const std::string& kind, GstCaps* src_caps) {
    GstElement* src = MakeIn(pipeline, "appsrc");
    g_object_set(src, "is-live", TRUE, "do-timestamp", TRUE, "format", GST_FORMAT_TIME, "caps", src_caps,
                 nullptr);
    gst_caps_unref(src_caps);
    GstElement* pay = MakeIn(pipeline, kind == "video" ? "rtpvp8pay" : "rtpopuspay");
    g_object_set(pay, "pt", kind == "video" ? kVideoPt : kAudioPt, nullptr);
    gst_element_link(src, pay);
    send_track(kind, gst_element_get_static_pad(pay, "src"));
    return src;
  };
  if (impl->options.encode_live) {
    // Live encoders stand in for a browser; the clip feeder is not used.
    auto add_live = [&](const std::string& kind, const std::string& chain) {
      GError* error = nullptr;
      GstElement* bin = gst_parse_bin_from_description(chain.c_str(), TRUE, &error);
      if (!bin) {
        std::string message = error ? error->message : "unknown";
        if (error) g_error_free(error);
        return absl::InternalError("test source: " + message);
      }
      gst_bin_add(GST_BIN(pipeline), bin);
      send_track(kind, gst_element_get_static_pad(bin, "src"));
      return absl::OkStatus();
    };
    VL_RETURN_IF_ERROR(add_live(
        "video", absl::StrCat("videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=180,"
                              "framerate=30/1 ! vp8enc deadline=1 keyframe-max-dist=100000 ! rtpvp8pay pt=",
                              kVideoPt, " picture-id-mode=2")));
    if (impl->options.audio) {
      VL_RETURN_IF_ERROR(add_live("audio", absl::StrCat("audiotestsrc is-live=true wave=ticks ! opusenc ! "
                                                        "rtpopuspay pt=",
                                                        kAudioPt)));
    }
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    VL_ASSIGN_OR_RETURN(impl->answer, Negotiate(webrtc, impl->options.signal, impl->options.timeout));
    return std::unique_ptr<Publisher>(new Publisher(std::move(impl)));
  }
  const EncodedClip& clip = *impl->options.clip;
  impl->video_src = add_track(
      "video", gst_caps_new_simple("video/x-vp8", "width", G_TYPE_INT, clip.width, "height", G_TYPE_INT,
                                   clip.height, "framerate", GST_TYPE_FRACTION, 30, 1, nullptr));
  if (impl->options.audio) {
    impl->audio_src = add_track("audio", gst_caps_from_string(
                                             "audio/x-opus,rate=48000,channels=2,channel-mapping-family=0"));
  }
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  impl->feeder = std::thread([p = impl.get()] { p->Feed(); });
  VL_ASSIGN_OR_RETURN(impl->answer, Negotiate(webrtc, impl->options.signal, impl->options.timeout));
  return std::unique_ptr<Publisher>(new Publisher(std::move(impl)));
}

Publisher::Publisher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Publisher::~Publisher() = default;
int64_t Publisher::video_frames_sent() const { return impl_->video_sent; }
void Publisher::Pause(bool paused) {
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    impl_->paused = paused;
  }
  impl_->cv.notify_all();
}
const std::string& Publisher::answer() const { return impl_->answer; }

struct Subscriber::Impl {
  Options options;
  GstElement* pipeline = nullptr;
  std::string answer;
  std::atomic<int64_t> video{0}, audio{0}, keyframes{0};
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  ~Impl() { StopPipeline(pipeline); }

  static GstPadProbeReturn CountVideo(GstPad*, GstPadProbeInfo* info, gpointer data) {
    auto* self = static_cast<Impl*>(data);
    GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
    if (!GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT)) ++self->keyframes;
    return GST_PAD_PROBE_OK;
  }
  static GstPadProbeReturn CountDecoded(GstPad*, GstPadProbeInfo*, gpointer data) {
    auto* self = static_cast<Impl*>(data);
    std::lock_guard<std::mutex> l(self->mu);
    ++self->video;
    self->cv.notify_all();
    return GST_PAD_PROBE_OK;
  }
  static GstPadProbeReturn CountAudio(GstPad*, GstPadProbeInfo*, gpointer data) {
    ++static_cast<Impl*>(data)->audio;
    return GST_PAD_PROBE_OK;
  }

  // A received track: depayload (and decode video when asked), count, discard.
  static void OnPad(GstElement*, GstPad* pad, gpointer data) {
    auto* self = static_cast<Impl*>(data);
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
    GstCaps* caps = gst_pad_get_current_caps(pad);
    std::string media = gst_structure_get_string(gst_caps_get_structure(caps, 0), "media");
    gst_caps_unref(caps);
    GstElement* pipeline = self->pipeline;
    std::vector<GstElement*> chain;
    if (media == "video") {
      GstElement* depay = MakeIn(pipeline, "rtpvp8depay");
      GstPad* out = gst_element_get_static_pad(depay, "src");
      gst_pad_add_probe(out, GST_PAD_PROBE_TYPE_BUFFER, CountVideo, self, nullptr);
      gst_object_unref(out);
      chain.push_back(depay);
      GstElement* counted = depay;
      if (self->options.decode) {
        counted = MakeIn(pipeline, "vp8dec");
        chain.push_back(counted);
      }
      out = gst_element_get_static_pad(counted, "src");
      gst_pad_add_probe(out, GST_PAD_PROBE_TYPE_BUFFER, CountDecoded, self, nullptr);
      gst_object_unref(out);
    } else {
      GstElement* depay = MakeIn(pipeline, "rtpopusdepay");
      GstPad* out = gst_element_get_static_pad(depay, "src");
      gst_pad_add_probe(out, GST_PAD_PROBE_TYPE_BUFFER, CountAudio, self, nullptr);
      gst_object_unref(out);
      chain.push_back(depay);
    }
    GstElement* sink = MakeIn(pipeline, "fakesink");
    g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
    chain.push_back(sink);
    for (size_t i = 0; i + 1 < chain.size(); ++i) gst_element_link(chain[i], chain[i + 1]);
    for (GstElement* e : chain) gst_element_sync_state_with_parent(e);
    GstPad* in = gst_element_get_static_pad(chain.front(), "sink");
    gst_pad_link(pad, in);
    gst_object_unref(in);
  }
};

absl::StatusOr<std::unique_ptr<Subscriber>> Subscriber::Start(Options options) {
  InitGstreamer();
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->pipeline = gst_pipeline_new(nullptr);
  GstElement* webrtc = webrtc::NewWebrtcBin("subscriber", LoopbackIce());
  gst_bin_add(GST_BIN(impl->pipeline), webrtc);
  std::vector<std::string> kinds = {"video"};
  if (!impl->options.video_only) kinds.push_back("audio");
  for (const std::string& kind : kinds) {
    GstCaps* caps = webrtc::RtpCaps(kind, kind == "video" ? kVideoPt : kAudioPt);
    GstWebRTCRTPTransceiver* t = nullptr;
    g_signal_emit_by_name(webrtc, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps, &t);
    gst_caps_unref(caps);
    if (t) gst_object_unref(t);
  }
  g_signal_connect(webrtc, "pad-added", G_CALLBACK(Impl::OnPad), impl.get());
  gst_element_set_state(impl->pipeline, GST_STATE_PLAYING);
  VL_ASSIGN_OR_RETURN(impl->answer, Negotiate(webrtc, impl->options.signal, impl->options.timeout));
  return std::unique_ptr<Subscriber>(new Subscriber(std::move(impl)));
}

Subscriber::Subscriber(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Subscriber::~Subscriber() = default;
int64_t Subscriber::video_frames() const { return impl_->video; }
int64_t Subscriber::audio_packets() const { return impl_->audio; }
int64_t Subscriber::keyframes() const { return impl_->keyframes; }
const std::string& Subscriber::answer() const { return impl_->answer; }
bool Subscriber::WaitForVideoFrames(int64_t n, absl::Duration timeout) const {
  std::unique_lock<std::mutex> l(impl_->mu);
  return impl_->cv.wait_for(l, absl::ToChronoNanoseconds(timeout), [&] { return impl_->video >= n; });
}

}  // namespace vetline::testing
