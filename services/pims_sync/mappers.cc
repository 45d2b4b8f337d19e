#include "services/pims_sync/mappers.h"

#include "absl/strings/ascii.h"
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
