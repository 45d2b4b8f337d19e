// One mapper per PIMS kind: a record in the PIMS's own shape becomes Vetline's
// (vetline.clients.v1 and vetline.booking.v1 sync records), or a RecordError saying
// what is wrong with it (its PIMS id and the Vetline field). Pure logic, unit-tested
// against each PIMS's conventions.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "absl/status/statusor.h"
#include <vector>

#include "vetline/booking/v1/booking_sync.pb.h"
#include "vetline/clients/v1/sync.pb.h"
#include "vetline/pims/v1/connector.pb.h"

namespace vetline::pims_sync {

namespace bv1 = ::vetline::booking::v1;
namespace cv1 = ::vetline::clients::v1;
namespace pv1 = ::vetline::pims::v1;

class Mapper {
 public:
  virtual ~Mapper() = default;
  virtual std::variant<cv1::SyncClient, cv1::RecordError> Client(const pv1::PimsRecord& r) const = 0;
  virtual std::variant<cv1::SyncPet, cv1::RecordError> Patient(const pv1::PimsRecord& r) const = 0;
  // The schedule. Times become the clinic's wall clock ("YYYY-MM-DDTHH:MM").
  virtual std::variant<bv1::SyncAppointmentType, cv1::RecordError> AppointmentType(
      const pv1::PimsRecord& r) const = 0;
  virtual std::variant<bv1::SyncProvider, cv1::RecordError> Provider(const pv1::PimsRecord& r) const = 0;
  virtual std::variant<bv1::SyncRoom, cv1::RecordError> Room(const pv1::PimsRecord& r) const = 0;
  virtual std::variant<bv1::SyncBlockOff, cv1::RecordError> BlockOff(const pv1::PimsRecord& r) const = 0;
  virtual std::variant<bv1::SyncAppointment, cv1::RecordError> Appointment(const pv1::PimsRecord& r) const = 0;
  // A setting that cannot be read is left unset (0) and reported in `errors`.
  virtual bv1::SyncSchedulingSettings Settings(const pv1::SchedulingSettings& s,
                                               std::vector<cv1::RecordError>* errors) const = 0;
};

// "cornerstone" or "avimark"; InvalidArgument otherwise ("none" has nothing to map).
absl::StatusOr<std::unique_ptr<Mapper>> MapperFor(const std::string& kind);

// US-style numbers ("(312) 555-0100", "312.555.0100", "1-312-555-0100") to E.164;
// empty when the text is not a phone number.
std::string UsPhoneToE164(const std::string& text);
// "MM/DD/YYYY" or "YYYYMMDD" to "YYYY-MM-DD"; empty input stays empty; nullopt if invalid.
std::optional<std::string> IsoDate(const std::string& text, const std::string& format);
// Minutes after midnight of "09:30 AM" (12-hour clock) or "0930" (24-hour "HHMM");
// nullopt if the text is not such a time.
std::optional<int> Clock12(const std::string& text);
std::optional<int> Clock24(const std::string& text);
// "2026-03-08" and minutes after its midnight (may run past it) to "2026-03-08T09:30".
std::string WallClock(const std::string& iso_date, int minutes);
// "SMITH" / "o'brien" -> "Smith" / "O'Brien" (PIMS systems that store upper case).
std::string NameCase(const std::string& text);

}  // namespace vetline::pims_sync
