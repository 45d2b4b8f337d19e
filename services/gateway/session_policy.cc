#include "services/gateway/session_policy.h"

#include <boost/asio/post.hpp>
#include <google/protobuf/timestamp.pb.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/auth/auth.h"
#include "libs/core/log.h"

namespace vetline::gateway {
namespace {

namespace pb = google::protobuf;

constexpr char kSessionCookie[] = "vetline_session";
constexpr char kRevokedChannel[] = "vetline.sessions.revoked";
constexpr char kAuthenticateMethod[] = "/vetline.identity.v1.IdentityService/Authenticate";
// Revocations waiting for Redis beyond this are dropped: the cache TTL still ends them.
constexpr int kMaxPendingPublishes = 1000;

}  // namespace

SessionPolicy::SessionPolicy(Options options, BackendCalls& backends,
                             std::shared_ptr<redis::Pool> redis,
                             std::optional<redis::Options> subscribe)
    : options_(options), backends_(backends), cache_(options.cache_ttl, 100000), redis_(std::move(redis)) {
  if (subscribe) {
    auto sub = redis::Subscriber::Start(*subscribe, {kRevokedChannel},
                                        [this](const std::string&, const std::string& hash) {
                                          cache_.Evict(hash);
                                        });
    if (sub.ok()) revocations_ = std::move(*sub);
  }
}

SessionPolicy::~SessionPolicy() { Stop(); }

void SessionPolicy::Stop() {
  publisher_.join();
  revocations_.reset();
}

std::string SessionPolicy::TokenOf(const Request& req) {
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

void SessionPolicy::Resolve(const std::string& token, const std::string& request_id,
                            std::function<void(absl::StatusOr<api::Principal>)> then) {
  std::string hash = auth::TokenHash(token);
  if (auto p = cache_.Get(hash)) return then(*p);
  // AuthenticateRequest has one field, token = 1: encode it without a generated type so
  // the gateway depends on no service's C++ code.
  const pb::Descriptor* d = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(
      "vetline.identity.v1.AuthenticateRequest");
  std::unique_ptr<pb::Message> ar(pb::MessageFactory::generated_factory()->GetPrototype(d)->New());
  ar->GetReflection()->SetString(ar.get(), d->FindFieldByName("token"), token);
  api::Principal platform;
  platform.set_kind(api::Principal::SERVICE);
  platform.set_user_id("gateway");
  backends_.Call("identity", kAuthenticateMethod, *ar, platform, request_id,
                 [this, hash, then = std::move(then)](grpc::Status st, const grpc::ByteBuffer& reply) {
                   api::Principal p;
                   if (st.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
                     return then(absl::UnauthenticatedError("session expired or signed out"));
                   }
                   if (!st.ok() || !rpc::FromBuffer(reply, &p)) {
                     return then(absl::UnavailableError("cannot check the session right now"));
                   }
                   cache_.Put(hash, p);
                   then(p);
                 });
}

void SessionPolicy::ApplyCookies(const Route& route, const pb::Message& resp, const Request& req,
                                 Response& res) {
  std::string secure = options_.secure_cookies ? "; Secure" : "";
  if (route.rule.sets_session()) {
    const pb::Descriptor* d = resp.GetDescriptor();
    const auto* tf = d->FindFieldByName("token");
    const auto* ef = d->FindFieldByName("expires_at");
    if (tf && ef) {
      std::string token = resp.GetReflection()->GetString(resp, tf);
      const auto& ts = static_cast<const pb::Timestamp&>(resp.GetReflection()->GetMessage(resp, ef));
      absl::Time expires = absl::FromUnixSeconds(ts.seconds());
      res.set(http::field::set_cookie,
              absl::StrCat(kSessionCookie, "=", token, "; Path=/; HttpOnly; SameSite=Lax; Expires=",
                           absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", expires, absl::UTCTimeZone()),
                           secure));
    }
  }
  if (route.rule.clears_session()) {
    std::string token = TokenOf(req);
    if (!token.empty()) Revoke(auth::TokenHash(token));
    res.set(http::field::set_cookie,
            absl::StrCat(kSessionCookie, "=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0", secure));
  }
}

void SessionPolicy::Revoke(const std::string& hash) {
  cache_.Evict(hash);  // this replica: at once, before the answer leaves
  if (!redis_) return;
  if (publishes_pending_.fetch_add(1) >= kMaxPendingPublishes) {
    publishes_pending_--;
    log::Warn("session revocation not published: Redis is backed up");
    return;
  }
  boost::asio::post(publisher_, [this, hash] {
    if (auto r = redis_->Command({"PUBLISH", kRevokedChannel, hash}); !r.ok()) {
      log::Warn("session revocation not published", {{"error", r.status().ToString()}});
    }
    publishes_pending_--;
  });
}

}  // namespace vetline::gateway
