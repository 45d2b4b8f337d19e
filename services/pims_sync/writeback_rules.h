// Write-back rules: Vetline's records in each PIMS's own shape (the reverse of the
// mappers), the description a written-back appointment carries, which connector answers
// are worth retrying, the backoff between tries, and what a clinic reads when a write
// failed. Pure logic, unit-tested without a PIMS.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "vetline/booking/v1/booking_sync.pb.h"
#include "vetline/clients/v1/sync.pb.h"

namespace vetline::pims_sync {

namespace bv1 = ::vetline::booking::v1;
namespace cv1 = ::vetline::clients::v1;

using PimsFields = std::map<std::string, std::string>;

inline constexpr char kDirectBookingTag[] = "[Vetline Direct Booking]";
inline constexpr char kDirectBookingNewClientTag[] = "[Vetline Direct Booking - New Client]";

// The tag, then the appointment's own description if it has one.
std::string WritebackDescription(bool new_client, const std::string& description);

// `kind` is "cornerstone" or "avimark" (MapperFor has accepted it).
PimsFields ClientFields(const std::string& kind, const cv1::SyncClient& c);
PimsFields PatientFields(const std::string& kind, const cv1::SyncPet& p, const std::string& client_pims_id);
// A new appointment: client, patient, type, provider, room, date, time, length and the
// description. InvalidArgument naming the Vetline field when something the PIMS needs is
// missing (a type or provider made in Vetline, without a PIMS id; an unreadable time).
absl::StatusOr<PimsFields> AppointmentFields(const std::string& kind, const bv1::SyncAppointment& a,
                                             const std::string& client_pims_id,
                                             const std::string& patient_pims_id, const std::string& description);
// A move: date, time, length, provider and room (an empty room clears it).
absl::StatusOr<PimsFields> MoveFields(const std::string& kind, const bv1::SyncAppointment& a);
// A client communication note on the client's file, dated `day` (the clinic's date).
PimsFields NoteFields(const std::string& kind, const std::string& client_pims_id, absl::CivilDay day,
                      const std::string& text);

struct RetryPolicy {
  absl::Duration first_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Minutes(10);
  int max_attempts = 12;  // then failed: the PIMS has been unreachable for a long time
};
// Whether a connector answer is "try again later" (the PIMS or the agent is down, busy or
// slow) rather than a refusal (INVALID_ARGUMENT, FAILED_PRECONDITION, ...).
bool IsTransient(absl::StatusCode code);
// The pause after `attempts` failed tries: first_backoff doubling, at most max_backoff.
absl::Duration Backoff(const RetryPolicy& p, int attempts);

// What staff read about a failed step ("the new client", "the appointment", ...): the
// PIMS's own reason for a refusal; never a stack's or library's message.
std::string ClinicMessage(const std::string& step, const absl::Status& st, bool will_retry);

}  // namespace vetline::pims_sync
