// bench_gateway: the same identity RPC (GetMe) called directly over gRPC and through the
// gateway as REST, at the same concurrency on loopback, then a burst of 2,000 connections
// at once through the gateway (identity runs in this process, so its threads and memory
// are this process's). Each figure is printed beside its target; the last line is
// key=value pairs ending with targets_met=yes|no.
// Targets: ratio >= 0.7, unloaded p50 overhead <= +150 µs; in the burst every answer is
// 200 or 503, threads grow by <= 300 and RSS by <= 150 MiB.
//
//   tools/bench gateway [--threads=16] [--seconds=5] [--burst=2000]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include <fstream>
#include <map>

#include "absl/strings/numbers.h"
#include "libs/core/log.h"
#include "libs/rpc/rpc.h"
#include "libs/testing/servers.h"
#include "services/gateway/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/process_status.h"
#include "tests/support/identity_stack.h"

using namespace vetline;

namespace {

struct Run {
  double rps = 0;
  int64_t p50_us = 0, p99_us = 0;
  int64_t errors = 0;
};

// Runs `call` from `threads` threads for `seconds`; each thread keeps its own client.
template <typename MakeCaller>
Run Measure(int threads, double seconds, MakeCaller make_caller) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> errors{0};
  std::vector<std::vector<int64_t>> latencies(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto call = make_caller();
      latencies[t].reserve(200000);
      while (!stop.load(std::memory_order_relaxed)) {
        absl::Time start = absl::Now();
        bool ok = call();
        latencies[t].push_back(absl::ToInt64Microseconds(absl::Now() - start));
        if (!ok) errors++;
      }
    });
  }
  absl::Time start = absl::Now();
  absl::SleepFor(absl::Seconds(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<int64_t> all;
  for (auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  Run r;
  r.rps = all.size() / elapsed;
  r.p50_us = all.empty() ? 0 : all[all.size() / 2];
  r.p99_us = all.empty() ? 0 : all[all.size() * 99 / 100];
  r.errors = errors;
  return r;
}


const char* Mark(bool met) { return met ? "ok" : "MISSED"; }

}  // namespace

int main(int argc, char** argv) {
  int threads = 16, burst = 2000;
  double seconds = 5;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--threads=", 0) == 0) (void)absl::SimpleAtoi(a.substr(10), &threads);
    if (a.rfind("--seconds=", 0) == 0) (void)absl::SimpleAtod(a.substr(10), &seconds);
    if (a.rfind("--burst=", 0) == 0) (void)absl::SimpleAtoi(a.substr(8), &burst);
  }
  burst = std::clamp(burst, 1, 10000);
  threads = std::clamp(threads, 1, 256);
  seconds = std::clamp(seconds, 1.0, 60.0);
  log::Init("bench", log::Level::kWarning);

  std::fprintf(stderr, "starting PostgreSQL, Redis, identity and the gateway...\n");
  testing::IdentityStack identity;
  identity.CreateClinic("Bench Clinic", "bench@clinic.example", "correct horse battery");
  std::string token = identity.Login("bench@clinic.example", "correct horse battery");
  api::Principal principal = identity.Authenticate(token).value();

  gateway::GatewayOptions o;
  o.http_address = "127.0.0.1:0";
  o.backends = {{"identity", identity.address()}};
  o.redis = testing::SharedRedis().address();
  o.internal_secret = testing::kTestInternalSecret;
  o.registry = std::make_shared<prometheus::Registry>();
  auto gw = gateway::Gateway::Start(o).value();

  auto direct_caller = [&] {
    auto stub = identity::v1::IdentityService::NewStub(rpc::Dial(identity.address()));
    return [&, stub = std::shared_ptr<identity::v1::IdentityService::Stub>(std::move(stub))] {
      grpc::ClientContext ctx;
      rpc::SetDeadline(ctx);
      rpc::AttachPrincipal(ctx, principal, identity.signer());
      identity::v1::Me me;
      return stub->GetMe(&ctx, {}, &me).ok();
    };
  };
  auto gateway_caller = [&] {
    auto client = std::make_shared<testing::HttpClient>(gw->port());
    auto headers = testing::Bearer(token);
    return [client, headers] { return client->Get("/v1/me", headers).status == 200; };
  };

  std::fprintf(stderr, "warming up...\n");
  Measure(threads, 1, direct_caller);
  Measure(threads, 1, gateway_caller);
  std::fprintf(stderr, "measuring %d threads x %.0f s each...\n", threads, seconds);
  Run direct = Measure(threads, seconds, direct_caller);
  Run through = Measure(threads, seconds, gateway_caller);
  // One caller: the gateway's own latency, without queueing on the saturated cores.
  Run direct1 = Measure(1, seconds / 2, direct_caller);
  Run through1 = Measure(1, seconds / 2, gateway_caller);

  // The burst: every connection at once, one request each, from one client thread.
  std::fprintf(stderr, "burst of %d connections...\n", burst);
  testing::ProcessStatus idle = testing::ReadProcessStatus();
  std::atomic<bool> burst_done{false};
  testing::ProcessStatus peak = idle;
  std::thread sampler([&] {
    for (int i = 0; i < 12000 && !burst_done; ++i) {  // at most 120 s
      testing::ProcessStatus p = testing::ReadProcessStatus();
      peak.threads = std::max(peak.threads, p.threads);
      peak.rss_kb = std::max(peak.rss_kb, p.rss_kb);
      absl::SleepFor(absl::Milliseconds(10));
    }
  });
  std::string request = "GET /v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
                        "\r\nConnection: close\r\n\r\n";
  auto answers = testing::HttpBurst(gw->port(), burst, request, absl::Seconds(60));
  burst_done = true;
  sampler.join();
  absl::SleepFor(absl::Seconds(1));
  testing::ProcessStatus after = testing::ReadProcessStatus();
  std::map<int, int> by_status;
  std::vector<int64_t> answered;
  for (const auto& a : answers) {
    by_status[a.status]++;
    if (a.status != 0) answered.push_back(a.latency_us);
  }
  std::sort(answered.begin(), answered.end());
  int64_t burst_p99_us = answered.empty() ? 0 : answered[answered.size() * 99 / 100];
  int other = burst - by_status[200] - by_status[503];
  long thread_growth = peak.threads - idle.threads;
  long rss_growth_mib = (peak.rss_kb - idle.rss_kb) / 1024;

  double ratio = direct.rps > 0 ? through.rps / direct.rps : 0;
  int64_t overhead_us = through1.p50_us - direct1.p50_us;
  bool ratio_ok = ratio >= 0.70, overhead_ok = overhead_us <= 150, answers_ok = other == 0,
       threads_ok = thread_growth <= 300, rss_ok = rss_growth_mib <= 150;
  bool met = ratio_ok && overhead_ok && answers_ok && threads_ok && rss_ok;

  std::printf("GetMe, %d concurrent callers, loopback, 2-core machine\n", threads);
  std::printf("  direct gRPC : %8.0f req/s  p50 %5lld us  p99 %6lld us  errors %lld\n", direct.rps,
              (long long)direct.p50_us, (long long)direct.p99_us, (long long)direct.errors);
  std::printf("  via gateway : %8.0f req/s  p50 %5lld us  p99 %6lld us  errors %lld\n",
              through.rps, (long long)through.p50_us, (long long)through.p99_us,
              (long long)through.errors);
  std::printf("  ratio %.2f (target >= 0.70) %s; p50 overhead at this load %+lld us\n", ratio,
              Mark(ratio_ok), (long long)(through.p50_us - direct.p50_us));
  std::printf("one caller: direct p50 %lld us, via gateway p50 %lld us: overhead %+lld us "
              "(target <= +150) %s\n",
              (long long)direct1.p50_us, (long long)through1.p50_us, (long long)overhead_us,
              Mark(overhead_ok));
  std::printf("burst of %d connections at once to GET /v1/me:\n", burst);
  std::printf("  answers: %d x 200, %d x 503, %d other (target: 0 other) %s; p99 %lld us\n",
              by_status[200], by_status[503], other, Mark(answers_ok), (long long)burst_p99_us);
  std::printf("  threads %ld -> peak %ld (+%ld, target <= +300) %s, %ld after\n", idle.threads,
              peak.threads, thread_growth, Mark(threads_ok), after.threads);
  std::printf("  RSS %ld -> peak %ld MiB (+%ld, target <= +150) %s, %ld MiB after\n",
              idle.rss_kb / 1024, peak.rss_kb / 1024, rss_growth_mib, Mark(rss_ok),
              after.rss_kb / 1024);
  std::printf(
      "gateway_rps=%.0f direct_rps=%.0f ratio=%.3f gateway_p50_us=%lld direct_p50_us=%lld "
      "gateway_p99_us=%lld direct_p99_us=%lld unloaded_gateway_p50_us=%lld "
      "unloaded_direct_p50_us=%lld unloaded_overhead_us=%lld threads=%d errors=%lld "
      "burst=%d burst_200=%d burst_503=%d burst_other=%d burst_p99_us=%lld "
      "burst_thread_growth=%ld burst_rss_growth_mib=%ld targets_met=%s\n",
      through.rps, direct.rps, ratio, (long long)through.p50_us, (long long)direct.p50_us,
      (long long)through.p99_us, (long long)direct.p99_us, (long long)through1.p50_us,
      (long long)direct1.p50_us, (long long)overhead_us, threads,
      (long long)(direct.errors + through.errors), burst, by_status[200], by_status[503], other,
      (long long)burst_p99_us, thread_growth, rss_growth_mib, met ? "yes" : "no");
  return direct.errors + through.errors == 0 ? 0 : 1;
}
