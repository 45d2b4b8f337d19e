// bench_booking: 10,000 booking attempts from 50 concurrent callers on 100 slots (4
// providers x 25 half-hour slots), over real gRPC (BookingService.CreateAppointment,
// which also checks the client and pet with the clients service). Every slot must end
// with exactly one appointment, the database must hold no two overlapping active
// appointments of a provider (checked with SQL), and every loser must get the clean
// FAILED_PRECONDITION on startTime. Reports attempts/s. The last line is key=value pairs.
//
//   tools/bench booking [--attempts=10000] [--callers=50]
#include <atomic>
#include <random>
#include <thread>

#include "absl/strings/str_format.h"
#include "libs/core/config.h"
#include "libs/core/log.h"
#include "libs/core/time.h"
#include "tests/bench/booking_bench_stack.h"

using namespace vetline;
namespace v1 = vetline::booking::v1;

namespace {
constexpr int kProviders = 4, kSlotsPerProvider = 25;
constexpr int kSlots = kProviders * kSlotsPerProvider;
}  // namespace

int main(int argc, char** argv) {
  int n_attempts, n_callers;
  ConfigParser flags("bench_booking");
  flags.Int("attempts", &n_attempts, "booking attempts in all", 10000, 1, 1000000);
  flags.Int("callers", &n_callers, "concurrent callers", 50, 1, 100);
  if (absl::Status st = flags.Parse(argc, argv); !st.ok()) {
    std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    return 2;
  }
  log::Init("bench", log::Level::kWarning);
  bench::BookingBenchStack stack(/*booking_pool=*/16);
  auto stub = v1::BookingService::NewStub(stack.channel());
  const std::vector<std::string> providers = stack.Providers(kProviders);
  const std::string type_id = stack.Type(30);
  auto [client, pet] = stack.ClientWithPet();
  const absl::Time day = absl::FromCivil(absl::ToCivilDay(absl::Now(), absl::UTCTimeZone()) + 7, absl::UTCTimeZone());

  // Attempt i books slot order[i] (each slot tried 100 times, in a shuffled order).
  std::vector<int> order(n_attempts);
  for (int i = 0; i < n_attempts; ++i) order[i] = i % kSlots;
  std::shuffle(order.begin(), order.end(), std::mt19937(11));
  std::atomic<int> next{0}, ok{0}, clean_losers{0}, other_errors{0};
  std::vector<std::vector<double>> latencies(n_callers);
  const absl::Time start = absl::Now();
  std::vector<std::thread> callers;
  for (int c = 0; c < n_callers; ++c) {
    callers.emplace_back([&, c] {
      for (int i = next++; i < n_attempts; i = next++) {
        const int slot = order[i];
        v1::CreateAppointmentRequest req;
        req.set_client_id(client);
        req.set_pet_id(pet);
        req.set_appointment_type_id(type_id);
        req.set_provider_id(providers[slot / kSlotsPerProvider]);
        *req.mutable_start_time() = ToTimestamp(day + absl::Hours(8) + absl::Minutes(30) * (slot % kSlotsPerProvider));
        v1::Appointment out;
        absl::Time t0 = absl::Now();
        grpc::Status st = stub->CreateAppointment(stack.Staff().get(), req, &out);
        latencies[c].push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
        if (st.ok()) {
          ++ok;
        } else if (st.error_code() == grpc::StatusCode::FAILED_PRECONDITION && st.error_details() == "startTime" &&
                   st.error_message() == "slot no longer available") {
          ++clean_losers;
        } else {
          if (++other_errors <= 5) std::fprintf(stderr, "unexpected: %d %s\n", st.error_code(), st.error_message().c_str());
        }
      }
    });
  }
  for (auto& t : callers) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<double> all;
  for (auto& v : latencies) all.insert(all.end(), v.begin(), v.end());

  const int64_t overlaps =
      stack.Sql("SELECT count(*) AS n FROM booking.appointments a JOIN booking.appointments b ON a.id < b.id "
                "AND a.provider_id = b.provider_id AND a.during && b.during WHERE a.status IN ('scheduled', "
                "'confirmed', 'checked_in') AND b.status IN ('scheduled', 'confirmed', 'checked_in')")
          .Int(0, "n");
  const int64_t stored = stack.Sql("SELECT count(*) AS n FROM booking.appointments").Int(0, "n");
  const int expected_ok = std::min(n_attempts, kSlots);
  const bool met = overlaps == 0 && ok == expected_ok && stored == expected_ok &&
                   clean_losers == n_attempts - expected_ok && other_errors == 0;
  std::printf("booking: %d attempts from %d concurrent callers on %d slots (gRPC CreateAppointment)\n", n_attempts,
              n_callers, kSlots);
  std::printf("  booked %d of %d slots, %lld rows stored (target: one per slot)\n", ok.load(), kSlots,
              static_cast<long long>(stored));
  std::printf("  overlapping active appointments in the database: %lld (target 0)\n", static_cast<long long>(overlaps));
  std::printf("  losers with FAILED_PRECONDITION startTime \"slot no longer available\": %d of %d; other errors %d "
              "(target 0)\n",
              clean_losers.load(), n_attempts - expected_ok, other_errors.load());
  std::printf("  %.0f attempts/s, %.1f s in all; latency p50 %.2f ms p99 %.2f ms  (%s)\n", n_attempts / seconds,
              seconds, bench::Quantile(all, 0.5), bench::Quantile(all, 0.99), met ? "targets met" : "MISSED");
  std::printf("attempts=%d callers=%d slots=%d booked=%d stored=%lld overlaps=%lld clean_losers=%d other_errors=%d "
              "attempts_per_s=%.0f p50_ms=%.2f p99_ms=%.2f targets_met=%s\n",
              n_attempts, n_callers, kSlots, ok.load(), static_cast<long long>(stored),
              static_cast<long long>(overlaps), clean_losers.load(), other_errors.load(), n_attempts / seconds,
              bench::Quantile(all, 0.5), bench::Quantile(all, 0.99), met ? "yes" : "no");
  return met ? 0 : 1;
}
