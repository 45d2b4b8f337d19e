#include "tools/twilio_sim/twilio_sim.h"

#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "services/conversations/channels/sms_keywords.h"
#include "libs/http/http_post.h"
#include "services/conversations/channels/twilio_signature.h"

namespace vetline::twilio_sim {

namespace channels = ::vetline::conversations::channels;
namespace {

using nlohmann::json;
constexpr char kApiVersion[] = "2010-04-01";

// Twilio's error body, e.g. {"code": 21211, "message": "...", "more_info": ..., "status": 400}.
http::StandInAnswer TwilioError(int http_status, int code, const std::string& message) {
  json j = {{"code", code},
            {"message", message},
            {"more_info", absl::StrCat("https://www.twilio.com/docs/errors/", code)},
            {"status", http_status}};
  return {http_status, j.dump()};
}

http::StandInAnswer Json(int status, const json& j) { return {status, j.dump()}; }

std::string RandomSid(const char* prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string sid = prefix;
  for (int i = 0; i < 32; ++i) sid.push_back(kHex[rng() & 15]);
  return sid;
}

std::string Rfc2822(absl::Time t) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", t, absl::UTCTimeZone());
}

bool IsE164(const std::string& n) {
  if (n.size() < 3 || n.size() > 16 || n[0] != '+' || n[1] == '0') return false;
  for (size_t i = 1; i < n.size(); ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(n[i]))) return false;
  }
  return true;
}

// Segments as carriers count them: GSM-7 text 160 (153 per part), otherwise UCS-2 70 (67).
int Segments(const std::string& body) {
  bool ascii = true;
  size_t chars = 0;
  for (unsigned char c : body) {
    if (c >= 0x80) ascii = false;
    if ((c & 0xC0) != 0x80) ++chars;
  }
  const size_t single = ascii ? 160 : 70, part = ascii ? 153 : 67;
  if (chars <= single) return 1;
  return static_cast<int>((chars + part - 1) / part);
}

size_t Utf8Length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

TwilioSim::TwilioSim(Options options) : options_(std::move(options)) {
  for (const std::string& n : options_.landlines) numbers_[n] = NumberKind::kLandline;
  for (int i = 0; i < std::max(1, options_.callback_threads); ++i) {
    workers_.push_back(std::make_unique<PeriodicWorker>(
        absl::StrCat("twilio-sim-callbacks-", i), absl::Milliseconds(20),
        [this] { return DeliverOneCallbackBatch(); }));
  }
}

TwilioSim::~TwilioSim() { workers_.clear(); }

bool TwilioSim::Authorised(const std::string& authorization) const {
  const std::string expected =
      "Basic " + absl::Base64Escape(options_.account_sid + ":" + options_.auth_token);
  return authorization == expected;
}

http::StandInAnswer TwilioSim::Handle(const std::string& method, const std::string& target,
                             const std::string& authorization, const std::string& body) {
  const size_t q = target.find('?');
  const std::string path = target.substr(0, q);
  const http::FormParams query =
      q == std::string::npos ? http::FormParams{} : http::ParseForm(target.substr(q + 1));
  if (method == "POST" && path == "/_sim/inbound") return Inbound(body);
  if (absl::StartsWith(path, "/_sim/")) return Control(method, path, query);

  // /2010-04-01/Accounts/{AccountSid}/Messages.json and .../Messages/{Sid}.json
  std::vector<std::string> parts = absl::StrSplit(path, '/');
  if (parts.size() >= 5 && parts[0].empty() && parts[1] == kApiVersion && parts[2] == "Accounts") {
    if (parts.size() == 5 && parts[4] == "Messages.json" && method == "POST") {
      return CreateMessage(parts[3], authorization, body);
    }
    if (parts.size() == 6 && parts[4] == "Messages" && absl::EndsWith(parts[5], ".json") && method == "GET") {
      return FetchMessage(parts[3], parts[5].substr(0, parts[5].size() - 5), authorization);
    }
  }
  return TwilioError(404, 20404, "The requested resource " + path + " was not found");
}

http::StandInAnswer TwilioSim::CreateMessage(const std::string& account, const std::string& authorization,
                                    const std::string& body) {
  absl::Duration delay;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (absl::Now() < down_until_) {
      ++refused_while_down_;
      return TwilioError(503, 20503, "Service Unavailable");
    }
    delay = answer_delay_;
  }
  if (delay > absl::ZeroDuration()) absl::SleepFor(delay);
  if (!Authorised(authorization)) return TwilioError(401, 20003, "Authenticate");
  if (account != options_.account_sid) {
    return TwilioError(404, 20404, "The requested resource /2010-04-01/Accounts/" + account +
                                       "/Messages.json was not found");
  }
  const http::FormParams form = http::ParseForm(body);
  Message m;
  m.to = http::FormValue(form, "To");
  m.from = http::FormValue(form, "From");
  m.body = http::FormValue(form, "Body");
  m.status_callback = http::FormValue(form, "StatusCallback");
  // Twilio's validation errors, in the order it checks them.
  if (m.to.empty()) return TwilioError(400, 21604, "A 'To' phone number is required.");
  if (m.from.empty() && http::FormValue(form, "MessagingServiceSid").empty()) {
    return TwilioError(400, 21603, "A 'From' phone number is required.");
  }
  if (m.body.empty() && http::FormValue(form, "MediaUrl").empty() &&
      http::FormValue(form, "ContentSid").empty()) {
    return TwilioError(400, 21602, "Message body is required.");
  }
  if (!IsE164(m.to)) return TwilioError(400, 21211, "Invalid 'To' Phone Number: " + m.to);
  if (!IsE164(m.from)) return TwilioError(400, 21212, "Invalid From Number (caller ID): " + m.from);
  if (Utf8Length(m.body) > 1600) {
    return TwilioError(400, 21617, "The concatenated message body exceeds the 1600 character limit.");
  }
  if (!m.status_callback.empty() && !absl::StartsWith(m.status_callback, "http://") &&
      !absl::StartsWith(m.status_callback, "https://")) {
    return TwilioError(400, 21609, "The StatusCallback URL " + m.status_callback + " is not a valid URL.");
  }
  m.sid = RandomSid("SM");
  m.status = "queued";
  m.num_segments = Segments(m.body);
  m.created = absl::Now();
  std::string answer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto kind = numbers_.find(m.to);
    if (kind != numbers_.end() && kind->second == NumberKind::kNotMobile) {
      return TwilioError(400, 21614, "'To' number " + m.to + " is not a valid mobile number");
    }
    if (kind != numbers_.end() && kind->second == NumberKind::kUnsubscribed) {
      return TwilioError(400, 21610, "Attempt to send to unsubscribed recipient");
    }
    by_sid_[m.sid] = messages_.size();
    messages_.push_back(m);
    answer = MessageJson(m);
    if (!m.status_callback.empty()) pending_.push_back(m.sid);
  }
  if (!m.status_callback.empty()) workers_[std::hash<std::string>{}(m.sid) % workers_.size()]->Wake();
  return {201, answer};
}

http::StandInAnswer TwilioSim::FetchMessage(const std::string& account, const std::string& sid,
                                   const std::string& authorization) {
  if (!Authorised(authorization)) return TwilioError(401, 20003, "Authenticate");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_sid_.find(sid);
  if (account != options_.account_sid || it == by_sid_.end()) {
    return TwilioError(404, 20404, "The requested resource /2010-04-01/Accounts/" + account +
                                       "/Messages/" + sid + ".json was not found");
  }
  return {200, MessageJson(messages_[it->second])};
}

// The Message resource as the API description shapes it (every property present).
std::string TwilioSim::MessageJson(const Message& m) const {
  const std::string uri = absl::StrCat("/2010-04-01/Accounts/", options_.account_sid, "/Messages/", m.sid);
  json j = {{"account_sid", options_.account_sid},
            {"api_version", kApiVersion},
            {"body", m.body},
            {"date_created", Rfc2822(m.created)},
            {"date_sent", m.status == "queued" ? json(nullptr) : json(Rfc2822(m.created))},
            {"date_updated", Rfc2822(m.created)},
            {"direction", "outbound-api"},
            {"error_code", m.error_code ? json(m.error_code) : json(nullptr)},
            {"error_message", m.error_code ? json("Landline or unreachable carrier") : json(nullptr)},
            {"from", m.from},
            {"messaging_service_sid", nullptr},
            {"num_media", "0"},
            {"num_segments", std::to_string(m.num_segments)},
            {"price", nullptr},
            {"price_unit", "USD"},
            {"sid", m.sid},
            {"status", m.status},
            {"subresource_uris", {{"media", uri + "/Media.json"}}},
            {"to", m.to},
            {"uri", uri + ".json"}};
  return j.dump();
}

PeriodicWorker::Next TwilioSim::DeliverOneCallbackBatch() {
  Message m;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.empty()) return PeriodicWorker::Next::kPause;
    auto it = by_sid_.find(pending_.front());
    pending_.pop_front();
    if (it == by_sid_.end()) return PeriodicWorker::Next::kAgain;
    m = messages_[it->second];
  }
  // One message's callbacks go in order from one thread, as Twilio's arrive in practice.
  bool landline = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto kind = numbers_.find(m.to);
    landline = kind != numbers_.end() && kind->second == NumberKind::kLandline;
  }
  std::vector<std::pair<std::string, int>> steps = {{"queued", 0}, {"sent", 0}};
  steps.emplace_back(landline ? std::make_pair(std::string("undelivered"), 30006)
                              : std::make_pair(std::string("delivered"), 0));
  for (const auto& [status, code] : steps) {
    if (options_.callback_delay > absl::ZeroDuration() && status != "queued") {
      absl::SleepFor(options_.callback_delay);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = by_sid_.find(m.sid);
      if (it != by_sid_.end()) {
        messages_[it->second].status = status;
        messages_[it->second].error_code = code;
      }
    }
    PostCallback(m, status, code);
  }
  return PeriodicWorker::Next::kAgain;
}

void TwilioSim::PostCallback(const Message& m, const std::string& status, int error_code) {
  // The fields of Twilio's status callback request.
  http::FormParams form = {{"AccountSid", options_.account_sid}, {"ApiVersion", kApiVersion},
                               {"From", m.from},        {"MessageSid", m.sid},
                               {"MessageStatus", status}, {"SmsSid", m.sid},
                               {"SmsStatus", status},    {"To", m.to}};
  if (error_code != 0) form.emplace_back("ErrorCode", std::to_string(error_code));
  http::HttpRequest req;
  req.url = m.status_callback;
  req.body = http::EncodeForm(form);
  req.headers = {"Content-Type: application/x-www-form-urlencoded", "User-Agent: TwilioProxy/1.1",
                 "X-Twilio-Signature: " + channels::TwilioSignature(options_.auth_token, m.status_callback, form)};
  req.timeout = absl::Seconds(5);
  http::HttpResult res = http::HttpPost(req);
  std::lock_guard<std::mutex> lock(mu_);
  callbacks_.push_back({m.sid, status, m.status_callback, res.status});
}

http::StandInAnswer TwilioSim::Inbound(const std::string& body) {
  const http::FormParams in = http::ParseForm(body);
  std::string url = http::FormValue(in, "Url");
  if (url.empty()) url = options_.inbound_url;
  if (url.empty()) return Json(400, {{"error", "no Url given and no --inbound-url set"}});
  const std::string sid = RandomSid("SM");
  const std::string text = http::FormValue(in, "Body");
  // The fields Twilio posts to a number's messaging webhook.
  http::FormParams form = {{"ToCountry", "US"},
                               {"ToState", ""},
                               {"SmsMessageSid", sid},
                               {"NumMedia", "0"},
                               {"ToCity", ""},
                               {"FromZip", ""},
                               {"SmsSid", sid},
                               {"FromState", ""},
                               {"SmsStatus", "received"},
                               {"FromCity", ""},
                               {"Body", text},
                               {"FromCountry", "US"},
                               {"To", http::FormValue(in, "To")},
                               {"ToZip", ""},
                               {"NumSegments", std::to_string(Segments(text))},
                               {"MessageSid", sid},
                               {"AccountSid", options_.account_sid},
                               {"From", http::FormValue(in, "From")},
                               {"ApiVersion", kApiVersion}};
  std::string signature = channels::TwilioSignature(options_.auth_token, url, form);
  if (http::FormValue(in, "BadSignature") == "true") signature = "forged" + signature.substr(6);
  http::HttpRequest req;
  req.url = url;
  req.body = http::EncodeForm(form);
  req.headers = {"Content-Type: application/x-www-form-urlencoded", "User-Agent: TwilioProxy/1.1",
                 "X-Twilio-Signature: " + signature};
  req.timeout = absl::Seconds(10);
  http::HttpResult res = http::HttpPost(req);
  {
    // As Twilio does: after STOP, sends to that number are refused (21610) until START.
    std::lock_guard<std::mutex> lock(mu_);
    const std::string from = http::FormValue(in, "From");
    switch (channels::ClassifySmsKeyword(text)) {
      case channels::SmsKeyword::kOptOut: numbers_[from] = NumberKind::kUnsubscribed; break;
      case channels::SmsKeyword::kOptIn:
        if (auto it = numbers_.find(from); it != numbers_.end() && it->second == NumberKind::kUnsubscribed) {
          numbers_.erase(it);
        }
        break;
      default: break;
    }
  }
  return Json(200, {{"message_sid", sid}, {"http_status", res.status}, {"body", res.body},
                    {"error", res.transport_error}});
}

http::StandInAnswer TwilioSim::Control(const std::string& method, const std::string& path,
                              const http::FormParams& query) {
  std::lock_guard<std::mutex> lock(mu_);
  if (method == "GET" && path == "/_sim/messages") {
    json list = json::array();
    for (const Message& m : messages_) {
      list.push_back({{"sid", m.sid}, {"from", m.from}, {"to", m.to}, {"body", m.body},
                      {"status", m.status}, {"status_callback", m.status_callback},
                      {"error_code", m.error_code}});
    }
    return Json(200, {{"messages", list}});
  }
  if (method == "GET" && path == "/_sim/callbacks") {
    json list = json::array();
    for (const Callback& c : callbacks_) {
      list.push_back({{"sid", c.sid}, {"status", c.status}, {"url", c.url}, {"http_status", c.http_status}});
    }
    return Json(200, {{"callbacks", list}, {"pending", pending_.size()}});
  }
  if (method == "GET" && path == "/_sim/stats") {
    return Json(200, {{"messages", messages_.size()}, {"callbacks", callbacks_.size()},
                      {"pending_callbacks", pending_.size()}, {"refused_while_down", refused_while_down_},
                      {"down", absl::Now() < down_until_}});
  }
  if (method == "POST" && path == "/_sim/down") {
    int seconds = 0;
    if (!absl::SimpleAtoi(http::FormValue(query, "seconds"), &seconds) || seconds < 0) {
      return Json(400, {{"error", "seconds must be a whole number >= 0"}});
    }
    down_until_ = seconds == 0 ? absl::InfinitePast() : absl::Now() + absl::Seconds(seconds);
    return Json(200, {{"down", seconds > 0}});
  }
  if (method == "POST" && path == "/_sim/slow") {
    int ms = 0;
    if (!absl::SimpleAtoi(http::FormValue(query, "ms"), &ms) || ms < 0 || ms > 600'000) {
      return Json(400, {{"error", "ms must be a whole number from 0 to 600000"}});
    }
    answer_delay_ = absl::Milliseconds(ms);
    return Json(200, {{"slow_ms", ms}});
  }
  if (method == "POST" && path == "/_sim/numbers") {
    const std::string number = http::FormValue(query, "number"), kind = http::FormValue(query, "kind");
    static const std::map<std::string, NumberKind> kKinds = {{"mobile", NumberKind::kMobile},
                                                             {"landline", NumberKind::kLandline},
                                                             {"not_mobile", NumberKind::kNotMobile},
                                                             {"unsubscribed", NumberKind::kUnsubscribed}};
    auto k = kKinds.find(kind);
    if (!IsE164(number) || k == kKinds.end()) {
      return Json(400, {{"error", "number must be E.164, kind mobile|landline|not_mobile|unsubscribed"}});
    }
    numbers_[number] = k->second;
    return Json(200, {{"number", number}, {"kind", kind}});
  }
  if (method == "POST" && path == "/_sim/reset") {
    messages_.clear();
    by_sid_.clear();
    callbacks_.clear();
    pending_.clear();
    refused_while_down_ = 0;
    down_until_ = absl::InfinitePast();
    answer_delay_ = absl::ZeroDuration();
    return Json(200, json::object());
  }
  return Json(404, {{"error", "no such control endpoint: " + method + " " + path}});
}

}  // namespace vetline::twilio_sim
