// bench_system: a clinic group's working day, sped up, against the multi-replica
// topology on this machine (tests/support/topology.h: two gateways, two processes of every
// service, one PostgreSQL, Redis, an SMTP server taking the emails).
//
// The normal day of one clinic, per opening hour (10 hours): 30 messages sent to
// clients (each emailed), 30 looks at the queue, 10 client searches, 10 client profiles
// opened, 5 availability look-ups, 4 appointments booked, 1 video call made and joined.
// 50 clinics: 4,500 requests an hour, 1.25/s. The load is open loop: requests are
// started on a fixed schedule whatever the answers do, at each --multiples of the normal
// rate for --seconds. Per stage: the error rate (target <= 0.1%) and p99 per route
// (target <= 500 ms) at 10x, and the CPU each kind of process used, to show what runs
// out first on two cores.
//
// PIMS syncs: every clinic's connector points at one simulated practice (its records
// changing all the time), fully synced once before the stages. The incremental CronJob
// (every 15 minutes, all clinics: `vetline pims-sync run --all`, as its own process) runs
// at the stage's multiple of that pace, at least once a stage; a pass that fails, or
// takes longer than its interval, misses the target.
//
//   tools/bench system [--clinics=50] [--multiples=10,40,160,320] [--seconds=30]
//                      [--practice-clients=100]
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "libs/core/config.h"
#include "libs/core/log.h"
#include "libs/testing/servers.h"
#include "tests/support/http_client.h"
#include "tests/support/loopback_process.h"
#include "tests/support/smtp_sink.h"
#include "tests/support/topology.h"

using namespace vetline;
using nlohmann::json;
using testing::Bearer;
using testing::HttpClient;
using testing::HttpResponse;

namespace {

constexpr char kPassword[] = "correct horse battery";
constexpr double kOpenHours = 10;
constexpr double kSyncIntervalSeconds = 15 * 60;  // the incremental CronJob's schedule

struct Route {
  const char* name;
  int per_clinic_hour;  // the normal rate
};
constexpr Route kRoutes[] = {{"send message", 30}, {"queue", 30},       {"search clients", 10},
                             {"open client", 10},  {"availability", 5}, {"book", 4},
                             {"video call", 1}};

struct Clinic {
  std::string id, token, type, provider;
  std::vector<std::string> clients, chats, pets;
  std::atomic<int> booked{0};
};

// CPU seconds used so far by every process on the machine, by process name (the
// `vetline-*` binaries, postgres, redis-server, python3 for the SMTP server, the bench).
std::map<std::string, double> CpuByName() {
  std::map<std::string, double> out;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  DIR* proc = opendir("/proc");
  if (!proc) return out;
  while (dirent* e = readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream f(std::string("/proc/") + e->d_name + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::string name = stat.substr(open + 1, close - open - 1);
    std::vector<std::string> fields = absl::StrSplit(stat.substr(close + 2), ' ');
    if (fields.size() < 13) continue;
    double utime = 0, stime = 0;
    (void)absl::SimpleAtod(fields[11], &utime);
    (void)absl::SimpleAtod(fields[12], &stime);
    out[name] += (utime + stime) / tick;
  }
  closedir(proc);
  return out;
}

// The sum of a metric's samples (every label set) on a /metrics page, or -1 unreachable.
double MetricSum(int port, const std::string& name) {
  try {
    HttpResponse r = HttpClient(port).Get("/metrics");
    if (r.status != 200) return -1;
    double sum = 0;
    for (absl::string_view line : absl::StrSplit(r.body, '\n')) {
      if (!absl::StartsWith(line, name) || (line.size() > name.size() && line[name.size()] != '{' && line[name.size()] != ' ')) continue;
      double v = 0;
      if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &v)) sum += v;
    }
    return sum;
  } catch (const std::exception&) {
    return -1;
  }
}

int64_t Percentile(std::vector<int64_t> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

struct Stage {
  double multiple = 0, offered = 0, achieved = 0, error_rate = 0;
  int64_t worst_p99_ms = 0;
  std::string worst_route, busiest;
  double busiest_cores = 0, total_cores = 0;
  double most_waiting = 0;  // callers waiting for a PostgreSQL connection, in the worst service
  std::string most_waiting_service;
  int syncs = 0, sync_failures = 0;
  double longest_sync = 0, sync_interval = 0;  // seconds
  bool missed() const {
    return error_rate > 0.001 || worst_p99_ms > 500 || achieved < 0.95 * offered || sync_failures > 0 ||
           longest_sync > sync_interval;
  }
};

// `vetline pims-sync run --all [--full]` as the CronJob runs it; its exit status and how
// long it took.
std::pair<int, double> SyncPass(const testing::Topology& t, bool full) {
  std::vector<std::string> args = {"--all"};
  if (full) args.push_back("--full");
  const absl::Time start = absl::Now();
  const int status = t.PimsSyncRun(args, (t.dir() / "pims-sync-runs.log").string())->Wait(30 * 60 * 1000);
  return {status, absl::ToDoubleSeconds(absl::Now() - start)};
}

}  // namespace

int main(int argc, char** argv) {
  int clinics_n, seconds;
  std::string multiples_flag;
  ConfigParser flags("bench_system");
  flags.Int("clinics", &clinics_n, "clinics in the group", 50, 1, 200);
  flags.String("multiples", &multiples_flag, "stages, as multiples of the normal rate", "10,40,160,320");
  flags.Int("seconds", &seconds, "how long each stage runs", 30, 5, 300);
  int pool_size, practice_clients;
  flags.Int("practice-clients", &practice_clients, "clients in the simulated practice every clinic syncs", 100, 10, 100000);
  flags.Int("pg-pool-size", &pool_size, "PostgreSQL connections per process (the manifests' VETLINE_PG_POOL_SIZE)", 8, 1, 64);
  if (absl::Status st = flags.Parse(argc, argv); !st.ok()) {
    std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    return 2;
  }
  std::vector<double> multiples;
  for (auto m : absl::StrSplit(multiples_flag, ',', absl::SkipEmpty())) {
    double x = 0;
    if (!absl::SimpleAtod(m, &x) || x <= 0) return std::fprintf(stderr, "--multiples: numbers above 0\n"), 2;
    multiples.push_back(x);
  }
  log::Init("bench", log::Level::kWarning);

  std::fprintf(stderr, "starting PostgreSQL, Redis, the SMTP server, two gateways and two of every service...\n");
  testing::TestDatabase db;
  testing::SmtpSink smtp(VETLINE_SOURCE_DIR, "/usr/bin/python3", 2);
  if (!smtp.ready()) return std::fprintf(stderr, "the SMTP server did not start\n"), 1;
  testing::Topology t(
      db.conninfo(), testing::BuiltServiceBinaries(), VETLINE_GATEWAY_BINARY,
      [&] {
        const std::string pool = "VETLINE_PG_POOL_SIZE=" + std::to_string(pool_size);
        std::map<std::string, std::vector<std::string>> env;
        for (const auto& [service, binary] : testing::BuiltServiceBinaries()) env[service] = {pool};
        env["conversations"].push_back("VETLINE_SMTP_URL=" + smtp.Url());
        env["conversations"].push_back("VETLINE_EMAIL_FROM=hello@group.example");
        // Every clinic's staff log in from this one address.
        env["gateway"] = {"VETLINE_LOGIN_IP_PER_MINUTE=100000", "VETLINE_LOGIN_ACCOUNT_PER_MINUTE=100000"};
        return env;
      }());
  if (!t.ready()) return std::fprintf(stderr, "the topology did not start (logs in %s)\n", t.dir().c_str()), 1;

  std::fprintf(stderr, "creating %d clinics with 10 clients each...\n", clinics_n);
  std::vector<std::unique_ptr<Clinic>> clinics;
  for (int i = 0; i < clinics_n; ++i) {
    auto made = t.CreateClinic("Clinic " + std::to_string(i), "admin" + std::to_string(i) + "@group.example", kPassword, i % 2);
    if (!made.ok()) return std::fprintf(stderr, "clinic: %s\n", made.status().ToString().c_str()), 1;
    auto c = std::make_unique<Clinic>();
    c->id = made->id;
    c->token = made->token;
    HttpClient http = t.Gateway(i % 2);
    auto ok = [&](const std::string& method, const std::string& target, const json& body) -> json {
      HttpResponse r = http.Send(method, target, body.dump(), Bearer(c->token));
      if (r.status != 200) throw std::runtime_error(method + " " + target + ": " + r.body);
      return r.json();
    };
    try {
      c->type = ok("POST", "/v1/booking/appointment-types", {{"name", "Wellness exam"}, {"durationMinutes", 30}})["id"];
      c->provider = ok("POST", "/v1/booking/providers", {{"name", "Dr. Lee"}})["id"];
      for (int k = 0; k < 10; ++k) {
        const std::string n = std::to_string(i * 10 + k);
        c->clients.push_back(ok("POST", "/v1/clients",
                                {{"firstName", "Client" + n}, {"lastName", "Lee"},
                                 {"emails", json::array({{{"address", "client" + n + "@example.com"}}})}})["id"]);
        c->pets.push_back(ok("POST", "/v1/clients/" + c->clients.back() + "/pets", {{"name", "Rex"}})["id"]);
        c->chats.push_back(ok("POST", "/v1/clients/" + c->clients.back() + "/conversations", json::object())["id"]);
      }
    } catch (const std::exception& ex) {
      return std::fprintf(stderr, "setup: %s\n", ex.what()), 1;
    }
    clinics.push_back(std::move(c));
  }

  // One practice behind every clinic's connector, changing 20 records a second.
  testing::LoopbackProcess practice({PIMS_SIM_BINARY, "--kind=cornerstone", "--clients=" + std::to_string(practice_clients),
                                     "--seed=7", "--mutate-every=1s", "--mutate-count=20"});
  if (!practice.ready()) return std::fprintf(stderr, "the PIMS simulator did not start\n"), 1;
  for (const auto& c : clinics) {
    HttpResponse r = t.Gateway(0).Send(
        "PUT", "/v1/pims-sync/connector",
        json{{"kind", "cornerstone"}, {"address", "127.0.0.1:" + std::to_string(practice.port())}}.dump(), Bearer(c->token));
    if (r.status != 200) return std::fprintf(stderr, "connector: %s\n", r.body.c_str()), 1;
  }
  std::fprintf(stderr, "full PIMS sync of %d clinics (%d clients each)...\n", clinics_n, practice_clients);
  if (auto [status, took] = SyncPass(t, true); status != 0) {
    return std::fprintf(stderr, "the full sync failed (exit %d; %s)\n", status, (t.dir() / "pims-sync-runs.log").c_str()), 1;
  } else {
    std::printf("full PIMS sync of %d clinics with %d clients each: %.1f s\n", clinics_n, practice_clients, took);
  }

  std::vector<int> deck;  // one entry per request of a clinic-hour, by route
  for (int r = 0; r < static_cast<int>(std::size(kRoutes)); ++r) deck.insert(deck.end(), kRoutes[r].per_clinic_hour, r);
  const double normal_rate = static_cast<double>(deck.size()) * clinics_n / 3600.0;
  std::printf("normal day: %zu requests per clinic-hour x %d clinics = %.2f requests/s (%.0f a %g-hour day)\n",
              deck.size(), clinics_n, normal_rate, normal_rate * 3600 * kOpenHours, kOpenHours);

  std::vector<Stage> stages;
  for (double multiple : multiples) {
    const double rate = normal_rate * multiple;
    const int total = static_cast<int>(rate * seconds);
    std::vector<std::vector<int64_t>> latency(std::size(kRoutes));
    std::vector<int64_t> errors(std::size(kRoutes), 0);
    std::map<std::string, std::string> first_error;
    std::mutex mu;
    std::atomic<int> next{0};
    const absl::Time start = absl::Now();
    const auto cpu_before = CpuByName();
    // Enough callers that a slow answer does not hold back the schedule.
    const int callers = std::clamp(static_cast<int>(rate / 2), 8, 96);
    // Twice a second: callers waiting for a PostgreSQL connection, the most seen per service.
    std::map<std::string, double> most_waiting, timeouts_before;
    for (const auto& [service, ports] : t.services()) {
      for (int i = 0; i < testing::Topology::kReplicas; ++i) {
        timeouts_before[service] += std::max(0.0, MetricSum(t.metrics_port(service, i), "vetline_pg_pool_acquire_timeouts_total"));
      }
    }
    std::atomic<bool> stage_done{false};
    // The incremental CronJob at this stage's pace: a pass at the start, then one each
    // interval (or as soon as the last ends, if it took longer) until the stage is over.
    const double sync_interval = kSyncIntervalSeconds / multiple;
    std::vector<std::pair<int, double>> passes;
    std::thread syncer([&] {
      for (absl::Time due = start; !stage_done || passes.empty(); due += absl::Seconds(sync_interval)) {
        while (absl::Now() < due && !stage_done) absl::SleepFor(absl::Milliseconds(50));
        if (stage_done && !passes.empty()) break;
        passes.push_back(SyncPass(t, false));
      }
    });
    std::thread sampler([&] {
      while (!stage_done) {
        for (const auto& [service, ports] : t.services()) {
          for (int i = 0; i < testing::Topology::kReplicas; ++i) {
            const double waiting = MetricSum(t.metrics_port(service, i), "vetline_pg_pool_waiting");
            std::lock_guard<std::mutex> lock(mu);
            most_waiting[service] = std::max(most_waiting[service], waiting);
          }
        }
        absl::SleepFor(absl::Milliseconds(500));
      }
    });
    std::vector<std::thread> pool;
    for (int w = 0; w < callers; ++w) {
      pool.emplace_back([&, w] {
        std::mt19937 rng(static_cast<unsigned>(w * 7919 + static_cast<int>(multiple)));
        std::unique_ptr<HttpClient> http[2];  // this caller's keep-alive connection to each gateway
        for (int i = next++; i < total; i = next++) {
          const absl::Time due = start + absl::Seconds(i / rate);
          if (absl::Now() < due) absl::SleepFor(due - absl::Now());
          Clinic& c = *clinics[rng() % clinics.size()];
          const int route = deck[rng() % deck.size()];
          const size_t k = rng() % c.clients.size();
          const int g = static_cast<int>(rng() % 2);
          for (int j = 0; j < 2; ++j) {
            if (!http[j]) http[j] = std::make_unique<HttpClient>(t.gateway_port(j));
          }
          const auto auth = Bearer(c.token);
          const absl::Time sent = absl::Now();
          HttpResponse r;
          try {
            switch (route) {
              case 0:
                r = http[g]->Post("/v1/conversations/" + c.chats[k] + "/messages",
                                  json{{"text", "Rex is due for his booster"}}.dump(), auth);
                break;
              case 1: r = http[g]->Get("/v1/conversations?pageSize=20", auth); break;
              case 2: r = http[g]->Get("/v1/clients?query=Lee", auth); break;
              case 3: r = http[g]->Get("/v1/clients/" + c.clients[k], auth); break;
              case 4:
                r = http[g]->Get("/v1/booking/availability?appointmentTypeId=" + c.type + "&from=2027-03-01&to=2027-03-07", auth);
                break;
              case 5: {
                // Each booking its own half hour, so a refusal is an error and not a lost race.
                const int slot = c.booked++;
                const absl::Time at = absl::FromUnixSeconds(1830297600) + absl::Minutes(30) * slot;  // 2028-01-01
                r = http[g]->Post("/v1/booking/appointments",
                                  json{{"clientId", c.clients[k]}, {"petId", c.pets[k]}, {"appointmentTypeId", c.type},
                                       {"providerId", c.provider},
                                       {"startTime", absl::FormatTime(absl::RFC3339_sec, at, absl::UTCTimeZone())}}.dump(),
                                  auth);
                break;
              }
              case 6: {
                r = http[g]->Post("/v1/calls", json{{"clientId", c.clients[k]}}.dump(), auth);
                if (r.status == 200) {
                  // Joined through the other gateway: routed to the replica that holds it.
                  r = http[1 - g]->Post("/v1/calls/" + r.json()["call"]["id"].get<std::string>() + "/host-join",
                                                R"({"displayName":"Dr. Lee"})", auth);
                }
                break;
              }
            }
          } catch (const std::exception& ex) {
            r.status = 0;
            r.body = ex.what();
            http[g].reset();
          }
          const int64_t ms = absl::ToInt64Milliseconds(absl::Now() - sent);
          std::lock_guard<std::mutex> lock(mu);
          latency[route].push_back(ms);
          if (r.status != 200) {
            ++errors[route];
            first_error.emplace(kRoutes[route].name, std::to_string(r.status) + " " + r.body.substr(0, 160));
          }
        }
      });
    }
    for (auto& th : pool) th.join();
    const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
    stage_done = true;
    sampler.join();
    syncer.join();  // a pass under way is let finish
    const auto cpu_after = CpuByName();

    Stage s{.multiple = multiple, .offered = rate, .achieved = total / elapsed, .sync_interval = sync_interval};
    for (const auto& [status, took] : passes) {
      ++s.syncs;
      s.sync_failures += status != 0;
      s.longest_sync = std::max(s.longest_sync, took);
    }
    int64_t errs = 0;
    std::printf("\n%gx normal: %.1f requests/s offered, %.1f achieved over %.0f s (%d callers)\n", multiple, rate,
                s.achieved, elapsed, callers);
    for (size_t r = 0; r < std::size(kRoutes); ++r) {
      const int64_t p50 = Percentile(latency[r], 0.5), p99 = Percentile(latency[r], 0.99);
      errs += errors[r];
      std::printf("  %-15s %6zu requests  p50 %5lld ms  p99 %5lld ms (target <= 500)  errors %lld\n", kRoutes[r].name,
                  latency[r].size(), static_cast<long long>(p50), static_cast<long long>(p99),
                  static_cast<long long>(errors[r]));
      if (p99 > s.worst_p99_ms) {
        s.worst_p99_ms = p99;
        s.worst_route = kRoutes[r].name;
      }
    }
    for (const auto& [route, e] : first_error) std::printf("  first %s error: %s\n", route.c_str(), e.c_str());
    s.error_rate = total ? static_cast<double>(errs) / total : 0;
    std::printf("  error rate %.3f%% (target <= 0.1%%)\n", 100 * s.error_rate);
    std::printf("  PIMS sync: %d incremental passes over %d clinics, longest %.1f s (target <= %.0f s, the CronJob's "
                "interval at %gx), %d failed\n",
                s.syncs, clinics_n, s.longest_sync, sync_interval, multiple, s.sync_failures);
    std::vector<std::pair<double, std::string>> cpu;
    for (const auto& [name, after] : cpu_after) {
      auto before = cpu_before.find(name);
      const double used = after - (before == cpu_before.end() ? 0 : before->second);
      if (used / elapsed >= 0.01) cpu.emplace_back(used / elapsed, name);
      s.total_cores += used / elapsed;
    }
    std::sort(cpu.rbegin(), cpu.rend());
    std::printf("  CPU: %.2f of %d cores busy;", s.total_cores, get_nprocs());
    for (size_t i = 0; i < cpu.size() && i < 6; ++i) std::printf(" %s %.2f", cpu[i].second.c_str(), cpu[i].first);
    std::printf("\n");
    std::printf("  PostgreSQL pools (%d per process), most callers waiting / connection timeouts:", pool_size);
    for (const auto& [service, ports] : t.services()) {
      double timeouts = -timeouts_before[service];
      for (int i = 0; i < testing::Topology::kReplicas; ++i) {
        timeouts += std::max(0.0, MetricSum(t.metrics_port(service, i), "vetline_pg_pool_acquire_timeouts_total"));
      }
      std::printf(" %s %.0f/%.0f", service.c_str(), most_waiting[service], timeouts);
      if (most_waiting[service] > s.most_waiting) {
        s.most_waiting = most_waiting[service];
        s.most_waiting_service = service;
      }
    }
    std::printf("\n");
    if (!cpu.empty()) {
      s.busiest = cpu[0].second;
      s.busiest_cores = cpu[0].first;
    }
    stages.push_back(s);
  }

  // The first stage that missed a target, and what was busiest there.
  const Stage* ten = nullptr;
  const Stage* broke = nullptr;
  for (const Stage& s : stages) {
    if (s.multiple == 10) ten = &s;
    if (s.missed() && !broke) broke = &s;
  }
  std::printf("\n");
  if (broke) {
    std::printf("first stage past a target: %gx (p99 %lld ms on %s, errors %.3f%%, %.1f of %.1f requests/s, "
                "sync pass %.1f of %.0f s, %d failed); busiest: %s at %.2f cores of %.2f used; up to %.0f callers "
                "waiting for a PostgreSQL connection in %s\n",
                broke->multiple, static_cast<long long>(broke->worst_p99_ms), broke->worst_route.c_str(),
                100 * broke->error_rate, broke->achieved, broke->offered, broke->longest_sync, broke->sync_interval,
                broke->sync_failures, broke->busiest.c_str(), broke->busiest_cores,
                broke->total_cores, broke->most_waiting, broke->most_waiting_service.empty() ? "none" : broke->most_waiting_service.c_str());
  } else {
    std::printf("every stage met its targets; busiest at the last: %s at %.2f cores\n", stages.back().busiest.c_str(),
                stages.back().busiest_cores);
  }
  const bool met = ten && !ten->missed();
  std::printf("normal_rps=%.2f", normal_rate);
  for (const Stage& s : stages) {
    std::printf(" x%g_rps=%.1f x%g_error_pct=%.3f x%g_worst_p99_ms=%lld x%g_cpu_cores=%.2f x%g_pg_waiting=%.0f"
                " x%g_sync_s=%.1f x%g_sync_failures=%d",
                s.multiple, s.achieved, s.multiple, 100 * s.error_rate, s.multiple, static_cast<long long>(s.worst_p99_ms),
                s.multiple, s.total_cores, s.multiple, s.most_waiting, s.multiple, s.longest_sync, s.multiple,
                s.sync_failures);
  }
  std::printf(" first_missed=%s busiest=%s targets_met=%s\n", broke ? absl::StrFormat("x%g", broke->multiple).c_str() : "none",
              broke ? broke->busiest.c_str() : stages.back().busiest.c_str(), met ? "yes" : "no");
  return 0;
}
