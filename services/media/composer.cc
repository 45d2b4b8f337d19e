#include "services/media/composer.h"

#include <gst/gst.h>
#include <gst/pbutils/pbutils.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace vetline::media {
namespace {

// Output frame rate: recorder files from WebRTC have variable timing, the composed file does not.
constexpr char kFramerate[] = "30/1";
constexpr absl::Duration kProgressInterval = absl::Milliseconds(200);
// Per file; a short overall timeout must not make a good file look unreadable.
constexpr absl::Duration kMinDiscoverTimeout = absl::Seconds(2);
constexpr absl::Duration kMaxDiscoverTimeout = absl::Seconds(30);

void EnsureGstInit() {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
}

// Owns one reference to a GObject.
struct GObjectUnref {
  void operator()(gpointer p) const {
    if (p != nullptr) g_object_unref(p);
  }
};
template <typename T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

GstClockTime ToClockTime(absl::Duration d) {
  return d <= absl::ZeroDuration() ? 0 : static_cast<GstClockTime>(absl::ToInt64Nanoseconds(d));
}

absl::Duration FromClockTime(GstClockTime t) {
  return GST_CLOCK_TIME_IS_VALID(t) ? absl::Nanoseconds(static_cast<int64_t>(t))
                                    : absl::ZeroDuration();
}

absl::StatusOr<std::string> PathToUri(const std::string& path) {
  GError* err = nullptr;
  gchar* uri = gst_filename_to_uri(path.c_str(), &err);
  if (uri == nullptr) {
    std::string msg = err != nullptr ? err->message : "unknown error";
    g_clear_error(&err);
    return absl::InvalidArgumentError(absl::StrCat("bad path '", path, "': ", msg));
  }
  std::string out = uri;
  g_free(uri);
  return out;
}

// What the discoverer found in one file.
struct Probe {
  GstClockTime duration = 0;
  bool video = false;
  bool audio = false;
};

absl::StatusOr<Probe> Discover(GstDiscoverer* discoverer, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return absl::NotFoundError("missing");
  if (std::filesystem::file_size(path, ec) == 0) return absl::InvalidArgumentError("empty");
  absl::StatusOr<std::string> uri = PathToUri(path);
  if (!uri.ok()) return uri.status();

  GError* err = nullptr;
  GPtr<GstDiscovererInfo> info(gst_discoverer_discover_uri(discoverer, uri->c_str(), &err));
  std::string err_msg = err != nullptr ? err->message : "";
  g_clear_error(&err);
  if (info == nullptr || gst_discoverer_info_get_result(info.get()) != GST_DISCOVERER_OK) {
    return absl::InvalidArgumentError(err_msg.empty() ? "unreadable" : err_msg);
  }
  Probe probe;
  probe.duration = gst_discoverer_info_get_duration(info.get());
  if (!GST_CLOCK_TIME_IS_VALID(probe.duration)) probe.duration = 0;
  GList* video = gst_discoverer_info_get_video_streams(info.get());
  GList* audio = gst_discoverer_info_get_audio_streams(info.get());
  probe.video = video != nullptr;
  probe.audio = audio != nullptr;
  gst_discoverer_stream_info_list_free(video);
  gst_discoverer_stream_info_list_free(audio);
  if (!probe.video && !probe.audio) return absl::InvalidArgumentError("no audio or video");
  return probe;
}

// Adds elements to the pipeline and links them; the first failure sticks and later calls no-op,
// so construction reads as a straight line and is checked once at the end.
class Builder {
 public:
  explicit Builder(GstBin* bin) : bin_(bin) {}

  GstElement* Add(const char* factory,
                  std::initializer_list<std::pair<const char*, const char*>> props = {}) {
    if (!status_.ok()) return nullptr;
    GstElement* e = gst_element_factory_make(factory, nullptr);
    if (e == nullptr) {
      status_ = absl::InternalError(absl::StrCat("GStreamer element '", factory, "' is missing"));
      return nullptr;
    }
    // String values go through the property's own type, so no varargs type mistakes.
    for (const auto& [name, value] : props) gst_util_set_object_arg(G_OBJECT(e), name, value);
    gst_bin_add(bin_, e);  // the bin takes the floating reference
    return e;
  }

  GstElement* Caps(const std::string& caps) {
    GstElement* e = Add("capsfilter");
    if (e == nullptr) return nullptr;
    GstCaps* c = gst_caps_from_string(caps.c_str());
    g_object_set(e, "caps", c, nullptr);
    gst_caps_unref(c);
    return e;
  }

  void Chain(std::initializer_list<GstElement*> elements) {
    GstElement* prev = nullptr;
    for (GstElement* e : elements) {
      if (!status_.ok()) return;
      if (prev != nullptr && !gst_element_link(prev, e)) {
        status_ = absl::InternalError(
            absl::StrCat("cannot link ", GST_ELEMENT_NAME(prev), " to ", GST_ELEMENT_NAME(e)));
      }
      prev = e;
    }
  }

  // Links `src` to a new request pad of `sink`; returns that pad (a reference) or null.
  GstPad* LinkRequest(GstElement* src, GstElement* sink, const char* templ) {
    if (!status_.ok()) return nullptr;
    GstPad* sink_pad = gst_element_request_pad_simple(sink, templ);
    GstPad* src_pad = gst_element_get_static_pad(src, "src");
    if (sink_pad == nullptr || src_pad == nullptr ||
        gst_pad_link(src_pad, sink_pad) != GST_PAD_LINK_OK) {
      status_ = absl::InternalError(
          absl::StrCat("cannot link ", GST_ELEMENT_NAME(src), " to ", GST_ELEMENT_NAME(sink)));
    }
    if (src_pad != nullptr) gst_object_unref(src_pad);
    if (!status_.ok() && sink_pad != nullptr) {
      gst_object_unref(sink_pad);
      return nullptr;
    }
    return sink_pad;
  }

  const absl::Status& status() const { return status_; }

 private:
  GstBin* bin_;
  absl::Status status_;
};

// One readable input and the branches its decoded streams feed. Shared with decodebin's
// streaming threads through the pad-added / no-more-pads signals.
struct Source {
  std::string path;
  GstClockTime offset = 0;
  Probe probe;
  GstElement* video_in = nullptr;  // head of the video branch, if the file has video
  GstElement* audio_in = nullptr;
  std::mutex mu;
  bool video_linked = false;
  bool audio_linked = false;
};

void OnPadAdded(GstElement* decodebin, GstPad* pad, gpointer data) {
  auto* source = static_cast<Source*>(data);
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (caps == nullptr) caps = gst_pad_query_caps(pad, nullptr);
  std::string_view media =
      gst_caps_get_size(caps) > 0 ? gst_structure_get_name(gst_caps_get_structure(caps, 0)) : "";
  GstElement* target = nullptr;
  {
    std::lock_guard lock(source->mu);
    if (media.starts_with("video/") && source->video_in != nullptr && !source->video_linked) {
      target = source->video_in;
      source->video_linked = true;
    } else if (media.starts_with("audio/") && source->audio_in != nullptr &&
               !source->audio_linked) {
      target = source->audio_in;
      source->audio_linked = true;
    }
  }
  gst_caps_unref(caps);
  if (target == nullptr) {
    // A stream we have no tile or mix for: drain it, or the demuxer stops with not-linked.
    target = gst_element_factory_make("fakesink", nullptr);
    if (target == nullptr) return;
    g_object_set(target, "sync", FALSE, "async", FALSE, nullptr);
    gst_bin_add(GST_BIN(GST_ELEMENT_PARENT(decodebin)), target);
    gst_element_sync_state_with_parent(target);
  }
  GstPad* sink_pad = gst_element_get_static_pad(target, "sink");
  if (gst_pad_link(pad, sink_pad) != GST_PAD_LINK_OK) {
    GST_ELEMENT_ERROR(decodebin, CORE, NEGOTIATION, ("cannot link a decoded stream"), (nullptr));
  }
  gst_object_unref(sink_pad);
}

// A stream the discoverer saw but decodebin never exposed would stall the mixer waiting for
// data; end that branch instead.
void OnNoMorePads(GstElement*, gpointer data) {
  auto* source = static_cast<Source*>(data);
  std::lock_guard lock(source->mu);
  for (auto [head, linked] : {std::pair{source->video_in, &source->video_linked},
                              std::pair{source->audio_in, &source->audio_linked}}) {
    if (head == nullptr || *linked) continue;
    *linked = true;
    GstPad* pad = gst_element_get_static_pad(head, "sink");
    gst_pad_send_event(pad, gst_event_new_eos());
    gst_object_unref(pad);
  }
}

// Shifts everything leaving `element` by `offset` so the track lands at its place in the
// recording.
void SetOffset(GstElement* element, GstClockTime offset) {
  if (element == nullptr || offset == 0) return;
  GstPad* pad = gst_element_get_static_pad(element, "src");
  gst_pad_set_offset(pad, static_cast<gint64>(offset));
  gst_object_unref(pad);
}

absl::Status ErrorFromMessage(GstMessage* msg) {
  GError* err = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(msg, &err, &debug);
  absl::Status status =
      absl::InternalError(absl::StrCat("compose failed in ", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)),
                                       ": ", err != nullptr ? err->message : "unknown error"));
  g_clear_error(&err);
  g_free(debug);
  return status;
}

// Builds the whole graph; `sources` must outlive the pipeline (signal handlers point into it).
absl::Status BuildPipeline(GstElement* pipeline, std::vector<std::unique_ptr<Source>>& sources,
                           const std::string& output_path, const ComposeOptions& options, int tiles,
                           bool any_audio) {
  Builder b(GST_BIN(pipeline));
  GstElement* mux = b.Add("webmmux");
  GstElement* sink = b.Add("filesink", {{"location", output_path.c_str()}});
  b.Chain({mux, sink});

  GstElement* compositor = nullptr;
  if (tiles > 0) {
    compositor = b.Add("compositor", {{"background", "black"}});
    GstElement* caps =
        b.Caps(absl::StrCat("video/x-raw,format=I420,width=", tiles * options.tile_width,
                            ",height=", options.tile_height, ",framerate=", kFramerate));
    GstElement* convert = b.Add("videoconvert");
    const std::string bitrate = absl::StrCat(options.video_kbps * 1000);
    // threads=1: with more, vp8enc busy-waits on a loaded two-core machine.
    GstElement* enc =
        b.Add("vp8enc", {{"threads", "1"}, {"deadline", "1"}, {"target-bitrate", bitrate.c_str()}});
    GstElement* queue = b.Add("queue");
    b.Chain({compositor, caps, convert, enc, queue});
    if (GstPad* pad = b.LinkRequest(queue, mux, "video_%u")) gst_object_unref(pad);
  }
  GstElement* mixer = nullptr;
  if (any_audio) {
    mixer = b.Add("audiomixer");
    GstElement* convert = b.Add("audioconvert");
    GstElement* resample = b.Add("audioresample");
    GstElement* caps = b.Caps("audio/x-raw,rate=48000,channels=2");
    GstElement* enc = b.Add("opusenc");
    GstElement* queue = b.Add("queue");
    b.Chain({mixer, convert, resample, caps, enc, queue});
    if (GstPad* pad = b.LinkRequest(queue, mux, "audio_%u")) gst_object_unref(pad);
  }

  int tile = 0;
  for (auto& source : sources) {
    GstElement* filesrc = b.Add("filesrc", {{"location", source->path.c_str()}});
    GstElement* decode = b.Add("decodebin");
    b.Chain({filesrc, decode});
    if (source->probe.video) {
      GstElement* queue = b.Add("queue");
      GstElement* convert = b.Add("videoconvert");
      GstElement* scale = b.Add("videoscale");
      GstElement* rate = b.Add("videorate");
      // pixel-aspect-ratio=1/1 makes videoscale letterbox instead of stretching.
      GstElement* caps = b.Caps(absl::StrCat("video/x-raw,width=", options.tile_width,
                                             ",height=", options.tile_height,
                                             ",pixel-aspect-ratio=1/1,framerate=", kFramerate));
      b.Chain({queue, convert, scale, rate, caps});
      if (GstPad* pad = b.LinkRequest(caps, compositor, "sink_%u")) {
        g_object_set(pad, "xpos", tile * options.tile_width, "ypos", 0, "width", options.tile_width,
                     "height", options.tile_height, nullptr);
        gst_object_unref(pad);
      }
      SetOffset(caps, source->offset);
      source->video_in = queue;
      ++tile;
    }
    if (source->probe.audio) {
      GstElement* queue = b.Add("queue");
      GstElement* convert = b.Add("audioconvert");
      GstElement* resample = b.Add("audioresample");
      GstElement* caps =
          b.Caps("audio/x-raw,format=F32LE,layout=interleaved,rate=48000,channels=2");
      b.Chain({queue, convert, resample, caps});
      if (GstPad* pad = b.LinkRequest(caps, mixer, "sink_%u")) gst_object_unref(pad);
      SetOffset(caps, source->offset);
      source->audio_in = queue;
    }
    if (decode != nullptr) {
      g_signal_connect(decode, "pad-added", G_CALLBACK(OnPadAdded), source.get());
      g_signal_connect(decode, "no-more-pads", G_CALLBACK(OnNoMorePads), source.get());
    }
  }
  return b.status();
}

// Runs `pipeline` to EOS on this thread, reporting progress; leaves it in NULL.
absl::Status Run(GstElement* pipeline, GstClockTime expected, absl::Time deadline,
                 const ComposeOptions& options) {
  GPtr<GstBus> bus(gst_element_get_bus(pipeline));
  absl::Status status;
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    GstMessage* msg = gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR);
    status = msg != nullptr ? ErrorFromMessage(msg)
                            : absl::InternalError("compose pipeline refused to start");
    if (msg != nullptr) gst_message_unref(msg);
  }
  double reported = 0;
  while (status.ok()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      status = absl::DeadlineExceededError(
          absl::StrCat("compose did not finish within ", absl::FormatDuration(options.timeout)));
      break;
    }
    const GstClockTime wait = ToClockTime(std::min(left, kProgressInterval));
    // Pops and drops everything else, so nothing piles up on the bus.
    GstMessage* msg = gst_bus_timed_pop_filtered(
        bus.get(), wait, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (msg != nullptr) {
      if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) status = ErrorFromMessage(msg);
      gst_message_unref(msg);
      break;
    }
    gint64 position = 0;
    if (options.progress && expected > 0 &&
        gst_element_query_position(pipeline, GST_FORMAT_TIME, &position) && position > 0) {
      // Clamped and never going backwards: listeners show it as a bar.
      const double fraction = std::clamp(static_cast<double>(position) / expected, 0.0, 1.0);
      if (fraction > reported) {
        reported = fraction;
        options.progress(fraction);
      }
    }
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  if (status.ok() && options.progress) options.progress(1.0);
  return status;
}

}  // namespace

absl::StatusOr<ComposeResult> Compose(const std::vector<ComposeTrack>& tracks,
                                      const std::string& output, const ComposeOptions& options) {
  EnsureGstInit();
  const absl::Time deadline = absl::Now() + options.timeout;
  if (tracks.empty()) return absl::InvalidArgumentError("compose: no tracks");
  if (options.tile_width <= 0 || options.tile_height <= 0 || options.video_kbps <= 0) {
    return absl::InvalidArgumentError("compose: tile size and bitrate must be positive");
  }

  GError* err = nullptr;
  GPtr<GstDiscoverer> discoverer(gst_discoverer_new(
      ToClockTime(std::clamp(options.timeout, kMinDiscoverTimeout, kMaxDiscoverTimeout)), &err));
  if (discoverer == nullptr) {
    absl::Status status = absl::InternalError(
        absl::StrCat("compose: no discoverer: ", err != nullptr ? err->message : "unknown"));
    g_clear_error(&err);
    return status;
  }

  std::vector<std::unique_ptr<Source>> sources;
  std::vector<std::string> unreadable;
  GstClockTime expected = 0;
  int tiles = 0;
  bool any_audio = false;
  for (const ComposeTrack& track : tracks) {
    absl::StatusOr<Probe> probe = Discover(discoverer.get(), track.path);
    if (!probe.ok()) {
      unreadable.push_back(absl::StrCat(track.path, " (", probe.status().message(), ")"));
      continue;
    }
    auto source = std::make_unique<Source>();
    source->path = track.path;
    source->offset = ToClockTime(track.offset);
    source->probe = *probe;
    expected = std::max(expected, source->offset + probe->duration);
    tiles += probe->video ? 1 : 0;
    any_audio = any_audio || probe->audio;
    sources.push_back(std::move(source));
  }
  if (sources.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("compose: no readable track: ", absl::StrJoin(unreadable, ", ")));
  }

  if (absl::Now() >= deadline) {
    return absl::DeadlineExceededError(absl::StrCat("compose: reading the tracks took longer than ",
                                                    absl::FormatDuration(options.timeout)));
  }

  GstElement* pipeline = gst_pipeline_new("compose");
  gst_object_ref_sink(pipeline);
  absl::Status status = BuildPipeline(pipeline, sources, output, options, tiles, any_audio);
  if (status.ok()) status = Run(pipeline, expected, deadline, options);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  if (!status.ok()) {
    // A half-written file would look like a recording; better none.
    std::error_code ec;
    std::filesystem::remove(output, ec);
    return status;
  }

  absl::StatusOr<Probe> result = Discover(discoverer.get(), output);
  if (!result.ok()) {
    return absl::InternalError(
        absl::StrCat("compose: output ", output, " unreadable: ", result.status().message()));
  }
  return ComposeResult{FromClockTime(result->duration), tiles};
}

}  // namespace vetline::media
