#include "services/gateway/gateway.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <google/protobuf/util/time_util.h>

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
using Responder = std::function<void(Response)>;

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
  void Handle(Request req, const std::string& peer, Responder done);

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
    Responder done;
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
    double seconds = absl::ToDoubleSeconds(absl::Now() - x->start);
    std::string method(x->req.method_string());
    metrics_.requests.Add({{"route", x->route_label}, {"method", method}, {"code", std::to_string(status)}})
        .Increment();
    metrics_.latency.Add({{"route", x->route_label}, {"method", method}}, metrics::LatencyBuckets())
        .Observe(seconds);
    log::RequestScope scope(x->request_id, x->clinic_id);
    bool probe = x->route_label == "/healthz" || x->route_label == "/readyz" ||
                 x->route_label == "/metrics";
    log::Write(status >= 500 && !probe ? log::Level::kError
               : probe                 ? log::Level::kDebug
                                       : log::Level::kInfo,
               "http",
               {{"method", method}, {"route", x->route_label}, {"status", status},
                {"duration_ms", seconds * 1000}, {"peer", x->peer}});
    x->done(std::move(res));
  }

  bool HandleBuiltin(const ExchangePtr& x, const std::string& path);
  void Authenticated(const ExchangePtr& x, const Match& m, std::shared_ptr<pb::Message> request);
  void CallRoute(const ExchangePtr& x, const Route& route, std::shared_ptr<pb::Message> request,
                 std::optional<api::Principal> principal);
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
  std::unique_ptr<redis::Subscriber> revocations_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  int port_ = 0;
};

// One keep-alive HTTP connection; all its I/O runs on its own strand.
class Gateway::Impl::Connection : public std::enable_shared_from_this<Connection> {
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

 private:
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
      return Close();
    }
    if (ec) {
      keep_alive_ = false;
      Reply(ErrorResponse(grpc::StatusCode::INVALID_ARGUMENT, "malformed HTTP request"), 400);
      return;
    }
    Request req = parser_->release();
    keep_alive_ = req.keep_alive();
    stream_.expires_never();  // the backend call has its own deadline
    auto self = shared_from_this();
    gw_.Handle(std::move(req), peer_, [self](Response res) {
      net::dispatch(self->stream_.get_executor(),
                    [self, res = std::move(res)]() mutable { self->Write(std::move(res)); });
    });
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
    if (ec || !keep_alive_) return Close();
    Read();
  }

  void Close() {
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
    nlohmann::json backends = nlohmann::json::object();
    bool ready = true;
    for (const std::string& name : routes_.Backends()) {
      auto it = backends_.find(name);
      std::string state = "not configured";
      if (it != backends_.end()) {
        auto serving = rpc::CheckHealth(*it->second.channel, "", absl::Seconds(1));
        state = serving.ok() ? (*serving ? "serving" : "not serving") : "unreachable";
      }
      ready &= state == "serving";
      backends[name] = state;
    }
    nlohmann::json body = {{"status", ready ? "ready" : "not ready"}, {"backends", backends}};
    Finish(x, JsonResponse(ready ? 200 : 503, body.dump()));
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

void Gateway::Impl::Handle(Request req, const std::string& peer, Responder done) {
  auto x = std::make_shared<Exchange>();
  x->request_id = SaneRequestId(std::string(req["X-Request-Id"]));
  x->peer = peer;
  x->done = std::move(done);
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
  auto request = BuildRequest(*match->route, match->captures, query, x->req.body());
  if (!request.ok()) return Finish(x, ErrorResponse(request.status()));
  std::shared_ptr<pb::Message> msg(std::move(*request));
  if (absl::Status st = CheckRateLimit(*x, *match->route, *msg); !st.ok()) {
    Response res = ErrorResponse(st);
    if (auto wait = st.GetPayload("retry-after")) res.set(http::field::retry_after, std::string(*wait));
    return Finish(x, std::move(res));
  }
  if (match->route->rule.anonymous()) return CallRoute(x, *match->route, msg, std::nullopt);
  Authenticated(x, *match, msg);
}

absl::Status Gateway::Impl::CheckRateLimit(const Exchange& x, const Route& route,
                                           const pb::Message& request) {
  const std::string& field_name = route.rule.rate_limit_field();
  if (field_name.empty() || !limiter_) return absl::OkStatus();
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
                auto json = ResponseJson(*resp);
                if (!json.ok()) return Finish(x, ErrorResponse(json.status()));
                Response res = JsonResponse(200, std::move(*json));
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
