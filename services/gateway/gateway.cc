#include "services/gateway/gateway.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <google/protobuf/util/time_util.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <optional>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "libs/auth/auth.h"
#include "libs/core/ids.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/metrics/metrics.h"
#include "libs/redis/redis.h"
#include "libs/rpc/rpc.h"
#include "services/gateway/error_map.h"
#include "services/gateway/openapi.h"
#include "services/gateway/session_cache.h"
#include "services/gateway/transcoder.h"

namespace vetline::gateway {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace pb = google::protobuf;
using tcp = net::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// How the gateway answers one request: whole, or as a chunked stream (Server-Sent
// Events, downloads). Implemented by the connection; every call may come from any thread.
class Reply {
 public:
  virtual ~Reply() = default;
  virtual void Send(Response res) = 0;
  // Writes the head of a chunked response. `gone` runs once if the peer disconnects.
  virtual void Open(Response head, std::function<void()> gone) = 0;
  // Queues one chunk; `written(false)` when it could not be delivered.
  virtual void Chunk(std::string data, std::function<void(bool)> written) = 0;
  virtual void Close() = 0;  // the last chunk
};
using ReplyPtr = std::shared_ptr<Reply>;

constexpr char kSessionCookie[] = "vetline_session";
constexpr char kRevokedChannel[] = "vetline.sessions.revoked";
constexpr char kAuthenticateMethod[] = "/vetline.identity.v1.IdentityService/Authenticate";

// HTTP figures, declared in one place.
struct HttpMetrics {
  explicit HttpMetrics(prometheus::Registry& r)
      : requests(prometheus::BuildCounter()
                     .Name("vetline_http_requests_total")
                     .Help("HTTP requests answered by the gateway, by route, method and status")
                     .Register(r)),
        latency(prometheus::BuildHistogram()
                    .Name("vetline_http_request_duration_seconds")
                    .Help("HTTP request latency at the gateway, by route and method")
                    .Register(r)),
        rate_limited(prometheus::BuildCounter()
                         .Name("vetline_http_rate_limited_total")
                         .Help("Requests refused by a rate limit")
                         .Register(r)
                         .Add({})) {}
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Histogram>& latency;
  prometheus::Counter& rate_limited;
};

Response JsonResponse(int status, std::string body) {
  Response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

Response ErrorResponse(grpc::StatusCode code, const std::string& message,
                       const std::string& field = "") {
  return JsonResponse(HttpStatusFor(code), ErrorBody(code, message, field));
}

Response ErrorResponse(const absl::Status& s) {
  return JsonResponse(HttpStatusFor(static_cast<grpc::StatusCode>(s.code())), ErrorBody(s));
}

std::string SaneRequestId(std::string_view given) {
  if (given.empty() || given.size() > 64) return NewRequestId();
  for (char c : given) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return NewRequestId();
    }
  }
  return std::string(given);
}

// The session token from `Authorization: Bearer` or the session cookie.
std::string TokenOf(const Request& req) {
  auto auth = req.find(http::field::authorization);
  if (auth != req.end()) {
    std::string_view v(auth->value().data(), auth->value().size());
    if (v.size() > 7 && absl::AsciiStrToLower(std::string(v.substr(0, 7))) == "bearer ") {
      return std::string(v.substr(7));
    }
    return "";
  }
  auto cookie = req.find(http::field::cookie);
  if (cookie == req.end()) return "";
  for (auto part : absl::StrSplit(std::string(cookie->value()), ';')) {
    std::string p(absl::StripAsciiWhitespace(part));
    if (p.rfind(std::string(kSessionCookie) + "=", 0) == 0) return p.substr(sizeof(kSessionCookie));
  }
  return "";
}

grpc::ByteBuffer ToBuffer(const pb::Message& m) {
  std::string bytes = m.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

bool FromBuffer(const grpc::ByteBuffer& buf, pb::Message* m) {
  std::vector<grpc::Slice> slices;
  if (!buf.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return m->ParseFromString(bytes);
}

}  // namespace

class Gateway::Impl {
 public:
  explicit Impl(GatewayOptions o, RouteTable routes, auth::PrincipalSigner signer)
      : opts_(std::move(o)),
        routes_(std::move(routes)),
        openapi_(OpenApiJson(routes_)),
        signer_(signer),
        sessions_(opts_.session_cache_ttl, 100000),
        metrics_(*opts_.registry),
        acceptor_(ioc_) {}

  absl::Status Start() {
    for (const auto& [name, address] : opts_.backends) {
      auto channel = rpc::Dial(address);
      backends_[name] = {channel, std::make_unique<grpc::GenericStub>(channel)};
    }
    if (!opts_.redis.empty()) {
      VL_ASSIGN_OR_RETURN(redis::Options ro, redis::ParseAddress(opts_.redis));
      VL_ASSIGN_OR_RETURN(redis_, redis::Pool::Create(ro));
      limiter_ = std::make_unique<redis::RateLimiter>(redis_, opts_.rate_limit_prefix);
      auto sub = redis::Subscriber::Start(ro, {kRevokedChannel},
                                          [this](const std::string&, const std::string& hash) {
                                            sessions_.Evict(hash);
                                          });
      if (sub.ok()) revocations_ = std::move(*sub);
    } else {
      log::Warn("no Redis configured: login rate limits are off");
    }
    std::vector<std::string> hp = absl::StrSplit(opts_.http_address, absl::MaxSplits(':', 1));
    int port;
    if (hp.size() != 2 || !absl::SimpleAtoi(hp[1], &port)) {
      return absl::InvalidArgumentError("http address must be host:port: " + opts_.http_address);
    }
    beast::error_code ec;
    tcp::endpoint ep(net::ip::make_address(hp[0], ec), static_cast<uint16_t>(port));
    if (ec) return absl::InvalidArgumentError("bad http address: " + opts_.http_address);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return absl::UnavailableError("cannot listen on " + opts_.http_address + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    Accept();
    for (int i = 0; i < std::max(1, opts_.io_threads); ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
    log::Info("gateway listening", {{"address", opts_.http_address}, {"port", port_},
                                    {"routes", routes_.routes().size()}});
    return absl::OkStatus();
  }

  void Stop() {
    limiter_pool_.join();
    {
      // Open event streams end first, so no backend call outlives the gateway.
      std::unique_lock<std::mutex> l(streams_mu_);
      for (Stream* s : streams_) CancelStream(s);
      streams_cv_.wait_for(l, std::chrono::seconds(5), [this] { return streams_.empty(); });
    }
    net::post(ioc_, [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    revocations_.reset();
  }

  int port() const { return port_; }

  // One HTTP request, answered through `done` (possibly from a gRPC thread).
  void Handle(Request req, const std::string& peer, ReplyPtr reply);

 private:
  class Connection;
  struct Backend {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<grpc::GenericStub> stub;
  };
  // What one request carries through its asynchronous steps.
  struct Exchange {
    Request req;
    std::string peer, request_id, route_label = "unmatched", clinic_id;
    absl::Time start = absl::Now();
    ReplyPtr reply;
  };
  using ExchangePtr = std::shared_ptr<Exchange>;

  void Accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket s) {
      if (ec == net::error::operation_aborted) return;
      if (!ec) StartConnection(std::move(s));
      Accept();
    });
  }
  void StartConnection(tcp::socket s);

  void Finish(const ExchangePtr& x, Response res) {
    res.set("X-Request-Id", x->request_id);
    int status = res.result_int();
    Record(*x, status);
    x->reply->Send(std::move(res));
  }

  // Metrics and the access-log line of one answered request.
  void Record(const Exchange& x, int status) {
    double seconds = absl::ToDoubleSeconds(absl::Now() - x.start);
    std::string method(x.req.method_string());
    metrics_.requests.Add({{"route", x.route_label}, {"method", method}, {"code", std::to_string(status)}})
        .Increment();
    metrics_.latency.Add({{"route", x.route_label}, {"method", method}}, metrics::LatencyBuckets())
        .Observe(seconds);
    log::RequestScope scope(x.request_id, x.clinic_id);
    bool probe = x.route_label == "/healthz" || x.route_label == "/readyz" || x.route_label == "/metrics";
    log::Write(status >= 500 && !probe ? log::Level::kError
               : probe                 ? log::Level::kDebug
                                       : log::Level::kInfo,
               "http",
               {{"method", method}, {"route", x.route_label}, {"status", status},
                {"duration_ms", seconds * 1000}, {"peer", x.peer}});
  }

  bool HandleBuiltin(const ExchangePtr& x, const std::string& path);
  void Authenticated(const ExchangePtr& x, const Match& m, std::shared_ptr<pb::Message> request);
  void CallRoute(const ExchangePtr& x, const Route& route, std::shared_ptr<pb::Message> request,
                 std::optional<api::Principal> principal);
  class Stream;
  static void CancelStream(Stream* s);
  std::mutex streams_mu_;
  std::condition_variable streams_cv_;
  std::set<Stream*> streams_;
  void CallStream(const ExchangePtr& x, const Route& route, const pb::Message& request,
                  const std::optional<api::Principal>& principal);
  // Calls `method` on `backend` asynchronously; `done` gets the status and the reply.
  void CallBackend(const std::string& backend, const std::string& method, const pb::Message& req,
                   const std::optional<api::Principal>& principal, const std::string& request_id,
                   std::function<void(grpc::Status, const grpc::ByteBuffer&)> done);
  absl::Status CheckRateLimit(const Exchange& x, const Route& route, const pb::Message& request);

  GatewayOptions opts_;
  RouteTable routes_;
  std::string openapi_;
  auth::PrincipalSigner signer_;
  SessionCache sessions_;
  HttpMetrics metrics_;
  std::map<std::string, Backend> backends_;
  std::shared_ptr<redis::Pool> redis_;
  std::unique_ptr<redis::RateLimiter> limiter_;
  net::thread_pool limiter_pool_{1};  // where rate-limited requests wait for Redis
  std::atomic<int64_t> limiter_down_until_ns_{0};  // Redis failed: skip limits until then
  std::unique_ptr<redis::Subscriber> revocations_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  int port_ = 0;
};

// One keep-alive HTTP connection; all its I/O runs on its own strand. It answers one
// request at a time, whole or as a chunked stream.
class Gateway::Impl::Connection : public Reply, public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket s, Impl& gw) : stream_(std::move(s)), gw_(gw) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    peer_ = ec ? "unknown" : ep.address().to_string();
  }

  void Read() {
    parser_.emplace();
    parser_->body_limit(gw_.opts_.max_body_bytes);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(std::chrono::seconds(60));  // idle keep-alive connections close
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Connection::OnRead, shared_from_this()));
  }

  void Send(Response res) override {
    OnStrand([self = shared_from_this(), res = std::move(res)]() mutable { self->Write(std::move(res)); });
  }

  void Open(Response head, std::function<void()> gone) override {
    OnStrand([self = shared_from_this(), head = std::move(head), gone = std::move(gone)]() mutable {
      self->gone_ = std::move(gone);
      self->head_ = std::make_shared<Response>(std::move(head));
      self->head_->keep_alive(self->keep_alive_);
      self->head_->chunked(true);
      self->serializer_.emplace(*self->head_);
      self->writing_ = true;
      http::async_write_header(self->stream_, *self->serializer_,
                               [self](beast::error_code ec, size_t) {
                                 self->writing_ = false;
                                 if (ec) return self->PeerGone();
                                 self->WatchForHangUp();
                                 self->Pump();
                               });
    });
  }

  void Chunk(std::string data, std::function<void(bool)> written) override {
    OnStrand([self = shared_from_this(), data = std::move(data), written = std::move(written)]() mutable {
      self->outbox_.push_back({std::move(data), std::move(written), false});
      self->Pump();
    });
  }

  void Close() override {
    OnStrand([self = shared_from_this()] {
      self->outbox_.push_back({"", nullptr, true});
      self->Pump();
    });
  }

 private:
  struct Outgoing {
    std::string data;
    std::function<void(bool)> written;
    bool last;
  };

  template <typename F>
  void OnStrand(F&& f) {
    net::dispatch(stream_.get_executor(), std::forward<F>(f));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      Reply(ErrorResponse(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          absl::StrCat("request body is larger than ", gw_.opts_.max_body_bytes,
                                       " bytes")),
            413);
      return;
    }
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::connection_reset || ec == net::error::eof) {
      return Shutdown();
    }
    if (ec) {
      keep_alive_ = false;
      Reply(ErrorResponse(grpc::StatusCode::INVALID_ARGUMENT, "malformed HTTP request"), 400);
      return;
    }
    Request req = parser_->release();
    keep_alive_ = req.keep_alive();
    stream_.expires_never();  // the backend call has its own deadline
    gw_.Handle(std::move(req), peer_, shared_from_this());
  }

  void Reply(Response res, int status) {
    res.result(static_cast<http::status>(status));
    res.set("X-Request-Id", NewRequestId());
    Write(std::move(res));
  }

  void Write(Response res) {
    res.keep_alive(keep_alive_);
    res.prepare_payload();
    res_ = std::make_shared<Response>(std::move(res));
    stream_.expires_after(std::chrono::seconds(30));
    http::async_write(stream_, *res_,
                      beast::bind_front_handler(&Connection::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t) {
    res_.reset();
    if (ec || !keep_alive_) return Shutdown();
    Read();
  }

  // While streaming, the peer sends nothing more; a read that ends means it hung up,
  // which must cancel the backend stream (an idle event stream would never notice).
  void WatchForHangUp() {
    stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      if (self->streaming_done_) return;
      if (ec != net::error::operation_aborted) {
        char probe;
        beast::error_code rec;
        size_t n = self->stream_.socket().receive(net::buffer(&probe, 1), tcp::socket::message_peek, rec);
        if (n == 0 || rec) return self->PeerGone();
        self->WatchForHangUp();  // pipelined bytes: not a hang-up (they wait for the stream's end)
      }
    });
  }

  void PeerGone() {
    if (peer_gone_) return;
    peer_gone_ = true;
    for (auto& o : outbox_) {
      if (o.written) o.written(false);
    }
    outbox_.clear();
    if (gone_) std::exchange(gone_, nullptr)();
    Shutdown();
  }

  // Writes queued chunks one at a time, in order.
  void Pump() {
    if (writing_ || !serializer_ || outbox_.empty()) return;
    if (peer_gone_) return PeerGone();
    auto item = std::make_shared<Outgoing>(std::move(outbox_.front()));
    outbox_.pop_front();
    writing_ = true;
    auto self = shared_from_this();
    auto done = [self, item](beast::error_code ec, size_t) {
      self->writing_ = false;
      if (item->written) item->written(!ec);
      if (ec) return self->PeerGone();
      if (item->last) {
        self->streaming_done_ = true;
        self->serializer_.reset();
        self->head_.reset();
        self->gone_ = nullptr;
        beast::error_code cec;
        self->stream_.socket().cancel(cec);  // ends the hang-up watch
        if (!self->keep_alive_) return self->Shutdown();
        self->streaming_done_ = false;
        return self->Read();
      }
      self->Pump();
    };
    if (item->last) {
      net::async_write(stream_, http::make_chunk_last(), done);
    } else {
      net::async_write(stream_, http::make_chunk(net::buffer(item->data)), done);
    }
  }

  void Shutdown() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  Impl& gw_;
  std::string peer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> res_;
  bool keep_alive_ = true;
  // Streaming state.
  std::shared_ptr<Response> head_;
  std::optional<http::response_serializer<http::string_body>> serializer_;
  std::deque<Outgoing> outbox_;
  std::function<void()> gone_;
  bool writing_ = false, peer_gone_ = false, streaming_done_ = false;
};

void Gateway::Impl::StartConnection(tcp::socket s) {
  auto c = std::make_shared<Connection>(std::move(s), *this);
  c->Read();
}

bool Gateway::Impl::HandleBuiltin(const ExchangePtr& x, const std::string& path) {
  if (x->req.method() != http::verb::get) return false;
  if (path == "/healthz") {
    x->route_label = path;
    Finish(x, JsonResponse(200, R"({"status":"ok"})"));
    return true;
  }
  if (path == "/readyz") {
    x->route_label = path;
    // Every backend is asked at once, off the io thread; the answer goes when the last
    // one has replied or timed out (1 s).
    struct Readiness {
      std::mutex mu;
      nlohmann::json backends = nlohmann::json::object();
      bool ready = true;
      size_t pending = 0;
    };
    auto r = std::make_shared<Readiness>();
    std::vector<std::pair<std::string, std::shared_ptr<grpc::Channel>>> checks;
    for (const std::string& name : routes_.Backends()) {
      auto it = backends_.find(name);
      if (it == backends_.end()) {
        r->backends[name] = "not configured";
        r->ready = false;
      } else {
        checks.emplace_back(name, it->second.channel);
      }
    }
    auto answer = [this, x](Readiness& r) {
      nlohmann::json body = {{"status", r.ready ? "ready" : "not ready"}, {"backends", r.backends}};
      Finish(x, JsonResponse(r.ready ? 200 : 503, body.dump()));
    };
    if (checks.empty()) {
      answer(*r);
      return true;
    }
    r->pending = checks.size();
    for (auto& [name, channel] : checks) {
      auto record = [r, name = name, answer](absl::StatusOr<bool> serving) {
        std::lock_guard<std::mutex> l(r->mu);
        std::string state = serving.ok() ? (*serving ? "serving" : "not serving") : "unreachable";
        r->backends[name] = state;
        r->ready &= state == "serving";
        if (--r->pending == 0) answer(*r);
      };
      rpc::CheckHealthAsync(channel, "", absl::Seconds(1), std::move(record));
    }
    return true;
  }
  if (path == "/metrics") {
    x->route_label = path;
    Response res = JsonResponse(200, metrics::Serialize(*opts_.registry));
    res.set(http::field::content_type, "text/plain; version=0.0.4");
    Finish(x, std::move(res));
    return true;
  }
  if (path == "/openapi.json") {
    x->route_label = path;
    Finish(x, JsonResponse(200, openapi_));
    return true;
  }
  return false;
}

void Gateway::Impl::Handle(Request req, const std::string& peer, ReplyPtr reply) {
  auto x = std::make_shared<Exchange>();
  x->request_id = SaneRequestId(std::string(req["X-Request-Id"]));
  x->peer = peer;
  x->reply = std::move(reply);
  x->req = std::move(req);
  std::string target(x->req.target());
  size_t q = target.find('?');
  std::string path = target.substr(0, q);
  std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  if (HandleBuiltin(x, path)) return;

  std::vector<std::string> allowed;
  auto match = routes_.Find(std::string(x->req.method_string()), path, &allowed);
  if (!match.ok()) {
    if (match.status().code() == absl::StatusCode::kFailedPrecondition) {
      Response res = ErrorResponse(grpc::StatusCode::INVALID_ARGUMENT,
                                   absl::StrCat(std::string(x->req.method_string()), " is not allowed on ", path));
      res.result(http::status::method_not_allowed);
      std::string allow;
      for (const auto& v : allowed) absl::StrAppend(&allow, allow.empty() ? "" : ", ", v);
      res.set(http::field::allow, allow);
      return Finish(x, std::move(res));
    }
    return Finish(x, ErrorResponse(grpc::StatusCode::NOT_FOUND, "no such route: " + path));
  }
  x->route_label = match->route->path_template;
  const api::HttpRule& rule = match->route->rule;
  if (!rule.raw_body().empty()) {
    std::string type(x->req[http::field::content_type]);
    type = absl::AsciiStrToLower(absl::StripAsciiWhitespace(type.substr(0, type.find(';'))));
    if (type != rule.content_type()) {
      Response res = ErrorResponse(grpc::StatusCode::INVALID_ARGUMENT,
                                   absl::StrCat("send the body as Content-Type: ", rule.content_type()),
                                   rule.raw_body());
      res.result(http::status::unsupported_media_type);
      return Finish(x, std::move(res));
    }
  }
  auto request = BuildRequest(*match->route, match->captures, query, x->req.body());
  if (!request.ok()) return Finish(x, ErrorResponse(request.status()));
  std::shared_ptr<pb::Message> msg(std::move(*request));
  if (!rule.bearer_field().empty()) {
    // The service checks this token itself (a call participant's, not a staff session).
    const pb::FieldDescriptor* f = msg->GetDescriptor()->FindFieldByName(rule.bearer_field());
    auto auth = x->req.find(http::field::authorization);
    if (auth != x->req.end()) msg->GetReflection()->SetString(msg.get(), f, TokenOf(x->req));
    if (msg->GetReflection()->GetString(*msg, f).empty()) {
      return Finish(x, ErrorResponse(grpc::StatusCode::UNAUTHENTICATED,
                                     "send Authorization: Bearer <participant token>"));
    }
  }
  auto proceed = [this, x, m = std::move(*match), msg] {
    if (absl::Status st = CheckRateLimit(*x, *m.route, *msg); !st.ok()) {
      Response res = ErrorResponse(st);
      if (auto wait = st.GetPayload("retry-after")) res.set(http::field::retry_after, std::string(*wait));
      return Finish(x, std::move(res));
    }
    if (m.route->rule.anonymous()) return CallRoute(x, *m.route, msg, std::nullopt);
    Authenticated(x, m, msg);
  };
  // Rate limits ask Redis synchronously: off the io threads, so a slow or unreachable
  // Redis delays logins only, never every other request.
  if (!rule.rate_limit_field().empty() && limiter_) return net::post(limiter_pool_, std::move(proceed));
  proceed();
}

absl::Status Gateway::Impl::CheckRateLimit(const Exchange& x, const Route& route,
                                           const pb::Message& request) {
  const std::string& field_name = route.rule.rate_limit_field();
  if (field_name.empty() || !limiter_) return absl::OkStatus();
  // For 10 s after Redis failed, logins go unlimited instead of each one waiting out
  // the Redis timeout in turn.
  if (absl::Now() < absl::FromUnixNanos(limiter_down_until_ns_.load())) return absl::OkStatus();
  const pb::FieldDescriptor* f = request.GetDescriptor()->FindFieldByName(field_name);
  std::string account =
      f ? absl::AsciiStrToLower(absl::StripAsciiWhitespace(request.GetReflection()->GetString(request, f)))
        : "";
  auto minute = [](double n) { return n / 60.0; };
  std::vector<std::pair<std::string, redis::RateLimiter::Limit>> buckets = {
      {"ip:" + x.peer, {opts_.login_ip_burst, minute(opts_.login_ip_per_minute)}}};
  if (!account.empty()) {
    buckets.push_back({"acct:" + account, {opts_.login_account_burst, minute(opts_.login_account_per_minute)}});
  }
  for (const auto& [key, limit] : buckets) {
    auto d = limiter_->Take(key, limit);
    if (!d.ok()) {
      // Fail open: Redis being down must not lock every user out of login.
      log::Warn("rate limiter unavailable", {{"error", d.status().ToString()}});
      limiter_down_until_ns_ = absl::ToUnixNanos(absl::Now() + absl::Seconds(10));
      return absl::OkStatus();
    }
    if (!d->allowed) {
      metrics_.rate_limited.Increment();
      absl::Status st = absl::ResourceExhaustedError("too many attempts; try again later");
      int64_t secs = std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(d->retry_after, absl::Seconds(1))));
      st.SetPayload("retry-after", absl::Cord(std::to_string(secs)));
      return st;
    }
  }
  return absl::OkStatus();
}

void Gateway::Impl::Authenticated(const ExchangePtr& x, const Match& m,
                                  std::shared_ptr<pb::Message> request) {
  std::string token = TokenOf(x->req);
  if (token.empty()) {
    return Finish(x, ErrorResponse(grpc::StatusCode::UNAUTHENTICATED,
                                   "sign in first: send Authorization: Bearer <token>"));
  }
  std::string hash = auth::TokenHash(token);
  if (auto p = sessions_.Get(hash)) return CallRoute(x, *m.route, request, *p);
  const Route* route = m.route;
  // AuthenticateRequest has one field, token = 1: encode it without a generated type so
  // the gateway depends on no service's C++ code.
  const pb::Descriptor* d = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(
      "vetline.identity.v1.AuthenticateRequest");
  std::unique_ptr<pb::Message> ar(pb::MessageFactory::generated_factory()->GetPrototype(d)->New());
  ar->GetReflection()->SetString(ar.get(), d->FindFieldByName("token"), token);
  api::Principal platform;
  platform.set_kind(api::Principal::SERVICE);
  platform.set_user_id("gateway");
  CallBackend("identity", kAuthenticateMethod, *ar, platform, x->request_id,
              [this, x, route, request, hash](grpc::Status st, const grpc::ByteBuffer& reply) {
                api::Principal p;
                if (st.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
                  return Finish(x, ErrorResponse(grpc::StatusCode::UNAUTHENTICATED,
                                                 "session expired or signed out"));
                }
                if (!st.ok() || !FromBuffer(reply, &p)) {
                  return Finish(x, ErrorResponse(grpc::StatusCode::UNAVAILABLE,
                                                 "cannot check the session right now"));
                }
                sessions_.Put(hash, p);
                CallRoute(x, *route, request, p);
              });
}

void Gateway::Impl::CallRoute(const ExchangePtr& x, const Route& route,
                              std::shared_ptr<pb::Message> request,
                              std::optional<api::Principal> principal) {
  if (principal) x->clinic_id = principal->clinic_id();
  const Route* r = &route;
  if (route.streaming) return CallStream(x, route, *request, principal);
  CallBackend(route.backend, route.grpc_method, *request, principal, x->request_id,
              [this, x, r, principal](grpc::Status st, const grpc::ByteBuffer& reply) {
                if (!st.ok()) {
                  return Finish(x, ErrorResponse(st.error_code(), st.error_message(),
                                                 st.error_details()));
                }
                std::unique_ptr<pb::Message> resp = NewResponse(*r);
                if (!FromBuffer(reply, resp.get())) {
                  return Finish(x, ErrorResponse(grpc::StatusCode::INTERNAL, "unreadable reply"));
                }
                Response res;
                if (!r->rule.raw_response().empty()) {
                  const auto* f = resp->GetDescriptor()->FindFieldByName(r->rule.raw_response());
                  res = JsonResponse(200, resp->GetReflection()->GetString(*resp, f));
                  res.set(http::field::content_type, r->rule.content_type());
                } else {
                  auto json = ResponseJson(*resp);
                  if (!json.ok()) return Finish(x, ErrorResponse(json.status()));
                  res = JsonResponse(200, std::move(*json));
                }
                if (!r->rule.created_location().empty()) {
                  const auto* f = resp->GetDescriptor()->FindFieldByName(r->rule.created_location());
                  res.result(http::status::created);
                  res.set(http::field::location, resp->GetReflection()->GetString(*resp, f));
                }
                std::string secure = opts_.secure_cookies ? "; Secure" : "";
                if (r->rule.sets_session()) {
                  const pb::Descriptor* d = resp->GetDescriptor();
                  const auto* tf = d->FindFieldByName("token");
                  const auto* ef = d->FindFieldByName("expires_at");
                  if (tf && ef) {
                    std::string token = resp->GetReflection()->GetString(*resp, tf);
                    const auto& ts = static_cast<const pb::Timestamp&>(
                        resp->GetReflection()->GetMessage(*resp, ef));
                    absl::Time expires = absl::FromUnixSeconds(ts.seconds());
                    res.set(http::field::set_cookie,
                            absl::StrCat(kSessionCookie, "=", token, "; Path=/; HttpOnly; SameSite=Lax; Expires=",
                                         absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", expires,
                                                          absl::UTCTimeZone()),
                                         secure));
                  }
                }
                if (r->rule.clears_session()) {
                  std::string token = TokenOf(x->req);
                  if (!token.empty()) {
                    std::string hash = auth::TokenHash(token);
                    sessions_.Evict(hash);
                    if (redis_) (void)redis_->Command({"PUBLISH", kRevokedChannel, hash});
                  }
                  res.set(http::field::set_cookie,
                          absl::StrCat(kSessionCookie, "=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0", secure));
                }
                Finish(x, std::move(res));
              });
}

// A server-streaming RPC answered as Server-Sent Events (one JSON message per event) or,
// with `raw_response`, as a chunked download. The head goes out with the first message,
// so an RPC that fails at once still answers with the usual error body and status. Each
// next message is read only once the previous chunk is on the wire: a slow reader slows
// the stream instead of filling the gateway's memory.
class Gateway::Impl::Stream final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  Stream(Impl& gw, ExchangePtr x, const Route& route) : gw_(gw), x_(std::move(x)), route_(route) {
    std::lock_guard<std::mutex> l(gw_.streams_mu_);
    gw_.streams_.insert(this);
  }
  void Cancel() { ctx_.TryCancel(); }

  void Start(Backend& backend, const pb::Message& request, const std::optional<api::Principal>& principal) {
    // Streams live as long as the participant watches: no overall deadline.
    if (principal) {
      rpc::AttachPrincipal(ctx_, *principal, gw_.signer_, x_->request_id);
    } else {
      ctx_.AddMetadata(rpc::kRequestIdKey, x_->request_id);
    }
    request_ = ToBuffer(request);
    backend.stub->PrepareBidiStreamingCall(&ctx_, route_.grpc_method, grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&message_);
    StartCall();
  }

  void OnWriteDone(bool) override {}

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ended; OnDone follows
    std::unique_ptr<pb::Message> msg = NewResponse(route_);
    if (!FromBuffer(message_, msg.get())) {
      ctx_.TryCancel();
      return;
    }
    std::string chunk;
    if (!route_.rule.raw_response().empty()) {
      chunk = msg->GetReflection()->GetString(*msg, msg->GetDescriptor()->FindFieldByName(route_.rule.raw_response()));
    } else {
      auto json = ResponseJson(*msg);
      if (!json.ok()) {
        ctx_.TryCancel();
        return;
      }
      const auto* type = msg->GetDescriptor()->FindFieldByName("type");
      std::string event = type && type->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING
                              ? msg->GetReflection()->GetString(*msg, type)
                              : "";
      chunk = absl::StrCat(event.empty() ? "" : absl::StrCat("event: ", event, "\n"), "data: ", *json, "\n\n");
    }
    if (!opened_) {
      opened_ = true;
      Response head{http::status::ok, 11};
      head.set(http::field::content_type,
               route_.rule.raw_response().empty() ? "text/event-stream" : route_.rule.content_type());
      head.set(http::field::cache_control, "no-store");
      head.set("X-Request-Id", x_->request_id);
      gw_.Record(*x_, 200);
      x_->reply->Open(std::move(head), [this] { ctx_.TryCancel(); });
    }
    AddHold();
    x_->reply->Chunk(std::move(chunk), [this](bool written) {
      if (written) {
        StartRead(&message_);
      } else {
        ctx_.TryCancel();
      }
      RemoveHold();
    });
  }

  void OnDone(const grpc::Status& st) override {
    if (!opened_) {
      gw_.Finish(x_, st.ok() ? JsonResponse(200, "")
                             : ErrorResponse(st.error_code(), st.error_message(), st.error_details()));
    } else {
      x_->reply->Close();
    }
    {
      std::lock_guard<std::mutex> l(gw_.streams_mu_);
      gw_.streams_.erase(this);
      gw_.streams_cv_.notify_all();
    }
    delete this;
  }

 private:
  Impl& gw_;
  ExchangePtr x_;
  const Route& route_;
  grpc::ClientContext ctx_;
  grpc::ByteBuffer request_, message_;
  bool opened_ = false;
};

void Gateway::Impl::CancelStream(Stream* s) { s->Cancel(); }

void Gateway::Impl::CallStream(const ExchangePtr& x, const Route& route, const pb::Message& request,
                               const std::optional<api::Principal>& principal) {
  auto it = backends_.find(route.backend);
  if (it == backends_.end()) {
    return Finish(x, ErrorResponse(grpc::StatusCode::UNAVAILABLE, "the " + route.backend + " service is not configured"));
  }
  (new Stream(*this, x, route))->Start(it->second, request, principal);
}

void Gateway::Impl::CallBackend(const std::string& backend, const std::string& method,
                                const pb::Message& req,
                                const std::optional<api::Principal>& principal,
                                const std::string& request_id,
                                std::function<void(grpc::Status, const grpc::ByteBuffer&)> done) {
  auto it = backends_.find(backend);
  if (it == backends_.end()) {
    grpc::ByteBuffer empty;
    return done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the " + backend + " service is not configured"),
                empty);
  }
  struct Pending {
    grpc::ClientContext ctx;
    grpc::ByteBuffer request, reply;
  };
  auto call = std::make_shared<Pending>();
  rpc::SetDeadline(call->ctx, opts_.backend_deadline);
  if (principal) {
    rpc::AttachPrincipal(call->ctx, *principal, signer_, request_id);
  } else {
    call->ctx.AddMetadata(rpc::kRequestIdKey, request_id);
  }
  call->request = ToBuffer(req);
  it->second.stub->UnaryCall(&call->ctx, method, grpc::StubOptions(), &call->request, &call->reply,
                             [call, done = std::move(done)](grpc::Status st) {
                               done(std::move(st), call->reply);
                             });
}

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gateway::~Gateway() { impl_->Stop(); }
int Gateway::port() const { return impl_->port(); }

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(GatewayOptions options) {
  if (!options.registry) return absl::InvalidArgumentError("GatewayOptions.registry is required");
  VL_ASSIGN_OR_RETURN(auth::Key key, auth::Key::FromSecret(options.internal_secret));
  VL_ASSIGN_OR_RETURN(RouteTable routes, RouteTable::Build(options.proto_files));
  auto impl = std::make_unique<Impl>(std::move(options), std::move(routes), auth::PrincipalSigner(key));
  VL_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

}  // namespace vetline::gateway
