// bench_writeback: bookings made through the real booking service (gRPC
// CreateAppointment as staff) at a steady rate, written back to a simulated Cornerstone
// PIMS by the real pims_sync service: booking's outbox -> Redis wake-up -> feed consumer
// -> pims_sync.writebacks -> worker -> connector. Measures, per booking, the time from
// the booking's commit (CreateAppointment answered) to the simulator holding it (a
// watcher polls the practice every 2 ms). Target: p99 <= 10 s (the seeds' product takes
// 1-3 minutes). Also checks that the PIMS got each booking exactly once.
// The last line is key=value pairs ending in targets_met=yes|no.
//
//   tools/bench writeback [--bookings=1000] [--rate=50]
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "libs/core/config.h"
#include "libs/core/log.h"
#include "libs/core/time.h"
#include "libs/pg/migrations.h"
#include "libs/rpc/rpc.h"
#include "libs/testing/servers.h"
#include "services/booking/booking_component.h"
#include "services/clients/clients_component.h"
#include "services/pims_sync/pims_sync_component.h"
#include "services/pims_sync/sync_runner.h"
#include "tests/support/identity_stack.h"
#include "tests/support/principals.h"
#include "tools/pims_sim/in_process.h"
#include "vetline/booking/v1/booking.grpc.pb.h"

using namespace vetline;
namespace bv1 = vetline::booking::v1;

namespace {

constexpr double kTargetP99Seconds = 10;

double Quantile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

std::string One(pg::Pool& pool, const std::string& sql, const pg::Params& params = {}) {
  std::string out;
  (void)pool.WithSession([&](pg::Session& s) -> absl::Status {
    auto r = s.ExecRaw(sql, params);
    if (r.ok() && r->rows() > 0) out = r->Text(0, 0);
    return r.status();
  });
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int n_bookings, rate;
  ConfigParser flags("bench_writeback");
  flags.Int("bookings", &n_bookings, "bookings in all", 1000, 1, 20000);
  flags.Int("rate", &rate, "bookings per second", 50, 1, 1000);
  if (absl::Status st = flags.Parse(argc, argv); !st.ok()) {
    std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    return 2;
  }
  log::Init("bench", log::Level::kError);
  auth::PrincipalSigner signer(auth::Key::FromSecret(testing::kTestInternalSecret).value());

  // The practice, served over real gRPC in this process.
  pims_sim::InProcess sim(pims_sim::Kind::kCornerstone, 2000);
  pims_sim::Practice& practice = sim.practice;

  testing::TestDatabase db;
  testing::IdentityStack identity;
  auto clients = clients::Start(testing::TestServiceEnv(db.conninfo(), true, 8), {}).value();
  const std::string clients_address = "127.0.0.1:" + std::to_string(clients->server().port());
  rpc::ServiceEnv env = testing::TestServiceEnv(db.conninfo(), true, 16);
  env.peers = {{"clients", clients_address}, {"identity", identity.address()}};
  auto booking = booking::Start(env).value();
  const std::string booking_address = "127.0.0.1:" + std::to_string(booking->server().port());
  auto pool = pg::Pool::Create({.conninfo = db.conninfo(), .size = 2}).value();
  if (!pg::Migrate(*pool, "pims_sync", pg::pims_sync_migrations()).ok()) return 1;
  pims_sync::SyncRepository repo(pool);
  const std::string clinic =
      identity.CreateClinic("Bench clinic", "admin@bench.example", "correct horse battery staple").clinic().id();
  pims_sync::sv1::Connector c;
  c.set_clinic_id(clinic);
  c.set_kind("cornerstone");
  c.set_address(sim.address());
  if (!repo.SetConnector(c).ok()) return 1;
  {
    pims_sync::SyncRunner runner(repo, rpc::Dial(clients_address), rpc::Dial(booking_address), signer, {});
    auto run = runner.Run(clinic, true);
    if (!run.ok()) {
      std::fprintf(stderr, "sync failed: %s\n", run.status().ToString().c_str());
      return 1;
    }
  }
  rpc::ServiceEnv sync_env = testing::TestServiceEnv(db.conninfo(), true, 8);
  sync_env.peers = {{"clients", clients_address}, {"booking", booking_address}};
  auto pims_sync = pims_sync::Start(sync_env).value();

  // Who and what to book: synced clients with a pet, the active providers, a 30-minute type.
  std::vector<std::pair<std::string, std::string>> pets;
  (void)pool->WithSession([&](pg::Session& s) -> absl::Status {
    auto r = s.ExecRaw(
        "SELECT p.client_id::text AS c, p.id::text AS p FROM clients.pets p JOIN clients.clients c ON c.id = "
        "p.client_id WHERE c.clinic_id = $1 AND c.pims_id IS NOT NULL AND p.pims_id IS NOT NULL AND p.active AND "
        "NOT p.deceased AND c.pims_active AND NOT c.pims_deleted ORDER BY p.pims_id LIMIT 500",
        {clinic});
    if (r.ok()) {
      for (int i = 0; i < r->rows(); ++i) pets.emplace_back(r->Text(i, "c"), r->Text(i, "p"));
    }
    return r.status();
  });
  std::vector<std::string> providers;
  (void)pool->WithSession([&](pg::Session& s) -> absl::Status {
    auto r = s.ExecRaw("SELECT id::text FROM booking.providers WHERE clinic_id = $1 AND active ORDER BY pims_id",
                       {clinic});
    if (r.ok()) {
      for (int i = 0; i < r->rows(); ++i) providers.push_back(r->Text(i, 0));
    }
    return r.status();
  });
  const std::string type = One(*pool, "SELECT id::text FROM booking.appointment_types WHERE clinic_id = $1 AND active "
                                      "AND duration_minutes = 30 ORDER BY pims_id LIMIT 1", {clinic});
  absl::TimeZone zone;
  if (pets.empty() || providers.empty() || type.empty() ||
      !absl::LoadTimeZone(One(*pool, "SELECT time_zone FROM booking.settings WHERE clinic_id = $1", {clinic}), &zone)) {
    std::fprintf(stderr, "the synced practice has nothing to book\n");
    return 1;
  }

  // The watcher: when each new PIMS appointment appeared in the simulator.
  const int64_t before = practice.Count(pims::v1::APPOINTMENTS);
  std::mutex mu;
  std::map<std::string, absl::Time> arrived;  // PIMS id -> first seen
  std::atomic<bool> stop{false};
  std::thread watcher([&] {
    int64_t seen = before;
    while (!stop) {
      const int64_t n = practice.Count(pims::v1::APPOINTMENTS);
      const absl::Time now = absl::Now();
      for (; seen < n; ++seen) {
        std::lock_guard<std::mutex> l(mu);
        arrived[practice.Record(pims::v1::APPOINTMENTS, seen).id()] = now;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });

  // Weekend slots (the simulated practice books no one then), 08:00-20:00, per provider.
  auto slot = [&](int i) {
    const int per_day = 24 * static_cast<int>(providers.size());
    const int day = i / per_day, in_day = i % per_day;
    const absl::CivilDay d = absl::CivilDay(2027, 6, 5) + 7 * (day / 2) + day % 2;  // Saturday, Sunday
    return std::pair{providers[in_day % providers.size()],
                     absl::FromCivil(absl::CivilMinute(d) + 8 * 60 + 30 * (in_day / static_cast<int>(providers.size())),
                                     zone)};
  };
  auto stub = bv1::BookingService::NewStub(rpc::Dial(booking_address));
  std::vector<std::pair<std::string, absl::Time>> committed;  // appointment id, commit
  int refused = 0;
  const absl::Time start = absl::Now();
  for (int i = 0; i < n_bookings; ++i) {
    const absl::Time due = start + absl::Seconds(1) * i / rate;
    if (absl::Now() < due) absl::SleepFor(due - absl::Now());
    auto [provider, at] = slot(i);
    bv1::CreateAppointmentRequest req;
    req.set_client_id(pets[i % pets.size()].first);
    req.set_pet_id(pets[i % pets.size()].second);
    req.set_appointment_type_id(type);
    req.set_provider_id(provider);
    *req.mutable_start_time() = ToTimestamp(at);
    bv1::Appointment a;
    auto ctx = testing::ContextAs(testing::StaffPrincipal(clinic), signer);
    grpc::Status st = stub->CreateAppointment(ctx.get(), req, &a);
    if (!st.ok()) {
      if (++refused <= 5) std::fprintf(stderr, "booking refused: %s\n", st.error_message().c_str());
      continue;
    }
    committed.emplace_back(a.id(), absl::Now());
  }
  const double booking_seconds = absl::ToDoubleSeconds(absl::Now() - start);

  // Wait (bounded) until the simulator holds every booking.
  const absl::Time limit = absl::Now() + absl::Seconds(120);
  while (absl::Now() < limit) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (static_cast<int64_t>(arrived.size()) >= static_cast<int64_t>(committed.size())) break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  absl::SleepFor(absl::Milliseconds(500));  // a duplicate would show up by now
  stop = true;
  watcher.join();

  std::vector<double> latencies;
  int missing = 0;
  for (const auto& [id, at] : committed) {
    const std::string pims_id = One(*pool, "SELECT coalesce(pims_id, '') FROM booking.appointments WHERE id = $1", {id});
    std::lock_guard<std::mutex> l(mu);
    auto it = arrived.find(pims_id);
    if (pims_id.empty() || it == arrived.end()) {
      ++missing;
      continue;
    }
    latencies.push_back(std::max(0.0, absl::ToDoubleMilliseconds(it->second - at)));
  }
  const int64_t in_pims = practice.Count(pims::v1::APPOINTMENTS) - before;
  const int64_t duplicates = in_pims - static_cast<int64_t>(latencies.size());
  const double p50 = Quantile(latencies, 0.5), p99 = Quantile(latencies, 0.99), max = Quantile(latencies, 1.0);
  const bool met = missing == 0 && refused == 0 && duplicates == 0 && p99 <= kTargetP99Seconds * 1000;
  std::printf("writeback: %d bookings at %d/s through BookingService.CreateAppointment (%.1f s), written back to a "
              "simulated Cornerstone PIMS\n", n_bookings, rate, booking_seconds);
  std::printf("  in the PIMS: %zu of %zu committed; missing %d, duplicates %lld (target 0), refused bookings %d\n",
              latencies.size(), committed.size(), missing, static_cast<long long>(duplicates), refused);
  std::printf("  booking commit -> PIMS holds it: p50 %.0f ms, p99 %.0f ms (target <= %.0f s), max %.0f ms  (%s)\n",
              p50, p99, kTargetP99Seconds, max, met ? "targets met" : "MISSED");
  std::printf("bookings=%d rate=%d written=%zu missing=%d duplicates=%lld p50_ms=%.0f p99_ms=%.0f max_ms=%.0f "
              "target_p99_ms=%.0f targets_met=%s\n",
              n_bookings, rate, latencies.size(), missing, static_cast<long long>(duplicates), p50, p99, max,
              kTargetP99Seconds * 1000, met ? "yes" : "no");
  pims_sync.reset();
  return met ? 0 : 1;
}
