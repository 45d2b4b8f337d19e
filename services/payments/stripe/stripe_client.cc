#include "services/payments/stripe/stripe_client.h"

#include <sodium.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/http/http_post.h"
#include "services/payments/stripe/stripe_params.h"

namespace vetline::payments::stripe {
namespace {

std::vector<std::string> Headers(const Account& account) {
  return {"Authorization: Bearer " + account.secret_key, absl::StrCat("Stripe-Version: ", kStripeVersion),
          "Accept: application/json"};
}

absl::StatusOr<nlohmann::json> Answer(const http::HttpResult& res, std::string_view what) {
  VL_RETURN_IF_ERROR(FromStripe(res.status, res.body, res.transport_error));
  nlohmann::json body = nlohmann::json::parse(res.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    log::Error("stripe answered something that is not a JSON object", {{"call", std::string(what)}});
    return absl::UnavailableError("the payment provider gave an unreadable answer; try again");
  }
  return body;
}

}  // namespace

std::string IdempotencyKey(std::string_view operation, std::string_view our_id) {
  unsigned char h[16];
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, sizeof h);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(operation.data()), operation.size());
  const unsigned char separator = 0;
  crypto_generichash_update(&state, &separator, 1);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(our_id.data()), our_id.size());
  crypto_generichash_final(&state, h, sizeof h);
  return absl::StrCat("vl_", absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(h), sizeof h)));
}

absl::Status FromStripe(int http_status, std::string_view body, std::string_view transport_error) {
  if (http_status >= 200 && http_status < 300) return absl::OkStatus();
  if (http_status == 0) {
    log::Warn("stripe not reached", {{"error", std::string(transport_error)}});
    return absl::UnavailableError("the payment provider did not answer; try again");
  }
  const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  const nlohmann::json error = parsed.is_object() ? parsed.value("error", nlohmann::json::object()) : nlohmann::json();
  const std::string type = error.is_object() ? error.value("type", "") : "";
  log::Warn("stripe refused", {{"status", std::to_string(http_status)},
                               {"type", type},
                               {"code", error.is_object() ? error.value("code", "") : ""},
                               {"param", error.is_object() ? error.value("param", "") : ""},
                               {"message", error.is_object() ? error.value("message", "") : ""}});
  if (http_status == 401 || http_status == 403) {
    return absl::FailedPreconditionError("the clinic's Stripe secret key does not work; check it in the payment settings");
  }
  if (http_status == 429 || http_status >= 500) {
    return absl::UnavailableError("the payment provider is busy or unavailable; try again");
  }
  if (type == "idempotency_error") {
    return absl::AbortedError("this payment request was already sent to the payment provider with other details");
  }
  if (http_status == 404) return absl::NotFoundError("the payment provider does not know this payment");
  if (type == "card_error" || http_status == 402) {
    return absl::FailedPreconditionError("the payment provider declined the payment");
  }
  return absl::InvalidArgumentError("the payment provider refused the request");
}

absl::StatusOr<nlohmann::json> Client::Post(const Account& account, std::string_view path,
                                            const nlohmann::ordered_json& params,
                                            std::string_view idempotency_key) const {
  http::HttpRequest req;
  req.url = absl::StrCat(account.api_base, absl::string_view(path.data(), path.size()));
  req.headers = Headers(account);
  req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
  req.headers.push_back(absl::StrCat("Idempotency-Key: ", absl::string_view(idempotency_key.data(), idempotency_key.size())));
  req.body = http::EncodeForm(FlattenParams(params));
  req.timeout = timeout_;
  return Answer(http::HttpPost(req), path);
}

absl::StatusOr<nlohmann::json> Client::Get(const Account& account, std::string_view path,
                                           const http::FormParams& query) const {
  http::HttpRequest req;
  req.url = absl::StrCat(account.api_base, absl::string_view(path.data(), path.size()),
                         query.empty() ? "" : "?", http::EncodeForm(query));
  req.headers = Headers(account);
  req.timeout = timeout_;
  return Answer(http::HttpGet(req), path);
}

}  // namespace vetline::payments::stripe
