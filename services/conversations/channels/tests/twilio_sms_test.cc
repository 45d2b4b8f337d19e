// TwilioSms against tools/twilio_sim on loopback: the adapter posts exactly what Twilio's
// API takes, reads its answers and errors into SendOutcome, and the stand-in behaves like
// Twilio afterwards (signed status callbacks in order, landlines undelivered with 30006,
// signed inbound texts), its answers fitting Twilio's published API description.
#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "libs/testing/wait.h"
#include "libs/http/form.h"
#include "services/conversations/channels/sms.h"
#include "services/conversations/channels/sms_keywords.h"
#include "libs/testing/python_check.h"
#include "services/conversations/channels/twilio_signature.h"
#include "services/conversations/channels/twilio_webhooks.h"
#include "tests/support/http_client.h"
#include "tests/support/twilio_sim_process.h"
#include "tests/support/webhook_sink.h"

namespace ch = vetline::conversations::channels;
// The check scripts beside these tests.
const std::string kChecks = std::string(VETLINE_SOURCE_DIR) + "/services/conversations/channels/tests/";
using vetline::testing::HttpClient;
using vetline::testing::kTwilioSimAccountSid;
using vetline::testing::kTwilioSimAuthToken;
using vetline::testing::TwilioSimProcess;
using vetline::testing::WaitUntil;
using vetline::testing::WebhookSink;

namespace {

constexpr char kClinicNumber[] = "+15005550006";
constexpr char kLandline[] = "+15557770002";

ch::TwilioConfig Config(const TwilioSimProcess& sim) {
  return {.base_url = sim.Url(), .account_sid = kTwilioSimAccountSid, .auth_token = kTwilioSimAuthToken,
          .timeout = absl::Seconds(5)};
}

std::vector<vetline::http::FormParams> Callbacks(const WebhookSink& sink, const std::string& sid) {
  std::vector<vetline::http::FormParams> out;
  for (const auto& r : sink.Requests("/status")) {
    vetline::http::FormParams f = vetline::http::ParseForm(r.body);
    if (vetline::http::FormValue(f, "MessageSid") == sid) out.push_back(f);
  }
  return out;
}

}  // namespace

TEST_CASE("channels: a text goes out through Twilio's API and its signed status callbacks follow") {
  TwilioSimProcess sim(TWILIO_SIM_BINARY, {std::string("--landlines=") + kLandline});
  REQUIRE(sim.ready());
  WebhookSink sink;
  ch::TwilioSms sms(Config(sim));

  const std::string body = "Hi Ana, Luna's X-ray looks good 🐶 — reply here. Grüße, Dr. Müller";
  ch::SendOutcome out = sms.Send({kClinicNumber, "+15551230001", body, sink.Url("/status?m=1")});
  REQUIRE(out.kind == ch::SendOutcome::kSent);
  CHECK(out.provider_id.size() == 34);
  CHECK(out.provider_id.rfind("SM", 0) == 0);

  // What Twilio received: our exact fields, decoded.
  HttpClient control(sim.port());
  nlohmann::json messages = control.Get("/_sim/messages").json()["messages"];
  REQUIRE(messages.size() == 1);
  CHECK(messages[0]["sid"] == out.provider_id);
  CHECK(messages[0]["from"] == kClinicNumber);
  CHECK(messages[0]["to"] == "+15551230001");
  CHECK(messages[0]["body"] == body);
  CHECK(messages[0]["status_callback"] == sink.Url("/status?m=1"));

  // queued → sent → delivered, in order, each signed like Twilio signs (verified with
  // the full URL including its query).
  REQUIRE(WaitUntil([&] { return Callbacks(sink, out.provider_id).size() == 3; }, absl::Seconds(10)));
  std::vector<std::string> states;
  for (const auto& r : sink.Requests("/status")) {
    vetline::http::FormParams f = vetline::http::ParseForm(r.body);
    CHECK(ch::VerifyTwilioSignature(kTwilioSimAuthToken, sink.Url(r.target), f, r.header("x-twilio-signature")));
    CHECK_FALSE(ch::VerifyTwilioSignature("other-token", sink.Url(r.target), f, r.header("x-twilio-signature")));
    CHECK(vetline::http::FormValue(f, "AccountSid") == kTwilioSimAccountSid);
    CHECK(vetline::http::FormValue(f, "To") == "+15551230001");
    CHECK(vetline::http::FormValue(f, "From") == kClinicNumber);
    CHECK(vetline::http::FormValue(f, "ErrorCode").empty());
    CHECK(vetline::http::FormValue(f, "SmsStatus") == vetline::http::FormValue(f, "MessageStatus"));
    states.push_back(vetline::http::FormValue(f, "MessageStatus"));
  }
  CHECK(states == std::vector<std::string>{"queued", "sent", "delivered"});
  CHECK(ch::StatusFromTwilio(states.back()) == ch::DeliveryState::kDelivered);

  // The message resource now reads delivered through Twilio's fetch route too.
  nlohmann::json fetched =
      control.Get("/2010-04-01/Accounts/" + std::string(kTwilioSimAccountSid) + "/Messages/" + out.provider_id + ".json",
                  {{"Authorization", "Basic " + absl::Base64Escape(std::string(kTwilioSimAccountSid) + ":" + kTwilioSimAuthToken)}})
          .json();
  CHECK(fetched["status"] == "delivered");
}

TEST_CASE("channels: a text to a landline is accepted, then undelivered with 30006 (not texting-capable)") {
  TwilioSimProcess sim(TWILIO_SIM_BINARY, {std::string("--landlines=") + kLandline});
  REQUIRE(sim.ready());
  WebhookSink sink;
  ch::TwilioSms sms(Config(sim));
  ch::SendOutcome out = sms.Send({kClinicNumber, kLandline, "Reminder: Max's vaccination", sink.Url("/status")});
  REQUIRE(out.kind == ch::SendOutcome::kSent);
  REQUIRE(WaitUntil([&] { return Callbacks(sink, out.provider_id).size() == 3; }, absl::Seconds(10)));
  // Read as the service will: verified, then parsed.
  const auto requests = sink.Requests("/status");
  REQUIRE(requests.size() == 3);
  auto verified = ch::VerifyTwilioWebhook(kTwilioSimAuthToken, sink.Url(requests.back().target), requests.back().body,
                                          requests.back().header("x-twilio-signature"));
  REQUIRE(verified.ok());
  auto update = ch::ParseTwilioStatusCallback(*verified);
  REQUIRE(update.ok());
  CHECK(update->message_sid == out.provider_id);
  CHECK(update->state == ch::DeliveryState::kFailed);
  CHECK(update->twilio_status == "undelivered");
  CHECK(update->error_code == 30006);
  CHECK(update->not_texting_capable);
  CHECK(ch::VerifyTwilioWebhook(kTwilioSimAuthToken, sink.Url(requests.back().target), requests.back().body, "")
            .status().code() == absl::StatusCode::kPermissionDenied);
  vetline::http::FormParams last = Callbacks(sink, out.provider_id).back();
  CHECK(vetline::http::FormValue(last, "MessageStatus") == "undelivered");
  CHECK(vetline::http::FormValue(last, "ErrorCode") == "30006");
  CHECK(ch::StatusFromTwilio(vetline::http::FormValue(last, "MessageStatus")) == ch::DeliveryState::kFailed);
  CHECK(ch::TwilioCodeMeansNotTextingCapable(std::stoi(vetline::http::FormValue(last, "ErrorCode"))));
}

TEST_CASE("channels: Twilio's 4xx answers are final with its code and words, 5xx and outages retry") {
  TwilioSimProcess sim(TWILIO_SIM_BINARY);
  REQUIRE(sim.ready());
  HttpClient control(sim.port());
  ch::TwilioSms sms(Config(sim));

  ch::SendOutcome bad_to = sms.Send({kClinicNumber, "5551234", "hi", ""});
  CHECK(bad_to.kind == ch::SendOutcome::kFailed);
  CHECK(bad_to.provider_code == 21211);
  CHECK(bad_to.reason == "Invalid 'To' Phone Number: 5551234");
  CHECK_FALSE(bad_to.not_texting_capable);

  ch::SendOutcome empty = sms.Send({kClinicNumber, "+15551230001", "", ""});
  CHECK(empty.kind == ch::SendOutcome::kFailed);
  CHECK(empty.provider_code == 21602);

  REQUIRE(control.Post("/_sim/numbers?number=%2B15557770003&kind=not_mobile", "").status == 200);
  ch::SendOutcome not_mobile = sms.Send({kClinicNumber, "+15557770003", "hi", ""});
  CHECK(not_mobile.kind == ch::SendOutcome::kFailed);
  CHECK(not_mobile.provider_code == 21614);
  CHECK(not_mobile.not_texting_capable);
  CHECK(not_mobile.reason.find("not a valid mobile number") != std::string::npos);

  REQUIRE(control.Post("/_sim/numbers?number=%2B15557770004&kind=unsubscribed", "").status == 200);
  ch::SendOutcome stopped = sms.Send({kClinicNumber, "+15557770004", "hi", ""});
  CHECK(stopped.kind == ch::SendOutcome::kFailed);
  CHECK(stopped.provider_code == 21610);
  CHECK(stopped.recipient_opted_out);
  CHECK_FALSE(stopped.not_texting_capable);

  ch::TwilioConfig wrong = Config(sim);
  wrong.auth_token = "not-the-token";
  ch::SendOutcome unauth = ch::TwilioSms(wrong).Send({kClinicNumber, "+15551230001", "hi", ""});
  CHECK(unauth.kind == ch::SendOutcome::kFailed);
  CHECK(unauth.provider_code == 20003);
  CHECK(unauth.reason == "Authenticate");

  // An outage (503) retries; once it is over the same text goes through.
  REQUIRE(control.Post("/_sim/down?seconds=60", "").status == 200);
  ch::SendOutcome down = sms.Send({kClinicNumber, "+15551230001", "hi", ""});
  CHECK(down.kind == ch::SendOutcome::kRetry);
  CHECK(down.reason == "Service Unavailable");
  CHECK(down.provider_unavailable);
  REQUIRE(control.Post("/_sim/down?seconds=0", "").status == 200);
  CHECK(sms.Send({kClinicNumber, "+15551230001", "hi", ""}).kind == ch::SendOutcome::kSent);
  CHECK(control.Get("/_sim/messages").json()["messages"].size() == 1);

  // Nobody listening: a network error, retried.
  const std::string dead_url = sim.Url();
  sim.Kill();
  ch::TwilioConfig dead = Config(sim);
  dead.base_url = dead_url;
  ch::SendOutcome unreachable = ch::TwilioSms(dead).Send({kClinicNumber, "+15551230001", "hi", ""});
  CHECK(unreachable.kind == ch::SendOutcome::kRetry);
  CHECK(unreachable.reason.rfind("Twilio unreachable", 0) == 0);
  CHECK(unreachable.provider_unavailable);
}

TEST_CASE("channels: a Twilio answer slower than the timeout is retried") {
  TwilioSimProcess sim(TWILIO_SIM_BINARY);
  REQUIRE(sim.ready());
  HttpClient control(sim.port());
  REQUIRE(control.Post("/_sim/slow?ms=2000", "").status == 200);
  ch::TwilioConfig config = Config(sim);
  config.timeout = absl::Milliseconds(300);
  ch::SendOutcome out = ch::TwilioSms(config).Send({kClinicNumber, "+15551230001", "hi", ""});
  INFO(out.reason);
  CHECK(out.kind == ch::SendOutcome::kRetry);
  CHECK(out.reason.find("timed out") != std::string::npos);
}

TEST_CASE("channels: an injected inbound text reaches the webhook signed, with Twilio's fields") {
  TwilioSimProcess sim(TWILIO_SIM_BINARY);
  REQUIRE(sim.ready());
  WebhookSink sink;
  HttpClient control(sim.port());
  const std::string url = sink.Url("/v1/webhooks/twilio/inbound");
  vetline::http::FormParams inject = {{"From", "+15551230001"}, {"To", kClinicNumber}, {"Body", " Stop "}, {"Url", url}};
  nlohmann::json answer = control.Post("/_sim/inbound", vetline::http::EncodeForm(inject),
                                       {{"Content-Type", "application/x-www-form-urlencoded"}}).json();
  CHECK(answer["http_status"] == 200);
  auto requests = sink.Requests("/v1/webhooks/twilio/inbound");
  REQUIRE(requests.size() == 1);
  vetline::http::FormParams f = vetline::http::ParseForm(requests[0].body);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].header("content-type") == "application/x-www-form-urlencoded");
  CHECK(ch::VerifyTwilioSignature(kTwilioSimAuthToken, url, f, requests[0].header("x-twilio-signature")));
  CHECK(vetline::http::FormValue(f, "MessageSid") == answer["message_sid"].get<std::string>());
  CHECK(vetline::http::FormValue(f, "AccountSid") == kTwilioSimAccountSid);
  CHECK(vetline::http::FormValue(f, "From") == "+15551230001");
  CHECK(vetline::http::FormValue(f, "To") == kClinicNumber);
  CHECK(vetline::http::FormValue(f, "Body") == " Stop ");
  CHECK(vetline::http::FormValue(f, "NumMedia") == "0");
  CHECK(ch::ClassifySmsKeyword(vetline::http::FormValue(f, "Body")) == ch::SmsKeyword::kOptOut);
  auto inbound = ch::VerifyTwilioWebhook(kTwilioSimAuthToken, url, requests[0].body, requests[0].header("x-twilio-signature"));
  REQUIRE(inbound.ok());
  auto text = ch::ParseTwilioInboundText(*inbound);
  REQUIRE(text.ok());
  CHECK(text->from == "+15551230001");
  CHECK(text->to == kClinicNumber);
  CHECK(text->body == " Stop ");
  CHECK(text->media_urls.empty());

  // A forged signature is what a gateway must refuse: the check says no.
  inject.emplace_back("BadSignature", "true");
  control.Post("/_sim/inbound", vetline::http::EncodeForm(inject), {{"Content-Type", "application/x-www-form-urlencoded"}});
  requests = sink.Requests("/v1/webhooks/twilio/inbound");
  REQUIRE(requests.size() == 2);
  CHECK_FALSE(ch::VerifyTwilioSignature(kTwilioSimAuthToken, url, vetline::http::ParseForm(requests[1].body),
                                        requests[1].header("x-twilio-signature")));
  CHECK(ch::VerifyTwilioWebhook(kTwilioSimAuthToken, url, requests[1].body, requests[1].header("x-twilio-signature"))
            .status().code() == absl::StatusCode::kPermissionDenied);
}

TEST_CASE("channels: the stand-in's Message answer and our request fit Twilio's API description") {
  TwilioSimProcess sim(TWILIO_SIM_BINARY);
  REQUIRE(sim.ready());
  HttpClient client(sim.port());
  vetline::http::FormParams form = {{"To", "+15551230001"}, {"From", kClinicNumber}, {"Body", "Hello! 👍"},
                         {"StatusCallback", "http://127.0.0.1:9/status"}};
  auto res = client.Post("/2010-04-01/Accounts/" + std::string(kTwilioSimAccountSid) + "/Messages.json",
                         vetline::http::EncodeForm(form),
                         {{"Content-Type", "application/x-www-form-urlencoded"},
                          {"Authorization", "Basic " + absl::Base64Escape(std::string(kTwilioSimAccountSid) + ":" +
                                                                          kTwilioSimAuthToken)}});
  REQUIRE(res.status == 201);
  const std::string spec = std::string(VETLINE_PROVIDERS_DIR) + "/twilio/twilio_api_v2010.json";
  INFO("Twilio's API description is read from " << spec << " (cmake -DVETLINE_PROVIDERS_DIR=...)");
  REQUIRE(std::ifstream(spec).good());
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& [k, v] : form) fields.push_back(k);
  nlohmann::json check = vetline::testing::RunPythonCheck(kChecks + 
      "twilio_contract_check.py",
      {{"spec", spec}, {"message", res.json()}, {"request_fields", fields}});
  REQUIRE(check.is_object());
  CHECK(check["problems"] == nlohmann::json::array());
  // The checker itself notices a wrong answer: a status outside the enum, a lost field.
  nlohmann::json wrong = res.json();
  wrong["status"] = "bogus";
  wrong.erase("num_segments");
  nlohmann::json caught = vetline::testing::RunPythonCheck(kChecks + 
      "twilio_contract_check.py", {{"spec", spec}, {"message", wrong}, {"request_fields", {"Body"}}});
  CHECK(caught["problems"].size() == 3);  // status, num_segments, the required To
  CHECK(res.json()["status"] == "queued");

  auto err = client.Post("/2010-04-01/Accounts/" + std::string(kTwilioSimAccountSid) + "/Messages.json", "From=%2B1",
                         {{"Content-Type", "application/x-www-form-urlencoded"},
                          {"Authorization", "Basic " + absl::Base64Escape(std::string(kTwilioSimAccountSid) + ":" +
                                                                          kTwilioSimAuthToken)}});
  CHECK(err.status == 400);
  CHECK(err.json() == nlohmann::json{{"code", 21604}, {"message", "A 'To' phone number is required."},
                                     {"more_info", "https://www.twilio.com/docs/errors/21604"}, {"status", 400}});
}

TEST_CASE("channels: concurrent texts from many threads each reach Twilio exactly once, with their callbacks") {
  TwilioSimProcess sim(TWILIO_SIM_BINARY, {"--callback-threads=4"});
  REQUIRE(sim.ready());
  WebhookSink sink;
  ch::TwilioSms sms(Config(sim));
  constexpr int kThreads = 8, kPerThread = 250, kTotal = kThreads * kPerThread;
  std::atomic<int> sent{0};
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        ch::SendOutcome o = sms.Send({kClinicNumber, "+1555100" + std::to_string(1000 + t), "n" + std::to_string(i),
                                      sink.Url("/status")});
        if (o.kind == ch::SendOutcome::kSent) ++sent;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  CHECK(WaitUntil([&] { return sink.Requests("/status").size() == 3 * kTotal; }, absl::Seconds(60)));
  const double with_callbacks = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("twilio sms: %d texts from %d threads in %.2f s (%.0f/s); all %zu callbacks after %.2f s\n", kTotal,
              kThreads, seconds, kTotal / seconds, sink.Requests("/status").size(), with_callbacks);
  CHECK(sent == kTotal);
  nlohmann::json messages = HttpClient(sim.port()).Get("/_sim/messages").json()["messages"];
  std::set<std::string> sids, keys;
  for (const auto& m : messages) {
    sids.insert(m["sid"].get<std::string>());
    keys.insert(m["to"].get<std::string>() + "/" + m["body"].get<std::string>());
  }
  CHECK(messages.size() == kTotal);
  CHECK(sids.size() == messages.size());
  CHECK(keys.size() == messages.size());
  std::map<std::string, int> delivered;
  for (const auto& r : sink.Requests("/status")) {
    vetline::http::FormParams f = vetline::http::ParseForm(r.body);
    if (vetline::http::FormValue(f, "MessageStatus") == "delivered") ++delivered[vetline::http::FormValue(f, "MessageSid")];
  }
  CHECK(delivered.size() == sids.size());
}
