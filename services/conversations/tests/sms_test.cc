// Texting's inbound half end to end: the real Twilio stand-in (tools/twilio_sim) sends
// signed status callbacks and inbound texts to the real gateway, which hands them to the
// conversations service; the clients service follows STOP/START and carrier answers
// through the conversations outbox. Real PostgreSQL, Redis and gRPC on loopback.
#include <catch2/catch.hpp>

#include "libs/pg/pg.h"
#include "libs/testing/wait.h"
#include "libs/http/form.h"
#include "services/conversations/channels/twilio_signature.h"
#include "services/conversations/sms_inbound.h"
#include "tests/support/delivery_queue.h"
#include "tests/support/edge_stack.h"
#include "tests/support/http_client.h"
#include "tests/support/twilio_sim_process.h"

using namespace vetline;
using json = nlohmann::json;
namespace channels = vetline::conversations::channels;

namespace {

constexpr char kClinicNumber[] = "+15550001111";

// The whole stack behind the gateway (tests/support/edge_stack) with one delivery
// worker whose Twilio is the stand-in, and the clinic "Maple Vets" texting from
// kClinicNumber.
testing::EdgeStackOptions WithTwilio(const testing::TwilioSimProcess& sim) {
  testing::EdgeStackOptions o;
  o.delivery.twilio_base_url = "http://127.0.0.1:" + std::to_string(sim.port());
  o.delivery.twilio_account_sid = testing::kTwilioSimAccountSid;
  o.delivery.twilio_auth_token = testing::kTwilioSimAuthToken;
  o.delivery.workers = 1;
  return o;
}

struct SmsStack {
  explicit SmsStack(std::vector<std::string> sim_flags = {})
      : sim(TWILIO_SIM_BINARY, std::move(sim_flags)),
        stack(WithTwilio(sim)),
        http_port(stack.http_port()),
        pool(pg::Pool::Create({.conninfo = stack.conninfo(), .size = 2, .name = "sms-test"}).value()) {
    REQUIRE(sim.ready());
    auto clinic = stack.CreateClinic("Maple Vets", "admin@maple.example");
    clinic_id = clinic.id;
    token = clinic.token;
    // The clinic's admin sets its texting number, as an admin would in settings.
    REQUIRE(StaffOk("PATCH", "/v1/conversation-settings",
                    {{"smsFromNumber", kClinicNumber}})["smsFromNumber"] == kClinicNumber);
  }

  testing::HttpResponse Staff(const std::string& method, const std::string& path,
                              const json& body = nullptr) {
    auto h = testing::Bearer(token);
    h["Content-Type"] = "application/json";
    return testing::HttpClient(http_port).Send(method, path, body.is_null() ? "" : body.dump(), h);
  }
  json StaffOk(const std::string& method, const std::string& path, const json& body = nullptr) {
    auto r = Staff(method, path, body);
    INFO(method << " " << path << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == 200);
    return r.json();
  }

  // A client whose primary, texting-capable mobile is `phone` (and an email address).
  std::string CreateClient(const std::string& first, const std::string& phone) {
    json c = StaffOk("POST", "/v1/clients",
                     {{"firstName", first},
                      {"lastName", "Lopez"},
                      {"phones", {{{"number", phone}, {"type", "MOBILE"}, {"textingCapable", true}, {"primary", true}}}},
                      {"emails", {{{"address", first + "@example.com"}, {"primary", true}}}}});
    return c["id"];
  }
  std::string StartChat(const std::string& client_id) {
    return StaffOk("POST", "/v1/clients/" + client_id + "/conversations", json::object())["id"];
  }
  json Send(const std::string& conversation, const std::string& text) {
    return StaffOk("POST", "/v1/conversations/" + conversation + "/messages", {{"text", text}});
  }
  json Messages(const std::string& conversation) {
    return StaffOk("GET", "/v1/conversations/" + conversation + "/messages")["messages"];
  }
  json Conversation(const std::string& id) { return StaffOk("GET", "/v1/conversations/" + id); }
  json Client(const std::string& id) { return StaffOk("GET", "/v1/clients/" + id); }
  // The message's delivery on `channel` ("TEXT", "EMAIL"), or null.
  json DeliveryOf(const std::string& conversation, const std::string& message_id,
                  const std::string& channel) {
    for (const json& m : Messages(conversation)) {
      if (m["id"] != message_id) continue;
      for (const json& d : m.value("deliveries", json::array())) {
        if (d["channel"] == channel) return d;
      }
    }
    return nullptr;
  }

  // Whether the message's delivery on `channel` reaches `state` within 20 s.
  bool DeliveryReaches(const std::string& conversation, const std::string& message_id,
                       const std::string& channel, const std::string& state) {
    return testing::WaitUntil([&] {
      json d = DeliveryOf(conversation, message_id, channel);
      return !d.is_null() && d["state"] == state;
    }, absl::Seconds(20));
  }

  // An inbound text injected at the stand-in, which signs it and posts it to us.
  json Inbound(const std::string& from, const std::string& body, const std::string& to = kClinicNumber,
               bool bad_signature = false) {
    vetline::http::FormParams form = {{"From", from}, {"To", to}, {"Body", body}, {"Url", Url("/v1/webhooks/twilio/messages")}};
    if (bad_signature) form.emplace_back("BadSignature", "true");
    auto r = testing::HttpClient(sim.port())
                 .Post("/_sim/inbound", vetline::http::EncodeForm(form),
                       {{"Content-Type", "application/x-www-form-urlencoded"}});
    REQUIRE(r.status == 200);
    return r.json();
  }
  // A webhook signed here, as Twilio would (for replays and out-of-order callbacks).
  testing::HttpResponse PostSigned(const std::string& path, const vetline::http::FormParams& form,
                                   const std::string& auth_token = testing::kTwilioSimAuthToken) {
    return testing::HttpClient(http_port).Post(
        path, vetline::http::EncodeForm(form),
        {{"Content-Type", "application/x-www-form-urlencoded"},
         {"X-Twilio-Signature", channels::TwilioSignature(auth_token, Url(path), form)}});
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(http_port) + path;
  }
  // The stand-in's record of the texts it was asked to send.
  json SimMessages() { return testing::HttpClient(sim.port()).Get("/_sim/messages").json()["messages"]; }

  pg::Result Sql(const std::string& sql, const pg::Params& params = {}) {
    return testing::RunSql(*pool, sql, params);
  }

  testing::TwilioSimProcess sim;
  testing::EdgeStack stack;
  int http_port = 0;
  std::shared_ptr<pg::Pool> pool;
  std::string clinic_id, token;
};

vetline::http::FormParams StatusForm(const std::string& sid, const std::string& status,
                                const std::string& account = testing::kTwilioSimAccountSid) {
  return {{"AccountSid", account}, {"ApiVersion", "2010-04-01"}, {"From", kClinicNumber},
          {"MessageSid", sid},     {"MessageStatus", status},    {"SmsSid", sid},
          {"SmsStatus", status},   {"To", "+15557650001"}};
}

vetline::http::FormParams InboundForm(const std::string& sid, const std::string& from, const std::string& body) {
  return {{"AccountSid", testing::kTwilioSimAccountSid}, {"MessageSid", sid}, {"SmsSid", sid},
          {"From", from}, {"To", kClinicNumber}, {"Body", body}, {"NumMedia", "0"},
          {"ApiVersion", "2010-04-01"}};
}

}  // namespace

TEST_CASE("sms: signed status callbacks move a text to delivered, forward only, and unsigned ones are 403",
          "[sms]") {
  SmsStack s;
  const std::string client = s.CreateClient("ana", "+15557650001");
  const std::string conv = s.StartChat(client);
  const std::string msg = s.Send(conv, "Rex is ready for pick-up")["id"];
  // The worker sends it; the stand-in answers queued, then calls back sent and delivered.
  REQUIRE(s.DeliveryReaches(conv, msg, "TEXT", "DELIVERED"));
  json sent = s.SimMessages();
  REQUIRE(sent.size() == 1);
  const std::string sid = sent[0]["sid"];
  // Every callback the stand-in made was accepted.
  json callbacks;
  REQUIRE(testing::WaitUntil([&] {
    callbacks = testing::HttpClient(s.sim.port()).Get("/_sim/callbacks").json()["callbacks"];
    return callbacks.size() == 3;
  }, absl::Seconds(10)));
  for (const json& c : callbacks) CHECK(c["http_status"] == 200);

  // A late "sent" (and a replayed "delivered") do not move it back.
  CHECK(s.PostSigned("/v1/webhooks/twilio/status", StatusForm(sid, "sent")).status == 200);
  CHECK(s.PostSigned("/v1/webhooks/twilio/status", StatusForm(sid, "delivered")).status == 200);
  CHECK(s.DeliveryOf(conv, msg, "TEXT")["state"] == "DELIVERED");

  // Unsigned, wrongly signed, signed with another token or for another account: 403,
  // and the delivery stays as it was.
  testing::HttpClient http(s.http_port);
  auto none = http.Post("/v1/webhooks/twilio/status", vetline::http::EncodeForm(StatusForm(sid, "failed")),
                        {{"Content-Type", "application/x-www-form-urlencoded"}});
  CHECK(none.status == 403);
  auto forged = http.Post("/v1/webhooks/twilio/status", vetline::http::EncodeForm(StatusForm(sid, "failed")),
                          {{"Content-Type", "application/x-www-form-urlencoded"},
                           {"X-Twilio-Signature", "bm90IGEgc2lnbmF0dXJlIGF0IGFsbA=="}});
  CHECK(forged.status == 403);
  CHECK(s.PostSigned("/v1/webhooks/twilio/status", StatusForm(sid, "failed"), "another-token").status == 403);
  CHECK(s.PostSigned("/v1/webhooks/twilio/status",
                     StatusForm(sid, "failed", "AC99999999999999999999999999999999")).status == 403);
  CHECK(s.DeliveryOf(conv, msg, "TEXT")["state"] == "DELIVERED");
  // A signed callback naming no text of ours is a clear 404 on MessageSid.
  auto unknown = s.PostSigned("/v1/webhooks/twilio/status", StatusForm("SM" + std::string(32, '0'), "sent"));
  CHECK(unknown.status == 404);
  CHECK(unknown.json()["error"]["field"] == "MessageSid");
}

TEST_CASE("sms: a carrier's 30006 fails the text and leaves the phone not texting-capable on the profile",
          "[sms]") {
  SmsStack s({"--landlines=+15557650002"});
  const std::string client = s.CreateClient("ben", "+15557650002");
  const std::string conv = s.StartChat(client);
  const std::string msg = s.Send(conv, "Your appointment is tomorrow")["id"];
  REQUIRE(s.DeliveryReaches(conv, msg, "TEXT", "FAILED"));
  json d = s.DeliveryOf(conv, msg, "TEXT");
  CHECK(d["reason"].get<std::string>().find("30006") != std::string::npos);
  REQUIRE(testing::WaitUntil([&] {
    return s.Client(client)["phones"][0].value("textingCapable", true) == false;
  }, absl::Seconds(20)));
  // The next message plans no text (the number cannot take one).
  const std::string next = s.Send(conv, "Call us back please")["id"];
  CHECK(s.DeliveryOf(conv, next, "TEXT").is_null());
  CHECK(!s.DeliveryOf(conv, next, "EMAIL").is_null());
}

TEST_CASE("sms: inbound texts land in the client's conversation, or an unknown sender's, and a replay is stored once",
          "[sms]") {
  SmsStack s;
  const std::string client = s.CreateClient("cara", "+15557650003");
  const std::string conv = s.StartChat(client);
  testing::EventStream events(s.http_port, "/v1/events", testing::Bearer(s.token));
  REQUIRE(events.status() == 200);
  REQUIRE(events.Next(10000));  // snapshot

  json in = s.Inbound("+15557650003", "Is Rex OK after surgery?");
  CHECK(in["http_status"] == 200);
  CHECK(in["body"].get<std::string>().find("<Response/>") != std::string::npos);
  json msgs = s.Messages(conv);
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0]["text"] == "Is Rex OK after surgery?");
  CHECK(msgs[0]["author"] == "CLIENT");
  CHECK(msgs[0]["authorId"] == client);
  CHECK(msgs[0]["receivedVia"] == "TEXT");
  CHECK(s.Conversation(conv)["staffUnread"] == 1);
  auto created = events.NextOf("message.created", 10000);
  REQUIRE(created);
  CHECK(created->data["message"]["text"] == "Is Rex OK after surgery?");
  CHECK(created->data["message"]["conversationId"] == conv);

  // From a number nobody has: an unknown sender's conversation, reused for their next text.
  s.Inbound("+15559990000", "Hi, do you take new patients?");
  s.Inbound("+15559990000", "We have two cats");
  json queue = s.StaffOk("GET", "/v1/conversations")["conversations"];
  json unknown;
  for (const json& c : queue) {
    if (c.value("unknownSender", false)) {
      CHECK(unknown.is_null());  // one conversation for the sender
      unknown = c;
    }
  }
  REQUIRE(!unknown.is_null());
  CHECK(unknown["senderAddress"] == "+15559990000");
  CHECK(unknown.value("clientId", "") == "");
  CHECK(s.Messages(unknown["id"]).size() == 2);
  // Staff link it; the sender's next text lands there, not in a new unknown conversation.
  const std::string newcomer = s.CreateClient("dan", "+15557650009");
  s.StaffOk("POST", "/v1/conversations/" + unknown["id"].get<std::string>() + "/client", {{"clientId", newcomer}});
  s.Inbound("+15559990000", "Thanks!");
  CHECK(s.Messages(unknown["id"]).size() == 3);

  // Twilio retrying the same text (same MessageSid): one message.
  const std::string sid = "SM" + std::string(32, 'a');
  auto first = s.PostSigned("/v1/webhooks/twilio/messages", InboundForm(sid, "+15557650003", "Sent twice"));
  auto again = s.PostSigned("/v1/webhooks/twilio/messages", InboundForm(sid, "+15557650003", "Sent twice"));
  CHECK(first.status == 200);
  CHECK(again.status == 200);
  CHECK(first.header("content-type") == "text/xml");
  CHECK(s.Messages(conv).size() == 2);
  CHECK(s.Sql("SELECT count(*) AS n FROM conversations.inbound_texts WHERE message_sid = $1", {sid})
            .Int(0, "n") == 1);

  // MMS: the media URLs are kept as Twilio sent them and shown in the message.
  vetline::http::FormParams mms = InboundForm("SM" + std::string(32, 'b'), "+15557650003", "Look at his paw");
  mms.erase(std::remove_if(mms.begin(), mms.end(), [](const auto& kv) { return kv.first == "NumMedia"; }),
            mms.end());
  mms.emplace_back("NumMedia", "1");
  mms.emplace_back("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1");
  mms.emplace_back("MediaContentType0", "image/jpeg");
  REQUIRE(s.PostSigned("/v1/webhooks/twilio/messages", mms).status == 200);
  CHECK(s.Messages(conv)[0]["text"] ==
        "Look at his paw\nhttps://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1");

  // Forged, or to a number no clinic has: refused, nothing stored.
  json forged = s.Inbound("+15557650003", "forged", kClinicNumber, /*bad_signature=*/true);
  CHECK(forged["http_status"] == 403);
  auto nobody = s.PostSigned("/v1/webhooks/twilio/messages",
                             [&] {
                               auto f = InboundForm("SM" + std::string(32, 'c'), "+15557650003", "hello?");
                               for (auto& kv : f) if (kv.first == "To") kv.second = "+15550009999";
                               return f;
                             }());
  CHECK(nobody.status == 404);
  CHECK(nobody.json()["error"]["field"] == "To");
  CHECK(s.Messages(conv).size() == 3);
}

TEST_CASE("sms: STOP cancels queued texts and turns text off, START turns it on, HELP answers as the clinic",
          "[sms]") {
  SmsStack s;
  const std::string client = s.CreateClient("eva", "+15557650004");
  const std::string conv = s.StartChat(client);
  // The stand-in is down: the text waits in the queue for its next attempt.
  REQUIRE(testing::HttpClient(s.sim.port()).Post("/_sim/down?seconds=600", "").status == 200);
  const std::string waiting = s.Send(conv, "Vaccination reminder")["id"];
  REQUIRE(testing::WaitUntil([&] { return s.DeliveryOf(conv, waiting, "TEXT")["attempts"] >= 1; },
                             absl::Seconds(20)));
  CHECK(s.DeliveryOf(conv, waiting, "TEXT")["state"] == "QUEUED");

  json stop = s.Inbound("+15557650004", "Stop");
  CHECK(stop["http_status"] == 200);
  CHECK(stop["body"].get<std::string>().find("<Message>Maple Vets: you will get no more texts") !=
        std::string::npos);
  json cancelled = s.DeliveryOf(conv, waiting, "TEXT");
  CHECK(cancelled["state"] == "CANCELLED");
  CHECK(cancelled["reason"] == "the client texted STOP");
  // The STOP itself is in the conversation for staff.
  CHECK(s.Messages(conv)[0]["text"] == "Stop");
  // The next staff message plans no text; email still goes.
  const std::string after = s.Send(conv, "Please call us")["id"];
  CHECK(s.DeliveryOf(conv, after, "TEXT").is_null());
  CHECK(!s.DeliveryOf(conv, after, "EMAIL").is_null());
  REQUIRE(testing::WaitUntil([&] {
    return s.Client(client)["contactOptions"].value("textEnabled", true) == false;
  }, absl::Seconds(20)));
  // Even a text queued behind planning's back (a staff retry, a race with the STOP) is
  // not sent: the worker cancels it.
  REQUIRE(testing::HttpClient(s.sim.port()).Post("/_sim/down?seconds=0", "").status == 200);
  s.Sql("INSERT INTO conversations.deliveries (clinic_id, message_id, channel, destination, state) "
        "VALUES ($1, $2, 'text', '+15557650004', 'queued')", {s.clinic_id, after});
  REQUIRE(s.DeliveryReaches(conv, after, "TEXT", "CANCELLED"));
  CHECK(s.SimMessages().empty());

  json help = s.Inbound("+15557650004", "help");
  CHECK(help["body"].get<std::string>().find("Maple Vets") != std::string::npos);
  CHECK(help["body"].get<std::string>().find("+15551230000") != std::string::npos);

  json start = s.Inbound("+15557650004", "START");
  CHECK(start["body"].get<std::string>().find("Maple Vets: you will get our texts again") != std::string::npos);
  REQUIRE(testing::WaitUntil([&] {
    return s.Client(client)["contactOptions"].value("textEnabled", false) == true;
  }, absl::Seconds(20)));
  const std::string back = s.Send(conv, "Welcome back")["id"];
  CHECK(!s.DeliveryOf(conv, back, "TEXT").is_null());
  REQUIRE(testing::WaitUntil([&] { return s.SimMessages().size() == 1; }, absl::Seconds(20)));
  CHECK(s.SimMessages()[0]["body"] == "Welcome back");
}

TEST_CASE("sms: keyword answers are short, carry the clinic's name and are valid TwiML", "[sms]") {
  using channels::SmsKeyword;
  const std::string help = conversations::KeywordReply(SmsKeyword::kHelp, "Paws & Claws", "+15551230000");
  CHECK(help.find("Paws & Claws") == 0);
  CHECK(help.find("+15551230000") != std::string::npos);
  CHECK(help.size() <= 160);  // one SMS segment
  CHECK(conversations::KeywordReply(SmsKeyword::kOptOut, "", "").find("Your veterinary clinic") == 0);
  CHECK(conversations::KeywordReply(SmsKeyword::kNone, "Maple", "+1555").empty());
  CHECK(conversations::TwiML("") == "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>");
  CHECK(conversations::TwiML("Paws & <Claws>") ==
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>Paws &amp; &lt;Claws&gt;"
        "</Message></Response>");
  channels::TwilioInboundText mms{.body = "", .media_urls = {"https://m/1", "https://m/2"}};
  CHECK(conversations::InboundMessageText(mms) == "https://m/1\nhttps://m/2");
}
