// Records of the clinic's schedule arriving from a PIMS sync (BookingSyncService): their
// checks, their wall-clock times turned into instants, and their digests. Pure logic: the
// repository stores each digest and skips records whose digest did not change, which
// makes a repeated sync a no-op.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "vetline/booking/v1/booking_sync.pb.h"

namespace vetline::booking {

namespace v1 = ::vetline::booking::v1;

// "YYYY-MM-DDTHH:MM" or "YYYY-MM-DDTHH:MM:SS" (no offset) in `zone`, with LocalInstant's
// rules: a time skipped by a forward change is the moment of the change, a repeated one
// its first occurrence. InvalidArgument naming `field` otherwise.
absl::StatusOr<absl::Time> WallClock(std::string_view field, std::string_view local, absl::TimeZone zone);

// The longest appointment and block-off a sync accepts (boarding stays, closures).
inline constexpr absl::Duration kMaxAppointment = absl::Hours(24 * 31);
inline constexpr absl::Duration kMaxBlockOff = absl::Hours(24 * 366);

// A checked, normalised record, or the reason it cannot be stored (entity, PIMS id and
// the field by its JSON name).
std::optional<v1::BookingRecordError> CheckType(v1::SyncAppointmentType& t);
std::optional<v1::BookingRecordError> CheckProvider(v1::SyncProvider& p);
std::optional<v1::BookingRecordError> CheckRoom(v1::SyncRoom& r);

struct Timed {
  absl::Time start, end;
};
absl::StatusOr<Timed> CheckBlockOff(const v1::SyncBlockOff& b, absl::TimeZone zone,
                                    v1::BookingRecordError* error);
absl::StatusOr<Timed> CheckAppointment(const v1::SyncAppointment& a, absl::TimeZone zone,
                                       v1::BookingRecordError* error);
// The scheduling settings, or the first one out of range (entity "settings").
std::optional<v1::BookingRecordError> CheckSettings(const v1::SyncSchedulingSettings& s);

// "scheduled", "confirmed", ... as stored; empty for UNSPECIFIED.
std::string StatusText(v1::SyncAppointmentStatus s);

// Stable digest (hex) over the serialised record and `context`: whatever else the stored
// row depends on (the clinic's zone for wall-clock times, the resolved client and pet).
std::string Digest(const google::protobuf::Message& record, std::string_view context = "");

}  // namespace vetline::booking
