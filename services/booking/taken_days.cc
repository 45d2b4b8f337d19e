#include "services/booking/taken_days.h"

namespace vetline::booking {
namespace {

constexpr int64_t kDayMicros = int64_t{86'400} * 1'000'000;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

int64_t UtcDay(absl::Time t) { return FloorDiv(absl::ToUnixMicros(t), kDayMicros); }
int64_t LastUtcDay(absl::Time end) { return FloorDiv(absl::ToUnixMicros(end) - 1, kDayMicros); }

std::vector<int64_t> TakenDays::Stale(const std::string& clinic_id, int64_t first, int64_t last,
                                      const std::map<int64_t, int64_t>& versions) {
  std::vector<int64_t> stale;
  std::lock_guard<std::mutex> lock(mu_);
  for (int64_t day = first; day <= last; ++day) {
    auto v = versions.find(day);
    const int64_t current = v == versions.end() ? 0 : v->second;
    auto it = days_.find({clinic_id, day});
    if (it == days_.end() || it->second.version != current) stale.push_back(day);
  }
  return stale;
}

TakenDays::Day TakenDays::Put(const std::string& clinic_id, int64_t day, int64_t version, std::vector<Busy> taken) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t size = taken.size();
  auto [it, inserted] = days_.try_emplace({clinic_id, day});
  Entry& e = it->second;
  if (inserted) {
    lru_.push_front(it->first);
    e.lru = lru_.begin();
  } else {
    intervals_ -= e.taken->size();
    Touch(e);
  }
  e.version = version;
  Day kept = std::make_shared<const std::vector<Busy>>(std::move(taken));
  e.taken = kept;
  intervals_ += size;
  // Drop the coldest days, never the one just read.
  while (intervals_ > max_intervals_ && lru_.size() > 1) {
    auto cold = days_.find(lru_.back());
    intervals_ -= cold->second.taken->size();
    days_.erase(cold);
    lru_.pop_back();
  }
  return kept;
}

std::vector<TakenDays::Day> TakenDays::Get(const std::string& clinic_id, int64_t first, int64_t last) {
  std::vector<Day> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (int64_t day = first; day <= last; ++day) {
    auto it = days_.find({clinic_id, day});
    if (it == days_.end()) {
      out.push_back(nullptr);
      continue;
    }
    Touch(it->second);
    out.push_back(it->second.taken);
  }
  return out;
}

size_t TakenDays::intervals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return intervals_;
}

void TakenDays::Touch(Entry& e) { lru_.splice(lru_.begin(), lru_, e.lru); }

}  // namespace vetline::booking
