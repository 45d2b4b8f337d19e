#include "services/pims_sync/writeback_rules.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "libs/core/status.h"

namespace vetline::pims_sync {
namespace {

bool Cornerstone(const std::string& kind) { return kind == "cornerstone"; }

std::string Upper(std::string s) { return absl::AsciiStrToUpper(s); }

// "+13125550100" -> the 10 digits of a US number; empty for anything else.
std::string UsDigits(const std::string& e164) {
  if (e164.size() == 12 && absl::StartsWith(e164, "+1")) return e164.substr(2);
  return "";
}
std::string CornerstonePhone(const std::string& e164) {
  std::string d = UsDigits(e164);
  if (d.empty()) return e164;
  return absl::StrCat("(", d.substr(0, 3), ") ", d.substr(3, 3), "-", d.substr(6));
}
std::string AvimarkPhone(const std::string& e164) {
  std::string d = UsDigits(e164);
  if (d.empty()) return e164;
  return absl::StrCat(d.substr(0, 3), ".", d.substr(3, 3), ".", d.substr(6));
}

// "YYYY-MM-DD" -> Cornerstone "MM/DD/YYYY" or Avimark "YYYYMMDD"; empty if not a date.
std::string PimsDate(bool cs, const std::string& iso) {
  absl::CivilDay d;
  if (iso.empty() || !absl::ParseCivilTime(iso, &d)) return "";
  return cs ? absl::StrFormat("%02d/%02d/%04d", d.month(), d.day(), d.year())
            : absl::StrFormat("%04d%02d%02d", d.year(), d.month(), d.day());
}
std::string PimsDate(bool cs, absl::CivilDay d) { return PimsDate(cs, absl::FormatCivilTime(d)); }

struct Slot {
  absl::CivilMinute start;
  int minutes = 0;
};
absl::StatusOr<Slot> SlotOf(const bv1::SyncAppointment& a) {
  absl::CivilMinute start, end;
  if (!absl::ParseCivilTime(a.start_local(), &start)) {
    return InvalidField("startTime", "the appointment's start time cannot be read");
  }
  if (!absl::ParseCivilTime(a.end_local(), &end) || end <= start) {
    return InvalidField("endTime", "the appointment's end time cannot be read");
  }
  return Slot{start, static_cast<int>(end - start)};
}

void PutSlot(bool cs, const Slot& s, PimsFields& f) {
  const int h = s.start.hour(), m = s.start.minute();
  if (cs) {
    f["APPT_DATE"] = PimsDate(cs, absl::CivilDay(s.start));
    f["APPT_TIME"] = absl::StrFormat("%02d:%02d %s", h % 12 == 0 ? 12 : h % 12, m, h < 12 ? "AM" : "PM");
    f["DURATION"] = std::to_string(s.minutes);
  } else {
    f["DATE"] = PimsDate(cs, absl::CivilDay(s.start));
    f["TIME"] = absl::StrFormat("%02d%02d", h, m);
    f["UNITS"] = std::to_string((s.minutes + 14) / 15);  // 15-minute units, rounded up
  }
}

absl::Status NeedsPimsId(const std::string& value, const char* field, const char* what) {
  if (!value.empty()) return absl::OkStatus();
  return InvalidField(field, absl::StrCat("the ", what, " was made in Vetline and has no PIMS id; ",
                                          "add it in the PIMS and sync, then retry"));
}

}  // namespace

std::string WritebackDescription(bool new_client, const std::string& description) {
  std::string tag = new_client ? kDirectBookingNewClientTag : kDirectBookingTag;
  std::string own(absl::StripAsciiWhitespace(description));
  // A description that already starts with a tag (it came back from the PIMS) keeps one.
  for (const char* t : {kDirectBookingNewClientTag, kDirectBookingTag}) {
    if (absl::StartsWith(own, t)) own = std::string(absl::StripAsciiWhitespace(own.substr(strlen(t))));
  }
  return own.empty() ? tag : absl::StrCat(tag, " ", own);
}

PimsFields ClientFields(const std::string& kind, const cv1::SyncClient& c) {
  const bool cs = Cornerstone(kind);
  PimsFields f;
  // Primary first: Avimark keeps PHONE1 and PHONE2, Cornerstone one home and one cell.
  std::vector<cv1::SyncPhone> phones(c.phones().begin(), c.phones().end());
  std::stable_sort(phones.begin(), phones.end(),
                   [](const cv1::SyncPhone& a, const cv1::SyncPhone& b) { return a.primary() > b.primary(); });
  std::string email;
  for (const cv1::SyncEmail& e : c.emails()) {
    if (email.empty() || e.primary()) email = e.address();
    if (e.primary()) break;
  }
  if (cs) {
    f["FIRST_NAME"] = c.first_name();
    f["LAST_NAME"] = c.last_name();
    for (const cv1::SyncPhone& p : phones) {
      const char* slot = p.type() == cv1::MOBILE ? "PHONE_CELL" : "PHONE_HOME";
      if (f.count(slot)) continue;
      f[slot] = CornerstonePhone(p.number());
      if (!f.count("PHONE_PRIMARY")) f["PHONE_PRIMARY"] = p.type() == cv1::MOBILE ? "CELL" : "HOME";
    }
    if (!email.empty()) f["EMAIL"] = email;
  } else {
    f["NAME"] = Upper(c.last_name().empty() ? c.first_name() : absl::StrCat(c.last_name(), ", ", c.first_name()));
    int n = 0;
    for (const cv1::SyncPhone& p : phones) {
      if (++n > 2) break;
      f[absl::StrCat("PHONE", n)] = AvimarkPhone(p.number());
      f[absl::StrCat("PHONE", n, "_TYPE")] = p.type() == cv1::MOBILE ? "C" : p.type() == cv1::WORK ? "W" : "H";
    }
    if (!email.empty()) f["EMAIL"] = Upper(email);
    f["STATUS"] = "A";
  }
  return f;
}

PimsFields PatientFields(const std::string& kind, const cv1::SyncPet& p, const std::string& client_pims_id) {
  const bool cs = Cornerstone(kind);
  PimsFields f;
  const std::string species = absl::AsciiStrToLower(p.species());
  if (cs) {
    f["CLIENT_ID"] = client_pims_id;
    f["NAME"] = p.name();
    f["SPECIES"] = Upper(p.species());  // Canine -> CANINE
    f["BREED"] = p.breed();
    f["SEX"] = p.sex();
    f["BIRTHDATE"] = PimsDate(cs, p.birth_date());
    f["DECEASED"] = p.deceased() ? "Y" : "N";
  } else {
    f["ACCT"] = client_pims_id;
    f["NAME"] = Upper(p.name());
    f["SPECIES"] = species == "canine" ? "Dog" : species == "feline" ? "Cat" : p.species();
    f["BREED"] = p.breed();
    f["GENDER"] = p.sex();
    f["BIRTH"] = PimsDate(cs, p.birth_date());
    f["DEAD"] = p.deceased() ? "1" : "0";
  }
  return f;
}

absl::StatusOr<PimsFields> AppointmentFields(const std::string& kind, const bv1::SyncAppointment& a,
                                             const std::string& client_pims_id,
                                             const std::string& patient_pims_id, const std::string& description) {
  const bool cs = Cornerstone(kind);
  VL_RETURN_IF_ERROR(NeedsPimsId(a.appointment_type_pims_id(), "appointmentTypeId", "appointment type"));
  VL_ASSIGN_OR_RETURN(PimsFields f, MoveFields(kind, a));
  f[cs ? "CLIENT_ID" : "ACCT"] = client_pims_id;
  f[cs ? "PATIENT_ID" : "ANIMAL"] = patient_pims_id;
  f[cs ? "APPT_TYPE_ID" : "TYPE"] = a.appointment_type_pims_id();
  f[cs ? "REASON" : "NOTE"] = description;
  return f;
}

absl::StatusOr<PimsFields> MoveFields(const std::string& kind, const bv1::SyncAppointment& a) {
  const bool cs = Cornerstone(kind);
  VL_RETURN_IF_ERROR(NeedsPimsId(a.provider_pims_id(), "providerId", "provider"));
  VL_ASSIGN_OR_RETURN(Slot slot, SlotOf(a));
  PimsFields f;
  f[cs ? "STAFF_ID" : "DOCTOR"] = a.provider_pims_id();
  f[cs ? "ROOM_ID" : "ROOM"] = a.room_pims_id();
  PutSlot(cs, slot, f);
  return f;
}

PimsFields NoteFields(const std::string& kind, const std::string& client_pims_id, absl::CivilDay day,
                      const std::string& text) {
  const bool cs = Cornerstone(kind);
  if (cs) {
    return {{"CLIENT_ID", client_pims_id}, {"NOTE_DATE", PimsDate(cs, day)}, {"NOTE_TYPE", "CC"},
            {"NOTE_TEXT", text}};
  }
  return {{"ACCT", client_pims_id}, {"DATE", PimsDate(cs, day)}, {"TYPE", "COMM"}, {"TEXT", text}};
}

bool IsTransient(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kInternal:
      return true;
    default:
      return false;
  }
}

absl::Duration Backoff(const RetryPolicy& p, int attempts) {
  absl::Duration d = p.first_backoff;
  for (int i = 1; i < attempts && d < p.max_backoff; ++i) d *= 2;
  return std::min(d, p.max_backoff);
}

std::string ClinicMessage(const std::string& step, const absl::Status& st, bool will_retry) {
  if (IsTransient(st.code())) {
    return absl::StrCat("The PIMS did not answer while writing ", step, " (it may be offline or busy); ",
                        will_retry ? "Vetline keeps trying." : "Vetline gave up after many tries: retry when it is back.");
  }
  switch (st.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
      // The connector's (the PIMS's) own reason, which names the problem in its terms.
      return absl::StrCat("The PIMS refused ", step, ": ", st.message());
    case absl::StatusCode::kUnimplemented:
      return absl::StrCat("The clinic's PIMS connector cannot write ", step, " (not supported by this agent).");
    default:
      return absl::StrCat("The PIMS connector could not write ", step, ".");
  }
}

}  // namespace vetline::pims_sync
