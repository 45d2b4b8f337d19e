// Video chat inside conversations and push registration, through the real gateway with
// every service running (tests/support/edge_stack): the invitation reaches the client's
// portal, text and email with a join link that media accepts; the call's end becomes one
// call-record system message (also after a feed replay and a restart) heard over
// /v1/events; a registered push subscription receives a real Web Push, decrypted by an
// independent implementation (tests/support/webpush_receiver.py).
#include <catch2/catch.hpp>

#include <cctype>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "libs/core/status.h"
#include "libs/pg/pg.h"
#include "libs/testing/wait.h"
#include "libs/core/time.h"
#include "nlohmann/json.hpp"
#include "services/conversations/call_records.h"
#include "services/conversations/feed_events.h"
#include "services/conversations/tests/inbox_fixture.h"
#include "services/conversations/channels/web_push.h"
#include "tests/support/edge_stack.h"
#include "tests/support/http_client.h"
#include "tests/support/principals.h"
#include "tests/support/smtp_sink.h"
#include "tests/support/twilio_sim_process.h"
#include "tests/support/webpush_receiver.h"

using namespace vetline;
using json = nlohmann::json;
using testing::Bearer;
using testing::EdgeStack;
using testing::HttpResponse;
namespace cv1 = vetline::conversations::v1;

namespace {

constexpr char kPassword[] = "correct horse battery";
constexpr char kClinicNumber[] = "+15551230000";

json Must(const HttpResponse& r, int status = 200) {
  INFO(r.body);
  REQUIRE(r.status == status);
  return r.json();
}

// Quoted-printable as an email's text part may carry it: soft breaks and =XX escapes.
std::string DecodeQuotedPrintable(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '=' && i + 2 < in.size() && in[i + 1] == '\r' && in[i + 2] == '\n') {
      i += 2;
    } else if (in[i] == '=' && i + 1 < in.size() && in[i + 1] == '\n') {
      i += 1;
    } else if (in[i] == '=' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(in.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

// A clinic with a client (texting number, email), the client's portal account signed in,
// and their conversation.
struct Clinic {
  EdgeStack::Clinic clinic;
  std::string client_id, portal_token, conversation_id;
};

Clinic MakeClinic(EdgeStack& stack, const std::string& domain) {
  Clinic c;
  c.clinic = stack.CreateClinic("Maple Vets", "admin@" + domain);
  auto http = stack.Client();
  const auto staff = Bearer(c.clinic.token);
  json client = Must(http.Post("/v1/clients",
                               json{{"firstName", "Pat"},
                                    {"lastName", "Lee"},
                                    {"phones", {{{"number", "+13125550100"}, {"type", "MOBILE"},
                                                 {"textingCapable", true}, {"primary", true}}}},
                                    {"emails", {{{"address", "pat@" + domain}, {"primary", true}}}}}
                                   .dump(),
                               staff));
  c.client_id = client["id"];
  json prospect = Must(http.Post("/v1/portal/signup",
                                 json{{"clinicId", c.clinic.id}, {"email", "owner@" + domain},
                                      {"name", "Pat"}, {"password", kPassword}}
                                     .dump()));
  Must(http.Post("/v1/prospects/" + prospect["id"].get<std::string>() + "/link",
                 json{{"clientId", c.client_id}}.dump(), staff));
  c.portal_token = Must(http.Post("/v1/portal/login", json{{"clinicId", c.clinic.id},
                                                           {"email", "owner@" + domain},
                                                           {"password", kPassword}}
                                                          .dump()))["token"];
  c.conversation_id =
      Must(http.Post("/v1/clients/" + c.client_id + "/conversations", "{}", staff))["id"];
  return c;
}

std::shared_ptr<pg::Pool> Db(EdgeStack& stack) {
  return pg::Pool::Create({.conninfo = stack.conninfo(), .size = 1, .name = "video-call-test"}).value();
}

absl::Status Sql(pg::Pool& db, const std::string& sql) {
  return db.WithSession([&](pg::Session& s) { return s.ExecRaw(sql).status(); });
}

int64_t Count(pg::Pool& db, const std::string& sql) {
  int64_t n = -1;
  REQUIRE(db.WithSession([&](pg::Session& s) -> absl::Status {
              VL_ASSIGN_OR_RETURN(pg::Result r, s.ExecRaw(sql));
              n = r.Int(0, "n");
              return absl::OkStatus();
            }).ok());
  return n;
}

}  // namespace

TEST_CASE("video chat: the invitation reaches the portal and text and email with a join link media "
          "accepts and the call's end is recorded once",
          "[conversations][video]") {
  testing::SmtpSink smtp(VETLINE_SOURCE_DIR);
  REQUIRE(smtp.ready());
  testing::TwilioSimProcess sim(TWILIO_SIM_BINARY);
  REQUIRE(sim.ready());
  testing::EdgeStackOptions options;
  options.delivery.twilio_base_url = "http://127.0.0.1:" + std::to_string(sim.port());
  options.delivery.twilio_account_sid = testing::kTwilioSimAccountSid;
  options.delivery.twilio_auth_token = testing::kTwilioSimAuthToken;
  options.delivery.smtp_url = smtp.Url();
  options.delivery.options.email_from = "clinic@maple.example";
  options.delivery.workers = 1;
  EdgeStack stack(options);
  Clinic c = MakeClinic(stack, "maple.example");
  auto db = Db(stack);
  REQUIRE(Sql(*db, "UPDATE conversations.clinics SET sms_from_number = '" + std::string(kClinicNumber) + "'").ok());
  auto http = stack.Client();
  const auto staff = Bearer(c.clinic.token);
  const auto portal = Bearer(c.portal_token);

  // The client's portal listens for new messages.
  testing::EventStream events(stack.http_port(), "/v1/events", portal);
  REQUIRE(events.status() == 200);
  REQUIRE(events.NextOf("snapshot", 10000));

  json started = Must(http.Post("/v1/conversations/" + c.conversation_id + "/video-call",
                                json{{"text", "Time for Bella's check-up."}}.dump(), staff));
  const std::string call_id = started["callId"];
  const json& sent = started["message"];
  REQUIRE(sent["attachments"].size() == 1);
  const std::string join_url = sent["attachments"][0]["videoCall"]["joinUrl"];
  CHECK(sent["attachments"][0]["videoCall"]["callId"] == call_id);
  CHECK(absl::StrContains(sent["text"].get<std::string>(), join_url));
  CHECK(started["conversation"]["id"] == c.conversation_id);

  // The portal shows the invitation with the client's join link; no delivery details.
  json listed = Must(http.Get("/v1/conversations/" + c.conversation_id + "/messages", portal));
  REQUIRE(listed["messages"].size() == 1);
  const json& seen = listed["messages"][0];
  CHECK(seen["author"] == "STAFF");
  CHECK(seen["attachments"][0]["videoCall"]["joinUrl"] == join_url);
  CHECK(seen.value("deliveries", json::array()).empty());
  auto created = events.NextOf("message.created", 10000);
  REQUIRE(created);
  CHECK(created->data["message"]["attachments"][0]["videoCall"]["callId"] == call_id);

  // The link is the client's own: media lets them join (into the waiting room) with it.
  const size_t at = join_url.find("?invitation=");
  REQUIRE(at != std::string::npos);
  const std::string invitation = join_url.substr(at + std::string("?invitation=").size());
  json joined = Must(http.Post("/v1/calls/" + call_id + "/join",
                               json{{"invitationToken", invitation}, {"displayName", "Pat"}}.dump()));
  CHECK(joined["participant"]["role"] == "client");
  CHECK(joined["participant"]["state"] == "waiting");

  // Text and email carry the link (the Twilio stand-in and the SMTP server got them).
  testing::HttpClient twilio(sim.port());
  json texts;
  REQUIRE(testing::WaitUntil([&] {
    texts = json::parse(twilio.Get("/_sim/messages").body)["messages"];
    return texts.size() == 1;
  }, absl::Seconds(20)));
  CHECK(texts[0]["to"] == "+13125550100");
  CHECK(texts[0]["from"] == kClinicNumber);
  CHECK(absl::StrContains(texts[0]["body"].get<std::string>(), join_url));
  REQUIRE(testing::WaitUntil([&] { return smtp.Messages().size() == 1; }, absl::Seconds(20)));
  const std::string mail = DecodeQuotedPrintable(testing::SmtpSink::Read(smtp.Messages()[0]));
  CHECK(absl::StrContains(mail, "To: pat@maple.example"));
  CHECK(absl::StrContains(mail, join_url));

  // The host (the staff user who clicked) admits the client; the call goes live, then ends.
  json host = Must(http.Post("/v1/calls/" + call_id + "/host-join", json{{"displayName", "Dr Lee"}}.dump(), staff));
  Must(http.Post("/v1/calls/" + call_id + "/participants/" +
                     joined["participant"]["id"].get<std::string>() + "/admit",
                 "", staff));
  Must(http.Post("/v1/calls/" + call_id + "/end", "", staff));

  // The record arrives as a system message, over /v1/events too.
  auto record_event = events.NextOf("message.created", 20000);
  REQUIRE(record_event);
  const json& record_msg = record_event->data["message"];
  CHECK(record_msg["author"] == "SYSTEM");
  REQUIRE(record_msg["attachments"].size() == 1);
  const json& record = record_msg["attachments"][0]["callRecord"];
  CHECK(record["callId"] == call_id);
  CHECK(record.contains("startTime"));
  // In the order they joined: the client waited first, then the host came.
  CHECK(record["participants"] == json::array({"Pat", "Dr Lee"}));
  CHECK(record.value("recordingUrl", "").empty());  // not recorded
  CHECK_FALSE(record.value("recorded", false));
  CHECK(absl::StrContains(record_msg["text"].get<std::string>(), "with Pat, Dr Lee"));
  json staff_view = Must(http.Get("/v1/conversations/" + c.conversation_id + "/messages", staff));
  REQUIRE(staff_view["messages"].size() == 2);
  CHECK(staff_view["messages"][0]["attachments"][0]["callRecord"]["callId"] == call_id);
  CHECK(staff_view["messages"][0].value("deliveries", json::array()).empty());  // a record is not sent out
  // The invitation went out by text and email (staff see the deliveries).
  CHECK(staff_view["messages"][1]["deliveries"].size() == 2);

  // Replaying media's feed from the start, across a restart: still one record.
  REQUIRE(Sql(*db, "UPDATE conversations.outbox_cursors SET last_id = 0 WHERE source = 'media'").ok());
  stack.RestartConversations();
  REQUIRE(testing::WaitUntil([&] {
    return Count(*db, "SELECT last_id AS n FROM conversations.outbox_cursors WHERE source = 'media'") > 0;
  }, absl::Seconds(20)));
  CHECK(Count(*db, "SELECT count(*) AS n FROM conversations.attachments WHERE kind = 'call_record'") == 1);
  CHECK(Count(*db, "SELECT count(*) AS n FROM conversations.messages WHERE author = 'system'") == 1);
}

TEST_CASE("video chat: from a client profile it uses the client's open conversation and bad input "
          "names its field",
          "[conversations][video]") {
  EdgeStack stack;
  Clinic c = MakeClinic(stack, "birch.example");
  auto http = stack.Client();
  const auto staff = Bearer(c.clinic.token);
  json started = Must(http.Post("/v1/clients/" + c.client_id + "/video-call", "{}", staff));
  CHECK(started["conversation"]["id"] == c.conversation_id);  // start-chat semantics
  CHECK(started["message"]["attachments"][0]["videoCall"]["callId"] == started["callId"]);
  // The client cannot start calls, and bad input names its field.
  CHECK(http.Post("/v1/conversations/" + c.conversation_id + "/video-call", "{}", Bearer(c.portal_token)).status == 403);
  HttpResponse bad = http.Post("/v1/conversations/" + c.conversation_id + "/video-call",
                               json{{"text", std::string(9000, 'x')}}.dump(), staff);
  CHECK(bad.status == 400);
  CHECK(bad.json()["error"]["field"] == "text");
  HttpResponse missing = http.Post("/v1/conversations/00000000-0000-4000-8000-000000000000/video-call", "{}", staff);
  CHECK(missing.status == 404);
}

TEST_CASE("push: a client registers a validated subscription once per endpoint and staff cannot "
          "and the next staff message arrives as a real Web Push",
          "[conversations][push]") {
  testing::WebPushReceiver receiver(VETLINE_SOURCE_DIR);
  REQUIRE(receiver.ready());
  auto keys = conversations::channels::GenerateVapidKeys();
  REQUIRE(keys.ok());
  testing::EdgeStackOptions options;
  options.delivery.vapid_subject = "mailto:ops@vetline.example";
  options.delivery.vapid_public_key = keys->public_key;
  options.delivery.vapid_private_key = keys->private_key;
  options.delivery.push_loopback_endpoints = true;
  options.delivery.workers = 1;
  EdgeStack stack(options);
  Clinic c = MakeClinic(stack, "cedar.example");
  auto db = Db(stack);
  auto http = stack.Client();
  const auto staff = Bearer(c.clinic.token);
  const auto portal = Bearer(c.portal_token);

  // Anyone may read the key the portal subscribes with.
  CHECK(Must(http.Get("/v1/push/vapid-public-key"))["publicKey"] == keys->public_key);

  testing::HttpClient push_service(receiver.port());
  json sub = Must(push_service.Post("/_subscribe", "{}"), 200);
  const std::string endpoint = sub["endpoint"];
  const json good = {{"endpoint", endpoint}, {"keys", sub["keys"]}};

  auto field_of = [&](json body) {
    HttpResponse r = http.Post("/v1/push-subscriptions", body.dump(), portal);
    INFO(r.body);
    CHECK(r.status == 400);
    return r.json()["error"]["field"].get<std::string>();
  };
  json b = good;
  b["endpoint"] = "https://169.254.169.254/latest/meta-data";
  CHECK(field_of(b) == "endpoint");
  b["endpoint"] = "http://fcm.googleapis.com/fcm/send/x";
  CHECK(field_of(b) == "endpoint");
  b = good;
  b["keys"]["p256dh"] = absl::WebSafeBase64Escape(std::string(64, '\x04'));
  CHECK(field_of(b) == "keys.p256dh");
  b = good;
  b["keys"]["auth"] = absl::WebSafeBase64Escape(std::string(15, 'a'));
  CHECK(field_of(b) == "keys.auth");
  CHECK(Count(*db, "SELECT count(*) AS n FROM conversations.push_subscriptions") == 0);

  // Staff cannot register for a client: push stays the client's own.
  CHECK(http.Post("/v1/push-subscriptions", good.dump(), staff).status == 403);

  // Staff see on the client profile whether push reaches the client (the clients service
  // follows the conversations outbox).
  auto push_status_becomes = [&](const std::string& status) {
    return testing::WaitUntil([&] {
      HttpResponse r = http.Get("/v1/clients/" + c.client_id, staff);
      return r.status == 200 && r.json()["contactOptions"].value("pushStatus", "") == status;
    }, absl::Seconds(20));
  };
  CHECK(push_status_becomes("PUSH_NOT_INSTALLED"));

  json first = Must(http.Post("/v1/push-subscriptions", good.dump(), portal));
  json again = Must(http.Post("/v1/push-subscriptions", good.dump(), portal));
  CHECK(first["id"] == again["id"]);
  CHECK(Count(*db, "SELECT count(*) AS n FROM conversations.push_subscriptions") == 1);
  CHECK(push_status_becomes("PUSH_ENABLED"));
  // One record for the first subscription, not one per registration.
  CHECK(Count(*db, "SELECT count(*) AS n FROM conversations.outbox WHERE topic = 'push.subscribed'") == 1);

  // The next staff message goes out as a Web Push the receiver decrypts.
  Must(http.Post("/v1/conversations/" + c.conversation_id + "/messages",
                 json{{"text", "Bella's results are in"}}.dump(), staff));
  json received;
  REQUIRE(testing::WaitUntil([&] {
    received = json::parse(push_service.Get("/_received").body);
    return received.size() == 1;
  }, absl::Seconds(20)));
  std::string payload;
  REQUIRE(absl::Base64Unescape(received[0]["payload_b64"].get<std::string>(), &payload));
  json pushed = json::parse(payload);
  CHECK(pushed["body"] == "Bella's results are in");
  CHECK(pushed["conversationId"] == c.conversation_id);

  // Only the client removes it (staff see none: 404, and it stays).
  CHECK(http.Send("DELETE", "/v1/push-subscriptions/" + first["id"].get<std::string>(), "", staff).status == 404);
  CHECK(Count(*db, "SELECT count(*) AS n FROM conversations.push_subscriptions") == 1);
  Must(http.Send("DELETE", "/v1/push-subscriptions/" + first["id"].get<std::string>(), "", portal));
  CHECK(http.Send("DELETE", "/v1/push-subscriptions/" + first["id"].get<std::string>(), "", portal).status == 404);
  CHECK(Count(*db, "SELECT count(*) AS n FROM conversations.push_subscriptions") == 0);
  // The last one gone: the profile shows push not installed again.
  CHECK(push_status_becomes("PUSH_NOT_INSTALLED"));
}

namespace {

// What the consumer announces, as the realtime side would hear it.
struct RecordingAnnouncer : conversations::EventAnnouncer {
  void Announce(const std::vector<conversations::LoggedEvent>& events) override {
    heard.insert(heard.end(), events.begin(), events.end());
  }
  std::vector<conversations::LoggedEvent> heard;
};

std::string CallEnded(const std::string& clinic, const std::string& call, const std::string& conversation) {
  return json{{"callId", call},
              {"clinicId", clinic},
              {"clientId", nullptr},
              {"conversationId", conversation.empty() ? json(nullptr) : json(conversation)},
              {"startTime", "2026-12-01T10:00:00.250000+00:00"},
              {"endTime", "2026-12-01T10:12:05.250000+00:00"},
              {"durationSeconds", 725.0},
              {"participants", {{{"name", "Dr Lee"}, {"role", "host"}},
                                {{"name", "Pat"}, {"role", "client"}},
                                {{"name", "Pat"}, {"role", "client"}}}},
              {"recordingIds", {"7d1e7c1e-9a52-4b8e-8d43-2f7d3c8b1a01"}},
              {"link", "/v1/calls/" + call}}
      .dump();
}

}  // namespace

TEST_CASE("call records: a call.ended record becomes one system message announced only after "
          "commit and a replay adds nothing",
          "[conversations][video]") {
  testing::InboxFixture fx;
  auto clinic = fx.MakeClinic("Maple Vets", "maple.example");
  auto pat = fx.MakeClient(clinic, "Pat", "Lee", "+15557650001", "pat@example.com");
  auto chat = fx.Start(clinic.staff, pat.id());
  conversations::ConversationsRepository repo(fx.pool);
  RecordingAnnouncer announcer;
  conversations::ConsumerEvents events(announcer);
  rpc::ConsumerSpec spec = conversations::FollowCalls(repo, events, "https://vet.example");
  const std::string call = "5b0f8f43-55d4-4c38-9a7e-7d7a3c7e2f10";
  auto handle = [&](const std::string& payload) {
    REQUIRE(fx.pool->Transact([&](pg::Session& s) {
                      REQUIRE(announcer.heard.empty());  // nothing before commit
                      return spec.handle(s, "call.ended", payload);
                    }).ok());
    spec.after_commit();
  };

  handle(CallEnded(clinic.id, call, chat.id()));
  REQUIRE(announcer.heard.size() == 1);
  const auto& e = announcer.heard[0];
  CHECK(e.event.type() == "message.created");
  CHECK_FALSE(e.staff_only);
  CHECK(e.client_id == pat.id());
  const auto& m = e.event.message();
  CHECK(m.author() == cv1::SYSTEM);
  CHECK(m.text() == "Video call, 12 min 5 s, with Dr Lee, Pat (recorded).");
  REQUIRE(m.attachments_size() == 1);
  const auto& record = m.attachments(0).call_record();
  CHECK(record.call_id() == call);
  CHECK(record.duration_seconds() == 725);
  CHECK(record.participants_size() == 2);  // Pat rejoined: one participant
  CHECK(record.recorded());
  CHECK(record.recording_url() == "https://vet.example/v1/recordings/7d1e7c1e-9a52-4b8e-8d43-2f7d3c8b1a01");
  CHECK(absl::ToUnixMillis(FromTimestamp(record.start_time())) == absl::ToUnixMillis(absl::FromUnixSeconds(1796119200)) + 250);
  // The client's view keeps the record, not the recording links (staff download those).
  auto client_view = fx.Messages(testing::ClientPrincipal(clinic.id, pat.id()), chat.id());
  REQUIRE(client_view.size() == 1);
  CHECK(client_view[0].attachments(0).call_record().recording_url().empty());
  CHECK(client_view[0].attachments(0).call_record().participants_size() == 2);

  // The same record again (a replay), a call without a conversation, a conversation that is
  // not there, and a malformed record: nothing more, nothing held back.
  announcer.heard.clear();
  handle(CallEnded(clinic.id, call, chat.id()));
  handle(CallEnded(clinic.id, "6b0f8f43-55d4-4c38-9a7e-7d7a3c7e2f10", ""));
  handle(CallEnded(clinic.id, "7b0f8f43-55d4-4c38-9a7e-7d7a3c7e2f10", "00000000-0000-4000-8000-000000000000"));
  handle("{\"callId\": 7}");
  CHECK(announcer.heard.empty());
  CHECK(fx.Count("SELECT count(*) AS n FROM conversations.messages WHERE author = 'system'") == 1);
}

TEST_CASE("video chat: media unreachable is a clear 503 and nothing is posted", "[conversations][video]") {
  testing::InboxFixture fx;
  auto clinic = fx.MakeClinic("Maple Vets", "maple.example");
  auto pat = fx.MakeClient(clinic, "Pat", "Lee", "+15557650001", "pat@example.com");
  auto chat = fx.Start(clinic.staff, pat.id());
  // A replica whose media service is not there (nothing listens on that port).
  rpc::ServiceEnv env = fx.env;
  env.peers["media"] = "127.0.0.1:" + std::to_string(testing::FreePort());
  auto replica = conversations::Start(env, fx.options).value();
  auto calls = cv1::VideoCallsService::NewStub(rpc::Dial("127.0.0.1:" + std::to_string(replica->server().port())));
  cv1::StartVideoCallRequest req;
  req.set_conversation_id(chat.id());
  cv1::VideoCallStarted out;
  grpc::Status st = calls->StartVideoCall(fx.As(clinic.staff).get(), req, &out);
  CHECK(st.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(st.error_message() == "video calls are unavailable right now; nothing was sent, try again");
  CHECK(fx.Count("SELECT count(*) AS n FROM conversations.messages") == 0);
  CHECK(fx.Count("SELECT count(*) AS n FROM conversations.deliveries") == 0);
}
