// pims-sim: serves the PIMS connector protocol for a simulated Cornerstone-like or
// Avimark-like practice. Prints `port=NNNN` as its first line.
//
//   pims-sim --kind=cornerstone --clients=100000 --seed=7 [--port=0]
//            [--mutate-every=1s --mutate-count=50] [--drop-after=N] [--slow-ms=M]
//            [--hang-after=N [--hang-ms=M]] [--no-schedule] [--schedule-around=2026-12-01]
//            [--write-unavailable=N] [--refuse-writes] [--write-slow-ms=M]
#include <cstdio>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "libs/core/config.h"
#include "libs/rpc/server.h"
#include "tools/pims_sim/connector_service.h"

int main(int argc, char** argv) {
  using namespace vetline;
  std::string kind, host;
  int clients, seed, port, mutate_count, drop_after, slow_ms, hang_after, hang_ms;
  absl::Duration mutate_every;
  bool no_schedule, refuse_writes;
  int write_unavailable, write_slow_ms;
  std::string around;
  ConfigParser p("pims-sim");
  p.String("kind", &kind, "cornerstone or avimark", "cornerstone");
  p.Int("clients", &clients, "clients in the practice (patients: 1.5 per client)", 1000, 0, 10'000'000);
  p.Int("seed", &seed, "generator seed: the same seed gives the same practice", 7, 0, 1 << 30);
  p.String("host", &host, "listen address", "127.0.0.1");
  p.Int("port", &port, "listen port (0: any free port)", 0, 0, 65535);
  p.Duration("mutate-every", &mutate_every, "change records this often (0: never)", absl::ZeroDuration());
  p.Int("mutate-count", &mutate_count, "records changed each time", 50, 1, 1'000'000);
  p.Int("drop-after", &drop_after, "end snapshot streams after this many records (0: never)", 0, 0, 1 << 30);
  p.Int("slow-ms", &slow_ms, "pause before each batch (ms)", 0, 0, 60'000);
  p.Int("hang-after", &hang_after, "streams go silent after this many records (0: never)", 0, 0, 1 << 30);
  p.Int("hang-ms", &hang_ms, "how long a hung stream stays silent (ms)", 600'000, 0, 3'600'000);
  p.Bool("no-schedule", &no_schedule, "serve clients and patients only (UNIMPLEMENTED for the schedule)", false);
  p.Int("write-unavailable", &write_unavailable, "the first N writes answer UNAVAILABLE", 0, 0, 1 << 30);
  p.Bool("refuse-writes", &refuse_writes, "every write answers FAILED_PRECONDITION", false);
  p.Int("write-slow-ms", &write_slow_ms, "pause before answering each write (ms)", 0, 0, 60'000);
  p.String("schedule-around", &around, "the schedule spreads around this day (YYYY-MM-DD)", "2026-12-01");
  if (absl::Status st = p.Parse(argc, argv); !st.ok()) {
    std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    return 2;
  }
  if (kind != "cornerstone" && kind != "avimark") {
    std::fprintf(stderr, "pims-sim: --kind must be cornerstone or avimark\n");
    return 2;
  }
  absl::CivilDay around_day;
  if (!absl::ParseCivilTime(around, &around_day)) {
    std::fprintf(stderr, "pims-sim: --schedule-around must be a date YYYY-MM-DD\n");
    return 2;
  }
  pims_sim::Practice practice({kind == "cornerstone" ? pims_sim::Kind::kCornerstone : pims_sim::Kind::kAvimark,
                               clients, static_cast<uint64_t>(seed), around_day});
  pims_sim::ConnectorService service(practice, {drop_after, slow_ms, hang_after, hang_ms, no_schedule});
  service.write_faults().unavailable = write_unavailable;
  service.write_faults().refuse = refuse_writes;
  service.write_faults().slow_ms = write_slow_ms;
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(host + ":" + std::to_string(port), grpc::InsecureServerCredentials(), &bound);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server || bound == 0) {
    std::fprintf(stderr, "pims-sim: cannot listen on %s:%d\n", host.c_str(), port);
    return 1;
  }
  std::printf("port=%d\n", bound);
  std::fflush(stdout);
  std::thread mutator;
  std::atomic<bool> stop{false};
  if (mutate_every > absl::ZeroDuration()) {
    mutator = std::thread([&] {
      while (!stop) {
        absl::SleepFor(mutate_every);
        practice.Mutate(mutate_count);
      }
    });
  }
  rpc::WaitForShutdownSignal();
  stop = true;
  server->Shutdown();
  if (mutator.joinable()) mutator.join();
  return 0;
}
