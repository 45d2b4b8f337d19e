#include "services/media/call_engine.h"

#include <atomic>
#include <condition_variable>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/core/status.h"

namespace vetline::media {
namespace {

constexpr char kOfferField[] = "sdpOffer";  // its JSON name

GstElement* Make(const char* factory) {
  GstElement* e = gst_element_factory_make(factory, nullptr);
  if (!e) log::Error("gstreamer element missing", {{"factory", factory}});
  return e;
}

// Signalled when a recorder's file sink has seen end-of-stream (the file is complete).
struct Latch {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  void Set() {
    std::lock_guard<std::mutex> l(mu);
    done = true;
    cv.notify_all();
  }
  bool Wait(absl::Duration timeout) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, absl::ToChronoNanoseconds(timeout), [&] { return done; });
  }
};

// One publication's track file: tee → queue → webmmux → filesink, per medium.
struct Recorder {
  std::vector<GstElement*> elements;
  std::vector<std::pair<GstElement*, GstPad*>> tee_pads;  // (tee, its src pad)
  std::vector<GstPad*> inputs;                            // queue sink pads, for EOS
  std::shared_ptr<Latch> finished = std::make_shared<Latch>();
};

// What a received medium goes through before the tee, and the tee others branch from.
struct Medium {
  std::string kind;  // video | audio
  GstElement* depay = nullptr;
  GstElement* tee = nullptr;
  std::vector<GstElement*> elements;
};

struct Publication {
  std::string id, kind;
  GstElement* webrtc = nullptr;
  std::vector<Medium> media;  // video first, then audio (camera)
  std::unique_ptr<Recorder> recorder;
  int files = 0;
  Medium* Find(const std::string& kind) {
    for (Medium& m : media) {
      if (m.kind == kind) return &m;
    }
    return nullptr;
  }
};

struct Subscription {
  std::string id, publication_id;
  std::vector<GstElement*> elements;  // webrtcbin, queues, payloaders
  std::vector<std::pair<GstElement*, GstPad*>> tee_pads;
};

// Links a tee to a new branch whose first element is `head`.
GstPad* BranchFromTee(GstElement* tee, GstElement* head) {
  GstPad* src = gst_element_request_pad_simple(tee, "src_%u");
  GstPad* sink = gst_element_get_static_pad(head, "sink");
  gst_pad_link(src, sink);
  gst_object_unref(sink);
  return src;
}

void UnlinkFromTees(std::vector<std::pair<GstElement*, GstPad*>>& tee_pads) {
  for (auto& [tee, pad] : tee_pads) {
    gst_element_release_request_pad(tee, pad);
    gst_object_unref(pad);
  }
  tee_pads.clear();
}

// Errors inside a call's pipeline are logged; nothing else reads its bus, so messages
// are dropped right away instead of piling up.
GstBusSyncReply OnBusMessage(GstBus*, GstMessage* message, gpointer data) {
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR || GST_MESSAGE_TYPE(message) == GST_MESSAGE_WARNING) {
    GError* error = nullptr;
    gchar* debug = nullptr;
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
      gst_message_parse_error(message, &error, &debug);
    } else {
      gst_message_parse_warning(message, &error, &debug);
    }
    log::Warn("call media problem", {{"call_id", static_cast<const char*>(data)},
                                     {"element", GST_OBJECT_NAME(GST_MESSAGE_SRC(message))},
                                     {"error", error ? error->message : ""}});
    if (error) g_error_free(error);
    g_free(debug);
  }
  return GST_BUS_DROP;
}

}  // namespace

struct CallEngine::Call {
  std::string id;
  GstElement* pipeline = nullptr;  // set once at creation; the bin has its own lock
  // Guards the maps and the recording state. Never held through a negotiation or ICE
  // gathering: those run on a session that is not in the maps yet (see `pending`).
  std::mutex mu;
  std::map<std::string, std::unique_ptr<Publication>> publications;
  std::map<std::string, std::unique_ptr<Subscription>> subscriptions;
  std::set<std::string> pending;  // session ids being negotiated right now
  bool ended = false;             // EndCall ran: sessions negotiated since are discarded
  bool recording = false;
  std::string directory;
  TrackStarted on_track;
  // Read by stats() without the lock, so the keeper never waits on a call.
  std::atomic<int> live_publications{0}, live_subscriptions{0}, live_recorders{0};

  ~Call() {
    if (pipeline) {
      gst_element_set_state(pipeline, GST_STATE_NULL);
      gst_object_unref(pipeline);
    }
  }

  void Add(const std::vector<GstElement*>& elements) {
    for (GstElement* e : elements) gst_bin_add(GST_BIN(pipeline), e);
  }
  void Play(const std::vector<GstElement*>& elements) {
    for (GstElement* e : elements) gst_element_sync_state_with_parent(e);
  }

  void StartRecorder(Publication& p) {
    auto r = std::make_unique<Recorder>();
    std::string path = absl::StrCat(directory, "/", p.id, "-", ++p.files, ".webm");
    GstElement* mux = Make("webmmux");
    GstElement* sink = Make("filesink");
    // Unbuffered: after a crash the file holds everything up to the last cluster.
    g_object_set(sink, "location", path.c_str(), "buffer-mode", 2, "async", FALSE, nullptr);
    r->elements = {mux, sink};
    Add({mux, sink});
    gst_element_link(mux, sink);
    GstPad* sink_pad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(
        sink_pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
        [](GstPad*, GstPadProbeInfo* info, gpointer data) -> GstPadProbeReturn {
          if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS) {
            (*static_cast<std::shared_ptr<Latch>*>(data))->Set();
          }
          return GST_PAD_PROBE_OK;
        },
        new std::shared_ptr<Latch>(r->finished),
        [](gpointer data) { delete static_cast<std::shared_ptr<Latch>*>(data); });
    gst_object_unref(sink_pad);
    std::vector<GstElement*> queues;
    for (Medium& m : p.media) {
      GstElement* queue = Make("queue");
      r->elements.push_back(queue);
      Add({queue});
      GstPad* mux_pad = gst_element_request_pad_simple(mux, m.kind == "video" ? "video_%u" : "audio_%u");
      GstPad* queue_src = gst_element_get_static_pad(queue, "src");
      gst_pad_link(queue_src, mux_pad);
      gst_object_unref(mux_pad);
      if (m.kind == "video") {
        TrackStarted on_track = this->on_track;
        std::string publication = p.id;
        webrtc::StartAtKeyframe(queue_src, [on_track, publication, path] {
          if (on_track) on_track({publication, path, absl::Now()});
        });
      }
      gst_object_unref(queue_src);
      r->inputs.push_back(gst_element_get_static_pad(queue, "sink"));
      queues.push_back(queue);
    }
    Play(r->elements);
    for (size_t i = 0; i < p.media.size(); ++i) {
      r->tee_pads.emplace_back(p.media[i].tee, BranchFromTee(p.media[i].tee, queues[i]));
    }
    p.recorder = std::move(r);
    ++live_recorders;
  }

  // Detaches the recorder and ends its file properly (webmmux writes its index on EOS).
  void FinishRecorder(Publication& p) {
    if (!p.recorder) return;
    Recorder& r = *p.recorder;
    UnlinkFromTees(r.tee_pads);
    for (GstPad* pad : r.inputs) {
      gst_pad_send_event(pad, gst_event_new_eos());
      gst_object_unref(pad);
    }
    if (!r.finished->Wait(absl::Seconds(5))) {
      log::Warn("track file did not finish in time", {{"call_id", id}, {"publication_id", p.id}});
    }
    webrtc::RemoveElements(GST_BIN(pipeline), r.elements);
    p.recorder.reset();
    --live_recorders;
  }

  void EndSubscription(Subscription& s) {
    UnlinkFromTees(s.tee_pads);
    webrtc::RemoveElements(GST_BIN(pipeline), s.elements);
  }

  std::vector<std::string> EndPublication(Publication& p) {
    std::vector<std::string> ended;
    for (auto it = subscriptions.begin(); it != subscriptions.end();) {
      if (it->second->publication_id != p.id) {
        ++it;
        continue;
      }
      EndSubscription(*it->second);
      ended.push_back(it->first);
      it = subscriptions.erase(it);
      --live_subscriptions;
    }
    FinishRecorder(p);
    DiscardPublication(p);
    return ended;
  }

  // Removes a publication's elements; it has no subscriptions or recorder (any more).
  void DiscardPublication(Publication& p) {
    g_signal_handlers_disconnect_matched(p.webrtc, G_SIGNAL_MATCH_DATA, 0, 0, nullptr, nullptr, &p);
    std::vector<GstElement*> elements = {p.webrtc};
    for (Medium& m : p.media) elements.insert(elements.end(), m.elements.begin(), m.elements.end());
    webrtc::RemoveElements(GST_BIN(pipeline), elements);
  }
};

void CallEngine::WatchConnection(GstElement* webrtc, const std::string& call_id,
                                 const std::string& session_id) {
  webrtc::OnConnectionLost(webrtc, [this, call_id, session_id] {
    std::lock_guard<std::mutex> l(mu_);
    lost_.emplace_back(call_id, session_id);
  });
}

std::vector<std::pair<std::string, std::string>> CallEngine::TakeLostSessions() {
  std::lock_guard<std::mutex> l(mu_);
  return std::exchange(lost_, {});
}

CallEngine::CallEngine(Options options) : options_(std::move(options)) { webrtc::Init(); }

CallEngine::~CallEngine() {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [id, call] : calls_) ids.push_back(id);
  }
  for (const std::string& id : ids) EndCall(id);
}

std::shared_ptr<CallEngine::Call> CallEngine::FindOrCreate(const std::string& call_id) {
  std::lock_guard<std::mutex> l(mu_);
  auto& call = calls_[call_id];
  if (!call) {
    call = std::make_shared<Call>();
    call->id = call_id;
    call->pipeline = gst_pipeline_new(("call-" + call_id).c_str());
    GstBus* bus = gst_pipeline_get_bus(GST_PIPELINE(call->pipeline));
    gst_bus_set_sync_handler(bus, OnBusMessage, g_strdup(call_id.c_str()), g_free);
    gst_object_unref(bus);
    gst_element_set_state(call->pipeline, GST_STATE_PLAYING);
  }
  return call;
}

std::shared_ptr<CallEngine::Call> CallEngine::Find(const std::string& call_id) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = calls_.find(call_id);
  return it == calls_.end() ? nullptr : it->second;
}

absl::StatusOr<std::string> CallEngine::Publish(const std::string& call_id,
                                                const std::string& publication_id,
                                                const std::string& kind, const std::string& offer) {
  VL_ASSIGN_OR_RETURN(GstSDPMessage * sdp, webrtc::ParseSdp(offer, kOfferField));
  std::vector<webrtc::OfferedMedia> offered = webrtc::DescribeMedia(*sdp);
  bool video = false;
  for (const auto& m : offered) {
    if (m.kind == "video" && m.payload_type >= 0) video = true;
    if ((m.kind == "video" || (m.kind == "audio" && kind == "camera")) &&
        (m.direction == "recvonly" || m.direction == "inactive")) {
      gst_sdp_message_free(sdp);
      return InvalidField(kOfferField, "a WHIP offer must send its media (sendonly or sendrecv)");
    }
  }
  if (!video) {
    gst_sdp_message_free(sdp);
    return InvalidField(kOfferField, "the offer has no usable video codec: send VP8");
  }

  std::shared_ptr<Call> call = FindOrCreate(call_id);
  if (absl::Status reserved = Reserve(*call, publication_id); !reserved.ok()) {
    gst_sdp_message_free(sdp);
    return reserved;
  }
  // From here until Admit, the publication is the caller's alone: no call lock.
  auto p = std::make_unique<Publication>();
  p->id = publication_id;
  p->kind = kind;
  p->webrtc = webrtc::NewWebrtcBin("pub-" + publication_id, options_.ice);
  call->Add({p->webrtc});
  for (const auto& offered_medium : offered) {
    if (offered_medium.payload_type < 0 || (offered_medium.kind == "audio" && kind != "camera")) continue;
    if (p->Find(offered_medium.kind)) continue;  // one track per kind
    Medium m;
    m.kind = offered_medium.kind;
    m.tee = Make("tee");
    g_object_set(m.tee, "allow-not-linked", TRUE, nullptr);
    if (m.kind == "video") {
      m.depay = Make("rtpvp8depay");
      m.elements = {m.depay, m.tee};
      call->Add(m.elements);
      gst_element_link(m.depay, m.tee);
    } else {
      m.depay = Make("rtpopusdepay");
      // Browsers' SDP omits the capture rate, which webmmux needs in the caps.
      GstElement* rate = Make("capssetter");
      GstCaps* caps = gst_caps_from_string("audio/x-opus,rate=48000");
      g_object_set(rate, "caps", caps, nullptr);
      gst_caps_unref(caps);
      m.elements = {m.depay, rate, m.tee};
      call->Add(m.elements);
      gst_element_link_many(m.depay, rate, m.tee, nullptr);
    }
    call->Play(m.elements);
    GstCaps* caps = webrtc::RtpCaps(m.kind, offered_medium.payload_type);
    GstWebRTCRTPTransceiver* t = nullptr;
    g_signal_emit_by_name(p->webrtc, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY,
                          caps, &t);
    gst_caps_unref(caps);
    if (t) gst_object_unref(t);
    p->media.push_back(std::move(m));
  }
  // Received RTP appears on a new src pad once media flows: hand it to its depayloader.
  g_signal_connect(p->webrtc, "pad-added", G_CALLBACK(+[](GstElement*, GstPad* pad, gpointer data) {
                     auto* pub = static_cast<Publication*>(data);
                     if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
                     GstCaps* caps = gst_pad_get_current_caps(pad);
                     if (!caps) caps = gst_pad_query_caps(pad, nullptr);
                     const char* media = gst_structure_get_string(gst_caps_get_structure(caps, 0), "media");
                     Medium* m = pub->Find(media ? media : "");
                     GstPad* sink = m ? gst_element_get_static_pad(m->depay, "sink") : nullptr;
                     if (sink && !gst_pad_is_linked(sink)) gst_pad_link(pad, sink);
                     if (sink) gst_object_unref(sink);
                     gst_caps_unref(caps);
                   }),
                   p.get());
  WatchConnection(p->webrtc, call_id, publication_id);
  call->Play({p->webrtc});

  absl::StatusOr<std::string> answer = [&]() -> absl::StatusOr<std::string> {
    VL_RETURN_IF_ERROR(webrtc::SetDescription(p->webrtc, true, GST_WEBRTC_SDP_TYPE_OFFER, sdp,
                                              options_.negotiate_timeout));
    VL_ASSIGN_OR_RETURN(GstWebRTCSessionDescription * desc,
                        webrtc::Create(p->webrtc, false, options_.negotiate_timeout));
    GstSDPMessage* local = nullptr;
    gst_sdp_message_copy(desc->sdp, &local);
    gst_webrtc_session_description_free(desc);
    VL_RETURN_IF_ERROR(webrtc::SetDescription(p->webrtc, false, GST_WEBRTC_SDP_TYPE_ANSWER, local,
                                              options_.negotiate_timeout));
    return webrtc::GatheredLocalSdp(p->webrtc, options_.ice.gather_timeout);
  }();
  {
    std::lock_guard<std::mutex> l(call->mu);
    call->pending.erase(publication_id);
    if (answer.ok() && call->ended) answer = absl::FailedPreconditionError("the call has ended");
    if (answer.ok()) {
      if (call->recording) call->StartRecorder(*p);
      call->publications[publication_id] = std::move(p);
      ++call->live_publications;
      return answer;
    }
  }
  call->DiscardPublication(*p);
  return answer.status();
}

absl::Status CallEngine::Reserve(Call& call, const std::string& session_id) {
  std::lock_guard<std::mutex> l(call.mu);
  if (call.ended) return absl::FailedPreconditionError("the call has ended");
  if (call.publications.count(session_id) || call.subscriptions.count(session_id) ||
      !call.pending.insert(session_id).second) {
    return absl::AlreadyExistsError("this media session is already live");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CallEngine::Subscribe(const std::string& call_id,
                                                  const std::string& session_id,
                                                  const std::string& publication_id,
                                                  const std::string& offer) {
  VL_ASSIGN_OR_RETURN(GstSDPMessage * sdp, webrtc::ParseSdp(offer, kOfferField));
  std::vector<webrtc::OfferedMedia> offered = webrtc::DescribeMedia(*sdp);
  std::shared_ptr<Call> call = Find(call_id);
  // What the subscription branches from, taken under the lock (the tees are kept alive
  // by a reference of ours in case the publication ends while we negotiate).
  std::map<std::string, GstElement*> tees;  // kind -> tee
  Publication* publication = nullptr;
  if (call) {
    std::lock_guard<std::mutex> l(call->mu);
    auto it = call->publications.find(publication_id);
    if (it != call->publications.end()) {
      publication = it->second.get();
      for (Medium& m : publication->media) tees[m.kind] = GST_ELEMENT(gst_object_ref(m.tee));
    }
  }
  auto release_tees = [&] {
    for (auto& [kind, tee] : tees) gst_object_unref(tee);
  };
  if (!publication) {
    gst_sdp_message_free(sdp);
    return absl::NotFoundError("that publication is not live in this call");
  }
  bool usable = false;
  for (const auto& m : offered) {
    if (m.payload_type >= 0 && tees.count(m.kind)) usable = true;
    if (m.direction == "sendonly") {
      gst_sdp_message_free(sdp);
      release_tees();
      return InvalidField(kOfferField, "a WHEP offer must receive (recvonly or sendrecv)");
    }
  }
  if (!usable) {
    gst_sdp_message_free(sdp);
    release_tees();
    return InvalidField(kOfferField, "the offer has no codec this publication sends (VP8 video, Opus audio)");
  }
  if (absl::Status reserved = Reserve(*call, session_id); !reserved.ok()) {
    gst_sdp_message_free(sdp);
    release_tees();
    return reserved;
  }

  // Negotiated without the call's lock: the subscription is not in the call until it
  // is complete, and media flows into it only then.
  auto s = std::make_unique<Subscription>();
  s->id = session_id;
  s->publication_id = publication_id;
  GstElement* webrtc = webrtc::NewWebrtcBin("sub-" + session_id, options_.ice);
  s->elements.push_back(webrtc);
  WatchConnection(webrtc, call_id, session_id);
  call->Add({webrtc});
  call->Play({webrtc});

  // Sending transceivers made before the offer is applied take its m-lines, with the
  // receiver's own payload types; m-lines we have no track for are answered inactive.
  std::vector<size_t> mlines;
  for (size_t i = 0; i < offered.size(); ++i) {
    if (offered[i].payload_type < 0 || !tees.count(offered[i].kind)) continue;
    GstCaps* caps = webrtc::RtpCaps(offered[i].kind, offered[i].payload_type);
    GstWebRTCRTPTransceiver* t = nullptr;
    g_signal_emit_by_name(webrtc, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
                          caps, &t);
    gst_caps_unref(caps);
    if (t) gst_object_unref(t);
    mlines.push_back(i);
  }

  std::vector<std::pair<GstElement*, GstElement*>> branches;  // (tee, branch head)
  absl::StatusOr<std::string> answer = [&]() -> absl::StatusOr<std::string> {
    VL_RETURN_IF_ERROR(webrtc::SetDescription(webrtc, true, GST_WEBRTC_SDP_TYPE_OFFER, sdp,
                                              options_.negotiate_timeout));
    for (size_t mline : mlines) {
      const webrtc::OfferedMedia& m = offered[mline];
      GstElement* queue = Make("queue");
      // A slow receiver loses its own packets, never the publisher's or anyone else's.
      g_object_set(queue, "leaky", 2, "max-size-buffers", 300, "max-size-bytes", 0,
                   "max-size-time", G_GUINT64_CONSTANT(0), nullptr);
      GstElement* pay = Make(m.kind == "video" ? "rtpvp8pay" : "rtpopuspay");
      g_object_set(pay, "pt", m.payload_type, nullptr);
      if (m.kind == "video") g_object_set(pay, "picture-id-mode", 2, nullptr);
      s->elements.insert(s->elements.end(), {queue, pay});
      call->Add({queue, pay});
      gst_element_link(queue, pay);
      GstPad* pay_src = gst_element_get_static_pad(pay, "src");
      GstPad* sink = gst_element_request_pad_simple(webrtc, absl::StrCat("sink_", mline).c_str());
      if (sink) {
        gst_pad_link(pay_src, sink);
        gst_object_unref(sink);
      }
      gst_object_unref(pay_src);
      call->Play({queue, pay});
      if (m.kind == "video") {
        GstPad* queue_src = gst_element_get_static_pad(queue, "src");
        webrtc::StartAtKeyframe(queue_src);
        gst_object_unref(queue_src);
      }
      branches.emplace_back(tees[m.kind], queue);
    }
    VL_ASSIGN_OR_RETURN(GstWebRTCSessionDescription * desc,
                        webrtc::Create(webrtc, false, options_.negotiate_timeout));
    GstSDPMessage* local = nullptr;
    gst_sdp_message_copy(desc->sdp, &local);
    gst_webrtc_session_description_free(desc);
    VL_RETURN_IF_ERROR(webrtc::SetDescription(webrtc, false, GST_WEBRTC_SDP_TYPE_ANSWER, local,
                                              options_.negotiate_timeout));
    return webrtc::GatheredLocalSdp(webrtc, options_.ice.gather_timeout);
  }();
  {
    std::lock_guard<std::mutex> l(call->mu);
    call->pending.erase(session_id);
    auto it = call->publications.find(publication_id);
    if (answer.ok() && (call->ended || it == call->publications.end() || it->second.get() != publication)) {
      answer = absl::NotFoundError("that publication ended while this subscription was negotiated");
    }
    if (answer.ok()) {
      // Media starts flowing only into a complete, negotiated branch.
      for (auto& [tee, head] : branches) s->tee_pads.emplace_back(tee, BranchFromTee(tee, head));
      call->subscriptions[session_id] = std::move(s);
      ++call->live_subscriptions;
    }
  }
  release_tees();
  if (!answer.ok()) call->EndSubscription(*s);
  return answer;
}

absl::StatusOr<std::vector<std::string>> CallEngine::EndSession(const std::string& call_id,
                                                                const std::string& session_id) {
  std::shared_ptr<Call> call = Find(call_id);
  if (!call) return absl::NotFoundError("no media session is live in this call");
  std::lock_guard<std::mutex> l(call->mu);
  if (auto it = call->subscriptions.find(session_id); it != call->subscriptions.end()) {
    call->EndSubscription(*it->second);
    call->subscriptions.erase(it);
    --call->live_subscriptions;
    return std::vector<std::string>{};
  }
  auto it = call->publications.find(session_id);
  if (it == call->publications.end()) return absl::NotFoundError("that media session has already ended");
  std::vector<std::string> ended = call->EndPublication(*it->second);
  call->publications.erase(it);
  --call->live_publications;
  return ended;
}

absl::Status CallEngine::StartRecording(const std::string& call_id, const std::string& directory,
                                        TrackStarted on_track) {
  std::shared_ptr<Call> call = FindOrCreate(call_id);
  std::lock_guard<std::mutex> l(call->mu);
  if (call->recording) return absl::FailedPreconditionError("the call is already being recorded");
  call->recording = true;
  call->directory = directory;
  call->on_track = std::move(on_track);
  for (auto& [id, p] : call->publications) call->StartRecorder(*p);
  return absl::OkStatus();
}

absl::Status CallEngine::StopRecording(const std::string& call_id) {
  std::shared_ptr<Call> call = Find(call_id);
  if (!call) return absl::OkStatus();
  std::lock_guard<std::mutex> l(call->mu);
  call->recording = false;
  for (auto& [id, p] : call->publications) call->FinishRecorder(*p);
  return absl::OkStatus();
}

void CallEngine::EndCall(const std::string& call_id) {
  std::shared_ptr<Call> call;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = calls_.find(call_id);
    if (it == calls_.end()) return;
    call = it->second;
    calls_.erase(it);
  }
  std::lock_guard<std::mutex> l(call->mu);
  call->ended = true;  // sessions still negotiating are discarded when they finish
  for (auto& [id, s] : call->subscriptions) call->EndSubscription(*s);
  call->subscriptions.clear();
  for (auto& [id, p] : call->publications) call->EndPublication(*p);
  call->publications.clear();
  call->live_subscriptions = 0;
  call->live_publications = 0;
}

CallEngine::Stats CallEngine::stats() const {
  Stats out;
  std::lock_guard<std::mutex> l(mu_);  // held only for map changes, never while negotiating
  out.calls = static_cast<int>(calls_.size());
  for (const auto& [id, c] : calls_) {
    out.publications += c->live_publications;
    out.subscriptions += c->live_subscriptions;
    out.recorders += c->live_recorders;
  }
  return out;
}

}  // namespace vetline::media
