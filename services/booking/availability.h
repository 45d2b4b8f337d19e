// Open slots for online booking (S7): pure, no I/O. Everything the answer depends on is
// in the arguments — the clinic's hours, its providers' schedules, what is already
// booked or blocked, the PIMS scheduling settings and the current time — so it can be
// tested directly, including on the days the clocks change.
//
// Hours are wall-clock times in the clinic's IANA time zone; they become instants day by
// day, so a clinic open 08:00-18:00 is open 08:00-18:00 local on both sides of a DST
// change. Slot starts step by the granularity in real time from each opening, so on a
// fall-back night the repeated hour is offered twice (its two instants are different
// times) and on a spring-forward night the missing hour is never offered.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace vetline::booking {

// [open, close) in minutes after local midnight; close may be 24 * 60.
struct LocalHours {
  int open = 0;
  int close = 0;
};

// A weekly pattern with dated exceptions (a holiday: no hours; a late day: other hours).
struct Schedule {
  std::map<absl::Weekday, std::vector<LocalHours>> weekly;
  std::map<absl::CivilDay, std::vector<LocalHours>> exceptions;  // replaces that day's pattern

  const std::vector<LocalHours>& On(absl::CivilDay day) const;
};

struct Interval {
  absl::Time start;
  absl::Time end;  // exclusive
};

struct Provider {
  std::string id;
  // When the provider works; nullopt: whenever the clinic is open. Always within the
  // clinic's hours.
  std::optional<Schedule> schedule;
};

struct AppointmentType {
  std::string id;
  absl::Duration duration;
  std::vector<std::string> provider_ids;  // who may see it, in preference order; empty: any
  std::vector<std::string> room_ids;      // rooms it may use, in preference order; empty: none needed
};

// Taken time: an appointment (its provider and room) or a block-off (a provider, a room,
// or the whole clinic when both are empty). A direct booking's hold is taken only until
// it expires: from `expires` on (the question's `now`) it no longer counts, whether or
// not its row is gone yet.
struct Busy {
  std::string provider_id;
  std::string room_id;
  Interval when;
  absl::Time expires = absl::InfiniteFuture();
};

// The PIMS's scheduling settings (or the clinic's own without a PIMS).
struct Settings {
  absl::Duration minimum_notice = absl::Hours(2);  // no slot starts sooner than this
  absl::Duration horizon = absl::Hours(24 * 60);   // nor later than this ahead
  absl::Duration granularity = absl::Minutes(15);  // slot starts step by this
  absl::Duration buffer_before = absl::ZeroDuration();  // kept free before a new appointment
  absl::Duration buffer_after = absl::ZeroDuration();   // and after it
};

struct Clinic {
  absl::TimeZone zone;
  Schedule hours;
  std::vector<Provider> providers;
  Settings settings;
};

struct SlotQuery {
  AppointmentType type;
  std::string provider_id;  // empty: any provider who may see the type
  absl::CivilDay first_day;  // local days, inclusive
  absl::CivilDay last_day;
  absl::Time now;
};

struct Slot {
  Interval when;
  std::string provider_id;
  std::string room_id;  // empty when the type needs no room
};

// The longest range one question may cover (a widget asks for a week or a month).
constexpr int kMaxDays = 92;

// Errors name the field: an unknown provider, a provider the type excludes, a range that
// is backwards or longer than kMaxDays, a non-positive duration or granularity, hours
// outside a day. Busy intervals may be in any order. One slot per start time, in time
// order; without a provider, the first free provider in the type's order (then the
// clinic's), with the first free room in the type's order.
absl::StatusOr<std::vector<Slot>> OpenSlots(const Clinic& clinic, const std::vector<Busy>& busy,
                                            const SlotQuery& query);
// The same with the taken time in several lists read in place (a service's cached days
// and its block-offs); an interval in two lists counts once.
absl::StatusOr<std::vector<Slot>> OpenSlots(const Clinic& clinic, const std::vector<const std::vector<Busy>*>& taken,
                                            const SlotQuery& query);

// The instant a local wall-clock time names on `day`: a time skipped by a forward change
// is the moment of the change; a repeated one is its first occurrence.
absl::Time LocalInstant(absl::CivilDay day, int minutes, absl::TimeZone zone);

}  // namespace vetline::booking
