// A clinic's booking settings, created on first use with the time zone identity keeps
// for the clinic (an admin may change it afterwards in booking's own settings).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/refs/refs.h"
#include "services/booking/booking_repository.h"

namespace vetline::booking {

class ClinicSettingsSource {
 public:
  ClinicSettingsSource(BookingRepository& repo, const refs::StaffRefs& identity)
      : repo_(repo), identity_(identity) {}

  // The settings and their zone, loaded. FailedPrecondition when identity has no usable
  // zone for the clinic; Unavailable when identity cannot answer.
  struct Loaded {
    ClinicSettings settings;
    absl::TimeZone zone;
  };
  absl::StatusOr<Loaded> Get(const std::string& clinic_id) const;

 private:
  BookingRepository& repo_;
  const refs::StaffRefs& identity_;
};

}  // namespace vetline::booking
