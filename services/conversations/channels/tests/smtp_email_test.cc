// SmtpEmail against a real SMTP server (aiosmtpd) on loopback; what arrived is read back
// with Python's own `email` package, so the MIME is checked by a parser we did not write.
#include <atomic>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "libs/core/status.h"
#include "libs/testing/wait.h"
#include "services/conversations/channels/email.h"
#include "libs/testing/python_check.h"
#include "tests/support/smtp_sink.h"

namespace ch = vetline::conversations::channels;
// The check scripts beside these tests.
const std::string kChecks = std::string(VETLINE_SOURCE_DIR) + "/services/conversations/channels/tests/";
using vetline::testing::SmtpSink;
using vetline::testing::WaitUntil;

namespace {

nlohmann::json ReadBack(const std::string& eml) {
  return vetline::testing::RunPythonCheck(kChecks + "email_check.py", {{"eml", eml}});
}

std::string AllBytes() {
  std::string b;
  for (int r = 0; r < 3; ++r) {
    for (int i = 0; i < 256; ++i) b.push_back(static_cast<char>(i));
  }
  return b;
}

ch::Email Rich() {
  ch::Email e;
  e.from = {"Clínica Veterinária São Paulo", "clinic@vet.example"};
  e.to = {"Zoë Ñúñez", "zoe@client.example"};
  e.reply_to = {"Clínica (reply)", "c-7f3a@reply.vet.example"};
  e.subject = "Résultats d'analyse pour Luna 🐱 — tout va bien";
  e.text = "Bonjour Zoë,\n\nLuna's results are in: all normal.\n.\n.a line starting with a dot\n" +
           std::string(300, 'x') + "\nÀ bientôt,\nDr. Ødegård\n";
  e.html = "<p>Bonjour Zoë,</p><p>Luna's results are in: <b>all normal</b> ✓</p>";
  e.message_id = "m-0001.c-7f3a@vet.example";
  e.in_reply_to = "CAB+client-reply-1@mail.gmail.com";
  e.attachments = {{"results.pdf", "application/pdf", AllBytes()},
                   {"röntgen Luna.png", "image/png", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16)}};
  return e;
}

}  // namespace

TEST_CASE("channels: an email with text, HTML, attachments and non-ASCII headers arrives intact") {
  SmtpSink sink(VETLINE_SOURCE_DIR, VETLINE_PYTHON);
  REQUIRE(sink.ready());
  ch::SmtpEmail smtp({.url = sink.Url(), .timeout = absl::Seconds(10)});
  const ch::Email e = Rich();
  ch::SendOutcome out = smtp.Send(e);
  INFO(out.reason);
  REQUIRE(out.kind == ch::SendOutcome::kSent);
  CHECK(out.provider_id == e.message_id);
  REQUIRE(WaitUntil([&] { return sink.Messages().size() == 1; }, absl::Seconds(10)));
  const std::string eml = sink.Messages()[0];
  nlohmann::json envelope = nlohmann::json::parse(SmtpSink::Read(eml.substr(0, eml.size() - 4) + ".json"));
  CHECK(envelope["mail_from"] == "clinic@vet.example");
  CHECK(envelope["rcpt_tos"] == nlohmann::json::array({"zoe@client.example"}));

  nlohmann::json m = ReadBack(eml);
  REQUIRE(m.is_object());
  INFO(m.dump(2));
  CHECK(m["defects"].empty());
  CHECK(m["all_ascii"] == true);  // non-ASCII only as RFC 2047 / QP / base64
  CHECK(m["crlf_only"] == true);
  CHECK(m["from"] == nlohmann::json{{"name", e.from.name}, {"address", e.from.address}});
  CHECK(m["to"] == nlohmann::json{{"name", e.to.name}, {"address", e.to.address}});
  CHECK(m["reply_to"]["address"] == e.reply_to.address);
  CHECK(m["subject"] == e.subject);
  CHECK(m["raw_headers"]["subject"].get<std::string>().find("=?") != std::string::npos);
  CHECK(m["message_id"] == "<" + e.message_id + ">");
  CHECK(m["in_reply_to"] == "<" + e.in_reply_to + ">");
  CHECK(m["references"] == "<" + e.in_reply_to + ">");
  CHECK(m["mime_version"] == "1.0");
  CHECK_FALSE(m["date"].is_null());

  const nlohmann::json& tree = m["tree"];
  REQUIRE(tree["type"] == "multipart/mixed");
  REQUIRE(tree["parts"].size() == 3);
  const nlohmann::json& alt = tree["parts"][0];
  REQUIRE(alt["type"] == "multipart/alternative");
  REQUIRE(alt["parts"].size() == 2);
  CHECK(alt["parts"][0]["type"] == "text/plain");
  CHECK(alt["parts"][0]["charset"] == "utf-8");
  CHECK(alt["parts"][0]["cte"] == "quoted-printable");
  CHECK(alt["parts"][0]["text"] == e.text);  // incl. the lone "." line (dot-stuffing) and the long line
  CHECK(alt["parts"][1]["type"] == "text/html");
  CHECK(alt["parts"][1]["text"] == e.html);
  const nlohmann::json& pdf = tree["parts"][1];
  CHECK(pdf["type"] == "application/pdf");
  CHECK(pdf["cte"] == "base64");
  CHECK(pdf["disposition"] == "attachment");
  CHECK(pdf["filename"] == "results.pdf");
  CHECK(pdf["base64"] == absl::Base64Escape(e.attachments[0].bytes));
  const nlohmann::json& png = tree["parts"][2];
  CHECK(png["type"] == "image/png");
  CHECK(png["filename"] == "röntgen Luna.png");
  CHECK(png["base64"] == absl::Base64Escape(e.attachments[1].bytes));
}

TEST_CASE("channels: a plain ASCII email is one 7bit text part with a generated Message-ID") {
  SmtpSink sink(VETLINE_SOURCE_DIR, VETLINE_PYTHON);
  REQUIRE(sink.ready());
  ch::SmtpEmail smtp({.url = sink.Url()});
  ch::Email e;
  e.from = {"", "clinic@vet.example"};
  e.to = {"", "ana@client.example"};
  e.subject = "Reminder";
  e.text = "See you Tuesday at 10:00.\n";
  ch::SendOutcome out = smtp.Send(e);
  REQUIRE(out.kind == ch::SendOutcome::kSent);
  CHECK(out.provider_id.find("@vet.example") != std::string::npos);
  REQUIRE(WaitUntil([&] { return sink.Messages().size() == 1; }, absl::Seconds(10)));
  nlohmann::json m = ReadBack(sink.Messages()[0]);
  INFO(m.dump(2));
  CHECK(m["message_id"] == "<" + out.provider_id + ">");
  CHECK(m["tree"]["type"] == "text/plain");
  CHECK((m["tree"]["cte"] == "7bit" || m["tree"]["cte"] == ""));  // 7bit is the default
  CHECK(m["tree"]["text"] == e.text);
  CHECK(m["reply_to"].is_null());
  CHECK(m["in_reply_to"].is_null());
}

TEST_CASE("channels: SMTP 4xx replies retry, 5xx fail with the server's words, no server retries") {
  SmtpSink sink(VETLINE_SOURCE_DIR, VETLINE_PYTHON);
  REQUIRE(sink.ready());
  ch::SmtpEmail smtp({.url = sink.Url()});
  ch::Email e = Rich();
  e.to.address = "tempfail-1@client.example";
  ch::SendOutcome temp = smtp.Send(e);
  CHECK(temp.kind == ch::SendOutcome::kRetry);
  CHECK(temp.provider_code == 451);
  CHECK(temp.reason == "451 4.3.0 Mailbox temporarily unavailable");
  CHECK_FALSE(temp.provider_unavailable);  // about this mailbox: the others still go

  e.to.address = "reject-1@client.example";
  ch::SendOutcome rejected = smtp.Send(e);
  CHECK(rejected.kind == ch::SendOutcome::kFailed);
  CHECK(rejected.provider_code == 550);
  CHECK(rejected.reason == "550 5.1.1 No such user here");

  // The same handle (and its connection) still delivers after refusals.
  e.to.address = "zoe@client.example";
  CHECK(smtp.Send(e).kind == ch::SendOutcome::kSent);
  CHECK(WaitUntil([&] { return sink.Messages().size() == 1; }, absl::Seconds(10)));

  // An outage retries; once the server is back on its port the same email goes through,
  // on the same SmtpEmail (its dead connection replaced).
  REQUIRE(sink.Kill());
  e.message_id = "after-outage@vet.example";
  ch::SendOutcome down = smtp.Send(e);
  CHECK(down.kind == ch::SendOutcome::kRetry);
  CHECK(down.reason.rfind("SMTP server unreachable", 0) == 0);
  CHECK(down.provider_unavailable);  // the worker holds back the rest of the batch
  REQUIRE(sink.Restart());
  CHECK(smtp.Send(e).kind == ch::SendOutcome::kSent);
  CHECK(WaitUntil([&] { return sink.Messages().size() == 2; }, absl::Seconds(10)));
  CHECK(sink.MessageIds().back() == "after-outage@vet.example");
}

TEST_CASE("channels: an email that cannot be built names the field and is not sent") {
  auto field = [](const absl::Status& s) {
    auto p = s.GetPayload(vetline::kFieldPayload);
    return p ? std::string(*p) : std::string();
  };
  ch::Email e = Rich();
  e.to.address = "not-an-address";
  CHECK(field(ch::BuildMimeMessage(e).status()) == "to.address");
  e = Rich();
  e.subject = "Hello\r\nBcc: everyone@example.com";
  CHECK(field(ch::BuildMimeMessage(e).status()) == "subject");
  e = Rich();
  e.text.clear();
  e.html.clear();
  CHECK(field(ch::BuildMimeMessage(e).status()) == "text");
  e = Rich();
  e.attachments[1].content_type = "png";
  CHECK(field(ch::BuildMimeMessage(e).status()) == "attachments[1].contentType");
  e = Rich();
  e.from.name = "Evil\nInjected: yes";
  CHECK(field(ch::BuildMimeMessage(e).status()) == "from.name");
  // Sending it is a final failure, and nothing reaches a server (none is listening).
  ch::SendOutcome out = ch::SmtpEmail({.url = "smtp://127.0.0.1:9"}).Send(e);
  CHECK(out.kind == ch::SendOutcome::kFailed);
  CHECK(ch::SmtpConfig{.url = "http://x"}.Validate().message().find("smtp url") != std::string::npos);
}

TEST_CASE("channels: one thread's emails share one SMTP connection") {
  SmtpSink sink(VETLINE_SOURCE_DIR, VETLINE_PYTHON);
  REQUIRE(sink.ready());
  ch::SmtpEmail smtp({.url = sink.Url()});
  ch::Email e = Rich();
  e.attachments.clear();
  for (int i = 0; i < 20; ++i) {
    e.message_id = "reuse-" + std::to_string(i) + "@vet.example";
    REQUIRE(smtp.Send(e).kind == ch::SendOutcome::kSent);
  }
  CHECK(WaitUntil([&] { return sink.Messages().size() == 20; }, absl::Seconds(10)));
  CHECK(sink.Connections() == 1);
}

TEST_CASE("channels: concurrent emails from several threads each arrive exactly once") {
  SmtpSink sink(VETLINE_SOURCE_DIR, VETLINE_PYTHON, /*workers=*/2);
  REQUIRE(sink.ready());
  ch::SmtpEmail smtp({.url = sink.Url()});
  constexpr int kThreads = 4, kPerThread = 150;
  std::atomic<int> sent{0};
  std::vector<std::string> ids(kThreads * kPerThread);
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        ch::Email e;
        e.from = {"Clinic", "clinic@vet.example"};
        e.to = {"Client", "client" + std::to_string(t) + "@client.example"};
        e.subject = "Message " + std::to_string(i);
        e.text = "Hello " + std::to_string(i) + "\n";
        e.html = "<p>Hello " + std::to_string(i) + "</p>";
        ch::SendOutcome o = smtp.Send(e);
        if (o.kind == ch::SendOutcome::kSent) ++sent;
        ids[t * kPerThread + i] = o.provider_id;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("smtp: %d emails from %d threads in %.2f s (%.0f/s)\n", kThreads * kPerThread, kThreads, seconds,
              kThreads * kPerThread / seconds);
  CHECK(sent == kThreads * kPerThread);
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size());
  CHECK(WaitUntil([&] { return sink.Messages().size() == ids.size(); }, absl::Seconds(20)));
  std::vector<std::string> stored = sink.MessageIds();
  CHECK(std::set<std::string>(stored.begin(), stored.end()) == std::set<std::string>(ids.begin(), ids.end()));
}
