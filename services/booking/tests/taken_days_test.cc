#include "services/booking/taken_days.h"

#include <catch2/catch.hpp>

namespace vetline::booking {
namespace {

Busy At(int64_t day, int hour, const std::string& provider = "p1") {
  const absl::Time start = absl::FromUnixSeconds(day * 86'400 + hour * 3600);
  return {provider, "", {start, start + absl::Minutes(30)}};
}

TEST_CASE("UTC days: the day holding an instant and the last day an interval touches") {
  CHECK(UtcDay(absl::FromUnixSeconds(0)) == 0);
  CHECK(UtcDay(absl::FromUnixSeconds(86'399)) == 0);
  CHECK(UtcDay(absl::FromUnixSeconds(86'400)) == 1);
  CHECK(UtcDay(absl::FromUnixSeconds(-1)) == -1);
  CHECK(LastUtcDay(absl::FromUnixSeconds(86'400)) == 0);  // ends at midnight: not the next day
  CHECK(LastUtcDay(absl::FromUnixSeconds(86'401)) == 1);
}

TEST_CASE("a day is stale until read, and again once its version moves") {
  TakenDays days;
  std::map<int64_t, int64_t> versions{{20'000, 3}};
  CHECK(days.Stale("c1", 20'000, 20'001, versions) == std::vector<int64_t>{20'000, 20'001});

  days.Put("c1", 20'000, 3, {At(20'000, 9), At(20'000, 10)});
  days.Put("c1", 20'001, 0, {});  // never touched: version 0
  CHECK(days.Stale("c1", 20'000, 20'001, versions).empty());
  CHECK(days.Stale("c2", 20'000, 20'000, versions) == std::vector<int64_t>{20'000});  // other clinic

  versions[20'001] = 1;  // someone booked on the second day
  CHECK(days.Stale("c1", 20'000, 20'001, versions) == std::vector<int64_t>{20'001});

  auto got = days.Get("c1", 20'000, 20'002);
  REQUIRE(got.size() == 3);
  REQUIRE(got[0] != nullptr);
  CHECK(got[0]->size() == 2);
  CHECK(got[1]->empty());
  CHECK(got[2] == nullptr);
}

TEST_CASE("the least recently used days go first when the cache is over its bound") {
  TakenDays days(4);
  days.Put("c1", 1, 1, {At(1, 9), At(1, 10)});
  days.Put("c1", 2, 1, {At(2, 9), At(2, 10)});
  days.Get("c1", 1, 1);                                  // day 1 used again
  auto kept = days.Put("c1", 3, 1, {At(3, 9), At(3, 10)});  // over: day 2 is the coldest
  CHECK(kept->size() == 2);
  CHECK(days.intervals() == 4);
  auto got = days.Get("c1", 1, 3);
  CHECK(got[0] != nullptr);
  CHECK(got[1] == nullptr);
  CHECK(got[2] != nullptr);

  // A day larger than the whole bound is still handed back to the reader.
  auto huge = days.Put("c1", 4, 1, {At(4, 1), At(4, 2), At(4, 3), At(4, 4), At(4, 5)});
  CHECK(huge->size() == 5);
}

}  // namespace
}  // namespace vetline::booking
