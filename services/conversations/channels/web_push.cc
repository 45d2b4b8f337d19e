#include "services/conversations/channels/web_push.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "nlohmann/json.hpp"
#include "libs/http/http_post.h"

namespace vetline::conversations::channels {
namespace {

constexpr uint32_t kRecordSize = 4096;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string B64Url(std::string_view s) { return absl::WebSafeBase64Escape(absl::string_view(s.data(), s.size())); }

// Browsers hand out base64url without padding; accept padding and the standard alphabet too.
std::optional<std::string> FromB64Url(std::string_view in) {
  std::string s(in);
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  std::string out;
  if (!absl::WebSafeBase64Unescape(s, &out)) return std::nullopt;
  return out;
}

const unsigned char* U(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }

Pkey EcKey(const std::string& public_octets, const std::string* private_scalar) {
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  BIGNUM* priv = private_scalar ? BN_bin2bn(U(*private_scalar), static_cast<int>(private_scalar->size()), nullptr) : nullptr;
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, public_octets.data(), public_octets.size());
  if (priv) OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* key = nullptr;
  if (ctx && params && EVP_PKEY_fromdata_init(ctx) > 0) {
    EVP_PKEY_fromdata(ctx, &key, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params);
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_clear_free(priv);
  return Pkey(key);
}

std::optional<std::string> PublicOctets(EVP_PKEY* key) {
  unsigned char buf[133];
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof buf, &len) != 1) return std::nullopt;
  if (len != 65 || buf[0] != 0x04) return std::nullopt;
  return std::string(reinterpret_cast<char*>(buf), len);
}

Pkey NewP256() { return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }

std::optional<std::string> Ecdh(EVP_PKEY* mine, EVP_PKEY* theirs) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(mine, nullptr);
  std::optional<std::string> out;
  size_t len = 0;
  if (ctx && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_derive_set_peer(ctx, theirs) > 0 &&
      EVP_PKEY_derive(ctx, nullptr, &len) > 0) {
    std::string secret(len, '\0');
    if (EVP_PKEY_derive(ctx, reinterpret_cast<unsigned char*>(secret.data()), &len) > 0) {
      secret.resize(len);
      out = std::move(secret);
    }
  }
  EVP_PKEY_CTX_free(ctx);
  return out;
}

std::string HmacSha256(const std::string& key, const std::string& data) {
  unsigned char out[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), U(data), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

// HKDF-SHA256 (RFC 5869) for outputs of at most one hash length, all RFC 8291 needs.
std::string Hkdf(const std::string& salt, const std::string& ikm, const std::string& info, size_t length) {
  const std::string prk = HmacSha256(salt, ikm);
  return HmacSha256(prk, info + '\x01').substr(0, length);
}

std::optional<std::string> Aes128GcmSeal(const std::string& key, const std::string& nonce, const std::string& plain) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::string out(plain.size() + 16, '\0');
  int len = 0, fin = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx, nullptr, nullptr, U(key), U(nonce)) == 1 &&
            EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &len, U(plain),
                              static_cast<int>(plain.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + len, &fin) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out.data() + len + fin) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return std::nullopt;
  out.resize(static_cast<size_t>(len + fin) + 16);
  return out;
}

// ES256 over `data`: the raw 64-byte r||s a JWT carries (not OpenSSL's DER).
std::optional<std::string> Es256(EVP_PKEY* key, const std::string& data) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  std::optional<std::string> out;
  size_t len = 0;
  if (md && EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestSign(md, nullptr, &len, U(data), data.size()) == 1) {
    std::string der(len, '\0');
    if (EVP_DigestSign(md, reinterpret_cast<unsigned char*>(der.data()), &len, U(data), data.size()) == 1) {
      const unsigned char* p = U(der);
      if (ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len))) {
        const BIGNUM *r = nullptr, *s = nullptr;
        ECDSA_SIG_get0(sig, &r, &s);
        std::string raw(64, '\0');
        if (BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32) == 32 &&
            BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32) == 32) {
          out = std::move(raw);
        }
        ECDSA_SIG_free(sig);
      }
    }
  }
  EVP_MD_CTX_free(md);
  return out;
}

// scheme://host[:port] of a URL: the JWT's audience.
std::optional<std::string> Origin(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::nullopt;
  size_t end = url.find_first_of("/?#", scheme + 3);
  std::string origin(url.substr(0, end));
  if (origin.size() <= scheme + 3) return std::nullopt;
  return origin;
}

absl::StatusOr<Pkey> VapidKey(const VapidConfig& c) {
  std::optional<std::string> pub = FromB64Url(c.public_key), priv = FromB64Url(c.private_key);
  if (!pub || pub->size() != 65 || (*pub)[0] != 0x04) {
    return absl::InvalidArgumentError("vapid public_key must be a base64url 65-byte uncompressed P-256 point");
  }
  if (!priv || priv->size() != 32) return absl::InvalidArgumentError("vapid private_key must be a base64url 32-byte P-256 key");
  Pkey key = EcKey(*pub, &*priv);
  if (!key) return absl::InvalidArgumentError("vapid public_key is not a point on P-256");
  EVP_PKEY_CTX* check = EVP_PKEY_CTX_new(key.get(), nullptr);
  const bool pair = check && EVP_PKEY_pairwise_check(check) == 1;
  EVP_PKEY_CTX_free(check);
  if (!pair) return absl::InvalidArgumentError("vapid private_key does not match public_key");
  return key;
}

absl::StatusOr<std::string> Authorization(const VapidConfig& c, EVP_PKEY* key, std::string_view endpoint, absl::Time now) {
  std::optional<std::string> aud = Origin(endpoint);
  if (!aud) return InvalidField("endpoint", "must be an absolute URL");
  // RFC 8292: exp at most 24 h ahead; 12 h leaves room for clock skew.
  const nlohmann::json claims = {{"aud", *aud}, {"exp", absl::ToUnixSeconds(now + absl::Hours(12))}, {"sub", c.subject}};
  const std::string signing_input = B64Url(R"({"typ":"JWT","alg":"ES256"})") + "." + B64Url(claims.dump());
  std::optional<std::string> sig = Es256(key, signing_input);
  if (!sig) return absl::InternalError("signing the VAPID token failed");
  return absl::StrCat("vapid t=", signing_input, ".", B64Url(*sig), ", k=", c.public_key);
}

}  // namespace

absl::Status CheckPushEndpoint(std::string_view endpoint) {
  constexpr std::string_view kHttps = "https://";
  if (endpoint.substr(0, kHttps.size()) != kHttps || endpoint.size() > 2048) {
    return InvalidField("endpoint", "must be an https URL of a browser push service");
  }
  std::string_view rest = endpoint.substr(kHttps.size());
  std::string host(rest.substr(0, rest.find_first_of("/?#")));
  if (host.find('@') != std::string::npos) return InvalidField("endpoint", "must not carry credentials");
  if (size_t colon = host.find(':'); colon != std::string::npos) host.resize(colon);
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const char* kServices[] = {"fcm.googleapis.com", "android.googleapis.com", "push.services.mozilla.com",
                                    "push.apple.com", "notify.windows.com"};
  for (const char* service : kServices) {
    const std::string s(service);
    if (host == s || (host.size() > s.size() && absl::EndsWith(host, absl::StrCat(".", s)))) return absl::OkStatus();
  }
  return InvalidField("endpoint", "is not a known browser push service");
}

absl::StatusOr<VapidKeys> GenerateVapidKeys() {
  Pkey key = NewP256();
  if (!key) return absl::InternalError("generating a P-256 key failed");
  std::optional<std::string> pub = PublicOctets(key.get());
  BIGNUM* priv = nullptr;
  if (!pub || EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, &priv) != 1) {
    return absl::InternalError("exporting the P-256 key failed");
  }
  std::string scalar(32, '\0');
  BN_bn2binpad(priv, reinterpret_cast<unsigned char*>(scalar.data()), 32);
  BN_clear_free(priv);
  return VapidKeys{B64Url(*pub), B64Url(scalar)};
}

absl::Status CheckPushKeys(const PushSubscription& sub) {
  constexpr size_t kMaxKeyChars = 256;  // both keys are far shorter in base64url
  std::optional<std::string> ua_public, auth;
  if (sub.p256dh.size() <= kMaxKeyChars) ua_public = FromB64Url(sub.p256dh);
  if (sub.auth.size() <= kMaxKeyChars) auth = FromB64Url(sub.auth);
  if (!ua_public || ua_public->size() != 65 || (*ua_public)[0] != 0x04) {
    return InvalidField("keys.p256dh", "keys.p256dh must be a base64url 65-byte uncompressed P-256 point");
  }
  if (!auth || auth->size() != 16) return InvalidField("keys.auth", "keys.auth must be a base64url 16-byte secret");
  if (!EcKey(*ua_public, nullptr)) return InvalidField("keys.p256dh", "keys.p256dh is not a point on P-256");
  return absl::OkStatus();
}

absl::StatusOr<std::string> EncryptPushPayload(const PushSubscription& sub, std::string_view payload) {
  VL_RETURN_IF_ERROR(CheckPushKeys(sub));
  std::optional<std::string> ua_public = FromB64Url(sub.p256dh), auth = FromB64Url(sub.auth);
  if (payload.size() > kMaxPushPayload) return InvalidField("payload", absl::StrCat("must be at most ", kMaxPushPayload, " bytes"));
  Pkey ua = EcKey(*ua_public, nullptr);
  Pkey as = NewP256();
  if (!as) return absl::InternalError("generating a P-256 key failed");
  std::optional<std::string> as_public = PublicOctets(as.get());
  std::optional<std::string> ecdh = Ecdh(as.get(), ua.get());
  if (!as_public || !ecdh) return absl::InternalError("ECDH with the subscription key failed");
  std::string salt(16, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), 16) != 1) return absl::InternalError("no randomness");

  // RFC 8291 section 3.4, then RFC 8188's content-encryption key and nonce.
  const std::string key_info = std::string("WebPush: info") + '\0' + *ua_public + *as_public;
  const std::string ikm = Hkdf(*auth, *ecdh, key_info, 32);
  const std::string cek = Hkdf(salt, ikm, std::string("Content-Encoding: aes128gcm") + '\0', 16);
  const std::string nonce = Hkdf(salt, ikm, std::string("Content-Encoding: nonce") + '\0', 12);
  std::string plain(payload);
  plain.push_back('\x02');  // the last (only) record's delimiter, no padding
  std::optional<std::string> sealed = Aes128GcmSeal(cek, nonce, plain);
  if (!sealed) return absl::InternalError("AES-128-GCM failed");

  std::string body = salt;
  for (int shift : {24, 16, 8, 0}) body.push_back(static_cast<char>((kRecordSize >> shift) & 0xFF));
  body.push_back(static_cast<char>(as_public->size()));
  body += *as_public;
  body += *sealed;
  return body;
}

absl::StatusOr<std::string> VapidAuthorization(const VapidConfig& config, std::string_view endpoint, absl::Time now) {
  VL_ASSIGN_OR_RETURN(Pkey key, VapidKey(config));
  return Authorization(config, key.get(), endpoint, now);
}

struct WebPush::Impl {
  VapidConfig config;
  Pkey key;
};

absl::StatusOr<std::unique_ptr<WebPush>> WebPush::Create(VapidConfig config) {
  if (!absl::StartsWith(config.subject, "mailto:") && !absl::StartsWith(config.subject, "https://")) {
    return absl::InvalidArgumentError("vapid subject must be a mailto: or https: URL");
  }
  if (config.ttl < absl::ZeroDuration()) return absl::InvalidArgumentError("vapid ttl must not be negative");
  if (config.timeout <= absl::ZeroDuration()) return absl::InvalidArgumentError("vapid timeout must be positive");
  VL_ASSIGN_OR_RETURN(Pkey key, VapidKey(config));
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  impl->key = std::move(key);
  return std::unique_ptr<WebPush>(new WebPush(std::move(impl)));
}

WebPush::WebPush(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebPush::~WebPush() = default;

SendOutcome WebPush::Send(const PushSubscription& sub, std::string_view payload) {
  try {
    if (!absl::StartsWith(sub.endpoint, "https://") &&
        !(impl_->config.allow_http_endpoints && absl::StartsWith(sub.endpoint, "http://"))) {
      return SendOutcome::Failed("the push subscription's endpoint is not an https URL");
    }
    absl::StatusOr<std::string> body = EncryptPushPayload(sub, payload);
    if (!body.ok()) {
      if (body.status().code() == absl::StatusCode::kInvalidArgument) {
        auto field = body.status().GetPayload(kFieldPayload);
        return SendOutcome::Failed(absl::StrCat("push subscription or payload unusable: ",
                                                field ? std::string(*field) + " " : "", body.status().message()));
      }
      return SendOutcome::Retry(std::string(body.status().message()));
    }
    absl::StatusOr<std::string> auth = Authorization(impl_->config, impl_->key.get(), sub.endpoint, absl::Now());
    if (!auth.ok()) return SendOutcome::Failed(std::string(auth.status().message()));
    http::HttpRequest req;
    req.url = sub.endpoint;
    req.body = std::move(*body);
    req.headers = {"Authorization: " + *auth, "Content-Encoding: aes128gcm", "Content-Type: application/octet-stream",
                   absl::StrCat("TTL: ", absl::ToInt64Seconds(impl_->config.ttl))};
    req.timeout = impl_->config.timeout;
    http::HttpResult res = http::HttpPost(req);
    if (res.status == 0) return SendOutcome::Retry(absl::StrCat("push service unreachable: ", res.transport_error));
    if (res.status >= 200 && res.status < 300) return SendOutcome::Sent(res.location);
    const std::string words = absl::StrCat("push service answered HTTP ", res.status,
                                           res.body.empty() ? "" : ": ", res.body.substr(0, 200));
    if (res.status == 429 || res.status >= 500) return SendOutcome::Retry(words, res.status);
    SendOutcome out = SendOutcome::Failed(words, res.status);
    out.subscription_gone = res.status == 404 || res.status == 410;
    return out;
  } catch (const std::exception& ex) {
    return SendOutcome::Retry(absl::StrCat("sending the push failed: ", ex.what()));
  }
}

}  // namespace vetline::conversations::channels
