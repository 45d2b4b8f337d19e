// When two client profiles may be merged. Pure logic, so every refusal is unit-tested
// and the message tells staff exactly what is in the way.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace vetline::clients {

struct MergeSide {
  std::string id;
  std::string name;
  std::string pims_id;      // empty when not linked to the PIMS
  std::string merged_into;  // non-empty when already merged
};

// OK, or FailedPrecondition naming the conflict.
absl::Status CheckMerge(const MergeSide& survivor, const MergeSide& other);

}  // namespace vetline::clients
