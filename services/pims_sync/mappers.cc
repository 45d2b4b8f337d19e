#include "services/pims_sync/mappers.h"

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"

namespace vetline::pims_sync {
namespace {

std::string Field(const pv1::PimsRecord& r, const std::string& name) {
  auto it = r.fields().find(name);
  return it == r.fields().end() ? "" : std::string(absl::StripAsciiWhitespace(it->second));
}

cv1::RecordError Error(const char* entity, const std::string& id, const char* field, std::string msg) {
  cv1::RecordError e;
  e.set_entity(entity);
  e.set_pims_id(id);
  e.set_field(field);
  e.set_message(std::move(msg));
  return e;
}

// Adds a phone; false when the text is not a number (the whole record is then refused,
// so nobody texts a half-understood number).
bool AddPhone(cv1::SyncClient& c, const std::string& text, cv1::PhoneType type, bool primary) {
  if (text.empty()) return true;
  std::string e164 = UsPhoneToE164(text);
  if (e164.empty()) return false;
  for (const auto& p : c.phones()) {
    if (p.number() == e164) return true;
  }
  auto* p = c.add_phones();
  p->set_number(e164);
  p->set_type(type);
  p->set_texting_capable(type == cv1::MOBILE);
  p->set_primary(primary);
  return true;
}

template <typename T>
using Or = std::variant<T, cv1::RecordError>;

// A positive whole number, or nullopt.
std::optional<int> Positive(const std::string& text) {
  int n = 0;
  if (!absl::SimpleAtoi(text, &n) || n <= 0) return std::nullopt;
  return n;
}

// "ANA RUIZ" with a vet's credential becomes "Dr. Ana Ruiz".
std::string ProviderName(const std::string& first, const std::string& last, const std::string& credential) {
  std::string name = NameCase(std::string(absl::StripAsciiWhitespace(absl::StrCat(first, " ", last))));
  return credential == "DVM" || credential == "VMD" ? "Dr. " + name : name;
}

// What the schedule's records share once a PIMS's fields are read.
struct Slot {
  std::string date;  // as the PIMS writes it
  std::string time;
  bool twelve_hour;
  const char* date_format;
};

// Sets a record's start and end in wall clock from a date, a time and a length in
// minutes; a record error naming the field when one cannot be read.
template <typename T>
std::optional<cv1::RecordError> SetTimes(T& rec, const char* entity, const Slot& slot, std::optional<int> minutes,
                                         const std::string& length_field) {
  auto day = IsoDate(slot.date, slot.date_format);
  if (!day || day->empty()) {
    return Error(entity, rec.pims_id(), "startLocal",
                 absl::StrCat("the date '", slot.date, "' is not ", slot.date_format));
  }
  auto at = slot.twelve_hour ? Clock12(slot.time) : Clock24(slot.time);
  if (!at) {
    return Error(entity, rec.pims_id(), "startLocal",
                 absl::StrCat("the time '", slot.time, "' is not ", slot.twelve_hour ? "HH:MM AM/PM" : "HHMM"));
  }
  if (!minutes) return Error(entity, rec.pims_id(), "endLocal", length_field + " must be a positive length");
  rec.set_start_local(WallClock(*day, *at));
  rec.set_end_local(WallClock(*day, *at + *minutes));
  return std::nullopt;
}

// A numeric setting as the PIMS names it, its scale to Vetline's unit and where it goes.
struct SettingField {
  const char* name;
  int scale;
  const char* field;  // Vetline's name, for errors
  void (bv1::SyncSchedulingSettings::*set)(int32_t);
};

// Reads numeric settings into `out`; an unreadable one is reported and left unset.
void ReadSettings(const pv1::SchedulingSettings& s, std::initializer_list<SettingField> fields,
                  bv1::SyncSchedulingSettings& out, std::vector<cv1::RecordError>* errors) {
  for (const SettingField& f : fields) {
    auto it = s.settings().find(f.name);
    if (it == s.settings().end()) continue;
    int n = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(it->second), &n) || n < 0) {
      if (errors) {
        errors->push_back(Error("settings", f.name, f.field, absl::StrCat(f.name, " '", it->second, "' is not a number")));
      }
      continue;
    }
    (out.*f.set)(n * f.scale);
  }
}

// Where a PIMS keeps an appointment's fields, and how it writes them.
struct AppointmentFields {
  const char *client, *patient, *type, *provider, *room, *date, *time, *length, *status, *description;
  bool twelve_hour;
  const char* date_format;
  int length_unit;  // minutes per unit of `length`
  const std::map<std::string, bv1::SyncAppointmentStatus>* statuses;
  const char* pims;  // its name, for messages
};

Or<bv1::SyncAppointment> MapAppointment(const pv1::PimsRecord& r, const AppointmentFields& f) {
  bv1::SyncAppointment a;
  a.set_pims_id(r.id());
  a.set_client_pims_id(Field(r, f.client));
  a.set_patient_pims_id(Field(r, f.patient));
  a.set_appointment_type_pims_id(Field(r, f.type));
  a.set_provider_pims_id(Field(r, f.provider));
  a.set_room_pims_id(Field(r, f.room));
  a.set_description(Field(r, f.description));  // as written, so a written-back one is recognised
  a.set_deleted(r.deleted());
  for (auto [value, field] : {std::pair{&a.client_pims_id(), "clientPimsId"},
                              std::pair{&a.patient_pims_id(), "patientPimsId"},
                              std::pair{&a.appointment_type_pims_id(), "appointmentTypePimsId"},
                              std::pair{&a.provider_pims_id(), "providerPimsId"}}) {
    if (value->empty()) return Error("appointment", r.id(), field, absl::StrCat(field, " is missing"));
  }
  std::string code = Field(r, f.status);
  auto status = f.statuses->find(code);
  if (status == f.statuses->end()) {
    return Error("appointment", r.id(), "status", absl::StrCat(f.status, " '", code, "' is not a ", f.pims, " status"));
  }
  a.set_status(status->second);
  auto length = Positive(Field(r, f.length));
  if (auto e = SetTimes(a, "appointment", {Field(r, f.date), Field(r, f.time), f.twelve_hour, f.date_format},
                        length ? std::optional<int>(*length * f.length_unit) : std::nullopt,
                        absl::StrCat(f.length, f.length_unit == 1 ? " (minutes)" : " (15 minutes)"))) {
    return *e;
  }
  return a;
}

struct TypeFields {
  const char* name;
  bool upper_case;  // stored in capitals: name-cased
  const char* length;
  int length_unit;
  bool active;
};

Or<bv1::SyncAppointmentType> MapType(const pv1::PimsRecord& r, const TypeFields& f) {
  bv1::SyncAppointmentType t;
  t.set_pims_id(r.id());
  t.set_name(f.upper_case ? NameCase(Field(r, f.name)) : Field(r, f.name));
  t.set_active(f.active);
  t.set_deleted(r.deleted());
  if (t.name().empty()) return Error("appointment_type", r.id(), "name", absl::StrCat(f.name, " is empty"));
  auto length = Positive(Field(r, f.length));
  if (!length) {
    return Error("appointment_type", r.id(), "durationMinutes", absl::StrCat(f.length, " must be a positive length"));
  }
  t.set_duration_minutes(*length * f.length_unit);
  return t;
}

Or<bv1::SyncRoom> MapRoom(const pv1::PimsRecord& r, const char* name, bool upper_case, bool active) {
  bv1::SyncRoom room;
  room.set_pims_id(r.id());
  room.set_name(upper_case ? NameCase(Field(r, name)) : Field(r, name));
  room.set_active(active);
  room.set_deleted(r.deleted());
  if (room.name().empty()) return Error("room", r.id(), "name", absl::StrCat(name, " is empty"));
  return room;
}

class CornerstoneMapper final : public Mapper {
 public:
  std::variant<cv1::SyncClient, cv1::RecordError> Client(const pv1::PimsRecord& r) const override {
    cv1::SyncClient c;
    c.set_pims_id(r.id());
    c.set_first_name(Field(r, "FIRST_NAME"));
    c.set_last_name(Field(r, "LAST_NAME"));
    c.set_active(Field(r, "INACTIVE") != "Y");
    c.set_deleted(r.deleted() || Field(r, "DELETED") == "Y");
    std::string primary = Field(r, "PHONE_PRIMARY");
    if (!AddPhone(c, Field(r, "PHONE_CELL"), cv1::MOBILE, primary == "CELL") ||
        !AddPhone(c, Field(r, "PHONE_HOME"), cv1::HOME, primary != "CELL")) {
      return Error("client", r.id(), "phones", "a phone number is not a number");
    }
    if (std::string email = absl::AsciiStrToLower(Field(r, "EMAIL")); !email.empty()) {
      auto* e = c.add_emails();
      e->set_address(email);
      e->set_primary(true);
    }
    auto visit = IsoDate(Field(r, "LAST_VISIT"), "MM/DD/YYYY");
    if (!visit) return Error("client", r.id(), "lastVisitDate", "LAST_VISIT is not MM/DD/YYYY");
    c.set_last_visit_date(*visit);
    return c;
  }

  std::variant<cv1::SyncPet, cv1::RecordError> Patient(const pv1::PimsRecord& r) const override {
    cv1::SyncPet p;
    p.set_pims_id(r.id());
    p.set_client_pims_id(Field(r, "CLIENT_ID"));
    p.set_name(NameCase(Field(r, "NAME")));
    p.set_species(NameCase(Field(r, "SPECIES")));  // CANINE -> Canine
    p.set_breed(Field(r, "BREED"));
    p.set_sex(Field(r, "SEX"));
    p.set_deceased(Field(r, "DECEASED") == "Y");
    p.set_active(Field(r, "INACTIVE") != "Y");
    p.set_deleted(r.deleted());
    auto born = IsoDate(Field(r, "BIRTHDATE"), "MM/DD/YYYY");
    if (!born) return Error("pet", r.id(), "birthDate", "BIRTHDATE is not MM/DD/YYYY");
    p.set_birth_date(*born);
    return p;
  }

  Or<bv1::SyncAppointmentType> AppointmentType(const pv1::PimsRecord& r) const override {
    return MapType(r, {"DESCRIPTION", true, "LENGTH", 1, Field(r, "INACTIVE") != "Y"});
  }

  Or<bv1::SyncProvider> Provider(const pv1::PimsRecord& r) const override {
    bv1::SyncProvider p;
    p.set_pims_id(r.id());
    p.set_name(ProviderName(Field(r, "FIRST_NAME"), Field(r, "LAST_NAME"), Field(r, "TITLE")));
    p.set_active(Field(r, "INACTIVE") != "Y");
    p.set_deleted(r.deleted());
    if (p.name().empty() || p.name() == "Dr. ") return Error("provider", r.id(), "name", "no name");
    return p;
  }

  Or<bv1::SyncRoom> Room(const pv1::PimsRecord& r) const override {
    return MapRoom(r, "ROOM_NAME", true, Field(r, "INACTIVE") != "Y");
  }

  Or<bv1::SyncBlockOff> BlockOff(const pv1::PimsRecord& r) const override {
    bv1::SyncBlockOff b;
    b.set_pims_id(r.id());
    b.set_provider_pims_id(Field(r, "STAFF_ID"));  // both empty: the whole clinic
    b.set_room_pims_id(Field(r, "ROOM_ID"));
    b.set_reason(Field(r, "REASON"));
    b.set_deleted(r.deleted());
    auto from = Clock12(Field(r, "START_TIME")), to = Clock12(Field(r, "END_TIME"));
    std::optional<int> minutes;
    if (from && to && *to > *from) minutes = *to - *from;
    if (from && !to) return Error("block_off", r.id(), "endLocal", "END_TIME is not HH:MM AM/PM");
    if (auto e = SetTimes(b, "block_off", {Field(r, "BLOCK_DATE"), Field(r, "START_TIME"), true, "MM/DD/YYYY"},
                          minutes, "END_TIME after START_TIME")) {
      return *e;
    }
    return b;
  }

  Or<bv1::SyncAppointment> Appointment(const pv1::PimsRecord& r) const override {
    static const std::map<std::string, bv1::SyncAppointmentStatus> kStatus = {
        {"SCH", bv1::SYNC_SCHEDULED}, {"CNF", bv1::SYNC_CONFIRMED}, {"ARR", bv1::SYNC_CHECKED_IN},
        {"CMP", bv1::SYNC_COMPLETED}, {"CXL", bv1::SYNC_CANCELLED}, {"NS", bv1::SYNC_NO_SHOW}};
    static const AppointmentFields kFields{"CLIENT_ID", "PATIENT_ID", "APPT_TYPE_ID", "STAFF_ID", "ROOM_ID",
                                           "APPT_DATE", "APPT_TIME", "DURATION", "STATUS", "REASON",
                                           true, "MM/DD/YYYY", 1, &kStatus, "Cornerstone"};
    return MapAppointment(r, kFields);
  }

  bv1::SyncSchedulingSettings Settings(const pv1::SchedulingSettings& s,
                                       std::vector<cv1::RecordError>* errors) const override {
    using S = bv1::SyncSchedulingSettings;
    bv1::SyncSchedulingSettings out;
    // Cornerstone keeps one buffer: the time after each appointment.
    ReadSettings(s,
                 {{"APPT_INTERVAL_MIN", 1, "slotGranularityMinutes", &S::set_slot_granularity_minutes},
                  {"ONLINE_BOOKING_LEAD_HOURS", 60, "minimumNoticeMinutes", &S::set_minimum_notice_minutes},
                  {"ONLINE_BOOKING_MAX_DAYS", 1, "bookingHorizonDays", &S::set_booking_horizon_days},
                  {"APPT_BUFFER_MIN", 1, "bufferAfterMinutes", &S::set_buffer_after_minutes}},
                 out, errors);
    return out;
  }
};

class AvimarkMapper final : public Mapper {
 public:
  std::variant<cv1::SyncClient, cv1::RecordError> Client(const pv1::PimsRecord& r) const override {
    cv1::SyncClient c;
    c.set_pims_id(r.id());
    // Avimark keeps one NAME field: "LAST, FIRST" in upper case.
    std::vector<std::string> parts = absl::StrSplit(Field(r, "NAME"), absl::MaxSplits(',', 1));
    if (parts.size() == 2) {
      c.set_last_name(NameCase(std::string(absl::StripAsciiWhitespace(parts[0]))));
      c.set_first_name(NameCase(std::string(absl::StripAsciiWhitespace(parts[1]))));
    } else {
      c.set_first_name(NameCase(parts.empty() ? "" : parts[0]));
    }
    std::string status = Field(r, "STATUS");
    c.set_active(status == "A");
    c.set_deleted(r.deleted() || status == "D");
    std::string type = Field(r, "PHONE1_TYPE");
    if (!AddPhone(c, Field(r, "PHONE1"), type == "C" ? cv1::MOBILE : type == "W" ? cv1::WORK : cv1::HOME, true) ||
        !AddPhone(c, Field(r, "PHONE2"), Field(r, "PHONE2_TYPE") == "C" ? cv1::MOBILE : cv1::HOME, false)) {
      return Error("client", r.id(), "phones", "a phone number is not a number");
    }
    if (std::string email = absl::AsciiStrToLower(Field(r, "EMAIL")); !email.empty()) {
      auto* e = c.add_emails();
      e->set_address(email);
      e->set_primary(true);
    }
    auto visit = IsoDate(Field(r, "LASTVISIT"), "YYYYMMDD");
    if (!visit) return Error("client", r.id(), "lastVisitDate", "LASTVISIT is not YYYYMMDD");
    c.set_last_visit_date(*visit);
    return c;
  }

  std::variant<cv1::SyncPet, cv1::RecordError> Patient(const pv1::PimsRecord& r) const override {
    cv1::SyncPet p;
    p.set_pims_id(r.id());
    p.set_client_pims_id(Field(r, "ACCT"));
    p.set_name(NameCase(Field(r, "NAME")));
    std::string species = Field(r, "SPECIES");
    p.set_species(species == "Dog" ? "Canine" : species == "Cat" ? "Feline" : species);
    p.set_breed(Field(r, "BREED"));
    p.set_sex(Field(r, "GENDER"));
    p.set_deceased(Field(r, "DEAD") == "1");
    p.set_active(Field(r, "STATUS") != "I");
    p.set_deleted(r.deleted());
    auto born = IsoDate(Field(r, "BIRTH"), "YYYYMMDD");
    if (!born) return Error("pet", r.id(), "birthDate", "BIRTH is not YYYYMMDD");
    p.set_birth_date(*born);
    return p;
  }

  Or<bv1::SyncAppointmentType> AppointmentType(const pv1::PimsRecord& r) const override {
    return MapType(r, {"NAME", false, "UNITS", 15, Field(r, "ACTIVE") != "0"});
  }

  Or<bv1::SyncProvider> Provider(const pv1::PimsRecord& r) const override {
    bv1::SyncProvider p;
    p.set_pims_id(r.id());
    std::vector<std::string> parts = absl::StrSplit(Field(r, "NAME"), absl::MaxSplits(',', 1));
    std::string last(absl::StripAsciiWhitespace(parts[0]));
    std::string first = parts.size() == 2 ? std::string(absl::StripAsciiWhitespace(parts[1])) : "";
    if (last.empty()) return Error("provider", r.id(), "name", "NAME is empty");
    p.set_name(ProviderName(first, last, Field(r, "CRED")));
    p.set_active(Field(r, "STATUS") == "A");
    p.set_deleted(r.deleted() || Field(r, "STATUS") == "D");
    return p;
  }

  Or<bv1::SyncRoom> Room(const pv1::PimsRecord& r) const override {
    return MapRoom(r, "DESCR", false, Field(r, "ACTIVE") != "0");
  }

  Or<bv1::SyncBlockOff> BlockOff(const pv1::PimsRecord& r) const override {
    bv1::SyncBlockOff b;
    b.set_pims_id(r.id());
    std::string doctor = Field(r, "DOCTOR");
    b.set_provider_pims_id(doctor == "ALL" ? "" : doctor);  // "ALL": the whole clinic
    b.set_room_pims_id(Field(r, "ROOM"));
    b.set_reason(NameCase(Field(r, "REASON")));
    b.set_deleted(r.deleted());
    auto units = Positive(Field(r, "UNITS"));
    if (auto e = SetTimes(b, "block_off", {Field(r, "DATE"), Field(r, "TIME"), false, "YYYYMMDD"},
                          units ? std::optional<int>(*units * 15) : std::nullopt, "UNITS (15 minutes)")) {
      return *e;
    }
    return b;
  }

  Or<bv1::SyncAppointment> Appointment(const pv1::PimsRecord& r) const override {
    static const std::map<std::string, bv1::SyncAppointmentStatus> kStatus = {
        {"P", bv1::SYNC_SCHEDULED}, {"C", bv1::SYNC_CONFIRMED}, {"I", bv1::SYNC_CHECKED_IN},
        {"O", bv1::SYNC_COMPLETED}, {"X", bv1::SYNC_CANCELLED}, {"N", bv1::SYNC_NO_SHOW}};
    static const AppointmentFields kFields{"ACCT", "ANIMAL", "TYPE", "DOCTOR", "ROOM", "DATE", "TIME", "UNITS",
                                           "STATUS", "NOTE", false, "YYYYMMDD", 15, &kStatus, "Avimark"};
    return MapAppointment(r, kFields);
  }

  bv1::SyncSchedulingSettings Settings(const pv1::SchedulingSettings& s,
                                       std::vector<cv1::RecordError>* errors) const override {
    using S = bv1::SyncSchedulingSettings;
    bv1::SyncSchedulingSettings out;
    ReadSettings(s,
                 {{"SlotLength", 1, "slotGranularityMinutes", &S::set_slot_granularity_minutes},
                  {"LeadTime", 1, "minimumNoticeMinutes", &S::set_minimum_notice_minutes},
                  {"PrepTime", 1, "bufferBeforeMinutes", &S::set_buffer_before_minutes},
                  {"CleanupTime", 1, "bufferAfterMinutes", &S::set_buffer_after_minutes}},
                 out, errors);
    // BookAhead counts days or weeks: "60D", "8W".
    if (auto it = s.settings().find("BookAhead"); it != s.settings().end()) {
      std::string v(absl::StripAsciiWhitespace(it->second));
      int n = 0;
      char unit = v.empty() ? ' ' : absl::ascii_toupper(v.back());
      if ((unit == 'D' || unit == 'W') && absl::SimpleAtoi(v.substr(0, v.size() - 1), &n) && n > 0) {
        out.set_booking_horizon_days(unit == 'W' ? n * 7 : n);
      } else if (errors) {
        errors->push_back(Error("settings", "BookAhead", "bookingHorizonDays",
                                "BookAhead '" + v + "' is not days or weeks (60D, 8W)"));
      }
    }
    return out;
  }
};

}  // namespace

std::string UsPhoneToE164(const std::string& text) {
  std::string digits;
  for (char c : text) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      digits.push_back(c);
    } else if (c != ' ' && c != '(' && c != ')' && c != '-' && c != '.' && c != '+') {
      return "";
    }
  }
  if (digits.size() == 11 && digits[0] == '1') digits.erase(0, 1);
  if (digits.size() != 10 || digits[0] == '0' || digits[0] == '1') return "";
  return "+1" + digits;
}

std::optional<std::string> IsoDate(const std::string& text, const std::string& format) {
  if (text.empty()) return std::string();
  int y, m, d;
  if (format == "MM/DD/YYYY") {
    if (text.size() != 10 || text[2] != '/' || text[5] != '/') return std::nullopt;
    m = std::atoi(text.substr(0, 2).c_str());
    d = std::atoi(text.substr(3, 2).c_str());
    y = std::atoi(text.substr(6, 4).c_str());
  } else {
    if (text.size() != 8 || !std::all_of(text.begin(), text.end(), ::isdigit)) return std::nullopt;
    y = std::atoi(text.substr(0, 4).c_str());
    m = std::atoi(text.substr(4, 2).c_str());
    d = std::atoi(text.substr(6, 2).c_str());
  }
  absl::CivilDay day(y, m, d);
  if (day.year() != y || day.month() != m || day.day() != d || y < 1900) return std::nullopt;
  return absl::StrFormat("%04d-%02d-%02d", y, m, d);
}

std::optional<int> Clock12(const std::string& text) {
  // "9:30 AM" or "09:30 AM"; the hour is 1..12 (12 AM is midnight).
  std::vector<std::string> parts = absl::StrSplit(text, absl::ByAnyChar(": "), absl::SkipEmpty());
  int h = 0, m = 0;
  if (parts.size() != 3 || parts[1].size() != 2 || !absl::SimpleAtoi(parts[0], &h) ||
      !absl::SimpleAtoi(parts[1], &m) || h < 1 || h > 12 || m < 0 || m > 59) {
    return std::nullopt;
  }
  std::string half = absl::AsciiStrToUpper(parts[2]);
  if (half != "AM" && half != "PM") return std::nullopt;
  return (h % 12 + (half == "PM" ? 12 : 0)) * 60 + m;
}

std::optional<int> Clock24(const std::string& text) {
  if (text.size() != 4 || !std::all_of(text.begin(), text.end(), ::isdigit)) return std::nullopt;
  int h = std::atoi(text.substr(0, 2).c_str()), m = std::atoi(text.substr(2, 2).c_str());
  if (h > 23 || m > 59) return std::nullopt;
  return h * 60 + m;
}

std::string WallClock(const std::string& iso_date, int minutes) {
  absl::CivilDay day;
  if (!absl::ParseCivilTime(iso_date, &day)) return "";
  return absl::FormatCivilTime(absl::CivilMinute(day) + minutes).substr(0, 16);
}

std::string NameCase(const std::string& text) {
  std::string out;
  bool start = true;
  for (unsigned char c : text) {
    if (c < 0x80 && absl::ascii_isalpha(c)) {
      out.push_back(start ? absl::ascii_toupper(c) : absl::ascii_tolower(c));
      start = false;
    } else {
      out.push_back(static_cast<char>(c));
      // A new word after spaces, hyphens and apostrophes (Mary-Jane, O'Brien).
      start = c == ' ' || c == '-' || c == '\'';
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Mapper>> MapperFor(const std::string& kind) {
  if (kind == "cornerstone") return std::unique_ptr<Mapper>(new CornerstoneMapper());
  if (kind == "avimark") return std::unique_ptr<Mapper>(new AvimarkMapper());
  return absl::InvalidArgumentError("no mapper for PIMS kind '" + kind +
                                    "' (cornerstone, avimark; with none Vetline is the source of truth)");
}

}  // namespace vetline::pims_sync
