// Taken time kept in memory by clinic and UTC day, each day with the version it was read
// at (booking.schedule_days). The availability read asks the database only for the
// versions of the days a question covers and reads again just the days whose version
// moved, instead of thousands of appointments per question. Bounded: the least recently
// used days are dropped beyond `max_intervals` in total. Thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "services/booking/availability.h"

namespace vetline::booking {

// Days since the Unix epoch (UTC); the day holding `t`, and the last day touched by an
// interval ending (exclusively) at `end`.
int64_t UtcDay(absl::Time t);
int64_t LastUtcDay(absl::Time end);

class TakenDays {
 public:
  using Day = std::shared_ptr<const std::vector<Busy>>;

  explicit TakenDays(size_t max_intervals = 1'000'000) : max_intervals_(max_intervals) {}

  // The days of [first, last] whose copy is missing or read at another version
  // (`versions` holds the current ones; a day absent there has version 0).
  std::vector<int64_t> Stale(const std::string& clinic_id, int64_t first, int64_t last,
                             const std::map<int64_t, int64_t>& versions);
  // Keeps a day as read at `version` and gives it back (also when it is dropped at once).
  Day Put(const std::string& clinic_id, int64_t day, int64_t version, std::vector<Busy> taken);
  // The copies of [first, last] (nullptr for a day not held).
  std::vector<Day> Get(const std::string& clinic_id, int64_t first, int64_t last);

  size_t intervals() const;

 private:
  using Key = std::pair<std::string, int64_t>;
  struct Entry {
    int64_t version;
    Day taken;
    std::list<Key>::iterator lru;
  };
  void Touch(Entry& e);

  const size_t max_intervals_;
  mutable std::mutex mu_;
  std::map<Key, Entry> days_;
  std::list<Key> lru_;  // most recently used first
  size_t intervals_ = 0;
};

}  // namespace vetline::booking
