// A provider outage loses nothing and sends nothing twice: 10,000 messages are queued
// while the SMS stand-in answers 503 and the SMTP server is down; the real adapters keep
// retrying with backoff; when both come back every message arrives exactly once.
#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <set>
#include <thread>

#include "libs/testing/servers.h"
#include "libs/testing/wait.h"
#include "nlohmann/json.hpp"
#include "services/conversations/delivery_worker.h"
#include "tests/support/delivery_queue.h"
#include "tests/support/http_client.h"
#include "tests/support/smtp_sink.h"
#include "tests/support/twilio_sim_process.h"

using namespace vetline;
using namespace vetline::conversations;

namespace {

constexpr int kEach = 5000;  // texts, and as many emails

// Waits while `count` moves towards `want`: fails only when it stalls for `stall`, so a
// machine busy with other tests is slower but not wrong. Counting 10,000 rows is itself
// work, so it is polled four times a second, not in a tight loop.
bool WaitWhileProgressing(const std::function<int64_t()>& count, int64_t want,
                          absl::Duration stall = absl::Seconds(60), absl::Duration limit = absl::Minutes(6)) {
  const absl::Time give_up = absl::Now() + limit;
  int64_t seen = count();
  absl::Time moved = absl::Now();
  while (seen != want) {
    if (absl::Now() > give_up || absl::Now() - moved > stall) {
      UNSCOPED_INFO("stalled at " << seen << " of " << want);
      return false;
    }
    absl::SleepFor(absl::Milliseconds(250));
    const int64_t now = count();
    if (now != seen) moved = absl::Now();
    seen = now;
  }
  return true;
}

// Stops and joins the workers however the test case ends (a failed REQUIRE included).
struct Workers {
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  void Join() {
    stop = true;
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
  }
  ~Workers() { Join(); }
};

}  // namespace

TEST_CASE("delivery: 10,000 messages queued during an SMS and SMTP outage arrive exactly once",
          "[delivery][outage]") {
  testing::TestDatabase db;
  testing::DeliveryQueueDb queue(db.conninfo());
  queue.QueueTextsAndEmails(kEach);
  auto pool = queue.pool();

  testing::TwilioSimProcess sim(TWILIO_SIM_BINARY);
  REQUIRE(sim.ready());
  testing::HttpClient control(sim.port());
  REQUIRE(control.Post("/_sim/down?seconds=3600", "").status == 200);
  testing::SmtpSink smtp(VETLINE_SOURCE_DIR, "/usr/bin/python3", 3);
  REQUIRE(smtp.ready());
  REQUIRE(smtp.Kill());  // connections refused from here on

  channels::TwilioSms sms({.base_url = "http://127.0.0.1:" + std::to_string(sim.port()),
                           .account_sid = testing::kTwilioSimAccountSid,
                           .auth_token = testing::kTwilioSimAuthToken,
                           .timeout = absl::Seconds(5)});
  channels::SmtpEmail email({.url = smtp.Url(), .timeout = absl::Seconds(5)});
  testing::SilentAnnouncer announcer;
  DeliveryRepository repo(pool, announcer);
  auth::LinkSigner links(auth::Key::FromSecret("a test secret of enough length").value());
  // Retries come quickly here; the schedule itself is tested in delivery_test.cc.
  DeliveryOptions options{.retry = {.max_attempts = 10000, .first_delay = absl::Milliseconds(200),
                                    .max_delay = absl::Seconds(1)},
                          .lease = absl::Seconds(60),
                          .batch = 64,
                          // Status callbacks go to a closed loopback port.
                          .public_url = "http://127.0.0.1:1"};
  Workers workers;
  for (int w = 0; w < 4; ++w) {
    workers.threads.emplace_back([&] {
      DeliveryWorker worker(repo, {.sms = &sms, .email = &email}, options, links);
      const absl::Time end = absl::Now() + absl::Minutes(12);
      while (!workers.stop && absl::Now() < end) {
        if (worker.Step() == PeriodicWorker::Next::kPause) absl::SleepFor(absl::Milliseconds(20));
      }
    });
  }
  auto state_count = [&](const std::string& state) { return queue.CountInState(state); };

  // During the outage: everything is tried, nothing is lost, nothing is given up on.
  REQUIRE(WaitWhileProgressing([&] { return queue.CountTriedAtLeast(2); }, 2 * kEach));
  CHECK(state_count("queued") == 2 * kEach);
  CHECK(state_count("failed") == 0);

  REQUIRE(control.Post("/_sim/down?seconds=0", "").status == 200);
  REQUIRE(smtp.Restart());
  REQUIRE(WaitWhileProgressing([&] { return state_count("sent"); }, 2 * kEach));
  workers.Join();

  // Exactly once at each provider.
  auto listed = nlohmann::json::parse(control.Get("/_sim/messages").body)["messages"];
  std::set<std::string> numbers;
  for (const auto& m : listed) numbers.insert(m["to"].get<std::string>());
  CHECK(listed.size() == static_cast<size_t>(kEach));
  CHECK(numbers.size() == static_cast<size_t>(kEach));
  std::vector<std::string> ids = smtp.MessageIds();
  CHECK(ids.size() == static_cast<size_t>(kEach));
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == static_cast<size_t>(kEach));
  CHECK(state_count("queued") == 0);
}
