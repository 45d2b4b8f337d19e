#include "services/gateway/stream_reactor.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/gateway/error_map.h"
#include "services/gateway/transcoder.h"

namespace vetline::gateway {

namespace net = boost::asio;
namespace pb = google::protobuf;

constexpr char kKeepalive[] = ": keepalive\n\n";

// A message's `type` (the SSE event:) or `id` (the SSE id:, which a reconnecting
// EventSource sends back as Last-Event-ID). Empty when absent or when it would break the
// line it goes on.
std::string SseField(const pb::Message& msg, const char* name) {
  const auto* f = msg.GetDescriptor()->FindFieldByName(name);
  if (!f || f->is_repeated() || f->type() != pb::FieldDescriptor::TYPE_STRING) return "";
  std::string v = msg.GetReflection()->GetString(msg, f);
  return v.find_first_of("\r\n") == std::string::npos ? v : "";
}

// SSE chunks of the last kRecentChunks messages streamed on any route, by route and
// message bytes: a clinic's event reaching twenty consoles is encoded to JSON once. The
// twenty reads arrive together, so the first makes the chunk and the others are handed it
// when it is made, rather than each making its own (or blocking a gRPC thread waiting).
class StreamReactor::RecentChunks {
 public:
  static constexpr size_t kRecentChunks = 512;
  using Chunk = std::shared_ptr<const std::string>;
  using Then = std::function<void(Chunk)>;
  // Calls `then` with the chunk of `bytes` on `route` (null: unreadable), at once when it
  // is recent, else once `make` made it (here, or on the thread making it).
  template <typename Make>
  void Get(const Route& route, const std::string& bytes, Make make, Then then) {
    std::string key = absl::StrCat(reinterpret_cast<uintptr_t>(&route), ":", bytes);
    std::shared_ptr<Slot> slot;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto [it, added] = chunks_.try_emplace(key);
      if (added) {
        it->second = std::make_shared<Slot>();
        order_.push_back(std::move(key));
        if (order_.size() > kRecentChunks) {
          chunks_.erase(order_.front());
          order_.pop_front();
        }
      }
      slot = it->second;
    }
    Chunk chunk;
    bool made;
    {
      std::lock_guard<std::mutex> l(slot->mu);
      made = slot->made;
      if (made) {
        chunk = slot->chunk;
      } else if (slot->making) {
        slot->waiting.push_back(std::move(then));
        return;
      } else {
        slot->making = true;
      }
    }
    if (made) return then(std::move(chunk));
    chunk = make();  // outside every lock: the slow part
    std::vector<Then> waiting;
    {
      std::lock_guard<std::mutex> l(slot->mu);
      slot->chunk = chunk;
      slot->made = true;
      waiting.swap(slot->waiting);
    }
    then(chunk);
    for (Then& w : waiting) w(chunk);
  }

 private:
  struct Slot {
    std::mutex mu;
    bool making = false, made = false;
    Chunk chunk;
    std::vector<Then> waiting;  // reads of the same message while it is being made
  };
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Slot>> chunks_;
  std::deque<std::string> order_;  // oldest first
};

// One backend stream and its HTTP answer. It deletes itself in OnDone, which gRPC runs
// only once every hold is released: one per chunk being written, one while the
// heartbeat timer runs.
class StreamReactor::Stream final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  Stream(StreamReactor& owner, ExchangePtr x, const Route& route)
      : owner_(owner),
        x_(std::move(x)),
        route_(route),
        sse_(route.rule.raw_response().empty()),
        timer_(std::make_shared<net::steady_timer>(net::make_strand(owner.io_))),
        link_(std::make_shared<Link>()) {
    link_->ctx = &ctx_;
  }

  // The request, and the routing key of the replica it must reach (see BackendCalls).
  void Prepare(const pb::Message& request) {
    request_ = rpc::ToBuffer(request);
    key_ = owner_.backends_.RouteKey(route_.backend, route_.grpc_method, request);
  }
  const std::string& key() const { return key_; }

  // Answers with the error before any stream started.
  void Refuse(const grpc::Status& st) {
    owner_.answer_(x_, ErrorResponse(st.error_code(), st.error_message(), st.error_details()));
    delete this;
  }

  void Start(grpc::GenericStub& stub, const std::optional<api::Principal>& principal) {
    if (!owner_.backends_.TrackStream(&ctx_)) {  // the gateway is stopping
      owner_.answer_(x_, ErrorResponse(grpc::StatusCode::UNAVAILABLE, "the gateway is restarting; try again"));
      delete this;
      return;
    }
    // Streams live as long as the participant watches: no overall deadline.
    owner_.backends_.Identify(ctx_, principal, x_->request_id);
    stub.PrepareBidiStreamingCall(&ctx_, route_.grpc_method, grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&message_);
    bool beat = sse_ && owner_.heartbeat_ > absl::ZeroDuration();
    if (beat) AddHold();
    StartCall();
    if (beat) ArmHeartbeat();
  }

  void OnWriteDone(bool) override {}

  void OnReadDone(bool ok) override {
    if (!ok) return Finishing();  // the stream ended; OnDone follows
    std::string bytes;
    if (!rpc::Flatten(message_, &bytes)) return Fail();
    if (!sse_) {
      std::unique_ptr<pb::Message> msg = NewResponse(route_);
      if (!msg->ParseFromString(bytes)) return Fail();
      return Write(msg->GetReflection()->GetString(*msg, msg->GetDescriptor()->FindFieldByName(route_.rule.raw_response())));
    }
    AddHold();  // until the chunk is handed over (perhaps by the thread making it)
    owner_.chunks_->Get(
        route_, bytes,
        [&]() -> RecentChunks::Chunk {
          std::unique_ptr<pb::Message> msg = NewResponse(route_);
          if (!msg->ParseFromString(bytes)) return nullptr;
          auto json = ResponseJson(*msg);
          if (!json.ok()) return nullptr;
          std::string event = SseField(*msg, "type"), id = SseField(*msg, "id");
          return std::make_shared<const std::string>(
              absl::StrCat(event.empty() ? "" : absl::StrCat("event: ", event, "\n"),
                           id.empty() ? "" : absl::StrCat("id: ", id, "\n"), "data: ", *json, "\n\n"));
        },
        [this](RecentChunks::Chunk sse) {
          if (sse) {
            Write(*sse);
          } else {
            Fail();
          }
          RemoveHold();
        });
  }

  void OnDone(const grpc::Status& st) override {
    // The replica holding the call is gone (or holds it no more): ask again next time.
    if (st.error_code() == grpc::StatusCode::UNAVAILABLE) owner_.backends_.Unroute(route_.backend, key_);
    {
      std::lock_guard<std::mutex> l(link_->mu);
      link_->ctx = nullptr;  // a hang-up noticed from now on has nothing to cancel
    }
    bool opened;
    {
      std::lock_guard<std::mutex> l(mu_);
      opened = opened_;
    }
    if (!opened) {
      owner_.answer_(x_, st.ok() ? JsonResponse(200, "")
                                 : ErrorResponse(st.error_code(), st.error_message(), st.error_details()));
    } else {
      x_->reply->Close();
    }
    owner_.backends_.UntrackStream(&ctx_);
    delete this;
  }

 private:
  struct Link {  // outlives the stream, for the connection's hang-up callback
    std::mutex mu;
    grpc::ClientContext* ctx = nullptr;
  };

  // The head goes out with the first message or heartbeat, so an RPC that fails at once
  // still answers with the usual error status and body.
  void Open() {
    std::lock_guard<std::mutex> l(mu_);
    if (opened_) return;
    opened_ = true;
    Response head{http::status::ok, 11};
    head.set(http::field::content_type, sse_ ? "text/event-stream" : route_.rule.content_type());
    head.set(http::field::cache_control, "no-store");
    owner_.opened_(x_, head);
    x_->reply->Open(std::move(head), [link = link_] {
      std::lock_guard<std::mutex> l(link->mu);
      if (link->ctx) link->ctx->TryCancel();
    });
  }

  // One chunk out; the next message is read once it is on the wire.
  void Write(std::string chunk) {
    Open();
    AddHold();
    x_->reply->Chunk(std::move(chunk), [this](bool written) {
      if (written) {
        StartRead(&message_);
      } else {
        Fail();
      }
      RemoveHold();
    });
  }

  void Fail() {
    ctx_.TryCancel();
    Finishing();
  }

  // No more heartbeats: the timer's hold goes once its wait is cancelled.
  void Finishing() {
    if (finishing_.exchange(true)) return;
    net::post(timer_->get_executor(), [timer = timer_] { timer->cancel(); });
  }

  void ArmHeartbeat() {
    timer_->expires_after(absl::ToChronoNanoseconds(owner_.heartbeat_));
    timer_->async_wait([this](boost::system::error_code ec) { OnHeartbeat(ec); });
  }

  void OnHeartbeat(boost::system::error_code ec) {
    if (ec || finishing_) return RemoveHold();
    Open();
    if (!keepalive_queued_.exchange(true)) {  // never more than one waiting to be written
      AddHold();
      x_->reply->Chunk(kKeepalive, [this](bool written) {
        keepalive_queued_ = false;
        if (!written) Fail();
        RemoveHold();
      });
    }
    ArmHeartbeat();
  }

  StreamReactor& owner_;
  ExchangePtr x_;
  const Route& route_;
  const bool sse_;
  grpc::ClientContext ctx_;
  grpc::ByteBuffer request_, message_;
  std::string key_;
  std::shared_ptr<net::steady_timer> timer_;  // shared: a posted cancel may outlive us
  std::shared_ptr<Link> link_;
  std::mutex mu_;
  bool opened_ = false;
  std::atomic<bool> finishing_{false}, keepalive_queued_{false};
};

StreamReactor::StreamReactor(BackendCalls& backends, net::io_context& io, absl::Duration heartbeat,
                             Answer answer, Opened opened)
    : backends_(backends),
      io_(io),
      heartbeat_(heartbeat),
      answer_(std::move(answer)),
      opened_(std::move(opened)),
      chunks_(std::make_unique<RecentChunks>()) {}

StreamReactor::~StreamReactor() = default;

void StreamReactor::Start(const ExchangePtr& x, const Route& route, const pb::Message& request,
                          const std::optional<api::Principal>& principal) {
  auto* stream = new Stream(*this, x, route);
  stream->Prepare(request);
  backends_.PickStub(route.backend, stream->key(),
                     [stream, principal](grpc::Status st, grpc::GenericStub* stub) {
                       if (!st.ok()) return stream->Refuse(st);
                       stream->Start(*stub, principal);
                     });
}

}  // namespace vetline::gateway
