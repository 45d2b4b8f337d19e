// tools/bench delivery: how fast the delivery workers drain queued messages to the
// loopback SMS stand-in (tools/twilio_sim) and SMTP server (aiosmtpd), through the real
// adapters and the real queue in PostgreSQL. Target: >= 1,000 messages/s on this machine.
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/log.h"
#include "libs/testing/servers.h"
#include "services/conversations/delivery_worker.h"
#include "tests/support/delivery_queue.h"
#include "tests/support/smtp_sink.h"
#include "tests/support/twilio_sim_process.h"

using namespace vetline;
using namespace vetline::conversations;

namespace {

constexpr double kTargetPerSecond = 1000;

// Drains `each` texts and `each` emails with `workers` threads; messages per second.
double Drain(const std::string& conninfo, int each, int workers, int smtp_workers) {
  testing::DeliveryQueueDb queue(conninfo, workers + 2);
  queue.QueueTextsAndEmails(each);
  testing::TwilioSimProcess sim(TWILIO_SIM_BINARY);
  testing::SmtpSink smtp(VETLINE_SOURCE_DIR, "/usr/bin/python3", smtp_workers);
  if (!sim.ready() || !smtp.ready()) {
    std::fprintf(stderr, "stand-ins did not start\n");
    return 0;
  }
  channels::TwilioSms sms({.base_url = "http://127.0.0.1:" + std::to_string(sim.port()),
                           .account_sid = testing::kTwilioSimAccountSid,
                           .auth_token = testing::kTwilioSimAuthToken});
  channels::SmtpEmail email({.url = smtp.Url()});
  testing::SilentAnnouncer announcer;
  DeliveryRepository repo(queue.pool(), announcer);
  auth::LinkSigner links(auth::Key::FromSecret("a bench secret of enough length").value());
  DeliveryOptions options{.batch = 64, .public_url = "http://127.0.0.1:1"};
  std::atomic<bool> done{false};
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      DeliveryWorker worker(repo, {.sms = &sms, .email = &email}, options, links);
      const absl::Time end = absl::Now() + absl::Seconds(300);
      while (!done && absl::Now() < end) {
        if (worker.Step() == PeriodicWorker::Next::kPause) absl::SleepFor(absl::Milliseconds(5));
      }
    });
  }
  const absl::Time limit = absl::Now() + absl::Seconds(300);
  while (absl::Now() < limit && queue.CountInState("sent") < 2 * each) absl::SleepFor(absl::Milliseconds(20));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const int64_t sent = queue.CountInState("sent");
  done = true;
  for (auto& t : threads) t.join();
  std::printf("  %d workers: %lld of %d sent in %.2f s\n", workers, static_cast<long long>(sent),
              2 * each, seconds);
  return static_cast<double>(sent) / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  int each = argc > 1 ? std::atoi(argv[1]) : 5000;
  log::Init("bench", log::Level::kWarning);
  std::printf("delivery drain: %d texts + %d emails, loopback Twilio stand-in and SMTP server\n", each, each);
  double best = 0;
  int best_workers = 0;
  for (int workers : {4, 8}) {
    testing::TestDatabase db;
    double rate = Drain(db.conninfo(), each, workers, 4);
    std::printf("  %d workers: %.0f messages/s (target >= %.0f)\n", workers, rate, kTargetPerSecond);
    if (rate > best) {
      best = rate;
      best_workers = workers;
    }
  }
  std::printf("messages_per_second=%.0f workers=%d target_per_second=%.0f targets_met=%s\n", best,
              best_workers, kTargetPerSecond, best >= kTargetPerSecond ? "yes" : "no");
  return 0;
}
