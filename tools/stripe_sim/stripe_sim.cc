#include "tools/stripe_sim/stripe_sim.h"

#include <algorithm>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "libs/http/http_post.h"
#include "services/payments/stripe/stripe_signature.h"

namespace vetline::stripe_sim {
namespace {

using json = nlohmann::json;
using http::StandInAnswer;

constexpr char kApiVersion[] = "2024-06-20";

StandInAnswer Json(int status, const json& j) { return {status, j.dump()}; }

// Stripe's error object: {"error": {"type", "message", "param"?, "code"?}}.
StandInAnswer Error(int status, const std::string& type, const std::string& message, const std::string& param = "",
                    const std::string& code = "") {
  json e = {{"type", type}, {"message", message}};
  if (!param.empty()) e["param"] = param;
  if (!code.empty()) e["code"] = code;
  return Json(status, {{"error", e}});
}

StandInAnswer Missing(const std::string& param) {
  return Error(400, "invalid_request_error", "Missing required param: " + param + ".", param, "parameter_missing");
}

// `a[b][0][c]=v` pairs back into nested JSON, numeric segments as array indexes.
json Unflatten(const http::FormParams& params) {
  json root = json::object();
  for (const auto& [key, value] : params) {
    std::vector<std::string> path;
    const size_t open = key.find('[');
    path.push_back(key.substr(0, open));
    for (size_t at = open; at != std::string::npos && at < key.size();) {
      const size_t close = key.find(']', at);
      if (close == std::string::npos) break;
      path.push_back(key.substr(at + 1, close - at - 1));
      at = key.find('[', close);
    }
    json* node = &root;
    for (size_t i = 0; i < path.size(); ++i) {
      size_t index = 0;
      const bool numeric = i > 0 && absl::SimpleAtoi(path[i], &index);
      json& child = numeric ? (*node)[index] : (*node)[path[i]];
      if (i + 1 == path.size()) {
        child = value;
      } else {
        node = &child;
      }
    }
  }
  return root;
}

bool Integer(const json& v, int64_t* out) { return v.is_string() && absl::SimpleAtoi(v.get<std::string>(), out); }

// For URLs the caller gave (success_url, cancel_url) placed in the pay pages.
std::string HtmlEscape(const std::string& in) {
  std::string out;
  for (char c : in) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '"') {
      out += "&quot;";
    } else if (c == '\'') {
      out += "&#39;";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Query(const std::string& target, std::string* path) {
  const size_t q = target.find('?');
  *path = target.substr(0, q);
  return q == std::string::npos ? "" : target.substr(q + 1);
}

}  // namespace

StripeSim::StripeSim(Options options) : options_(std::move(options)) {
  worker_ = std::make_unique<PeriodicWorker>("stripe-webhooks", absl::Milliseconds(50), [this] { return DeliverDue(); });
}

StripeSim::~StripeSim() { worker_.reset(); }

void StripeSim::set_public_url(std::string url) {
  std::lock_guard<std::mutex> lock(mu_);
  options_.public_url = std::move(url);
}

StandInAnswer StripeSim::Handle(const http::StandInRequest& r) {
  std::string path;
  const std::string query = Query(r.target, &path);
  if (absl::StartsWith(path, "/_sim/")) return Control(r.method, path, http::ParseForm(query));
  if (absl::StartsWith(path, "/pay/")) {
    if (r.method == "GET") return PayPage(path.substr(5));
    return Pay(path.substr(5));
  }
  if (!absl::StartsWith(path, "/v1/")) return Error(404, "invalid_request_error", "Unrecognized request URL.");
  if (r.header("authorization") != "Bearer " + options_.secret_key) {
    return Error(401, "invalid_request_error", "Invalid API Key provided.");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (absl::Now() < down_until_) return Error(503, "api_error", "Stripe is unavailable (stand-in outage).");
  }
  const http::FormParams params = http::ParseForm(r.method == "GET" ? query : r.body);
  const std::string key = r.header("idempotency-key");
  if (r.method != "POST" || key.empty()) return Api(r, path, params);

  // Same key and same request: the first answer again. Same key, other parameters:
  // Stripe's idempotency error. Only requests that ran are kept (not validation errors).
  const std::string fingerprint = absl::StrCat(path, "\n", r.body);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = idempotent_.find(key);
    if (it != idempotent_.end()) {
      if (it->second.fingerprint != fingerprint) {
        return Error(400, "idempotency_error",
                     "Keys for idempotent requests can only be used with the same parameters they were first used "
                     "with. Try using a key other than '" + key + "' if you meant to execute a different request.");
      }
      StandInAnswer replay = it->second.answer;
      replay.headers.emplace_back("Idempotent-Replayed", "true");
      return replay;
    }
  }
  StandInAnswer a = Api(r, path, params);
  std::lock_guard<std::mutex> lock(mu_);
  if (a.status < 400 || a.status >= 500) {
    auto [it, inserted] = idempotent_.try_emplace(key, Stored{fingerprint, a});
    if (!inserted) a = it->second.answer;  // a concurrent twin finished first
  }
  if (a.status < 400 && fail_after_commit_ > 0) {  // done, but the caller never hears so
    --fail_after_commit_;
    return Error(500, "api_error", "An unknown error occurred (stand-in: after committing).");
  }
  a.headers.emplace_back("Idempotency-Key", key);
  return a;
}

StandInAnswer StripeSim::Api(const http::StandInRequest& r, const std::string& path, const http::FormParams& params) {
  std::vector<std::string> parts = absl::StrSplit(path.substr(4), '/');
  if (parts.size() == 2 && parts[0] == "checkout" && parts[1] == "sessions" && r.method == "POST") {
    return CreateSession(params);  // validates before taking the lock
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (parts.size() == 2 && parts[0] == "checkout" && parts[1] == "sessions") return List("checkout.session", params);
  if (parts.size() == 3 && parts[0] == "checkout" && parts[1] == "sessions" && r.method == "GET") {
    auto it = sessions_.find(parts[2]);
    if (it == sessions_.end()) {
      return Error(404, "invalid_request_error", "No such checkout.session: '" + parts[2] + "'", "session",
                   "resource_missing");
    }
    return Json(200, it->second);
  }
  if (parts.size() == 4 && parts[0] == "checkout" && parts[3] == "expire" && r.method == "POST") {
    return ExpireSession(parts[2]);
  }
  if (parts.size() == 2 && parts[0] == "payment_intents" && r.method == "GET") {
    auto it = intents_.find(parts[1]);
    if (it == intents_.end()) {
      return Error(404, "invalid_request_error", "No such payment_intent: '" + parts[1] + "'", "intent",
                   "resource_missing");
    }
    return Json(200, it->second);
  }
  if (parts.size() == 1 && parts[0] == "refunds" && r.method == "POST") return CreateRefund(params);
  if (parts.size() == 1 && parts[0] == "refunds" && r.method == "GET") return List("refund", params);
  if (parts.size() == 1 && parts[0] == "events" && r.method == "GET") return List("event", params);
  if (parts.size() == 2 && parts[0] == "events" && r.method == "GET") {
    auto it = event_index_.find(parts[1]);
    if (it == event_index_.end()) return Error(404, "invalid_request_error", "No such event", "id", "resource_missing");
    return Json(200, events_[it->second]);
  }
  return Error(404, "invalid_request_error", "Unrecognized request URL (" + r.method + ": " + path + ").");
}

StandInAnswer StripeSim::CreateSession(const http::FormParams& params) {
  const json p = Unflatten(params);
  if (!p.contains("mode")) return Missing("mode");
  if (p["mode"] != "payment") {
    return Error(400, "invalid_request_error", "The stand-in takes mode=payment only.", "mode");
  }
  if (!p.contains("success_url")) return Missing("success_url");
  if (!p.contains("line_items") || !p["line_items"].is_array() || p["line_items"].empty()) {
    return Missing("line_items");
  }
  int64_t total = 0;
  std::string currency;
  for (size_t i = 0; i < p["line_items"].size(); ++i) {
    const json& item = p["line_items"][i];
    const std::string at = absl::StrCat("line_items[", i, "]");
    int64_t amount = 0, quantity = 1;
    if (!item.contains("price_data")) return Missing(at + "[price_data]");
    const json& price = item["price_data"];
    if (!price.contains("currency")) return Missing(at + "[price_data][currency]");
    if (!price.contains("unit_amount") || !Integer(price["unit_amount"], &amount) || amount < 0) {
      return Error(400, "invalid_request_error", "Invalid integer: unit_amount", at + "[price_data][unit_amount]");
    }
    if (!price.contains("product_data") || !price["product_data"].contains("name")) {
      return Missing(at + "[price_data][product_data][name]");
    }
    if (item.contains("quantity") && (!Integer(item["quantity"], &quantity) || quantity < 1)) {
      return Error(400, "invalid_request_error", "Invalid integer: quantity", at + "[quantity]");
    }
    const std::string c = price["currency"].get<std::string>();
    if (!currency.empty() && c != currency) {
      return Error(400, "invalid_request_error", "All line items must use the same currency.",
                   at + "[price_data][currency]");
    }
    currency = c;
    total += amount * quantity;
  }
  if (total > 99'999'999) {
    return Error(400, "invalid_request_error", "Amount must be no more than 999,999.99", "line_items",
                 "amount_too_large");
  }
  std::lock_guard<std::mutex> lock(mu_);
  const std::string id = absl::StrFormat("cs_test_%08dVetlineSim", next_id_++);
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  int64_t expires_at = now + 24 * 3600;
  if (p.contains("expires_at") && !Integer(p["expires_at"], &expires_at)) {
    return Error(400, "invalid_request_error", "Invalid integer: expires_at", "expires_at");
  }
  json s = {{"id", id},
            {"object", "checkout.session"},
            {"amount_subtotal", total},
            {"amount_total", total},
            {"cancel_url", p.value("cancel_url", json())},
            {"client_reference_id", p.value("client_reference_id", json())},
            {"created", now},
            {"currency", currency},
            {"customer", nullptr},
            {"customer_email", p.value("customer_email", json())},
            {"expires_at", expires_at},
            {"livemode", false},
            {"metadata", p.value("metadata", json::object())},
            {"mode", "payment"},
            {"payment_intent", nullptr},
            {"payment_method_types", json::array({"card"})},
            {"payment_status", "unpaid"},
            {"status", "open"},
            {"success_url", p["success_url"]},
            {"ui_mode", "hosted"},
            {"url", absl::StrCat(options_.public_url, "/pay/", id)}};
  intent_metadata_[id] = p.contains("payment_intent_data") ? p["payment_intent_data"].value("metadata", json::object())
                                                          : json::object();
  sessions_[id] = s;
  return Json(200, s);
}

StandInAnswer StripeSim::ExpireSession(const std::string& id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    return Error(404, "invalid_request_error", "No such checkout.session: '" + id + "'", "session", "resource_missing");
  }
  json& s = it->second;
  if (s["status"] != "open") {
    return Error(400, "invalid_request_error",
                 "Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a "
                 "status of \"" + s["status"].get<std::string>() + "\".");
  }
  s["status"] = "expired";
  Emit("checkout.session.expired", s);
  return Json(200, s);
}

// Stripe's hosted page, reduced to its button; "back" is the session's cancel_url.
StandInAnswer StripeSim::PayPage(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return {404, "no such session", "text/plain"};
  const json& s = it->second;
  std::string page = absl::StrCat("<!doctype html><html lang=en><title>Pay</title><main><h1>Pay ",
                                  s["amount_total"].get<int64_t>(), " ", HtmlEscape(s["currency"].get<std::string>()),
                                  " (minor units)</h1><form method=post><button>Pay ", HtmlEscape(id),
                                  "</button></form>");
  if (s["cancel_url"].is_string()) {
    absl::StrAppend(&page, "<p><a href=\"", HtmlEscape(s["cancel_url"].get<std::string>()), "\">Back</a></p>");
  }
  absl::StrAppend(&page, "</main></html>");
  return {200, page, "text/html"};
}

StandInAnswer StripeSim::Pay(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return {404, "no such session", "text/plain"};
  json& s = it->second;
  if (s["status"] != "open") return {409, "this session is " + s["status"].get<std::string>(), "text/plain"};
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  if (now >= s["expires_at"].get<int64_t>()) return {409, "this session has expired", "text/plain"};
  const std::string pi = absl::StrFormat("pi_%08dVetlineSim", next_id_), ch = absl::StrFormat("ch_%08dVetlineSim", next_id_);
  ++next_id_;
  json charge = {{"id", ch}, {"object", "charge"}, {"amount", s["amount_total"]}, {"amount_captured", s["amount_total"]},
                 {"amount_refunded", 0}, {"captured", true}, {"created", now}, {"currency", s["currency"]},
                 {"livemode", false}, {"metadata", intent_metadata_[id]}, {"paid", true},
                 {"payment_intent", pi}, {"refunded", false}, {"status", "succeeded"}};
  json intent = {{"id", pi}, {"object", "payment_intent"}, {"amount", s["amount_total"]},
                 {"amount_received", s["amount_total"]}, {"created", now}, {"currency", s["currency"]},
                 {"latest_charge", ch}, {"livemode", false}, {"metadata", intent_metadata_[id]},
                 {"status", "succeeded"}};
  charges_[ch] = charge;
  intents_[pi] = intent;
  s["status"] = "complete";
  s["payment_status"] = "paid";
  s["payment_intent"] = pi;
  Emit("payment_intent.succeeded", intent);
  Emit("charge.succeeded", charge);
  Emit("checkout.session.completed", s);
  // Stripe sends the payer back to the success_url once paid; the page does the same.
  const std::string back = HtmlEscape(s["success_url"].get<std::string>());
  return {200,
          absl::StrCat("<!doctype html><html lang=en><meta http-equiv=refresh content=\"0;url=", back,
                       "\"><title>Paid</title><p>Paid. <a href=\"", back, "\">Return to the merchant</a></p></html>"),
          "text/html"};
}

StandInAnswer StripeSim::CreateRefund(const http::FormParams& params) {
  const json p = Unflatten(params);
  if (!p.contains("payment_intent") && !p.contains("charge")) return Missing("payment_intent");
  json* charge = nullptr;
  if (p.contains("payment_intent")) {
    auto pi = intents_.find(p["payment_intent"].get<std::string>());
    if (pi == intents_.end()) {
      return Error(404, "invalid_request_error", "No such payment_intent: '" + p["payment_intent"].get<std::string>() + "'",
                   "payment_intent", "resource_missing");
    }
    charge = &charges_[pi->second["latest_charge"].get<std::string>()];
  } else {
    auto c = charges_.find(p["charge"].get<std::string>());
    if (c == charges_.end()) {
      return Error(404, "invalid_request_error", "No such charge", "charge", "resource_missing");
    }
    charge = &c->second;
  }
  const int64_t remaining = (*charge)["amount"].get<int64_t>() - (*charge)["amount_refunded"].get<int64_t>();
  if (remaining == 0) {
    return Error(400, "invalid_request_error", "Charge " + (*charge)["id"].get<std::string>() + " has already been refunded.",
                 "", "charge_already_refunded");
  }
  int64_t amount = remaining;
  if (p.contains("amount") && (!Integer(p["amount"], &amount) || amount <= 0)) {
    return Error(400, "invalid_request_error", "Invalid positive integer", "amount");
  }
  if (amount > remaining) {
    return Error(400, "invalid_request_error",
                 absl::StrCat("Refund amount (", amount, ") is greater than unrefunded amount on charge (", remaining, ")"),
                 "amount", "amount_too_large");
  }
  const std::string id = absl::StrFormat("re_%08dVetlineSim", next_id_++);
  json refund = {{"id", id}, {"object", "refund"}, {"amount", amount}, {"charge", (*charge)["id"]},
                 {"created", absl::ToUnixSeconds(absl::Now())}, {"currency", (*charge)["currency"]},
                 {"metadata", p.value("metadata", json::object())}, {"payment_intent", (*charge)["payment_intent"]},
                 {"reason", p.value("reason", json())}, {"status", "succeeded"}};
  refunds_[id] = refund;
  (*charge)["amount_refunded"] = (*charge)["amount_refunded"].get<int64_t>() + amount;
  (*charge)["refunded"] = (*charge)["amount_refunded"] == (*charge)["amount"];
  Emit("refund.created", refund);
  Emit("charge.refunded", *charge);
  return Json(200, refund);
}

StandInAnswer StripeSim::List(const std::string& kind, const http::FormParams& query) {
  int64_t since = 0, limit = 10;
  absl::SimpleAtoi(http::FormValue(query, "created[gte]"), &since);
  if (!http::FormValue(query, "limit").empty() &&
      (!absl::SimpleAtoi(http::FormValue(query, "limit"), &limit) || limit < 1 || limit > 100)) {
    return Error(400, "invalid_request_error", "Invalid integer: limit (1 to 100)", "limit");
  }
  const std::string type = http::FormValue(query, "type");
  const std::string intent = http::FormValue(query, "payment_intent");
  // starting_after: the page after that object, in the list's order (Stripe's cursor).
  const std::string after = http::FormValue(query, "starting_after");
  bool skipping = !after.empty();
  json data = json::array();
  auto add = [&](const json& o) {
    if (skipping) {
      skipping = o.value("id", "") != after;
      return;
    }
    if (o["created"].get<int64_t>() >= since && (type.empty() || o.value("type", "") == type) &&
        (intent.empty() || o.value("payment_intent", json()) == intent)) {
      data.push_back(o);
    }
  };
  if (kind == "event") {
    for (auto it = events_.rbegin(); it != events_.rend(); ++it) add(*it);  // newest first, as Stripe lists
  } else if (kind == "refund") {
    for (const auto& [id, x] : refunds_) add(x);
  } else {
    for (const auto& [id, s] : sessions_) add(s);
  }
  const bool more = static_cast<int64_t>(data.size()) > limit;
  if (more) data.erase(data.begin() + limit, data.end());
  return Json(200, {{"object", "list"}, {"data", data}, {"has_more", more},
                    {"url", kind == "event" ? "/v1/events" : kind == "refund" ? "/v1/refunds" : "/v1/checkout/sessions"}});
}

void StripeSim::Emit(const std::string& type, const json& object) {
  const std::string id = absl::StrFormat("evt_%08dVetlineSim", next_id_++);
  events_.push_back({{"id", id}, {"object", "event"}, {"api_version", kApiVersion},
                     {"created", absl::ToUnixSeconds(absl::Now())}, {"data", {{"object", object}}},
                     {"livemode", false}, {"pending_webhooks", options_.webhook_url.empty() ? 0 : 1},
                     {"request", {{"id", nullptr}, {"idempotency_key", nullptr}}}, {"type", type}});
  event_index_[id] = events_.size() - 1;
  if (options_.webhook_url.empty()) return;
  deliveries_.push_back({id, 0, absl::Now()});
  if (duplicate_) deliveries_.push_back({id, 0, absl::Now()});
  if (worker_) worker_->Wake();
}

PeriodicWorker::Next StripeSim::DeliverDue() {
  Delivery d;
  std::string payload, url;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = absl::Now();
    auto due = [&](const Delivery& x) { return x.due <= now; };
    auto it = reorder_ ? std::find_if(deliveries_.rbegin(), deliveries_.rend(), due).base()
                       : std::find_if(deliveries_.begin(), deliveries_.end(), due);
    if (reorder_) {
      if (it == deliveries_.begin()) return PeriodicWorker::Next::kPause;
      --it;  // reverse_iterator::base() points one past
    } else if (it == deliveries_.end()) {
      return PeriodicWorker::Next::kPause;
    }
    d = *it;
    deliveries_.erase(it);
    payload = events_[event_index_[d.event_id]].dump();
    url = options_.webhook_url;
  }
  http::HttpRequest req;
  req.url = url;
  req.body = payload;
  req.timeout = absl::Seconds(5);
  req.headers = {"Content-Type: application/json; charset=utf-8",
                 "Stripe-Signature: " + payments::stripe::SignatureHeader(payload, absl::Now(), {options_.webhook_secret})};
  http::HttpResult res = http::HttpPost(req);
  std::lock_guard<std::mutex> lock(mu_);
  delivery_log_.push_back({{"event", d.event_id}, {"attempt", d.attempts + 1}, {"status", res.status}});
  if (res.status < 200 || res.status >= 300) {  // Stripe retries with a growing backoff
    d.attempts++;
    d.due = absl::Now() + std::min(options_.retry_base * (int64_t{1} << std::min(d.attempts - 1, 12)), absl::Hours(1));
    deliveries_.push_back(d);
  }
  return PeriodicWorker::Next::kAgain;
}

StandInAnswer StripeSim::Control(const std::string& method, const std::string& path, const http::FormParams& query) {
  std::lock_guard<std::mutex> lock(mu_);
  if (path == "/_sim/state" && method == "GET") {
    json out = {{"sessions", json::array()}, {"payment_intents", json::array()}, {"refunds", json::array()},
                {"events", events_.size()}, {"pending_webhooks", deliveries_.size()}};
    for (const auto& [id, s] : sessions_) out["sessions"].push_back(s);
    for (const auto& [id, i] : intents_) out["payment_intents"].push_back(i);
    for (const auto& [id, r] : refunds_) out["refunds"].push_back(r);
    return Json(200, out);
  }
  if (path == "/_sim/deliveries" && method == "GET") return Json(200, delivery_log_);
  if (path == "/_sim/fail-after-commit" && method == "POST") {
    absl::SimpleAtoi(http::FormValue(query, "count"), &fail_after_commit_);
    return Json(200, {{"fail_after_commit", fail_after_commit_}});
  }
  if (path == "/_sim/webhooks" && method == "POST") {
    duplicate_ = http::FormValue(query, "duplicate") == "true";
    reorder_ = http::FormValue(query, "reorder") == "true";
    const std::string url = http::FormValue(query, "url");
    if (!url.empty()) options_.webhook_url = url;
    return Json(200, {{"duplicate", duplicate_}, {"reorder", reorder_}, {"url", options_.webhook_url}});
  }
  if (path == "/_sim/down" && method == "POST") {
    int seconds = 0;
    absl::SimpleAtoi(http::FormValue(query, "seconds"), &seconds);
    down_until_ = seconds > 0 ? absl::Now() + absl::Seconds(seconds) : absl::InfinitePast();
    return Json(200, {{"down_seconds", seconds}});
  }
  return Json(404, {{"error", "unknown control path"}});
}

}  // namespace vetline::stripe_sim
