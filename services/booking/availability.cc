#include "services/booking/availability.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace vetline::booking {
namespace {

constexpr int kMinutesPerDay = 24 * 60;

const std::vector<LocalHours>& Closed() {
  static const std::vector<LocalHours> none;
  return none;
}

// Sorted by start, overlapping or touching intervals joined.
std::vector<Interval> Normalize(std::vector<Interval> v) {
  std::sort(v.begin(), v.end(), [](const Interval& a, const Interval& b) { return a.start < b.start; });
  std::vector<Interval> out;
  for (const Interval& i : v) {
    if (i.end <= i.start) continue;
    if (!out.empty() && i.start <= out.back().end) {
      out.back().end = std::max(out.back().end, i.end);
    } else {
      out.push_back(i);
    }
  }
  return out;
}

std::vector<Interval> OpenOn(const Schedule& s, absl::CivilDay day, absl::TimeZone zone) {
  std::vector<Interval> out;
  for (const LocalHours& h : s.On(day)) {
    out.push_back({LocalInstant(day, h.open, zone), LocalInstant(day, h.close, zone)});
  }
  return Normalize(std::move(out));
}

// Both sorted and normalized.
std::vector<Interval> Intersect(const std::vector<Interval>& a, const std::vector<Interval>& b) {
  std::vector<Interval> out;
  for (size_t i = 0, j = 0; i < a.size() && j < b.size();) {
    absl::Time start = std::max(a[i].start, b[j].start), end = std::min(a[i].end, b[j].end);
    if (start < end) out.push_back({start, end});
    (a[i].end < b[j].end) ? ++i : ++j;
  }
  return out;
}

// `taken` sorted and normalized.
bool Overlaps(const std::vector<Interval>& taken, const Interval& x) {
  auto it = std::upper_bound(taken.begin(), taken.end(), x.start,
                             [](absl::Time t, const Interval& i) { return t < i.end; });
  return it != taken.end() && it->start < x.end;
}

absl::Status CheckHours(const Schedule& s, const char* field) {
  auto check = [&](const std::vector<LocalHours>& hours) -> absl::Status {
    for (const LocalHours& h : hours) {
      if (h.open < 0 || h.close > kMinutesPerDay || h.open >= h.close) {
        return InvalidField(field, "opening hours must lie within one day and close after they open");
      }
    }
    return absl::OkStatus();
  };
  for (const auto& [day, hours] : s.weekly) VL_RETURN_IF_ERROR(check(hours));
  for (const auto& [day, hours] : s.exceptions) VL_RETURN_IF_ERROR(check(hours));
  return absl::OkStatus();
}

// Busy time by provider and by room, and the clinic's own block-offs.
struct Taken {
  std::map<std::string, std::vector<Interval>> provider, room;
  std::vector<Interval> clinic;
};

Taken Index(const std::vector<const std::vector<Busy>*>& lists, absl::Time now) {
  Taken t;
  for (const std::vector<Busy>* busy : lists) {
    for (const Busy& b : *busy) {
      if (b.expires <= now) continue;  // an expired hold
      if (b.provider_id.empty() && b.room_id.empty()) t.clinic.push_back(b.when);
      if (!b.provider_id.empty()) t.provider[b.provider_id].push_back(b.when);
      if (!b.room_id.empty()) t.room[b.room_id].push_back(b.when);
    }
  }
  for (auto& [id, v] : t.provider) v = Normalize(std::move(v));
  for (auto& [id, v] : t.room) v = Normalize(std::move(v));
  t.clinic = Normalize(std::move(t.clinic));
  return t;
}

const std::vector<Interval>& Of(const std::map<std::string, std::vector<Interval>>& m, const std::string& id) {
  static const std::vector<Interval> none;
  auto it = m.find(id);
  return it == m.end() ? none : it->second;
}

}  // namespace

const std::vector<LocalHours>& Schedule::On(absl::CivilDay day) const {
  if (auto it = exceptions.find(day); it != exceptions.end()) return it->second;
  if (auto it = weekly.find(absl::GetWeekday(day)); it != weekly.end()) return it->second;
  return Closed();
}

absl::Time LocalInstant(absl::CivilDay day, int minutes, absl::TimeZone zone) {
  const absl::TimeZone::TimeInfo t = zone.At(absl::CivilMinute(day) + minutes);
  return t.kind == absl::TimeZone::TimeInfo::SKIPPED ? t.trans : t.pre;
}

absl::StatusOr<std::vector<Slot>> OpenSlots(const Clinic& clinic, const std::vector<Busy>& busy,
                                            const SlotQuery& q) {
  return OpenSlots(clinic, std::vector<const std::vector<Busy>*>{&busy}, q);
}

absl::StatusOr<std::vector<Slot>> OpenSlots(const Clinic& clinic, const std::vector<const std::vector<Busy>*>& busy,
                                            const SlotQuery& q) {
  const Settings& set = clinic.settings;
  if (q.type.duration <= absl::ZeroDuration()) return InvalidField("appointmentTypeId", "the appointment type has no duration");
  if (set.granularity <= absl::ZeroDuration()) return InvalidField("granularity", "slot granularity must be positive");
  if (q.last_day < q.first_day) return InvalidField("lastDay", "the range ends before it starts");
  if (q.last_day - q.first_day >= kMaxDays) {
    return InvalidField("lastDay", absl::StrCat("ask for at most ", kMaxDays, " days at a time"));
  }
  VL_RETURN_IF_ERROR(CheckHours(clinic.hours, "openingHours"));

  // Who may take it, in preference order.
  std::map<std::string, const Provider*> by_id;
  for (const Provider& p : clinic.providers) {
    VL_RETURN_IF_ERROR(p.schedule ? CheckHours(*p.schedule, "providerSchedule") : absl::OkStatus());
    by_id[p.id] = &p;
  }
  auto allowed = [&](const std::string& id) {
    return q.type.provider_ids.empty() ||
           std::find(q.type.provider_ids.begin(), q.type.provider_ids.end(), id) != q.type.provider_ids.end();
  };
  std::vector<const Provider*> candidates;
  if (!q.provider_id.empty()) {
    auto it = by_id.find(q.provider_id);
    if (it == by_id.end()) return NotFoundField("providerId", "no such provider at this clinic");
    if (!allowed(q.provider_id)) return InvalidField("providerId", "this provider does not offer this appointment type");
    candidates.push_back(it->second);
  } else if (!q.type.provider_ids.empty()) {
    for (const std::string& id : q.type.provider_ids) {
      if (auto it = by_id.find(id); it != by_id.end()) candidates.push_back(it->second);
    }
  } else {
    for (const Provider& p : clinic.providers) candidates.push_back(&p);
  }

  const Taken taken = Index(busy, q.now);
  const absl::Time earliest = q.now + set.minimum_notice, latest = q.now + set.horizon;
  std::map<absl::Time, Slot> slots;  // by start: the first provider in preference order wins
  for (absl::CivilDay day = q.first_day; day <= q.last_day; ++day) {
    const std::vector<Interval> clinic_open = OpenOn(clinic.hours, day, clinic.zone);
    if (clinic_open.empty()) continue;
    for (const Provider* p : candidates) {
      const std::vector<Interval> open =
          p->schedule ? Intersect(clinic_open, OpenOn(*p->schedule, day, clinic.zone)) : clinic_open;
      const std::vector<Interval>& mine = Of(taken.provider, p->id);
      for (const Interval& o : open) {
        absl::Time t = o.start;
        if (t < earliest) t += absl::Ceil(earliest - t, set.granularity);  // onto the grid
        for (; t + q.type.duration <= o.end && t <= latest; t += set.granularity) {
          if (slots.count(t)) continue;
          const Interval appointment{t, t + q.type.duration};
          const Interval kept{t - set.buffer_before, appointment.end + set.buffer_after};
          if (Overlaps(taken.clinic, kept) || Overlaps(mine, kept)) continue;
          std::string room;
          for (const std::string& r : q.type.room_ids) {
            if (!Overlaps(Of(taken.room, r), kept)) {
              room = r;
              break;
            }
          }
          if (!q.type.room_ids.empty() && room.empty()) continue;
          slots.emplace(t, Slot{appointment, p->id, room});
        }
      }
    }
  }
  std::vector<Slot> out;
  out.reserve(slots.size());
  for (auto& [t, s] : slots) out.push_back(std::move(s));
  return out;
}

}  // namespace vetline::booking
