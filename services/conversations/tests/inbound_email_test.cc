// Client replies by email, end to end: a staff message goes out through the real SMTP
// stand-in (aiosmtpd), the client's reply to that very email is posted to the gateway's
// inbound webhook as the raw message, and lands in the conversation (quoted history
// trimmed, attachment kept, staff unread, announced). Then what must not land: a wrong
// secret (403, nothing stored), malformed MIME and unknown senders (stored as failed,
// listed to admins), repeats of one Message-ID, attachments of a disallowed type; and
// non-ASCII headers and bodies. Real PostgreSQL, Redis, gRPC and HTTP throughout.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "libs/core/ids.h"
#include "libs/testing/wait.h"
#include "services/conversations/channels/inbound_email.h"
#include "services/conversations/inbound_email_rules.h"
#include "services/conversations/tests/inbox_fixture.h"
#include "services/gateway/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/smtp_sink.h"

using namespace vetline;
using testing::HttpClient;
using testing::HttpResponse;
namespace cv1 = conversations::v1;

namespace {

constexpr char kSecret[] = "inbound-secret-for-tests-0123456789";
constexpr char kReplyDomain[] = "reply.vet.example";
constexpr char kClientEmail[] = "Zoe.Nunez@Example.com";  // the profile's spelling
const std::string kPng = std::string("\x89PNG\r\n\x1A\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0", 29);
const std::string kExe = std::string("MZ\x90\0\x03\0\0\0\x04\0\0\0\xFF\xFF\0\0", 16);

std::string Crlf(std::string s) { return absl::StrReplaceAll(s, {{"\r\n", "\n"}, {"\n", "\r\n"}}); }

// A raw reply: headers, a text/plain part (UTF-8, quoted-printable already applied by the
// caller when wanted) and base64 attachments.
struct Attach {
  std::string type, name, bytes;
};
std::string Reply(const std::string& headers, const std::string& text_headers, const std::string& text,
                  const std::vector<Attach>& attachments = {}) {
  std::string out = absl::StrCat(headers, "MIME-Version: 1.0\n",
                                 "Content-Type: multipart/mixed; boundary=\"b-42\"\n\n--b-42\n", text_headers,
                                 "\n", text, "\n");
  for (const Attach& a : attachments) {
    absl::StrAppend(&out, "--b-42\nContent-Type: ", a.type, "; name=\"", a.name,
                    "\"\nContent-Disposition: attachment; filename=\"", a.name,
                    "\"\nContent-Transfer-Encoding: base64\n\n", absl::Base64Escape(a.bytes), "\n");
  }
  absl::StrAppend(&out, "--b-42--\n");
  return Crlf(out);
}

struct Stack {
  Stack() : sink(VETLINE_SOURCE_DIR), fx(Options(sink), /*send=*/true) {
    REQUIRE(sink.ready());
    gateway::GatewayOptions o;
    o.http_address = "127.0.0.1:0";
    const std::string conversations = "127.0.0.1:" + std::to_string(fx.service->server().port());
    o.backends = {{"identity", fx.identity->address()}, {"conversations", conversations}};
    o.internal_secret = testing::kTestInternalSecret;
    o.registry = std::make_shared<prometheus::Registry>();
    o.proto_files = {"vetline/identity/v1/identity.proto", "vetline/conversations/v1/conversations.proto",
                     "vetline/conversations/v1/events.proto", "vetline/conversations/v1/inbound_email.proto"};
    gw = gateway::Gateway::Start(o).value();
    clinic = fx.MakeClinic("Maple Vet", "maple.example");
    client = fx.MakeClient(clinic, "Zoë", "Núñez", "", kClientEmail);
    conversation = fx.Start(clinic.staff, client.id()).id();
    admin_token = Login("admin@maple.example");
    staff_token = Login("staff@maple.example");
  }
  static conversations::ConversationsOptions Options(const testing::SmtpSink& sink) {
    conversations::ConversationsOptions o;
    o.inbound_email_secret = kSecret;
    o.delivery.smtp_url = sink.Url();
    o.delivery.workers = 1;
    o.delivery.options.reply_domain = kReplyDomain;
    o.delivery.options.email_from = "hello@maple.example";
    return o;
  }
  std::string Login(const std::string& email) {
    auto r = Http().Post("/v1/auth/login",
                         nlohmann::json{{"email", email}, {"password", testing::kInboxPassword}}.dump());
    REQUIRE(r.status == 200);
    return r.json()["token"];
  }
  HttpClient Http() const { return HttpClient(gw->port()); }
  HttpResponse Post(const std::string& raw, const std::string& secret = kSecret) {
    std::map<std::string, std::string> h = {{"Content-Type", "message/rfc822"}};
    if (!secret.empty()) h["Authorization"] = "Bearer " + secret;
    return Http().Post("/v1/webhooks/email/inbound", raw, h);
  }
  nlohmann::json Failed(const std::string& token) {
    auto r = Http().Get("/v1/inbound-email/failed", testing::Bearer(token));
    INFO(r.body);
    REQUIRE(r.status == 200);
    return r.json().value("items", nlohmann::json::array());
  }
  std::string Headers(const std::string& from, const std::string& message_id, const std::string& subject,
                      const std::string& to = "") const {
    return absl::StrCat("From: ", from, "\nTo: ", to.empty() ? ReplyAddress() : to, "\nSubject: ", subject,
                        "\nMessage-ID: <", message_id, ">\nDate: Tue, 1 Dec 2026 10:42:17 +0100\n");
  }
  std::string ReplyAddress() const { return absl::StrCat("reply+", conversation, "@", kReplyDomain); }
  std::vector<cv1::Message> ClientMessages() {
    std::vector<cv1::Message> out;
    for (auto& m : fx.Messages(clinic.staff, conversation)) {
      if (m.author() == cv1::CLIENT) out.push_back(m);
    }
    return out;
  }
  int64_t Items() { return fx.Count("SELECT count(*) AS n FROM conversations.inbound_items"); }

  testing::SmtpSink sink;
  testing::InboxFixture fx;
  std::unique_ptr<gateway::Gateway> gw;
  testing::InboxFixture::Clinic clinic;
  clients::v1::Client client;
  std::string conversation, admin_token, staff_token;
};

const std::string kPlainUtf8 = "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n";

}  // namespace

TEST_CASE("inbound email: the client's reply to a staff email lands in the conversation with its photo",
          "[inbound_email]") {
  Stack s;
  s.fx.MustSend(s.clinic.staff, s.conversation, "Luna's results are all normal. Can she eat tonight?");
  REQUIRE(testing::WaitUntil([&] { return s.sink.Messages().size() == 1; }, absl::Seconds(20)));
  const std::string sent = testing::SmtpSink::Read(s.sink.Messages()[0]);
  // The email as the client's mail program reads it: its Reply-To is where the answer goes.
  std::vector<std::string> reply_to = conversations::inbound::ScanReplyAddresses(sent);
  REQUIRE(reply_to.size() == 1);
  CHECK(reply_to[0] == s.ReplyAddress());
  auto original = conversations::channels::ParseInboundEmail(sent);
  REQUIRE(original.ok());
  REQUIRE(original->text.find("Luna's results are all normal.") != std::string::npos);
  std::string quoted;
  for (absl::string_view line : absl::StrSplit(original->text, '\n')) absl::StrAppend(&quoted, "> ", line, "\n");

  // Staff watch the clinic's events while the reply comes in.
  testing::EventStream events(s.gw->port(), "/v1/events", testing::Bearer(s.staff_token));
  REQUIRE(events.status() == 200);
  REQUIRE(events.NextOf("snapshot", 10000));
  const std::string raw = Reply(
      absl::StrCat(s.Headers("Zoë Núñez <zoe.nunez@example.com>", "CAB+reply-1@mail.example.com",
                             "Re: " + original->subject, reply_to[0]),
                   "In-Reply-To: <", original->message_id, ">\nReferences: <", original->message_id, ">\n"),
      kPlainUtf8,
      absl::StrCat("Merci! She ate well 🐱\n\nOn Tue, Dec 1, 2026 at 10:00 AM Maple Vet <hello@maple.example> wrote:\n\n",
                   quoted),
      {{"image/png", "luna.png", kPng}});
  HttpResponse r = s.Post(raw);
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.json()["conversationId"] == s.conversation);
  CHECK(r.json().value("duplicate", false) == false);
  CHECK(r.json()["rejectedAttachments"].empty());

  std::vector<cv1::Message> from_client = s.ClientMessages();
  REQUIRE(from_client.size() == 1);
  const cv1::Message& m = from_client[0];
  CHECK(m.id() == r.json()["messageId"]);
  CHECK(m.text() == "Merci! She ate well 🐱");  // the quoted history is gone
  CHECK(m.author_id() == s.client.id());
  CHECK(m.received_via() == cv1::EMAIL);
  REQUIRE(m.attachments_size() == 1);
  const cv1::FileAttachment& photo = m.attachments(0).file();
  CHECK(photo.filename() == "luna.png");
  CHECK(photo.content_type() == "image/png");
  CHECK(photo.size_bytes() == static_cast<int64_t>(kPng.size()));
  // The photo is in the blob store: its signed link gives the very bytes back.
  const std::string link = photo.download_url().substr(photo.download_url().find("/v1/files/"));
  HttpResponse download = s.Http().Get(link);
  CHECK(download.status == 200);
  CHECK(download.body == kPng);
  CHECK(s.fx.Get(s.clinic.staff, s.conversation).staff_unread() == 1);

  auto created = events.NextOf("message.created", 10000);
  REQUIRE(created);
  CHECK(created->data["message"]["id"] == m.id());
  CHECK(created->data["message"]["author"] == "CLIENT");
  CHECK(created->data["conversation"]["staffUnread"] == 1);
}

TEST_CASE("inbound email: a missing or wrong secret is 403 and nothing is stored", "[inbound_email]") {
  Stack s;
  const std::string raw = Reply(s.Headers(kClientEmail, "x-1@example.com", "Hi"), kPlainUtf8, "Hello");
  for (const std::string& secret : {std::string(""), std::string("not-the-secret"), std::string(kSecret) + "x"}) {
    HttpResponse r = s.Post(raw, secret);
    INFO(r.body);
    CHECK(r.status == 403);
    CHECK(r.json()["error"]["code"] == "PERMISSION_DENIED");
  }
  // Basic credentials with the secret as the password, for providers that only take a URL.
  HttpResponse basic = s.Http().Post("/v1/webhooks/email/inbound", raw,
                                     {{"Content-Type", "message/rfc822"},
                                      {"Authorization", "Basic " + absl::Base64Escape(std::string("inbound:wrong"))}});
  CHECK(basic.status == 403);
  CHECK(s.Items() == 0);
  CHECK(s.ClientMessages().empty());
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path(s.fx.options.blob_dir) / "conversations" / "inbound"));
  HttpResponse ok = s.Http().Post("/v1/webhooks/email/inbound", raw,
                                  {{"Content-Type", "message/rfc822"},
                                   {"Authorization", "Basic " + absl::Base64Escape("inbound:" + std::string(kSecret))}});
  CHECK(ok.status == 200);
}

TEST_CASE("inbound email: malformed mail is stored as failed, answered 4xx, and listed to admins",
          "[inbound_email]") {
  Stack s;
  // No sender: GMime reads it, but it cannot be a client's reply. The reply address still
  // files it under the clinic.
  const std::string no_from = Crlf(absl::StrCat("To: ", s.ReplyAddress(), "\nSubject: =?UTF-8?Q?R=C3=A9sultats?=\n",
                                                "Message-ID: <broken-1@example.com>\n\nwho am I?\n"));
  HttpResponse r = s.Post(no_from);
  INFO(r.body);
  CHECK(r.status == 400);
  CHECK(r.json()["error"]["field"] == "raw");
  CHECK(std::string(r.json()["error"]["message"]).find("kept as failed inbound item") != std::string::npos);
  // Not an email at all: kept too, under no clinic (nothing in it names one).
  HttpResponse garbage = s.Post(std::string("\x00\x01\x02 binary junk", 15));
  CHECK(garbage.status == 400);
  CHECK(s.Items() == 2);
  CHECK(s.fx.Count("SELECT count(*) AS n FROM conversations.inbound_items WHERE clinic_id IS NULL") == 1);
  CHECK(s.ClientMessages().empty());
  // Nothing lost: the raw bytes are in the blob store.
  int raw_files = 0;
  for (const auto& e : std::filesystem::directory_iterator(
           std::filesystem::path(s.fx.options.blob_dir) / "conversations" / "inbound")) {
    raw_files += e.path().extension() == ".eml";
  }
  CHECK(raw_files == 2);

  nlohmann::json items = s.Failed(s.admin_token);
  REQUIRE(items.size() == 1);
  CHECK(items[0]["state"] == "INBOUND_FAILED");
  CHECK(items[0]["conversationId"] == s.conversation);
  CHECK(items[0]["recipient"] == s.ReplyAddress());
  CHECK(std::string(items[0]["reason"]).find("no sender") != std::string::npos);
  CHECK(std::stoll(std::string(items[0]["sizeBytes"])) == static_cast<int64_t>(no_from.size()));
  // Staff who are not admins may not list them.
  CHECK(s.Http().Get("/v1/inbound-email/failed", testing::Bearer(s.staff_token)).status == 403);
  // The provider's retry of the same broken mail gets the same answer and adds nothing.
  HttpResponse again = s.Post(no_from);
  CHECK(again.status == 400);
  CHECK(again.json()["error"]["message"] == r.json()["error"]["message"]);
  CHECK(s.Items() == 2);
}

TEST_CASE("inbound email: unknown senders, conversations and domains are kept as failed, never posted",
          "[inbound_email]") {
  Stack s;
  HttpResponse stranger = s.Post(Reply(s.Headers("someone@else.example", "u-1@else.example", "=?iso-8859-1?Q?Gr=FC=DFe?="),
                                       kPlainUtf8, "I am not the client"));
  INFO(stranger.body);
  CHECK(stranger.status == 400);
  CHECK(stranger.json()["error"]["field"] == "raw");
  CHECK(stranger.json()["error"]["code"] == "FAILED_PRECONDITION");
  const std::string unknown_conversation = absl::StrCat("reply+", NewUuid(), "@", kReplyDomain);
  HttpResponse nowhere = s.Post(
      Reply(s.Headers(kClientEmail, "u-2@example.com", "Hi", unknown_conversation), kPlainUtf8, "Hello"));
  CHECK(nowhere.status == 404);
  CHECK(nowhere.json()["error"]["field"] == "raw");
  CHECK(nowhere.json()["error"]["code"] == "NOT_FOUND");
  HttpResponse other_domain = s.Post(Reply(
      s.Headers(kClientEmail, "u-3@example.com", "Hi", absl::StrCat("reply+", s.conversation, "@elsewhere.example")),
      kPlainUtf8, "Hello"));
  CHECK(other_domain.status == 404);
  CHECK(std::string(other_domain.json()["error"]["message"]).find("another domain") != std::string::npos);
  CHECK(s.ClientMessages().empty());
  CHECK(s.Items() == 3);
  nlohmann::json items = s.Failed(s.admin_token);  // only the one that names this clinic
  REQUIRE(items.size() == 1);
  CHECK(items[0]["fromAddress"] == "someone@else.example");
  CHECK(items[0]["subject"] == "Grüße");
  CHECK(std::string(items[0]["reason"]).find("not one of the client's email addresses") != std::string::npos);
}

TEST_CASE("inbound email: the same Message-ID posted twice is one message", "[inbound_email]") {
  Stack s;
  const std::string raw = Reply(s.Headers(kClientEmail, "dup-1@example.com", "Re: Luna"), kPlainUtf8,
                                "See you Tuesday", {{"image/png", "x.png", kPng}});
  HttpResponse first = s.Post(raw);
  INFO(first.body);
  REQUIRE(first.status == 200);
  // A retry, even re-encoded by the provider (LF line ends), is recognised by Message-ID.
  HttpResponse second = s.Post(absl::StrReplaceAll(raw, {{"\r\n", "\n"}}));
  REQUIRE(second.status == 200);
  CHECK(second.json()["duplicate"] == true);
  CHECK(second.json()["messageId"] == first.json()["messageId"]);
  CHECK(s.ClientMessages().size() == 1);
  CHECK(s.Items() == 1);
  CHECK(s.fx.Count("SELECT count(*) AS n FROM conversations.files") == 1);
  CHECK(s.fx.Get(s.clinic.staff, s.conversation).staff_unread() == 1);

  // A provider posting one email from several workers at once: still one message.
  const std::string raced = Reply(s.Headers(kClientEmail, "race-1@example.com", "Re: Luna"), kPlainUtf8, "Racing");
  std::vector<HttpResponse> answers(4);
  std::vector<std::thread> posters;
  for (auto& a : answers) posters.emplace_back([&s, &raced, &a] { a = s.Post(raced); });
  for (auto& t : posters) t.join();
  int fresh = 0;
  for (const auto& a : answers) {
    INFO(a.body);
    CHECK(a.status == 200);
    fresh += a.json().value("duplicate", true) ? 0 : 1;
    CHECK(a.json()["messageId"] == answers[0].json()["messageId"]);
  }
  CHECK(fresh == 1);
  CHECK(s.ClientMessages().size() == 2);
  CHECK(s.Items() == 2);
}

TEST_CASE("inbound email: non-ASCII subjects and bodies in Latin-1, quoted-printable and base64 come out as UTF-8",
          "[inbound_email]") {
  Stack s;
  // An Outlook-style reply: encoded-word sender and subject, Latin-1 quoted-printable body.
  HttpResponse latin = s.Post(Reply(
      s.Headers("=?iso-8859-1?Q?Zo=EB_N=FA=F1ez?= <zoe.nunez@example.com>", "l1@example.com",
                "=?iso-8859-1?Q?AW=3A_Gr=FC=DFe_aus_M=FCnchen?="),
      "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n",
      "Sch=F6ne Gr=FC=DFe, 5 =80 bezahlt.\n\n-----Original Message-----\nvorher"));
  INFO(latin.body);
  REQUIRE(latin.status == 200);
  // Unlabelled 8-bit Latin-1 and a base64 UTF-8 body.
  HttpResponse unlabelled = s.Post(Reply(s.Headers(kClientEmail, "l2@example.com", "Re: Luna"),
                                         "Content-Type: text/plain\nContent-Transfer-Encoding: 8bit\n",
                                         "Bell\xE9 va tr\xE8s bien"));
  REQUIRE(unlabelled.status == 200);
  HttpResponse b64 = s.Post(Reply(s.Headers(kClientEmail, "l3@example.com", "=?UTF-8?B?0J/RgNC40LLQtdGC?="),
                                  "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: base64\n",
                                  absl::Base64Escape("Привет, доктор! 🐶")));
  REQUIRE(b64.status == 200);
  std::vector<std::string> texts;
  for (const auto& m : s.ClientMessages()) texts.push_back(m.text());
  std::sort(texts.begin(), texts.end());
  CHECK(texts == std::vector<std::string>{"Bellé va très bien", "Schöne Grüße, 5 € bezahlt.", "Привет, доктор! 🐶"});
}

TEST_CASE("inbound email: an attachment of a disallowed type is listed as rejected while the text is kept",
          "[inbound_email]") {
  Stack s;
  HttpResponse r = s.Post(Reply(s.Headers(kClientEmail, "exe-1@example.com", "Re: invoice"), kPlainUtf8,
                                "Here is the invoice and a photo",
                                {{"application/pdf", "invoice.pdf", kExe}, {"image/png", "rex.png", kPng}}));
  INFO(r.body);
  REQUIRE(r.status == 200);
  REQUIRE(r.json()["rejectedAttachments"].size() == 1);
  CHECK(r.json()["rejectedAttachments"][0]["filename"] == "invoice.pdf");
  CHECK(std::string(r.json()["rejectedAttachments"][0]["reason"]).find("not allowed") != std::string::npos);
  std::vector<cv1::Message> from_client = s.ClientMessages();
  REQUIRE(from_client.size() == 1);
  CHECK(from_client[0].text() == "Here is the invoice and a photo");
  REQUIRE(from_client[0].attachments_size() == 1);
  CHECK(from_client[0].attachments(0).file().filename() == "rex.png");
  CHECK(s.fx.Count("SELECT count(*) AS n FROM conversations.files") == 1);
}

TEST_CASE("inbound email rules: secrets, reply addresses, dedup keys", "[inbound_email]") {
  namespace in = conversations::inbound;
  CHECK(in::SecretMatches("Bearer s3cret-value", "s3cret-value"));
  CHECK(in::SecretMatches("bearer   s3cret-value ", "s3cret-value"));
  CHECK(in::SecretMatches("Basic " + absl::Base64Escape(std::string("any:s3cret-value")), "s3cret-value"));
  CHECK_FALSE(in::SecretMatches("Bearer s3cret-valu", "s3cret-value"));
  CHECK_FALSE(in::SecretMatches("s3cret-value", "s3cret-value"));
  CHECK_FALSE(in::SecretMatches("Bearer ", ""));
  CHECK_FALSE(in::SecretMatches("Basic !!!", "s3cret-value"));
  const std::string id = "0b6f3e2a-1c4d-4e5f-8a9b-0c1d2e3f4a5b";
  auto found = in::FindReplyAddress({"a@b.c", "REPLY+" + id + "@Reply.Vet.Example"}, "reply.vet.example");
  REQUIRE(found.ok());
  CHECK(found->conversation_id == id);
  CHECK(in::FindReplyAddress({"reply+" + id + "@other.example"}, "reply.vet.example").status().message().find(
            "another domain") != std::string::npos);
  CHECK(absl::IsNotFound(in::FindReplyAddress({"reply+nope@reply.vet.example"}, "reply.vet.example").status()));
  CHECK(in::ScanReplyAddresses("To: \"Clinic\" <reply+" + id + "@r.example>\r\nX: noreply+x@y\r\n\r\nreply+body@r") ==
        std::vector<std::string>{"reply+" + id + "@r.example"});
  CHECK(in::DedupKey(" <a@b> ", "x") == in::DedupKey(" <a@b> ", "y"));
  CHECK(in::DedupKey("", "x") != in::DedupKey("", "y"));
}

TEST_CASE("inbound email: while the clients service is down the answer is 503 and nothing is stored",
          "[inbound_email]") {
  Stack s;
  s.fx.clients_service.reset();  // the sender cannot be checked: the provider should retry
  HttpResponse r = s.Post(Reply(s.Headers(kClientEmail, "later-1@example.com", "Re: Luna"), kPlainUtf8, "Later"));
  INFO(r.body);
  CHECK(r.status == 503);
  CHECK(s.Items() == 0);
  CHECK(s.fx.Count("SELECT count(*) AS n FROM conversations.messages WHERE author = 'client'") == 0);
}
