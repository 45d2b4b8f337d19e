// Delivery: the retry schedule alone, then the worker against the real database with
// scripted senders — what staff read on each delivery, backoff, giving up, expired push
// subscriptions, several workers sharing the queue, STOP cancelling queued texts.
#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/escaping.h"
#include "libs/testing/servers.h"
#include "services/conversations/channels/fake_senders.h"
#include "services/conversations/delivery_worker.h"
#include "tests/support/delivery_queue.h"
#include "vetline/conversations/v1/events.pb.h"

using namespace vetline;
using namespace vetline::conversations;

TEST_CASE("delivery: retry delays double from the first delay up to the cap, with jitter", "[delivery]") {
  RetryPolicy p{.max_attempts = 8, .first_delay = absl::Seconds(5), .max_delay = absl::Minutes(1)};
  CHECK(RetryDelay(p, 1, 1.0) == absl::Seconds(5));
  CHECK(RetryDelay(p, 2, 1.0) == absl::Seconds(10));
  CHECK(RetryDelay(p, 4, 1.0) == absl::Seconds(40));
  CHECK(RetryDelay(p, 5, 1.0) == absl::Minutes(1));   // capped
  CHECK(RetryDelay(p, 30, 1.0) == absl::Minutes(1));  // no overflow
  CHECK(RetryDelay(p, 2, 0.5) == absl::Seconds(5));
  CHECK(RetryDelay(p, 2, 9.0) == absl::Seconds(15));  // jitter is clamped to [0.5, 1.5]
  CHECK_FALSE(GivesUp(p, 7));
  CHECK(GivesUp(p, 8));
  CHECK(GaveUpReason(8, "503 Service Unavailable") == "gave up after 8 attempts: 503 Service Unavailable");
}

namespace {

constexpr const char* kClinic = testing::DeliveryQueueDb::kClinic;
constexpr char kClient[] = "22222222-2222-2222-2222-222222222222";

struct Fixture {
  testing::TestDatabase db;
  testing::DeliveryQueueDb queue{db.conninfo(), 4};
  std::shared_ptr<pg::Pool> pool = queue.pool();
  testing::SilentAnnouncer announcer;
  DeliveryRepository repo{pool, announcer};
  channels::FakeSmsSender sms;
  channels::FakeEmailSender email;
  channels::FakePushSender push;
  auth::LinkSigner links{auth::Key::FromSecret("a test secret of enough length").value()};
  std::string conversation_id = queue.conversation_id();

  pg::Result Sql(const std::string& sql, const pg::Params& params = {}) { return queue.Sql(sql, params); }
  std::string Queue(const std::string& channel, const std::string& destination,
                    const std::string& body = "Bella's results are in") {
    return queue.Queue(channel, destination, body);
  }

  pg::Result Delivery(const std::string& destination) {
    return Sql("SELECT state, reason, attempts, provider_id, next_attempt_at > now() AS later "
               "FROM conversations.deliveries WHERE destination = $1", {destination});
  }

  DeliveryWorker Worker(RetryPolicy retry = {}) {
    return DeliveryWorker(repo, {.sms = &sms, .email = &email, .push = &push},
                          {.retry = retry, .public_url = "https://vets.example",
                           .reply_domain = "reply.vets.example"},
                          links, [] { return 1.0; });
  }
};

}  // namespace

TEST_CASE("delivery: the worker sends each channel's message and records the provider's answer",
          "[delivery]") {
  Fixture fx;
  fx.Queue("text", "+15557654321");
  fx.Queue("email", "ann@example.com");
  fx.Queue("text", "+15550009999");
  // Claimed in queue order: the first text goes out, the second number is a landline.
  fx.sms.Script({channels::SendOutcome::Sent("SM1"),
                 channels::SendOutcome::Failed("The 'To' number is a landline", 30006)});
  DeliveryWorker worker = fx.Worker();
  CHECK(worker.Step() == PeriodicWorker::Next::kPause);  // the batch was not full

  pg::Result text = fx.Delivery("+15557654321");
  CHECK(text.Text(0, "state") == "sent");
  CHECK(text.Text(0, "provider_id") == "SM1");
  CHECK(text.Int(0, "attempts") == 1);
  pg::Result landline = fx.Delivery("+15550009999");
  CHECK(landline.Text(0, "state") == "failed");
  CHECK(landline.Text(0, "reason") == "The 'To' number is a landline");

  // The text comes from the clinic's number and reports back to our webhook; the email
  // is from the clinic, answerable to this conversation, with a stable Message-ID.
  std::vector<channels::Sms> texts = fx.sms.sent();
  REQUIRE(texts.size() == 2);
  CHECK(texts[0].from == "+15550001111");
  CHECK(texts[0].to == "+15557654321");
  CHECK(texts[0].body == "Bella's results are in");
  CHECK(texts[0].status_callback == "https://vets.example/v1/webhooks/twilio/status");
  std::vector<channels::Email> emails = fx.email.sent();
  REQUIRE(emails.size() == 1);
  const channels::Email& e = emails[0];
  CHECK(e.from.address == "hello@maple.example");
  CHECK(e.subject == "A new message from Maple Vets");
  CHECK(e.reply_to.address == "reply+" + fx.conversation_id + "@reply.vets.example");
  CHECK(e.text.find("https://vets.example/portal/conversations/" + fx.conversation_id + "?link=") !=
        std::string::npos);
  CHECK(e.message_id.find("@maple.example") != std::string::npos);

  // Each outcome is an event for staff consoles, never for the client.
  pg::Result events = fx.Sql("SELECT staff_only, encode(payload, 'base64') AS p FROM "
                             "conversations.events ORDER BY seq");
  REQUIRE(events.rows() == 3);
  for (int i = 0; i < 3; ++i) CHECK(events.Bool(i, "staff_only"));
  std::string bytes;
  REQUIRE(absl::Base64Unescape(events.Text(2, "p"), &bytes));
  v1::Event ev;
  REQUIRE(ev.ParseFromString(bytes));
  CHECK(ev.type() == "delivery.updated");
  REQUIRE(ev.message().deliveries_size() == 1);
  CHECK(ev.message().conversation_id() == fx.conversation_id);
  CHECK(ev.message().deliveries(0).channel() == v1::TEXT);
  CHECK(ev.message().deliveries(0).state() == v1::FAILED);
}

TEST_CASE("delivery: a provider outage backs off, then gives up with a reason staff can read",
          "[delivery]") {
  Fixture fx;
  fx.sms.Script(std::vector<channels::SendOutcome>(3, channels::SendOutcome::Retry("503 Service Unavailable", 503)));
  fx.Queue("text", "+15557654321");
  RetryPolicy retry{.max_attempts = 3, .first_delay = absl::Seconds(30), .max_delay = absl::Minutes(5)};
  DeliveryWorker worker = fx.Worker(retry);
  worker.Step();
  pg::Result r = fx.Delivery("+15557654321");
  CHECK(r.Text(0, "state") == "queued");
  CHECK(r.Int(0, "attempts") == 1);
  CHECK(r.Bool(0, "later"));  // not due again until the backoff has passed
  CHECK(r.Text(0, "reason") == "503 Service Unavailable");
  worker.Step();  // nothing due
  CHECK(fx.Delivery("+15557654321").Int(0, "attempts") == 1);

  for (int attempt = 2; attempt <= 3; ++attempt) {
    fx.Sql("UPDATE conversations.deliveries SET next_attempt_at = now()");  // time passes
    worker.Step();
  }
  r = fx.Delivery("+15557654321");
  CHECK(r.Text(0, "state") == "failed");
  CHECK(r.Int(0, "attempts") == 3);
  CHECK(r.Text(0, "reason") == "gave up after 3 attempts: 503 Service Unavailable");
}

TEST_CASE("delivery: a provider that is down is asked once per batch, its channel waits and the others go out",
          "[delivery]") {
  Fixture fx;
  fx.sms.Script({channels::SendOutcome::Unavailable("Twilio unreachable: Connection refused")});
  for (int i = 0; i < 3; ++i) fx.Queue("text", "+1555765432" + std::to_string(i));
  fx.Queue("email", "ann@example.com");
  fx.Queue("text", "+15557654329");
  fx.Worker().Step();

  CHECK(fx.sms.count() == 1);  // not once per text
  for (const char* number : {"+15557654320", "+15557654321", "+15557654322", "+15557654329"}) {
    pg::Result r = fx.Delivery(number);
    CHECK(r.Text(0, "state") == "queued");
    CHECK(r.Bool(0, "later"));
    CHECK(r.Text(0, "reason") == "Twilio unreachable: Connection refused");
  }
  CHECK(fx.Delivery("ann@example.com").Text(0, "state") == "sent");

  // A refusal about one mailbox (greylisted, full) holds back nobody else.
  fx.email.Script({channels::SendOutcome::Retry("452 4.2.2 mailbox full", 452)});
  fx.Queue("email", "bob@example.com");
  fx.Queue("email", "cat@example.com");
  fx.Worker().Step();
  CHECK(fx.Delivery("bob@example.com").Text(0, "state") == "queued");
  CHECK(fx.Delivery("cat@example.com").Text(0, "state") == "sent");
}

TEST_CASE("delivery: an expired push subscription is dropped, and STOP cancels queued texts", "[delivery]") {
  Fixture fx;
  fx.Sql("INSERT INTO conversations.push_subscriptions (clinic_id, client_id, endpoint, p256dh, auth) "
         "VALUES ($1, $2, 'https://push.example/gone', 'BKey', 'auth')", {kClinic, kClient});
  channels::SendOutcome gone = channels::SendOutcome::Failed("410 Gone", 410);
  gone.subscription_gone = true;
  fx.push.Script({gone});
  fx.Queue("push", "https://push.example/gone");
  fx.Queue("text", "+15557654321");
  REQUIRE(*fx.repo.CancelQueuedTexts(kClinic, "+15557654321") == 1);
  fx.Worker().Step();
  CHECK(fx.Delivery("https://push.example/gone").Text(0, "state") == "failed");
  CHECK(fx.Sql("SELECT count(*) AS n FROM conversations.push_subscriptions").Int(0, "n") == 0);
  // It was the client's only one: the clients service is told push is off for them.
  pg::Result told = fx.Sql("SELECT payload->>'clinicId' AS clinic, payload->>'clientId' AS client "
                           "FROM conversations.outbox WHERE topic = 'push.unsubscribed'");
  REQUIRE(told.rows() == 1);
  CHECK(told.Text(0, "clinic") == kClinic);
  CHECK(told.Text(0, "client") == kClient);
  CHECK(fx.Delivery("+15557654321").Text(0, "state") == "cancelled");
  CHECK(fx.sms.count() == 0);  // nothing went to a number that said STOP
  REQUIRE(fx.push.count() == 1);
  CHECK(fx.push.sent()[0].subscription.p256dh == "BKey");
}

TEST_CASE("delivery: several workers share the queue and send each delivery once", "[delivery]") {
  Fixture fx;
  for (int i = 0; i < 300; ++i) fx.Queue("email", "client" + std::to_string(i) + "@example.com");
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      DeliveryWorker worker = fx.Worker();
      for (int i = 0; i < 100 && worker.Step() == PeriodicWorker::Next::kAgain; ++i) {
      }
    });
  }
  for (auto& t : workers) t.join();
  std::set<std::string> to;
  for (const channels::Email& e : fx.email.sent()) to.insert(e.to.address);
  CHECK(fx.email.count() == 300);
  CHECK(to.size() == 300);
  CHECK(fx.Sql("SELECT count(*) AS n FROM conversations.deliveries WHERE state = 'sent'").Int(0, "n") == 300);
}
