#include "services/booking/clinic_settings.h"

#include "libs/core/status.h"
#include "libs/rpc/edge.h"

namespace vetline::booking {

absl::StatusOr<ClinicSettingsSource::Loaded> ClinicSettingsSource::Get(const std::string& clinic_id) const {
  auto settings = repo_.GetSettings(clinic_id);
  if (settings.status().code() == absl::StatusCode::kNotFound) {
    // The booking service acts for the clinic when asking identity about it.
    auto clinic = identity_.Clinic(rpc::ServiceForClinic(clinic_id));
    if (clinic.status().code() == absl::StatusCode::kNotFound) {
      return NotFoundField("clinicId", "no clinic with this clinicId");
    }
    VL_RETURN_IF_ERROR(clinic.status());
    absl::TimeZone zone;
    if (clinic->time_zone().empty() || !absl::LoadTimeZone(clinic->time_zone(), &zone)) {
      return absl::FailedPreconditionError("the clinic has no valid time zone; set it in the booking settings");
    }
    VL_RETURN_IF_ERROR(repo_.CreateSettings(clinic_id, clinic->time_zone()));
    settings = repo_.GetSettings(clinic_id);
  }
  VL_RETURN_IF_ERROR(settings.status());
  Loaded out{.settings = *settings};
  if (!absl::LoadTimeZone(settings->time_zone, &out.zone)) {
    return absl::FailedPreconditionError("the clinic's time zone " + settings->time_zone + " is not known here");
  }
  return out;
}

}  // namespace vetline::booking
