// The availability engine on its own: what a client picking a time in the booking
// widget is offered, including on the nights the clocks change.
#include "services/booking/availability.h"

#include <catch2/catch.hpp>

#include "libs/core/status.h"

using namespace vetline;
using namespace vetline::booking;

namespace {

absl::TimeZone Zone(const char* name) {
  absl::TimeZone z;
  REQUIRE(absl::LoadTimeZone(name, &z));
  return z;
}

constexpr int H(int hour, int minute = 0) { return hour * 60 + minute; }

// A clinic open every day `open`-`close` with one provider and no PIMS settings in the way.
Clinic DailyClinic(absl::TimeZone zone, int open, int close, std::vector<std::string> providers = {"dr-lee"}) {
  Clinic c{.zone = zone};
  for (int d = 0; d < 7; ++d) c.hours.weekly[static_cast<absl::Weekday>(d)] = {{open, close}};
  for (auto& id : providers) c.providers.push_back({.id = id});
  c.settings.minimum_notice = absl::ZeroDuration();
  c.settings.horizon = absl::Hours(24 * 365);
  return c;
}

AppointmentType Exam(absl::Duration d = absl::Minutes(30)) { return {.id = "exam", .duration = d}; }

// Asked the day before.
SlotQuery On(absl::CivilDay day, AppointmentType type = Exam()) {
  return {.type = std::move(type), .first_day = day, .last_day = day,
          .now = absl::FromCivil(day - 1, absl::UTCTimeZone())};
}

std::vector<Slot> Slots(const Clinic& c, const std::vector<Busy>& busy, const SlotQuery& q) {
  auto s = OpenSlots(c, busy, q);
  REQUIRE(s.ok());
  return *s;
}

// Local "HH:MM" of each slot's start.
std::vector<std::string> Starts(const std::vector<Slot>& slots, absl::TimeZone zone) {
  std::vector<std::string> out;
  for (const Slot& s : slots) out.push_back(absl::FormatTime("%H:%M", s.when.start, zone));
  return out;
}

absl::Time Local(absl::TimeZone z, absl::CivilDay d, int minutes) { return LocalInstant(d, minutes, z); }

const absl::CivilDay kMonday(2026, 6, 1);

}  // namespace

TEST_CASE("availability: slots step through the opening hours and skip what is booked", "[booking]") {
  absl::TimeZone z = Zone("America/Chicago");
  Clinic c = DailyClinic(z, H(9), H(12));
  std::vector<Busy> busy = {{.provider_id = "dr-lee", .when = {Local(z, kMonday, H(10)), Local(z, kMonday, H(10, 30))}}};
  CHECK(Starts(Slots(c, busy, On(kMonday)), z) ==
        std::vector<std::string>{"09:00", "09:15", "09:30", "10:30", "10:45", "11:00", "11:15", "11:30"});
  // Each slot is the type's length, at the provider who has time.
  for (const Slot& s : Slots(c, busy, On(kMonday))) {
    CHECK(s.when.end - s.when.start == absl::Minutes(30));
    CHECK(s.provider_id == "dr-lee");
  }
  // Another provider's appointment takes nothing from this one.
  busy[0].provider_id = "dr-ng";
  CHECK(Slots(c, busy, On(kMonday)).size() == 11);
}

TEST_CASE("availability: a hold takes its slot until it expires and not after", "[booking]") {
  absl::TimeZone z = Zone("America/Chicago");
  Clinic c = DailyClinic(z, H(9), H(11));
  SlotQuery q = On(kMonday);
  // A visitor holds 10:00-10:30 until five minutes after the question is asked.
  std::vector<Busy> busy = {{.provider_id = "dr-lee",
                             .when = {Local(z, kMonday, H(10)), Local(z, kMonday, H(10, 30))},
                             .expires = q.now + absl::Minutes(5)}};
  CHECK(Starts(Slots(c, busy, q), z) == std::vector<std::string>{"09:00", "09:15", "09:30", "10:30"});
  // Once it expired the slot is open again, though its row may not be deleted yet.
  q.now += absl::Minutes(5);
  CHECK(Starts(Slots(c, busy, q), z) ==
        std::vector<std::string>{"09:00", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30"});
}

TEST_CASE("availability: taken time in several lists is read in place and an interval in two counts once", "[booking]") {
  absl::TimeZone z = Zone("America/Chicago");
  Clinic c = DailyClinic(z, H(9), H(12));
  const std::vector<Busy> day1 = {{.provider_id = "dr-lee", .when = {Local(z, kMonday, H(10)), Local(z, kMonday, H(10, 30))}}};
  const std::vector<Busy> day2 = day1;  // an appointment over midnight is in both its days
  const std::vector<Busy> blocked = {{.when = {Local(z, kMonday, H(11)), Local(z, kMonday, H(12))}}};
  auto slots = OpenSlots(c, std::vector<const std::vector<Busy>*>{&day1, &day2, &blocked}, On(kMonday));
  REQUIRE(slots.ok());
  CHECK(Starts(*slots, z) == std::vector<std::string>{"09:00", "09:15", "09:30", "10:30"});
}

TEST_CASE("availability: a weekly pattern, holidays and a provider's own hours", "[booking]") {
  absl::TimeZone z = Zone("Europe/Paris");
  Clinic c = DailyClinic(z, H(8), H(18));
  c.hours.weekly.erase(absl::Weekday::sunday);
  c.hours.weekly[absl::Weekday::saturday] = {{H(9), H(11)}};
  c.hours.exceptions[absl::CivilDay(2026, 6, 3)] = {};                // a holiday
  c.hours.exceptions[absl::CivilDay(2026, 6, 4)] = {{H(14), H(15)}};  // a short day
  AppointmentType hour = Exam(absl::Hours(1));
  CHECK(Slots(c, {}, On(absl::CivilDay(2026, 6, 7), hour)).empty());  // Sunday
  CHECK(Starts(Slots(c, {}, On(absl::CivilDay(2026, 6, 6), hour)), z).front() == "09:00");
  CHECK(Slots(c, {}, On(absl::CivilDay(2026, 6, 3), hour)).empty());
  CHECK(Starts(Slots(c, {}, On(absl::CivilDay(2026, 6, 4), hour)), z) == std::vector<std::string>{"14:00"});

  // A provider who works mornings only is offered within both their hours and the clinic's.
  Schedule mornings;
  for (int d = 0; d < 7; ++d) mornings.weekly[static_cast<absl::Weekday>(d)] = {{H(7), H(10)}};
  c.providers[0].schedule = mornings;
  CHECK(Starts(Slots(c, {}, On(kMonday, hour)), z) ==
        std::vector<std::string>{"08:00", "08:15", "08:30", "08:45", "09:00"});
}

TEST_CASE("availability: minimum notice, booking horizon and buffers", "[booking]") {
  absl::TimeZone z = Zone("America/Chicago");
  Clinic c = DailyClinic(z, H(9), H(17));
  c.settings.minimum_notice = absl::Hours(2);
  c.settings.horizon = absl::Hours(48);
  SlotQuery q = On(kMonday);
  q.last_day = kMonday + 5;
  q.now = Local(z, kMonday, H(9, 10));  // 09:10 on Monday: the first slot is 11:15
  auto slots = Slots(c, {}, q);
  REQUIRE(!slots.empty());
  CHECK(absl::FormatTime("%a %H:%M", slots.front().when.start, z) == "Mon 11:15");
  // Nothing starts more than 48 hours ahead: Wednesday 09:10 is the limit.
  CHECK(absl::FormatTime("%a %H:%M", slots.back().when.start, z) == "Wed 09:00");

  // Ten minutes kept free before and after a new appointment.
  c = DailyClinic(z, H(9), H(12));
  c.settings.buffer_before = c.settings.buffer_after = absl::Minutes(10);
  std::vector<Busy> busy = {{.provider_id = "dr-lee", .when = {Local(z, kMonday, H(10)), Local(z, kMonday, H(10, 30))}}};
  CHECK(Starts(Slots(c, busy, On(kMonday)), z) ==
        std::vector<std::string>{"09:00", "09:15", "10:45", "11:00", "11:15", "11:30"});
}

TEST_CASE("availability: block-offs, rooms and the preferred provider", "[booking]") {
  absl::TimeZone z = Zone("Australia/Sydney");
  Clinic c = DailyClinic(z, H(9), H(11), {"dr-lee", "dr-ng"});
  AppointmentType surgery{.id = "surgery", .duration = absl::Hours(1), .provider_ids = {"dr-ng", "dr-lee"},
                          .room_ids = {"theatre-1", "theatre-2"}};
  auto at = [&](int from, int to) { return Interval{Local(z, kMonday, from), Local(z, kMonday, to)}; };
  std::vector<Busy> busy = {
      {.when = at(H(9), H(9, 30))},                                   // the whole clinic: a staff meeting
      {.provider_id = "dr-ng", .when = at(H(9, 30), H(10))},          // dr Ng blocked off
      {.room_id = "theatre-1", .when = at(H(9), H(11))},              // theatre 1 out of use
      {.provider_id = "dr-lee", .room_id = "theatre-2", .when = at(H(10, 30), H(11))},
  };
  auto slots = Slots(c, busy, On(kMonday, surgery));
  // 09:00-09:15 meet the staff meeting; at 09:30 dr Ng is blocked off but dr Lee and
  // theatre 2 are free; from 09:45 on dr Lee's 10:30 booking or dr Ng's block-off is in
  // the way, and at 10:00 dr Ng has no theatre (theatre 2 is taken at 10:30).
  REQUIRE(Starts(slots, z) == std::vector<std::string>{"09:30"});
  CHECK(slots[0].provider_id == "dr-lee");
  CHECK(slots[0].room_id == "theatre-2");
  // With the theatre free again, dr Ng (first in the type's order) takes 10:00.
  busy.pop_back();
  slots = Slots(c, busy, On(kMonday, surgery));
  REQUIRE(Starts(slots, z) == std::vector<std::string>{"09:30", "09:45", "10:00"});
  CHECK(slots[2].provider_id == "dr-ng");
  // Asking for dr Lee only: their free hours, whoever else is free.
  SlotQuery q = On(kMonday, surgery);
  q.provider_id = "dr-lee";
  for (const Slot& s : Slots(c, busy, q)) CHECK(s.provider_id == "dr-lee");
}

TEST_CASE("availability: bad questions are refused naming the field", "[booking]") {
  absl::TimeZone z = Zone("America/Chicago");
  Clinic c = DailyClinic(z, H(9), H(12), {"dr-lee", "dr-ng"});
  auto field_of = [&](const SlotQuery& q, const Clinic& clinic) {
    auto s = OpenSlots(clinic, std::vector<Busy>{}, q);
    REQUIRE_FALSE(s.ok());
    return FieldOf(s.status());
  };
  SlotQuery q = On(kMonday);
  q.provider_id = "dr-who";
  CHECK(field_of(q, c) == "providerId");
  q.provider_id = "dr-ng";
  q.type.provider_ids = {"dr-lee"};
  CHECK(field_of(q, c) == "providerId");
  q = On(kMonday);
  q.last_day = kMonday - 1;
  CHECK(field_of(q, c) == "lastDay");
  q.last_day = kMonday + kMaxDays;
  CHECK(field_of(q, c) == "lastDay");
  CHECK(field_of(On(kMonday, Exam(absl::ZeroDuration())), c) == "appointmentTypeId");
  Clinic bad = c;
  bad.hours.weekly[absl::Weekday::monday] = {{H(12), H(9)}};
  CHECK(field_of(On(kMonday), bad) == "openingHours");
}

// An overnight clinic open 00:00-06:00 through each change, one-hour visits on the hour:
// the local hours offered, and every visit exactly an hour of real time.
TEST_CASE("availability: an overnight clinic through spring-forward and fall-back", "[booking][dst]") {
  struct Case {
    const char* zone;
    absl::CivilDay day;
    std::vector<std::string> starts;
  };
  const std::vector<Case> cases = {
      {"America/New_York", absl::CivilDay(2026, 3, 8), {"00:00", "01:00", "03:00", "04:00", "05:00"}},
      {"America/New_York", absl::CivilDay(2026, 11, 1), {"00:00", "01:00", "01:00", "02:00", "03:00", "04:00", "05:00"}},
      {"Europe/Paris", absl::CivilDay(2026, 3, 29), {"00:00", "01:00", "03:00", "04:00", "05:00"}},
      {"Europe/Paris", absl::CivilDay(2026, 10, 25), {"00:00", "01:00", "02:00", "02:00", "03:00", "04:00", "05:00"}},
      {"Australia/Sydney", absl::CivilDay(2026, 10, 4), {"00:00", "01:00", "03:00", "04:00", "05:00"}},
      {"Australia/Sydney", absl::CivilDay(2026, 4, 5), {"00:00", "01:00", "02:00", "02:00", "03:00", "04:00", "05:00"}},
  };
  for (const Case& k : cases) {
    INFO(k.zone << " " << k.day);
    absl::TimeZone z = Zone(k.zone);
    Clinic c = DailyClinic(z, H(0), H(6));
    c.settings.granularity = absl::Hours(1);
    auto slots = Slots(c, {}, On(k.day, Exam(absl::Hours(1))));
    CHECK(Starts(slots, z) == k.starts);
    for (size_t i = 0; i < slots.size(); ++i) {
      CHECK(slots[i].when.end - slots[i].when.start == absl::Hours(1));
      if (i > 0) CHECK(slots[i].when.start - slots[i - 1].when.start == absl::Hours(1));
    }
  }
}

TEST_CASE("availability: a day clinic keeps its local hours across the change", "[booking][dst]") {
  for (const char* name : {"America/New_York", "Europe/Paris", "Australia/Sydney"}) {
    INFO(name);
    absl::TimeZone z = Zone(name);
    Clinic c = DailyClinic(z, H(8), H(18));
    c.settings.granularity = absl::Hours(1);
    // The Sunday of each change this year, and the day before it.
    std::vector<absl::CivilDay> changes;
    for (absl::CivilDay d(2026, 1, 1); d < absl::CivilDay(2027, 1, 1); ++d) {
      if (LocalInstant(d + 1, 0, z) - LocalInstant(d, 0, z) != absl::Hours(24)) changes.push_back(d);
    }
    REQUIRE(changes.size() == 2);
    for (absl::CivilDay d : changes) {
      auto before = Slots(c, {}, On(d - 1, Exam(absl::Hours(1))));
      auto on = Slots(c, {}, On(d, Exam(absl::Hours(1))));
      CHECK(Starts(on, z) == Starts(before, z));
      CHECK(Starts(on, z).front() == "08:00");
      CHECK(Starts(on, z).back() == "17:00");
      // The same wall-clock time a day later is 23 or 25 hours later in real time.
      absl::Duration apart = on.front().when.start - before.front().when.start;
      CHECK((apart == absl::Hours(23) || apart == absl::Hours(25)));
    }
  }
}

TEST_CASE("availability: a booking in the repeated hour takes only its own instant", "[booking][dst]") {
  absl::TimeZone z = Zone("America/New_York");
  const absl::CivilDay fall_back(2026, 11, 1);
  Clinic c = DailyClinic(z, H(0), H(6));
  c.settings.granularity = absl::Hours(1);
  // 01:00-02:00 EST, the second time the clock shows 1 o'clock (06:00-07:00 UTC).
  absl::Time second_one = absl::FromCivil(absl::CivilHour(2026, 11, 1, 6), absl::UTCTimeZone());
  std::vector<Busy> busy = {{.provider_id = "dr-lee", .when = {second_one, second_one + absl::Hours(1)}}};
  auto slots = Slots(c, busy, On(fall_back, Exam(absl::Hours(1))));
  CHECK(Starts(slots, z) == std::vector<std::string>{"00:00", "01:00", "02:00", "03:00", "04:00", "05:00"});
  CHECK(absl::FormatTime("%H:%M %Ez", slots[1].when.start, z) == "01:00 -04:00");
  // Skipped and repeated wall-clock times resolve to one instant each.
  CHECK(LocalInstant(absl::CivilDay(2026, 3, 8), H(2, 30), z) ==
        absl::FromCivil(absl::CivilMinute(2026, 3, 8, 7, 0), absl::UTCTimeZone()));  // 03:00 EDT
  CHECK(LocalInstant(fall_back, H(1, 30), z) ==
        absl::FromCivil(absl::CivilMinute(2026, 11, 1, 5, 30), absl::UTCTimeZone()));  // 01:30 EDT
}
