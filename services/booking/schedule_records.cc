#include "services/booking/schedule_records.h"

#include <sodium.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"
#include "services/booking/availability.h"

namespace vetline::booking {
namespace {

v1::BookingRecordError Error(std::string entity, std::string pims_id, std::string field, std::string message) {
  v1::BookingRecordError e;
  e.set_entity(std::move(entity));
  e.set_pims_id(std::move(pims_id));
  e.set_field(std::move(field));
  e.set_message(std::move(message));
  return e;
}

// Every named record: a PIMS id and a name people can read.
template <typename Record>
std::optional<v1::BookingRecordError> CheckNamed(const char* entity, Record& r) {
  if (r.pims_id().empty() || r.pims_id().size() > 200 || !validate::IsUtf8(r.pims_id())) {
    return Error(entity, r.pims_id().substr(0, 200), "pimsId", "record has no valid PIMS id");
  }
  auto name = validate::Name("name", r.name());
  if (!name.ok()) {
    if (r.deleted()) return std::nullopt;  // a deletion needs no name
    return Error(entity, r.pims_id(), "name", "name is missing or invalid");
  }
  r.set_name(*name);
  return std::nullopt;
}

bool BadRef(const std::string& id) { return id.size() > 200 || !validate::IsUtf8(id) || id.find('\0') != std::string::npos; }

absl::StatusOr<Timed> CheckRange(const char* entity, const std::string& pims_id, const std::string& start_local,
                                 const std::string& end_local, absl::Duration longest, absl::TimeZone zone,
                                 v1::BookingRecordError* error) {
  auto fail = [&](const char* field, std::string message) {
    *error = Error(entity, pims_id, field, std::move(message));
    return InvalidField(field, error->message());
  };
  auto start = WallClock("startLocal", start_local, zone);
  if (!start.ok()) return fail("startLocal", "start '" + start_local.substr(0, 40) + "' is not a local date and time");
  auto end = WallClock("endLocal", end_local, zone);
  if (!end.ok()) return fail("endLocal", "end '" + end_local.substr(0, 40) + "' is not a local date and time");
  if (*end <= *start) return fail("endLocal", "ends before it starts");
  if (*end - *start > longest) return fail("endLocal", "lasts longer than " + absl::FormatDuration(longest));
  return Timed{*start, *end};
}

}  // namespace

absl::StatusOr<absl::Time> WallClock(std::string_view field, std::string_view local, absl::TimeZone zone) {
  absl::CivilSecond t;
  absl::CivilMinute m;
  // absl parses the civil types strictly (no offset, no trailing text).
  const std::string text(local);
  if (text.size() == 19 && absl::ParseCivilTime(text, &t)) {
  } else if (text.size() == 16 && absl::ParseCivilTime(text, &m)) {
    t = absl::CivilSecond(m);
  } else {
    return InvalidField(field, absl::StrCat(std::string(field), " must look like 2026-03-08T09:30"));
  }
  if (t.year() < 2000 || t.year() > 2200) return InvalidField(field, absl::StrCat(std::string(field), " is out of range"));
  const absl::CivilDay day(t);
  const int minutes = static_cast<int>((absl::CivilMinute(t) - absl::CivilMinute(day)));
  return LocalInstant(day, minutes, zone) + absl::Seconds(t.second());
}

std::optional<v1::BookingRecordError> CheckType(v1::SyncAppointmentType& t) {
  if (auto e = CheckNamed("appointment_type", t)) return e;
  if (!t.deleted() && (t.duration_minutes() < 1 || t.duration_minutes() > 24 * 60)) {
    return Error("appointment_type", t.pims_id(), "durationMinutes", "duration must be 1 to 1440 minutes");
  }
  if (t.deleted() && t.duration_minutes() < 1) t.set_duration_minutes(1);
  if (t.deleted() && t.name().empty()) t.set_name(t.pims_id());
  return std::nullopt;
}

std::optional<v1::BookingRecordError> CheckProvider(v1::SyncProvider& p) {
  if (auto e = CheckNamed("provider", p)) return e;
  if (p.deleted() && p.name().empty()) p.set_name(p.pims_id());
  return std::nullopt;
}

std::optional<v1::BookingRecordError> CheckRoom(v1::SyncRoom& r) {
  if (auto e = CheckNamed("room", r)) return e;
  if (r.deleted() && r.name().empty()) r.set_name(r.pims_id());
  return std::nullopt;
}

absl::StatusOr<Timed> CheckBlockOff(const v1::SyncBlockOff& b, absl::TimeZone zone, v1::BookingRecordError* error) {
  if (b.pims_id().empty() || BadRef(b.pims_id())) {
    *error = Error("block_off", b.pims_id().substr(0, 200), "pimsId", "record has no valid PIMS id");
    return InvalidField("pimsId", error->message());
  }
  for (auto [field, value] : {std::pair{"providerPimsId", &b.provider_pims_id()},
                              std::pair{"roomPimsId", &b.room_pims_id()}}) {
    if (BadRef(*value)) {
      *error = Error("block_off", b.pims_id(), field, "not a valid PIMS id");
      return InvalidField(field, error->message());
    }
  }
  if (!validate::IsUtf8(b.reason()) || b.reason().size() > 1000 || b.reason().find('\0') != std::string::npos) {
    *error = Error("block_off", b.pims_id(), "reason", "reason is not valid text of at most 1000 bytes");
    return InvalidField("reason", error->message());
  }
  if (b.deleted()) return Timed{};  // only its id matters
  return CheckRange("block_off", b.pims_id(), b.start_local(), b.end_local(), kMaxBlockOff, zone, error);
}

absl::StatusOr<Timed> CheckAppointment(const v1::SyncAppointment& a, absl::TimeZone zone,
                                       v1::BookingRecordError* error) {
  if (a.pims_id().empty() || BadRef(a.pims_id())) {
    *error = Error("appointment", a.pims_id().substr(0, 200), "pimsId", "record has no valid PIMS id");
    return InvalidField("pimsId", error->message());
  }
  for (auto [field, value] : {std::pair{"clientPimsId", &a.client_pims_id()},
                              std::pair{"patientPimsId", &a.patient_pims_id()},
                              std::pair{"appointmentTypePimsId", &a.appointment_type_pims_id()},
                              std::pair{"providerPimsId", &a.provider_pims_id()},
                              std::pair{"roomPimsId", &a.room_pims_id()}}) {
    if (BadRef(*value)) {
      *error = Error("appointment", a.pims_id(), field, "not a valid PIMS id");
      return InvalidField(field, error->message());
    }
  }
  if (!validate::IsUtf8(a.description()) || a.description().size() > 4000 ||
      a.description().find('\0') != std::string::npos) {
    *error = Error("appointment", a.pims_id(), "description", "description is not valid text of at most 4000 bytes");
    return InvalidField("description", error->message());
  }
  if (a.deleted()) return Timed{};  // cancelled in Vetline, wherever it was
  if (StatusText(a.status()).empty()) {
    *error = Error("appointment", a.pims_id(), "status", "status is missing or unknown");
    return InvalidField("status", error->message());
  }
  return CheckRange("appointment", a.pims_id(), a.start_local(), a.end_local(), kMaxAppointment, zone, error);
}

std::optional<v1::BookingRecordError> CheckSettings(const v1::SyncSchedulingSettings& s) {
  struct Limit {
    const char* field;
    int value, max;
  };
  for (const Limit& l : {Limit{"minimumNoticeMinutes", s.minimum_notice_minutes(), 60 * 24 * 90},
                         Limit{"bookingHorizonDays", s.booking_horizon_days(), 730},
                         Limit{"slotGranularityMinutes", s.slot_granularity_minutes(), 1440},
                         Limit{"bufferBeforeMinutes", s.buffer_before_minutes(), 1440},
                         Limit{"bufferAfterMinutes", s.buffer_after_minutes(), 1440}}) {
    if (l.value < 0 || l.value > l.max) {
      return Error("settings", "", l.field, absl::StrCat(l.field, " must be 0 (not set) to ", l.max));
    }
  }
  return std::nullopt;
}

std::string StatusText(v1::SyncAppointmentStatus s) {
  switch (s) {
    case v1::SYNC_SCHEDULED: return "scheduled";
    case v1::SYNC_CONFIRMED: return "confirmed";
    case v1::SYNC_CHECKED_IN: return "checked_in";
    case v1::SYNC_COMPLETED: return "completed";
    case v1::SYNC_CANCELLED: return "cancelled";
    case v1::SYNC_NO_SHOW: return "no_show";
    default: return "";
  }
}

// Deterministic serialisation: proto3 without maps serialises the same fields the same way.
std::string Digest(const google::protobuf::Message& record, std::string_view context) {
  std::string bytes = record.SerializeAsString();
  absl::StrAppend(&bytes, "\n", std::string(context));
  unsigned char h[16];
  crypto_generichash(h, sizeof(h), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr, 0);
  return absl::BytesToHexString(std::string(reinterpret_cast<char*>(h), sizeof(h)));
}

}  // namespace vetline::booking
