// A simulated practice: a deterministic, Cornerstone-like or Avimark-like database of
// any size, with each PIMS's id formats and field conventions, inactive and deleted
// records, duplicates, bad records, and changes over time for incremental sync.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "vetline/pims/v1/connector.pb.h"

namespace vetline::pims_sim {

namespace pv1 = ::vetline::pims::v1;

enum class Kind { kCornerstone, kAvimark };

struct PracticeOptions {
  Kind kind = Kind::kCornerstone;
  int64_t clients = 1000;
  uint64_t seed = 7;
};

class Practice {
 public:
  explicit Practice(PracticeOptions options);

  const PracticeOptions& options() const { return options_; }
  std::string kind_name() const;
  int64_t Count(pv1::Entity entity) const;
  // The record at `index` (0-based) of the entity's stable snapshot order.
  pv1::PimsRecord Record(pv1::Entity entity, int64_t index) const;

  // Changes `count` records (a later visit, a new phone number); returns the new cursor.
  int64_t Mutate(int count);
  int64_t cursor() const;
  // Records changed after `cursor`, oldest first, at most `limit`; `next` is the cursor
  // after the last one returned.
  std::vector<pv1::PimsRecord> ChangesSince(pv1::Entity entity, int64_t cursor, int limit,
                                            int64_t* next) const;

  std::map<std::string, std::string> SchedulingSettings() const;
  // Write-back: the same idempotency key returns the same id.
  std::string Create(pv1::Entity entity, const std::map<std::string, std::string>& fields,
                     const std::string& idempotency_key);

 private:
  uint64_t Mix(uint64_t a, uint64_t b) const;
  pv1::PimsRecord ClientRecord(int64_t i, int version) const;
  pv1::PimsRecord PatientRecord(int64_t j, int version) const;
  int VersionOf(pv1::Entity e, int64_t index) const;

  PracticeOptions options_;
  std::vector<int64_t> first_patient_;  // client i owns patients [first_[i], first_[i+1])
  mutable std::mutex mu_;
  struct Change {
    int64_t seq;
    pv1::Entity entity;
    int64_t index;
  };
  std::vector<Change> changes_;
  std::map<std::pair<int, int64_t>, int> versions_;
  int64_t seq_ = 0;
  std::map<std::string, std::string> created_;  // idempotency key -> id
  int64_t written_ = 0;
};

}  // namespace vetline::pims_sim
