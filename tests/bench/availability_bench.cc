// bench_availability: open slots over a busy clinic — 60 days, 20 providers, 10 rooms,
// 50,000 appointments — for a week at a time (the booking widget's question), any
// provider, a type that needs a room. Measures the pure engine (OpenSlots on inputs read
// once) and the whole gRPC call (GetAvailability: one batched read of settings, type,
// providers, hours, block-offs and the versions of its days — appointments come from the
// days the service holds, read again only when their version moved — the engine, the
// answer). Target: p99 <= 5 ms for the whole call, steadily; the calls right
// after a change on one of their days, and those of a replica that holds none of their
// days yet, are printed beside it. The last line is key=value pairs.
//
//   tools/bench availability [--queries=500] [--days=7]
#include <random>

#include "absl/strings/str_format.h"
#include "libs/core/config.h"
#include "libs/core/log.h"
#include "libs/core/time.h"
#include "services/booking/availability.h"
#include "services/booking/booking_repository.h"
#include "tests/bench/booking_bench_stack.h"

using namespace vetline;
namespace v1 = vetline::booking::v1;

namespace {
constexpr double kTargetCallP99Ms = 5.0;
constexpr int kDays = 60, kProviders = 20, kRooms = 10, kAppointments = 50000;
}  // namespace

int main(int argc, char** argv) {
  int n_queries, n_days;
  ConfigParser flags("bench_availability");
  flags.Int("queries", &n_queries, "questions asked (each way)", 500, 1, 100000);
  flags.Int("days", &n_days, "local days per question", 7, 1, 92);
  if (absl::Status st = flags.Parse(argc, argv); !st.ok()) {
    std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    return 2;
  }
  log::Init("bench", log::Level::kWarning);
  bench::BookingBenchStack stack;
  auto stub = v1::BookingService::NewStub(stack.channel());
  const std::string& clinic = stack.clinic();

  // The clinic: open 07:00-20:00 every day, slots every 15 minutes, no notice, a year ahead.
  v1::UpdateSettingsRequest settings;
  settings.set_minimum_notice_minutes(0);
  settings.set_booking_horizon_days(365);
  settings.set_slot_granularity_minutes(15);
  v1::BookingSettings got;
  if (!stub->UpdateSettings(stack.Staff(true).get(), settings, &got).ok()) return 1;
  v1::PutClinicHoursRequest hours;
  for (int d = v1::MONDAY; d <= v1::SUNDAY; ++d) {
    auto* w = hours.mutable_schedule()->add_weekly();
    w->set_weekday(static_cast<v1::Weekday>(d));
    auto* r = w->add_ranges();
    r->set_open("07:00");
    r->set_close("20:00");
  }
  v1::Schedule saved;
  if (!stub->PutClinicHours(stack.Staff(true).get(), hours, &saved).ok()) return 1;
  stack.Providers(kProviders);
  const std::vector<std::string> rooms = stack.Rooms(kRooms);
  v1::AppointmentType type;
  v1::UpdateAppointmentTypeRequest uses_rooms;
  uses_rooms.set_id(stack.Type(30));
  for (const auto& r : rooms) uses_rooms.mutable_room_ids()->add_ids(r);
  if (!stub->UpdateAppointmentType(stack.Staff(true).get(), uses_rooms, &type).ok()) return 1;

  // 50,000 appointments: 42 a provider-day (60 days x 20 providers) of 10 minutes, in
  // runs of 7 back to back with 45 minutes free after each run, from 07:00; providers
  // 0-9 in a room every third one (distinct rooms at any moment). Loaded directly: this
  // measures reads, not bookings.
  const absl::TimeZone zone = [] {
    absl::TimeZone z;
    absl::LoadTimeZone("America/New_York", &z);
    return z;
  }();
  // From tomorrow, so the service's real clock leaves every seeded day bookable.
  const absl::CivilDay first_day = absl::ToCivilDay(absl::Now(), zone) + 1;
  absl::Time load_start = absl::Now();
  stack.Sql(
      "INSERT INTO booking.appointments (clinic_id, provider_id, room_id, during, status, source) "
      "SELECT $1::uuid, p.id, r.id, tstzrange(s.t, s.t + interval '10 minutes', '[)'), 'scheduled', 'staff' "
      "FROM generate_series(0, $3::int - 1) d CROSS JOIN generate_series(0, 41) k "
      "CROSS JOIN (SELECT id, row_number() OVER (ORDER BY name) - 1 AS n FROM booking.providers "
      "WHERE clinic_id = $1) p "
      "CROSS JOIN LATERAL (SELECT (($2::date + d)::timestamp AT TIME ZONE 'America/New_York') + "
      "make_interval(mins => 420 + k * 10 + (k / 7) * 45) AS t) s "
      "LEFT JOIN (SELECT id, row_number() OVER (ORDER BY name) - 1 AS m FROM booking.rooms WHERE clinic_id = $1) r "
      "ON p.n < 10 AND k % 3 = 0 AND r.m = (p.n + k) % 10 "
      "ORDER BY d, k, p.n LIMIT $4",
      {clinic, absl::FormatCivilTime(first_day), kDays, kAppointments});
  stack.Sql("ANALYZE booking.appointments");
  const int64_t stored = stack.Sql("SELECT count(*) AS n FROM booking.appointments").Int(0, "n");
  std::fprintf(stderr, "stored %lld appointments in %.1f s\n", static_cast<long long>(stored),
               absl::ToDoubleSeconds(absl::Now() - load_start));

  {  // How the database reads one week's taken time, for the record.
    const absl::Time from = booking::LocalInstant(first_day + 9, 0, zone), to = from + absl::Hours(24 * 9);
    pg::Result plan = stack.Sql(
        "EXPLAIN (ANALYZE, BUFFERS) SELECT provider_id, room_id, lower(during), upper(during) FROM "
        "booking.appointments WHERE clinic_id = $1 AND status IN ('scheduled', 'confirmed', 'checked_in') "
        "AND during && tstzrange($2::timestamptz, $3::timestamptz, '[)')",
        {clinic, from, to});
    for (int i = 0; i < plan.rows(); ++i) std::fprintf(stderr, "  %s\n", plan.Text(i, 0).c_str());
  }
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> start_day(0, kDays - n_days);
  // The pure engine on inputs read once per question window.
  booking::BookingRepository repo(std::shared_ptr<pg::Pool>(&stack.db(), [](pg::Pool*) {}));
  std::vector<double> engine_ms, call_ms, read_ms;
  size_t slots_total = 0;
  for (int i = 0; i < n_queries; ++i) {
    absl::CivilDay from = first_day + start_day(rng), to = from + (n_days - 1);
    absl::Time r0 = absl::Now();
    auto in = repo.LoadAvailability(clinic, type.id(), from, to);
    read_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - r0));
    if (!in.ok() || !in->has_settings) {
      std::fprintf(stderr, "load: %s\n", in.ok() ? "no settings" : in.status().ToString().c_str());
      return 1;
    }
    absl::Time t0 = absl::Now();
    auto slots = booking::OpenSlots(in->clinic, in->Taken(),
                                    {.type = in->type, .first_day = from, .last_day = to,
                                     .now = absl::Now()});
    engine_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    if (!slots.ok()) {
      std::fprintf(stderr, "engine: %s\n", slots.status().ToString().c_str());
      return 1;
    }
    slots_total += slots->size();
  }
  // The whole call, over the same days: first with none of their days held by the
  // service (a replica just started), then steadily (every day held, the usual case), then
  // right after an appointment on one of the question's days changed (that day read again).
  const absl::CivilDay today = first_day;
  auto ask = [&](absl::CivilDay from, double* ms, size_t* slots) -> bool {
    v1::GetAvailabilityRequest q;
    q.set_appointment_type_id(type.id());
    q.set_from(absl::FormatCivilTime(from));
    q.set_to(absl::FormatCivilTime(from + (n_days - 1)));
    v1::GetAvailabilityResponse resp;
    absl::Time t0 = absl::Now();
    grpc::Status st = stub->GetAvailability(stack.Staff().get(), q, &resp);
    *ms = absl::ToDoubleMilliseconds(absl::Now() - t0);
    if (!st.ok()) std::fprintf(stderr, "GetAvailability: %s\n", st.error_message().c_str());
    if (slots) *slots += resp.slots_size();
    return st.ok();
  };
  std::vector<double> cold_ms, changed_ms;
  double ms = 0;
  for (int i = 0; i < 3; ++i) {  // connections and prepared statements, on days asked again below
    if (!ask(today, &ms, nullptr)) return 1;
  }
  for (int d = n_days; d + n_days <= kDays; d += n_days) {  // each question reads all its days afresh
    if (!ask(today + d, &ms, nullptr)) return 1;
    cold_ms.push_back(ms);
  }
  for (int d = 0; d + n_days <= kDays; ++d) {  // every day held
    if (!ask(today + d, &ms, nullptr)) return 1;
  }
  size_t call_slots = 0;
  for (int i = 0; i < n_queries; ++i) {
    if (!ask(today + start_day(rng), &ms, &call_slots)) return 1;
    call_ms.push_back(ms);
  }
  for (int i = 0; i < std::min(n_queries, 200); ++i) {
    const absl::CivilDay from = today + start_day(rng);
    const absl::Time day = booking::LocalInstant(from + static_cast<int>(rng() % n_days), 12, zone);
    stack.Sql("UPDATE booking.appointments SET description = description || '.' WHERE id = (SELECT id FROM "
              "booking.appointments WHERE clinic_id = $1 AND during && tstzrange($2::timestamptz, "
              "$3::timestamptz) LIMIT 1)",
              {clinic, day, day + absl::Hours(1)});
    if (!ask(from, &ms, nullptr)) return 1;
    changed_ms.push_back(ms);
  }
  const double e50 = bench::Quantile(engine_ms, 0.5), e99 = bench::Quantile(engine_ms, 0.99);
  const double c50 = bench::Quantile(call_ms, 0.5), c99 = bench::Quantile(call_ms, 0.99);
  const bool met = c99 <= kTargetCallP99Ms;
  std::printf("availability over %d days, %d providers, %d rooms, %lld appointments; %d-day questions, "
              "any provider, a 30-minute type needing a room\n",
              kDays, kProviders, kRooms, static_cast<long long>(stored), n_days);
  std::printf("  engine (OpenSlots)     p50 %6.2f ms  p99 %6.2f ms  (%.0f slots a question)\n", e50, e99,
              static_cast<double>(slots_total) / n_queries);
  std::printf("  its reads (one batch)  p50 %6.2f ms  p99 %6.2f ms\n", bench::Quantile(read_ms, 0.5),
              bench::Quantile(read_ms, 0.99));
  std::printf("  whole gRPC call        p50 %6.2f ms  p99 %6.2f ms  (target p99 <= %.0f ms: %s; %.0f slots)\n",
              c50, c99, kTargetCallP99Ms, met ? "met" : "MISSED", static_cast<double>(call_slots) / n_queries);
  std::printf("    after one of its days changed  p50 %6.2f ms  p99 %6.2f ms  (%zu questions; that day read again)\n",
              bench::Quantile(changed_ms, 0.5), bench::Quantile(changed_ms, 0.99), changed_ms.size());
  std::printf("    none of its days held yet      p50 %6.2f ms  p99 %6.2f ms  (%zu questions; a replica just started)\n",
              bench::Quantile(cold_ms, 0.5), bench::Quantile(cold_ms, 0.99), cold_ms.size());
  std::printf("engine_p50_ms=%.2f engine_p99_ms=%.2f call_p50_ms=%.2f call_p99_ms=%.2f target_call_p99_ms=%.0f "
              "changed_p99_ms=%.2f cold_p99_ms=%.2f appointments=%lld days=%d queries=%d targets_met=%s\n",
              e50, e99, c50, c99, kTargetCallP99Ms, bench::Quantile(changed_ms, 0.99), bench::Quantile(cold_ms, 0.99), static_cast<long long>(stored), n_days, n_queries,
              met ? "yes" : "no");
  return 0;
}
