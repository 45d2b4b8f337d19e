#include "services/clients/merge_rules.h"

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace vetline::clients {

absl::Status CheckMerge(const MergeSide& survivor, const MergeSide& other) {
  if (survivor.id == other.id) return InvalidField("otherClientId", "a profile cannot be merged into itself");
  for (const MergeSide* s : {&survivor, &other}) {
    if (!s->merged_into.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat(s->name, " was already merged into another profile (", s->merged_into, ")"));
    }
  }
  if (!survivor.pims_id.empty() && !other.pims_id.empty() && survivor.pims_id != other.pims_id) {
    return absl::FailedPreconditionError(absl::StrCat(
        "both profiles are linked to different PIMS records (", survivor.name, ": ",
        survivor.pims_id, ", ", other.name, ": ", other.pims_id,
        "); merge them in the PIMS first, then sync"));
  }
  return absl::OkStatus();
}

}  // namespace vetline::clients
