// The gateway's pipeline. Each step lives in a file named for its job:
//   http_transport  Beast listener and connections          (bytes <-> Request/Reply)
//   cors_policy     preflights and CORS headers             (before anything else)
//   probes          /healthz /readyz /metrics /openapi.json (an Endpoint)
//   route_checks    404/405, media type, participant token
//   transcoder      JSON + path + query -> request message
//   request_headers header fields and the request target -> request fields
//   login_limits    per-IP and per-account buckets          (client IP: trusted_proxies)
//   session_policy  session token -> principal, cookies, revocation
//   backend_calls   unary gRPC with a cap on calls in flight
//   stream_reactor  server streams as SSE (with heartbeats) or chunked downloads
//   static_files    the web front end (console at /, portal at /portal/)
// A new kind of endpoint (webhooks, static files, event streams) is one more Endpoint
// in `endpoints_`, claimed by path before the generated routes.
#include "services/gateway/gateway.h"

#include <atomic>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "libs/core/ids.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/metrics/metrics.h"
#include "libs/redis/redis.h"
#include "services/gateway/backend_calls.h"
#include "services/gateway/cors_policy.h"
#include "services/gateway/error_map.h"
#include "services/gateway/gateway_metrics.h"
#include "services/gateway/http_transport.h"
#include "services/gateway/login_limits.h"
#include "services/gateway/probes.h"
#include "services/gateway/request_headers.h"
#include "services/gateway/route_checks.h"
#include "services/gateway/session_policy.h"
#include "services/gateway/static_files.h"
#include "services/gateway/stream_reactor.h"
#include "services/gateway/transcoder.h"
#include "services/gateway/trusted_proxies.h"

namespace vetline::gateway {
namespace {

namespace pb = google::protobuf;

std::string SaneRequestId(std::string_view given) {
  if (given.empty() || given.size() > 64) return NewRequestId();
  for (char c : given) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return NewRequestId();
    }
  }
  return std::string(given);
}

// The browser's trace, continued under the gateway's own span, or a new one: a missing,
// repeated or malformed traceparent starts a new trace and is never the caller's error.
// Repeated tracestate fields are one list (RFC 9110 field combination).
trace::Context TraceOf(const Request& req) {
  auto [from, to] = req.equal_range("traceparent");
  if (from == to || std::next(from) != to) return trace::Start();
  std::string state;
  auto [sfrom, sto] = req.equal_range("tracestate");
  for (auto it = sfrom; it != sto; ++it) {
    if (!state.empty()) state += ",";
    state += std::string(it->value());
  }
  return trace::Continue(std::string(from->value()), state);
}

// What the request's log lines carry and its backend calls pass on (rpc::AttachRequest).
log::RequestFields FieldsOf(const Exchange& x) { return {x.request_id, x.clinic_id, x.trace}; }

std::vector<std::string> ForwardedFor(const Request& req) {
  std::vector<std::string> out;
  auto [from, to] = req.equal_range("X-Forwarded-For");
  for (auto it = from; it != to; ++it) out.emplace_back(it->value());
  return out;
}

}  // namespace

class Gateway::Impl {
 public:
  Impl(GatewayOptions o, RouteTable routes, auth::PrincipalSigner signer, TrustedProxies proxies,
       CorsPolicy cors, std::shared_ptr<redis::Pool> redis, std::optional<redis::Options> redis_options)
      : opts_(std::move(o)),
        routes_(std::move(routes)),
        signer_(signer),
        proxies_(std::move(proxies)),
        cors_(std::move(cors)),
        metrics_(*opts_.registry),
        backends_({.backends = opts_.backends,
                   .deadline = opts_.backend_deadline,
                   .max_in_flight = opts_.max_backend_calls,
                   .signer = &signer_,
                   .refused = &metrics_.refused_backend_calls}),
        sessions_({.cache_ttl = opts_.session_cache_ttl, .secure_cookies = opts_.secure_cookies},
                  backends_, redis, redis_options),
        limits_({.ip_burst = opts_.login_ip_burst,
                 .ip_per_minute = opts_.login_ip_per_minute,
                 .account_burst = opts_.login_account_burst,
                 .account_per_minute = opts_.login_account_per_minute,
                 .max_pending = opts_.max_pending_logins,
                 .prefix = opts_.rate_limit_prefix},
                redis, metrics_) {
    if (!redis) log::Warn("no Redis configured: login rate limits are off");
    endpoints_.push_back(std::make_unique<Probes>(routes_, backends_, opts_.registry, Answerer()));
    // Last: it takes every GET outside /v1/ that the endpoints before it left.
    if (!opts_.web_dir.empty()) endpoints_.push_back(std::make_unique<StaticFiles>(opts_.web_dir, Answerer()));
  }

  absl::Status Start() {
    VL_ASSIGN_OR_RETURN(transport_,
                        HttpTransport::Listen({.address = opts_.http_address,
                                              .io_threads = opts_.io_threads,
                                              .max_body_bytes = opts_.max_body_bytes,
                                              .body_limit = [this](const Request& head) { return BodyLimit(head); }},
                                             [this](Request req, const std::string& peer, ReplyPtr reply) {
                                               Handle(std::move(req), peer, std::move(reply));
                                             }));
    streams_.emplace(backends_, transport_->io(), opts_.sse_heartbeat, Answerer(),
                     [this](const ExchangePtr& x, Response& head) {
                       Decorate(*x, head);
                       Record(*x, 200);
                     });
    transport_->Run();
    log::Info("gateway listening", {{"address", opts_.http_address}, {"port", port()},
                                    {"routes", routes_.routes().size()}});
    return absl::OkStatus();
  }

  // Ends in an order that keeps every callback's state alive until it has run.
  void Stop() {
    if (!transport_) return;
    stopping_ = true;                   // requests on open connections: 503 from now on
    transport_->StopAccepting();
    backends_.Drain(opts_.drain_timeout);  // streams end; calls finish or are cancelled
    if (!exchanges_.WaitIdle(opts_.drain_timeout)) {
      log::Warn("gateway stopped with requests still in flight", {{"count", exchanges_.count()}});
    }
    limits_.Stop();
    sessions_.Stop();
    transport_->Stop(absl::Seconds(1));  // lets the last answers reach the wire
  }

  int port() const { return transport_ ? transport_->port() : 0; }

 private:
  Answer Answerer() {
    return [this](const ExchangePtr& x, Response res) { Finish(x, std::move(res)); };
  }

  void Handle(Request req, const std::string& peer, ReplyPtr reply);
  void Dispatch(const ExchangePtr& x, const std::string& path, const std::string& query);
  void Authenticated(const ExchangePtr& x, const Route& route, std::shared_ptr<pb::Message> request);
  void CallRoute(const ExchangePtr& x, const Route& route, std::shared_ptr<pb::Message> request,
                 std::optional<api::Principal> principal);
  void Answered(const ExchangePtr& x, const Route& route, grpc::Status st, const grpc::ByteBuffer& reply);

  // A route's own max_body_kib (uploads), else the gateway's max-body-kib.
  size_t BodyLimit(const Request& head) const {
    std::string target(head.target());
    auto match = routes_.Find(std::string(head.method_string()), target.substr(0, target.find('?')));
    if (match.ok() && match->route->rule.max_body_kib() > 0) {
      return static_cast<size_t>(match->route->rule.max_body_kib()) * 1024;
    }
    return opts_.max_body_bytes;
  }

  // What every answer carries: request id, the trace with the gateway's span (so a
  // browser that started none learns its trace id) and, for an allowed origin, the CORS
  // headers.
  void Decorate(const Exchange& x, Response& res) {
    res.set("X-Request-Id", x.request_id);
    res.set("traceparent", trace::Traceparent(x.trace));
    if (!x.cors_origin.empty()) CorsPolicy::Decorate(res, x.cors_origin);
  }

  void Finish(const ExchangePtr& x, Response res) {
    Decorate(*x, res);
    AddRetryAfter(res);
    Record(*x, res.result_int());
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
    log::RequestScope scope(FieldsOf(x));
    bool probe = Probes::IsProbe(x.route_label);
    nlohmann::json line = {{"method", method}, {"route", x.route_label}, {"status", status},
                           {"duration_ms", seconds * 1000}, {"peer", x.peer}};
    if (!x.trace.parent_id.empty()) line["parent_span_id"] = x.trace.parent_id;
    log::Write(status >= 500 && !probe ? log::Level::kError
               : probe                 ? log::Level::kDebug
                                       : log::Level::kInfo,
               "http", std::move(line));
  }

  // Members in dependency order: each is destroyed after everything that calls into it.
  GatewayOptions opts_;
  RouteTable routes_;
  auth::PrincipalSigner signer_;
  TrustedProxies proxies_;
  CorsPolicy cors_;
  HttpMetrics metrics_;
  InFlight exchanges_;
  std::atomic<bool> stopping_{false};
  BackendCalls backends_;
  SessionPolicy sessions_;
  LoginLimits limits_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  std::unique_ptr<HttpTransport> transport_;
  std::optional<StreamReactor> streams_;
};

// 1. who is asking, 2. CORS preflight, 3. endpoints claimed by path, 4. generated routes.
void Gateway::Impl::Handle(Request req, const std::string& peer, ReplyPtr reply) {
  auto x = std::make_shared<Exchange>();
  x->in_flight = exchanges_.Enter();
  x->request_id = SaneRequestId(std::string(req["X-Request-Id"]));
  x->trace = TraceOf(req);
  x->peer = proxies_.ClientOf(peer, ForwardedFor(req));
  x->cors_origin = cors_.AllowedOrigin(req);
  x->reply = std::move(reply);
  x->req = std::move(req);
  std::string target(x->req.target());
  size_t q = target.find('?');
  std::string path = target.substr(0, q);
  std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  log::RequestScope scope(FieldsOf(*x));
  if (stopping_) {
    metrics_.refused_stopping.Increment();
    Response res = ErrorResponse(grpc::StatusCode::UNAVAILABLE, "the gateway is restarting; try again");
    res.keep_alive(false);
    return Finish(x, std::move(res));
  }
  if (CorsPolicy::IsPreflight(x->req)) {
    x->route_label = "preflight";
    std::vector<std::string> allowed;
    auto match = routes_.Find("OPTIONS", path, &allowed);
    if (match.status().code() == absl::StatusCode::kNotFound) {
      return Finish(x, RouteMiss(match.status(), x->req, path, allowed));
    }
    Response res = cors_.Preflight(x->req, allowed);
    x->cors_origin.clear();  // the preflight answer has its own headers (or none)
    return Finish(x, std::move(res));
  }
  for (const auto& endpoint : endpoints_) {
    if (endpoint->Claim(x, path)) return;
  }
  Dispatch(x, path, query);
}

// A generated route: checks, request message, login limits, session, backend.
void Gateway::Impl::Dispatch(const ExchangePtr& x, const std::string& path, const std::string& query) {
  std::vector<std::string> allowed;
  auto match = routes_.Find(std::string(x->req.method_string()), path, &allowed);
  if (!match.ok()) return Finish(x, RouteMiss(match.status(), x->req, path, allowed));
  const Route& route = *match->route;
  x->route_label = route.path_template;
  if (auto refused = CheckContentType(x->req, route)) return Finish(x, std::move(*refused));
  auto request = BuildRequest(route, match->captures, query, x->req.body());
  if (!request.ok()) return Finish(x, ErrorResponse(request.status()));
  std::shared_ptr<pb::Message> msg(std::move(*request));
  if (absl::Status st = CopyRequestFields(x->req, route, *msg); !st.ok()) return Finish(x, ErrorResponse(st));
  if (absl::Status st = TakeBearer(x->req, route, *msg); !st.ok()) return Finish(x, ErrorResponse(st));
  limits_.Check(x->peer, route, *msg, [this, x, r = &route, msg](absl::Status st) {
    if (!st.ok()) return Finish(x, ErrorResponse(st));
    if (r->rule.anonymous()) return CallRoute(x, *r, msg, std::nullopt);
    Authenticated(x, *r, msg);
  });
}

void Gateway::Impl::Authenticated(const ExchangePtr& x, const Route& route,
                                  std::shared_ptr<pb::Message> request) {
  log::RequestScope scope(FieldsOf(*x));  // on a Redis or gRPC thread: the request's again
  std::string token = SessionPolicy::TokenOf(x->req);
  if (token.empty()) {
    return Finish(x, ErrorResponse(grpc::StatusCode::UNAUTHENTICATED,
                                   "sign in first: send Authorization: Bearer <token>"));
  }
  sessions_.Resolve(token, x->request_id,
                    [this, x, r = &route, request](absl::StatusOr<api::Principal> p) {
                      if (!p.ok()) return Finish(x, ErrorResponse(p.status()));
                      CallRoute(x, *r, request, *p);
                    });
}

void Gateway::Impl::CallRoute(const ExchangePtr& x, const Route& route,
                              std::shared_ptr<pb::Message> request,
                              std::optional<api::Principal> principal) {
  if (principal) x->clinic_id = principal->clinic_id();
  // The backend call takes the request id and trace from the scope (rpc::AttachRequest).
  log::RequestScope scope(FieldsOf(*x));
  if (route.streaming) return streams_->Start(x, route, *request, principal);
  backends_.Call(route.backend, route.grpc_method, *request, principal, x->request_id,
                 [this, x, r = &route](grpc::Status st, const grpc::ByteBuffer& reply) {
                   Answered(x, *r, std::move(st), reply);
                 });
}

// The backend's reply as the HTTP answer: JSON (or a raw field), 201 + Location,
// session cookies.
void Gateway::Impl::Answered(const ExchangePtr& x, const Route& route, grpc::Status st,
                             const grpc::ByteBuffer& reply) {
  if (!st.ok()) {
    return Finish(x, ErrorResponse(st.error_code(), st.error_message(), st.error_details()));
  }
  std::unique_ptr<pb::Message> resp = NewResponse(route);
  if (!rpc::FromBuffer(reply, resp.get())) {
    return Finish(x, ErrorResponse(grpc::StatusCode::INTERNAL, "unreadable reply"));
  }
  Response res;
  if (!route.rule.raw_response().empty()) {
    const auto* f = resp->GetDescriptor()->FindFieldByName(route.rule.raw_response());
    res = JsonResponse(200, resp->GetReflection()->GetString(*resp, f));
    res.set(http::field::content_type, route.rule.response_content_type().empty()
                                           ? route.rule.content_type()
                                           : route.rule.response_content_type());
  } else {
    auto json = ResponseJson(*resp);
    if (!json.ok()) return Finish(x, ErrorResponse(json.status()));
    res = JsonResponse(200, std::move(*json));
  }
  if (!route.rule.created_location().empty()) {
    const auto* f = resp->GetDescriptor()->FindFieldByName(route.rule.created_location());
    res.result(http::status::created);
    res.set(http::field::location, resp->GetReflection()->GetString(*resp, f));
  }
  sessions_.ApplyCookies(route, *resp, x->req, res);
  Finish(x, std::move(res));
}

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gateway::~Gateway() { impl_->Stop(); }
int Gateway::port() const { return impl_->port(); }

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(GatewayOptions options) {
  if (!options.registry) return absl::InvalidArgumentError("GatewayOptions.registry is required");
  if (options.max_backend_calls < 1) return absl::InvalidArgumentError("max-backend-calls must be at least 1");
  if (!options.web_dir.empty() && !std::filesystem::is_directory(options.web_dir)) {
    return absl::InvalidArgumentError("web-dir " + options.web_dir + " is not a directory");
  }
  VL_ASSIGN_OR_RETURN(auth::Key key, auth::Key::FromSecret(options.internal_secret));
  VL_ASSIGN_OR_RETURN(RouteTable routes, RouteTable::Build(options.proto_files));
  VL_ASSIGN_OR_RETURN(TrustedProxies proxies, TrustedProxies::Parse(options.trusted_proxies));
  VL_ASSIGN_OR_RETURN(CorsPolicy cors, CorsPolicy::Create(options.cors_origins));
  std::shared_ptr<redis::Pool> redis;
  std::optional<redis::Options> redis_options;
  if (!options.redis.empty()) {
    VL_ASSIGN_OR_RETURN(redis_options, redis::ParseAddress(options.redis));
    VL_ASSIGN_OR_RETURN(redis, redis::Pool::Create(*redis_options));
  }
  auto impl = std::make_unique<Impl>(std::move(options), std::move(routes), auth::PrincipalSigner(key),
                                     std::move(proxies), std::move(cors), std::move(redis),
                                     std::move(redis_options));
  VL_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

}  // namespace vetline::gateway
