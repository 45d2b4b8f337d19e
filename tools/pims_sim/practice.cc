#include "tools/pims_sim/practice.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "libs/core/status.h"

namespace vetline::pims_sim {
namespace {

constexpr const char* kFirst[] = {
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Carlos", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra",
    "Donald", "Ashley", "Steven", "Kimberly", "Andrew", "Emily", "Joshua", "Donna", "Kenji",
    "Michelle", "Priya", "Zoë"};
constexpr const char* kLast[] = {
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "O'Brien", "Müller", "Tanaka",
    "Okafor", "Kowalski", "Dubois", "Rossi", "Novak", "Silva", "Larsen"};
constexpr const char* kPets[] = {
    "Bella", "Max", "Luna", "Charlie", "Lucy", "Cooper", "Daisy", "Milo", "Bailey", "Buddy",
    "Sadie", "Rocky", "Molly", "Bear", "Stella", "Tucker", "Lola", "Duke", "Zoey", "Biscuit",
    "Oliver", "Leo", "Chloe", "Loki", "Nala", "Simba", "Pepper", "Ginger", "Shadow", "Smokey",
    "Mochi", "Pumpkin", "Oreo", "Coco", "Rosie", "Winston", "Gus", "Penny", "Ziggy", "Waffles"};
constexpr const char* kCanineBreeds[] = {"Labrador Retriever", "German Shepherd", "Beagle",
                                         "Golden Retriever", "Poodle", "Mixed"};
constexpr const char* kFelineBreeds[] = {"Domestic Shorthair", "Maine Coon", "Siamese",
                                         "Ragdoll", "Mixed"};

constexpr const char* kReasons[] = {"", "", "ANNUAL VACCINES", "LIMPING LEFT FRONT", "RECHECK EARS",
                                    "DENTAL - NPO AFTER MIDNIGHT", "VOMITING SINCE SUNDAY", ""};
// Types a practice adds over time (Mutate), after its initial ones.
constexpr const char* kNewTypes[] = {"Laser Therapy", "Behavior Consult", "Puppy Visit",
                                     "Senior Wellness", "Acupuncture", "Ultrasound"};
// Status codes per PIMS, in the order of Practice::Status.
constexpr const char* kCornerstoneStatus[] = {"SCH", "CNF", "ARR", "CMP", "CXL", "NS"};
constexpr const char* kAvimarkStatus[] = {"P", "C", "I", "O", "X", "N"};
constexpr int kDayStart = 8 * 60, kLunch = 12 * 60, kLunchEnd = 13 * 60, kDayEnd = 17 * 60 + 30;

template <size_t N>
const char* Pick(const char* const (&list)[N], uint64_t h) {
  return list[h % N];
}

std::string Upper(std::string s) { return absl::AsciiStrToUpper(s); }

// A civil date spread over the last few years, from a hash.
void Date(uint64_t h, int* y, int* m, int* d) {
  *y = 2021 + static_cast<int>(h % 5);
  *m = 1 + static_cast<int>((h >> 8) % 12);
  *d = 1 + static_cast<int>((h >> 16) % 28);
}

std::string CsDate(absl::CivilDay d) {
  return absl::StrFormat("%02d/%02d/%04d", d.month(), d.day(), d.year());
}
std::string AvDate(absl::CivilDay d) { return absl::StrFormat("%04d%02d%02d", d.year(), d.month(), d.day()); }
// Cornerstone shows times on a 12-hour clock: "09:30 AM".
std::string CsTime(int minutes) {
  int h = minutes / 60 % 24, m = minutes % 60;
  return absl::StrFormat("%02d:%02d %s", h % 12 == 0 ? 12 : h % 12, m, h < 12 ? "AM" : "PM");
}
// Avimark: 24-hour "HHMM".
std::string AvTime(int minutes) { return absl::StrFormat("%02d%02d", minutes / 60 % 24, minutes % 60); }

bool Overlap(int a, int a_len, int b, int b_len) { return a < b + b_len && b < a + a_len; }

std::string Get(const std::map<std::string, std::string>& f, const std::string& name) {
  auto it = f.find(name);
  return it == f.end() ? "" : std::string(absl::StripAsciiWhitespace(it->second));
}

}  // namespace

Practice::Practice(PracticeOptions options) : options_(options) {
  // Every client owns one or two patients (1.5 on average): prefix sums map a patient
  // index back to its owner without storing records.
  first_patient_.reserve(options_.clients + 1);
  int64_t n = 0;
  for (int64_t i = 0; i < options_.clients; ++i) {
    first_patient_.push_back(n);
    n += 1 + static_cast<int64_t>(Mix(i, 99) % 2);
  }
  first_patient_.push_back(n);
  BuildSchedule();
}

std::string Practice::kind_name() const {
  return options_.kind == Kind::kCornerstone ? "cornerstone" : "avimark";
}

uint64_t Practice::Mix(uint64_t a, uint64_t b) const {
  // splitmix64 over (seed, a, b): the same inputs always give the same practice.
  uint64_t z = options_.seed * 0x9E3779B97F4A7C15ULL + a * 0xBF58476D1CE4E5B9ULL + b * 0x94D049BB133111EBULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

int64_t Practice::Count(pv1::Entity entity) const {
  std::lock_guard<std::mutex> l(mu_);
  switch (entity) {
    case pv1::CLIENTS: return options_.clients + static_cast<int64_t>(written_clients_.size());
    case pv1::PATIENTS: return first_patient_.back() + static_cast<int64_t>(written_patients_.size());
    case pv1::APPOINTMENT_TYPES: return static_cast<int64_t>(types_.size());
    case pv1::PROVIDERS: return providers_;
    case pv1::ROOMS: return rooms_;
    case pv1::APPOINTMENTS: return static_cast<int64_t>(appointments_.size());
    case pv1::BLOCK_OFFS: return static_cast<int64_t>(block_offs_.size());
    default: return 0;
  }
}

int Practice::VersionOf(pv1::Entity e, int64_t index) const {
  auto it = versions_.find({static_cast<int>(e), index});
  return it == versions_.end() ? 0 : it->second;
}

pv1::PimsRecord Practice::Record(pv1::Entity entity, int64_t index) const {
  std::lock_guard<std::mutex> l(mu_);
  return RecordLocked(entity, index);
}

pv1::PimsRecord Practice::RecordLocked(pv1::Entity entity, int64_t index) const {
  switch (entity) {
    case pv1::CLIENTS:
      if (index >= options_.clients) return written_clients_[index - options_.clients];
      return ClientRecord(index, VersionOf(entity, index));
    case pv1::PATIENTS:
      if (index >= first_patient_.back()) return written_patients_[index - first_patient_.back()];
      return PatientRecord(index, VersionOf(entity, index));
    case pv1::APPOINTMENT_TYPES: return TypeRecord(index);
    case pv1::PROVIDERS: return ProviderRecord(index);
    case pv1::ROOMS: return RoomRecord(index);
    case pv1::APPOINTMENTS: return AppointmentRecord(index);
    case pv1::BLOCK_OFFS: return BlockOffRecord(index);
    default: return {};
  }
}

pv1::PimsRecord Practice::ClientRecord(int64_t i, int version) const {
  // Duplicates: now and then the same person was entered twice under another id.
  int64_t person = (i % 199 == 5 && i > 0) ? i - 1 : i;
  uint64_t h = Mix(person, 1);
  std::string first = Pick(kFirst, h), last = Pick(kLast, h >> 12);
  uint64_t ph = Mix(person, 2) + version;
  std::string area = absl::StrFormat("%03d", 201 + static_cast<int>(ph % 700));
  std::string line = absl::StrFormat("%04d", static_cast<int>((ph >> 10) % 10000));
  std::string exch = absl::StrFormat("%03d", 200 + static_cast<int>((ph >> 24) % 700));
  bool has_cell = Mix(person, 3) % 3 != 0;
  std::string email = absl::AsciiStrToLower(absl::StrCat(first.substr(0, 1), last, person % 1000)) +
                      "@example.com";
  for (char& c : email) {
    if (static_cast<unsigned char>(c) >= 0x80 || c == '\'') c = 'x';
  }
  int y, m, d;
  Date(Mix(i, 4) + version * 7919, &y, &m, &d);
  bool inactive = Mix(i, 5) % 50 == 0;
  bool deleted = i % 503 == 13;
  // Bad records a real PIMS holds: a missing last name, a phone typed as words.
  if (i % 331 == 7) last = "";
  bool bad_phone = i % 409 == 11;

  pv1::PimsRecord r;
  auto& f = *r.mutable_fields();
  if (options_.kind == Kind::kCornerstone) {
    r.set_id(std::to_string(1000 + i));
    f["CLIENT_ID"] = r.id();
    f["FIRST_NAME"] = first;
    f["LAST_NAME"] = last;
    f["PHONE_HOME"] = bad_phone ? "CALL WORK" : absl::StrCat("(", area, ") ", exch, "-", line);
    if (has_cell) {
      std::string cell_line = absl::StrFormat("%04d", static_cast<int>(((ph >> 10) + 1) % 10000));
      f["PHONE_CELL"] = absl::StrCat("(", area, ") ", exch, "-", cell_line);
    }
    f["PHONE_PRIMARY"] = has_cell ? "CELL" : "HOME";
    f["EMAIL"] = email;
    f["LAST_VISIT"] = absl::StrFormat("%02d/%02d/%04d", m, d, y);
    f["INACTIVE"] = inactive ? "Y" : "N";
    f["DELETED"] = deleted ? "Y" : "N";
  } else {
    r.set_id(absl::StrFormat("A%06d", i + 1));
    f["ACCT"] = r.id();
    f["NAME"] = last.empty() ? Upper(first) : Upper(last + ", " + first);
    f["PHONE1"] = bad_phone ? "SEE NOTES" : absl::StrCat(area, ".", exch, ".", line);
    f["PHONE1_TYPE"] = has_cell ? "C" : "H";
    f["EMAIL"] = Upper(email);
    f["LASTVISIT"] = absl::StrFormat("%04d%02d%02d", y, m, d);
    f["STATUS"] = deleted ? "D" : inactive ? "I" : "A";
  }
  return r;
}

pv1::PimsRecord Practice::PatientRecord(int64_t j, int version) const {
  int64_t owner = OwnerOf(j);
  int64_t k = j - first_patient_[owner];
  uint64_t h = Mix(j, 11);
  bool canine = h % 3 != 0;
  std::string name = Pick(kPets, h >> 4);
  std::string breed = canine ? Pick(kCanineBreeds, h >> 9) : Pick(kFelineBreeds, h >> 9);
  int y, m, d;
  Date(Mix(j, 12), &y, &m, &d);
  y -= 6;
  bool deceased = Mix(j, 13) % 40 == 0 || version > 2;
  if (j % 457 == 3) name = "";  // a bad record: no name
  const char* sexes_cs[] = {"MN", "FS", "M", "F"};
  pv1::PimsRecord r;
  auto& f = *r.mutable_fields();
  if (options_.kind == Kind::kCornerstone) {
    r.set_id(std::to_string(50000 + j));
    f["PATIENT_ID"] = r.id();
    f["CLIENT_ID"] = std::to_string(1000 + owner);
    f["NAME"] = name;
    f["SPECIES"] = canine ? "CANINE" : "FELINE";
    f["BREED"] = breed;
    f["SEX"] = sexes_cs[(h >> 20) % 4];
    f["BIRTHDATE"] = absl::StrFormat("%02d/%02d/%04d", m, d, y);
    f["DECEASED"] = deceased ? "Y" : "N";
  } else {
    r.set_id(absl::StrFormat("A%06d-%d", owner + 1, k + 1));
    f["ANIMAL"] = r.id();
    f["ACCT"] = absl::StrFormat("A%06d", owner + 1);
    f["NAME"] = Upper(name);
    f["SPECIES"] = canine ? "Dog" : "Cat";
    f["BREED"] = breed;
    f["GENDER"] = sexes_cs[(h >> 20) % 4];
    f["BIRTH"] = absl::StrFormat("%04d%02d%02d", y, m, d);
    f["DEAD"] = deceased ? "1" : "0";
  }
  return r;
}

int64_t Practice::Mutate(int count) {
  std::lock_guard<std::mutex> l(mu_);
  for (int n = 0; n < count; ++n) {
    // Four in ten changes are the schedule's; each change moves the cursor by one.
    uint64_t pick = Mix(seq_ + 1, 23) % 10;
    if (pick >= 6 && !appointments_.empty()) {
      int64_t k = static_cast<int64_t>(Mix(seq_ + 1, 24) % appointments_.size());
      int64_t b = block_offs_.empty() ? -1 : static_cast<int64_t>(Mix(seq_ + 1, 25) % block_offs_.size());
      if (pick == 9 && types_.size() < 30) {
        AddTypeLocked();
      } else if (pick == 8 && b >= 0 && !block_offs_[b].deleted) {
        DeleteBlockOffLocked(b);
      } else if (pick == 7 || !MoveLocked(k)) {
        CancelLocked(k);
      }
      continue;
    }
    ++seq_;
    pv1::Entity e = Mix(seq_, 21) % 3 == 0 ? pv1::PATIENTS : pv1::CLIENTS;
    int64_t total = e == pv1::CLIENTS ? options_.clients : first_patient_.back();
    if (total == 0) continue;
    int64_t index = static_cast<int64_t>(Mix(seq_, 22) % total);
    versions_[{static_cast<int>(e), index}]++;
    changes_.push_back({seq_, e, index});
  }
  return seq_;
}

int64_t Practice::cursor() const {
  std::lock_guard<std::mutex> l(mu_);
  return seq_;
}

std::vector<pv1::PimsRecord> Practice::ChangesSince(pv1::Entity entity, int64_t cursor,
                                                    int limit, int64_t* next) const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<pv1::PimsRecord> out;
  *next = cursor;
  auto it = std::upper_bound(changes_.begin(), changes_.end(), cursor,
                             [](int64_t c, const Change& ch) { return c < ch.seq; });
  for (; it != changes_.end() && static_cast<int>(out.size()) < limit; ++it) {
    *next = it->seq;
    if (it->entity != entity) continue;
    out.push_back(RecordLocked(entity, it->index));
  }
  return out;
}

std::map<std::string, std::string> Practice::SchedulingSettings() const {
  if (options_.kind == Kind::kCornerstone) {
    return {{"APPT_INTERVAL_MIN", "15"}, {"OPEN_TIME", "08:00"}, {"CLOSE_TIME", "18:00"},
            {"ONLINE_BOOKING_LEAD_HOURS", "2"}, {"ONLINE_BOOKING_MAX_DAYS", "60"},
            {"APPT_BUFFER_MIN", "5"}};
  }
  return {{"SlotLength", "20"}, {"DayStart", "0800"}, {"DayEnd", "1730"}, {"LeadTime", "120"},
          {"BookAhead", "8W"}, {"PrepTime", "0"}, {"CleanupTime", "10"}};
}

absl::StatusOr<std::string> Practice::Create(pv1::Entity entity, const std::map<std::string, std::string>& fields,
                                             const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  if (!key.empty()) {
    if (auto it = created_.find(key); it != created_.end()) return it->second;
  }
  std::string id;
  if (entity == pv1::APPOINTMENTS) {
    VL_ASSIGN_OR_RETURN(id, CreateAppointment(fields));
  } else if (entity == pv1::CLIENTS || entity == pv1::PATIENTS) {
    VL_ASSIGN_OR_RETURN(id, CreateOwnerOrPet(entity, fields));
  } else {
    return absl::UnimplementedError("the practice takes clients, patients and appointments");
  }
  if (!key.empty()) created_[key] = id;
  return id;
}

// ---- The schedule ----

std::string Practice::ClientId(int64_t i) const {
  return options_.kind == Kind::kCornerstone ? std::to_string(1000 + i) : absl::StrFormat("A%06d", i + 1);
}
std::string Practice::PatientId(int64_t j) const {
  if (options_.kind == Kind::kCornerstone) return std::to_string(50000 + j);
  int64_t owner = OwnerOf(j);
  return absl::StrFormat("A%06d-%d", owner + 1, j - first_patient_[owner] + 1);
}
std::string Practice::TypeId(int t) const {
  return options_.kind == Kind::kCornerstone ? std::to_string(10 + t) : absl::StrFormat("T%02d", t + 1);
}
std::string Practice::ProviderId(int p) const {
  return options_.kind == Kind::kCornerstone ? std::to_string(201 + p) : absl::StrFormat("D%02d", p + 1);
}
std::string Practice::RoomId(int r) const {
  bool surgery = r == rooms_ - 1;
  if (options_.kind == Kind::kCornerstone) return surgery ? "SURG" : absl::StrCat("EX", r + 1);
  return absl::StrFormat("R%02d", r + 1);
}
std::string Practice::AppointmentId(int64_t k) const {
  return options_.kind == Kind::kCornerstone ? std::to_string(700000 + k) : absl::StrFormat("AP%07d", k + 1);
}

std::optional<int64_t> Practice::ClientIndex(const std::string& id) const {
  int64_t n = 0;
  bool cs = options_.kind == Kind::kCornerstone;
  if (!cs && (id.size() != 7 || id[0] != 'A')) return std::nullopt;
  if (!absl::SimpleAtoi(cs ? id : id.substr(1), &n)) return std::nullopt;
  n -= cs ? 1000 : 1;
  if (n < 0 || n >= options_.clients || ClientId(n) != id) return std::nullopt;
  return n;
}

std::optional<int64_t> Practice::PatientIndex(const std::string& id) const {
  int64_t n = 0;
  if (options_.kind == Kind::kCornerstone) {
    if (!absl::SimpleAtoi(id, &n)) return std::nullopt;
    n -= 50000;
  } else {
    std::vector<std::string> parts = absl::StrSplit(id, '-');
    int64_t k = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &k) || k < 1) return std::nullopt;
    std::optional<int64_t> owner = ClientIndex(parts[0]);
    if (!owner) return std::nullopt;
    n = first_patient_[*owner] + k - 1;
    if (n >= first_patient_[*owner + 1]) return std::nullopt;
  }
  if (n < 0 || n >= first_patient_.back() || PatientId(n) != id) return std::nullopt;
  return n;
}

int64_t Practice::OwnerOf(int64_t j) const {
  auto it = std::upper_bound(first_patient_.begin(), first_patient_.end(), j);
  return (it - first_patient_.begin()) - 1;
}

bool Practice::BadClient(int64_t i) const {
  // The records the mappers or the clients service refuse (see ClientRecord), and
  // deleted ones: a PIMS books nobody on them.
  return i % 331 == 7 || i % 409 == 11 || i % 503 == 13;
}

void Practice::BuildSchedule() {
  types_ = {{"Wellness Exam", 30, true},   {"Vaccination", 15, true},     {"Sick Visit", 30, true},
            {"Dental Cleaning", 60, true}, {"Surgery Consult", 45, true}, {"Recheck", 15, true},
            {"Telemedicine Consult", 30, true}, {"Boarding Check-In", 15, false}};
  providers_ = static_cast<int>(std::clamp<int64_t>(2 + options_.clients / 2500, 2, 20));
  rooms_ = providers_ + 1;  // an exam room per provider and a surgery
  // About one appointment per client; every provider's day is filled from 08:00 to
  // 17:30 with a lunch break, so each provider sees about ten a day.
  const int64_t target = std::min<int64_t>(options_.clients, 1'000'000);
  const int active_types = 7;
  int64_t workdays = target / (providers_ * 10) + 1;
  absl::CivilDay day = options_.schedule_around - (workdays * 7 / 5) / 2;
  for (int64_t w = 0; static_cast<int64_t>(appointments_.size()) < target; ++day) {
    absl::Weekday wd = absl::GetWeekday(day);
    if (wd == absl::Weekday::saturday || wd == absl::Weekday::sunday) continue;
    const int64_t workday = w++;
    if (workday % 23 == 11) {  // closed for staff training: a block-off of the whole clinic
      block_offs_.push_back({day, kDayStart, kDayEnd - kDayStart, -1, -1, "STAFF TRAINING - CLOSED"});
      continue;
    }
    if (workday % 7 == 3) {
      block_offs_.push_back({day, kLunch, 30, -1, static_cast<int>(workday % rooms_), "DEEP CLEAN"});
    }
    for (int p = 0; p < providers_; ++p) {
      if ((workday + p) % 5 == 0) block_offs_.push_back({day, kLunch, 60, p, -1, "LUNCH & LEARN"});
      for (int t = kDayStart; static_cast<int64_t>(appointments_.size()) < target;) {
        const int64_t k = static_cast<int64_t>(appointments_.size());
        const uint64_t h = Mix(k, 30);
        Appointment a;
        a.type = static_cast<int>(h % active_types);
        a.minutes = types_[a.type].minutes;
        a.start = t + static_cast<int>((h >> 8) % 3) * 15;
        if (a.start < kLunch && a.start + a.minutes > kLunch) a.start = kLunchEnd;
        if (a.start + a.minutes > kDayEnd) break;
        t = a.start + a.minutes;
        a.day = day;
        a.provider = p;
        a.room = k % 8 == 7 ? -1 : static_cast<int>((p + workday) % providers_);  // one room per provider a day
        int64_t c = 0, j = 0;
        for (int tries = 0; tries < 20; ++tries) {
          c = static_cast<int64_t>(Mix(k * 31 + tries, 31) % options_.clients);
          int64_t pets = first_patient_[c + 1] - first_patient_[c];
          j = first_patient_[c] + static_cast<int64_t>(Mix(k, 32) % pets);
          if (!BadClient(c) && j % 457 != 3) break;
        }
        a.client_id = ClientId(c);
        a.patient_id = PatientId(j);
        uint64_t s = (h >> 16) % 20;
        if (day < options_.schedule_around) {
          a.status = s == 0 ? Status::kNoShow : s == 1 ? Status::kCancelled : Status::kCompleted;
        } else {
          a.status = s == 0 ? Status::kCancelled : s < 8 ? Status::kConfirmed : Status::kScheduled;
        }
        a.description = Pick(kReasons, h >> 24);
        if (k % 997 == 500) a.bad = "duration";  // typed as 0 minutes
        if (k % 1009 == 700) a.bad = "time";     // a time that is not one
        appointments_.push_back(std::move(a));
        Index(k);
      }
    }
  }
  for (int64_t b = 0; b < static_cast<int64_t>(block_offs_.size()); ++b) {
    block_offs_by_day_[block_offs_[b].day].push_back(b);
  }
}

void Practice::Index(int64_t k) {
  const Appointment& a = appointments_[k];
  by_provider_[{a.provider, a.day}].push_back(k);
  if (a.room >= 0) by_room_[{a.room, a.day}].push_back(k);
}

void Practice::Unindex(int64_t k) {
  const Appointment& a = appointments_[k];
  auto drop = [k](std::vector<int64_t>& v) { v.erase(std::remove(v.begin(), v.end(), k), v.end()); };
  drop(by_provider_[{a.provider, a.day}]);
  if (a.room >= 0) drop(by_room_[{a.room, a.day}]);
}

bool Practice::Taken(absl::CivilDay day, int start, int minutes, int provider, int room, int64_t except) const {
  auto busy = [&](const std::map<std::pair<int, absl::CivilDay>, std::vector<int64_t>>& index, int who) {
    auto it = index.find({who, day});
    if (it == index.end()) return false;
    for (int64_t k : it->second) {
      const Appointment& a = appointments_[k];
      bool active = a.status != Status::kCancelled && a.status != Status::kNoShow;
      if (k != except && active && Overlap(start, minutes, a.start, a.minutes)) return true;
    }
    return false;
  };
  if (busy(by_provider_, provider) || (room >= 0 && busy(by_room_, room))) return true;
  if (auto it = block_offs_by_day_.find(day); it != block_offs_by_day_.end()) {
    for (int64_t b : it->second) {
      const BlockOff& x = block_offs_[b];
      bool applies = (x.provider < 0 && x.room < 0) || x.provider == provider || (room >= 0 && x.room == room);
      if (!x.deleted && applies && Overlap(start, minutes, x.start, x.minutes)) return true;
    }
  }
  return false;
}

void Practice::Changed(pv1::Entity e, int64_t index) { changes_.push_back({++seq_, e, index}); }

bool Practice::MoveLocked(int64_t k) {
  Appointment& a = appointments_[k];
  if (a.status == Status::kCancelled) return false;
  // A few deterministic candidates within the next week; the first free one wins.
  for (int attempt = 0; attempt < 48; ++attempt) {
    uint64_t h = Mix(seq_ * 64 + attempt, 40);
    absl::CivilDay day = a.day + static_cast<int>(h % 7);
    absl::Weekday wd = absl::GetWeekday(day);
    int start = kDayStart + 15 * static_cast<int>((h >> 8) % 38);
    if (wd == absl::Weekday::saturday || wd == absl::Weekday::sunday) continue;
    if (start + a.minutes > kDayEnd || (day == a.day && start == a.start)) continue;
    if (Taken(day, start, a.minutes, a.provider, a.room, k)) continue;
    Unindex(k);
    a.day = day;
    a.start = start;
    Index(k);
    Changed(pv1::APPOINTMENTS, k);
    return true;
  }
  return false;
}

void Practice::CancelLocked(int64_t k) {
  appointments_[k].status = Status::kCancelled;
  Changed(pv1::APPOINTMENTS, k);
}

void Practice::DeleteBlockOffLocked(int64_t b) {
  block_offs_[b].deleted = true;
  Changed(pv1::BLOCK_OFFS, b);
}

int64_t Practice::AddTypeLocked() {
  const size_t n = types_.size() - 8;  // the types added so far
  constexpr size_t kNames = sizeof(kNewTypes) / sizeof(kNewTypes[0]);
  std::string name = kNewTypes[n % kNames];
  if (n >= kNames) absl::StrAppend(&name, " ", n / kNames + 1);
  types_.push_back({name, 15 * (1 + static_cast<int>(Mix(n, 41) % 4)), true});
  int64_t t = static_cast<int64_t>(types_.size()) - 1;
  Changed(pv1::APPOINTMENT_TYPES, t);
  return t;
}

// The public changes: each under the lock.
bool Practice::MoveAppointment(int64_t index) { std::lock_guard<std::mutex> l(mu_); return MoveLocked(index); }
void Practice::CancelAppointment(int64_t index) { std::lock_guard<std::mutex> l(mu_); CancelLocked(index); }
void Practice::DeleteBlockOff(int64_t index) { std::lock_guard<std::mutex> l(mu_); DeleteBlockOffLocked(index); }
int64_t Practice::AddAppointmentType() { std::lock_guard<std::mutex> l(mu_); return AddTypeLocked(); }

pv1::PimsRecord Practice::TypeRecord(int64_t t) const {
  const ApptType& x = types_[t];
  pv1::PimsRecord r;
  r.set_id(TypeId(static_cast<int>(t)));
  auto& f = *r.mutable_fields();
  if (options_.kind == Kind::kCornerstone) {
    f["APPT_TYPE_ID"] = r.id();
    f["DESCRIPTION"] = Upper(x.name);
    f["LENGTH"] = std::to_string(x.minutes);  // minutes
    f["INACTIVE"] = x.active ? "N" : "Y";
  } else {
    f["TYPE"] = r.id();
    f["NAME"] = x.name;
    f["UNITS"] = std::to_string(x.minutes / 15);  // 15-minute units
    f["ACTIVE"] = x.active ? "1" : "0";
  }
  return r;
}

pv1::PimsRecord Practice::ProviderRecord(int64_t p) const {
  uint64_t h = Mix(p, 50);
  std::string first = Pick(kFirst, h), last = Pick(kLast, h >> 12);
  bool tech = p == providers_ - 1 && providers_ > 2;  // a technician who does nail trims
  bool inactive = p == 1 && providers_ > 3;            // left the practice
  pv1::PimsRecord r;
  r.set_id(ProviderId(static_cast<int>(p)));
  auto& f = *r.mutable_fields();
  if (options_.kind == Kind::kCornerstone) {
    f["STAFF_ID"] = r.id();
    f["FIRST_NAME"] = first;
    f["LAST_NAME"] = last;
    f["TITLE"] = tech ? "LVT" : "DVM";
    f["INACTIVE"] = inactive ? "Y" : "N";
  } else {
    f["DOCTOR"] = r.id();
    f["NAME"] = Upper(last + ", " + first);
    f["CRED"] = tech ? "RVT" : "DVM";
    f["STATUS"] = inactive ? "I" : "A";
  }
  return r;
}

pv1::PimsRecord Practice::RoomRecord(int64_t room) const {
  bool surgery = room == rooms_ - 1;
  pv1::PimsRecord r;
  r.set_id(RoomId(static_cast<int>(room)));
  auto& f = *r.mutable_fields();
  if (options_.kind == Kind::kCornerstone) {
    f["ROOM_ID"] = r.id();
    f["ROOM_NAME"] = surgery ? "SURGERY" : absl::StrCat("EXAM ROOM ", room + 1);
    f["INACTIVE"] = "N";
  } else {
    f["ROOM"] = r.id();
    f["DESCR"] = surgery ? "Surgery" : absl::StrCat("Exam ", room + 1);
    f["ACTIVE"] = "1";
  }
  return r;
}

pv1::PimsRecord Practice::AppointmentRecord(int64_t k) const {
  const Appointment& a = appointments_[k];
  pv1::PimsRecord r;
  r.set_id(AppointmentId(k));
  auto& f = *r.mutable_fields();
  const int status = static_cast<int>(a.status);
  if (options_.kind == Kind::kCornerstone) {
    f["APPT_ID"] = r.id();
    f["CLIENT_ID"] = a.client_id;
    f["PATIENT_ID"] = a.patient_id;
    f["APPT_TYPE_ID"] = TypeId(a.type);
    f["STAFF_ID"] = ProviderId(a.provider);
    f["ROOM_ID"] = a.room >= 0 ? RoomId(a.room) : "";
    f["APPT_DATE"] = CsDate(a.day);
    f["APPT_TIME"] = a.bad == "time" ? "9:3O AM" : CsTime(a.start);
    f["DURATION"] = a.bad == "duration" ? "0" : std::to_string(a.minutes);
    f["STATUS"] = kCornerstoneStatus[status];
    f["REASON"] = a.description;
  } else {
    f["APPT"] = r.id();
    f["ACCT"] = a.client_id;
    f["ANIMAL"] = a.patient_id;
    f["TYPE"] = TypeId(a.type);
    f["DOCTOR"] = ProviderId(a.provider);
    f["ROOM"] = a.room >= 0 ? RoomId(a.room) : "";
    f["DATE"] = AvDate(a.day);
    f["TIME"] = a.bad == "time" ? "2575" : AvTime(a.start);
    f["UNITS"] = a.bad == "duration" ? "0" : std::to_string(a.minutes / 15);
    f["STATUS"] = kAvimarkStatus[status];
    f["NOTE"] = a.description;
  }
  return r;
}

pv1::PimsRecord Practice::BlockOffRecord(int64_t b) const {
  const BlockOff& x = block_offs_[b];
  pv1::PimsRecord r;
  r.set_deleted(x.deleted);  // kept in the snapshot too, so positions stay stable
  auto& f = *r.mutable_fields();
  std::string provider = x.provider >= 0 ? ProviderId(x.provider) : "";
  std::string room = x.room >= 0 ? RoomId(x.room) : "";
  if (options_.kind == Kind::kCornerstone) {
    r.set_id(std::to_string(90000 + b));
    f["BLOCK_ID"] = r.id();
    f["STAFF_ID"] = provider;
    f["ROOM_ID"] = room;
    f["BLOCK_DATE"] = CsDate(x.day);
    f["START_TIME"] = CsTime(x.start);
    f["END_TIME"] = CsTime(x.start + x.minutes);
    f["REASON"] = x.reason;
  } else {
    r.set_id(absl::StrFormat("B%06d", b + 1));
    f["BLOCK"] = r.id();
    // Avimark marks a block-off of the whole clinic with the doctor "ALL".
    f["DOCTOR"] = provider.empty() && room.empty() ? "ALL" : provider;
    f["ROOM"] = room;
    f["DATE"] = AvDate(x.day);
    f["TIME"] = AvTime(x.start);
    f["UNITS"] = std::to_string(x.minutes / 15);
    f["REASON"] = Upper(x.reason);
  }
  return r;
}

absl::StatusOr<std::string> Practice::CreateOwnerOrPet(pv1::Entity entity,
                                                       const std::map<std::string, std::string>& fields) {
  const bool cs = options_.kind == Kind::kCornerstone;
  const bool client = entity == pv1::CLIENTS;
  std::vector<const char*> required;
  if (client) {
    required = cs ? std::vector<const char*>{"FIRST_NAME", "LAST_NAME"} : std::vector<const char*>{"NAME"};
  } else {
    required = {cs ? "CLIENT_ID" : "ACCT", "NAME"};
  }
  std::vector<std::string> missing;
  for (const char* name : required) {
    if (Get(fields, name).empty()) missing.push_back(name);
  }
  if (!missing.empty()) {
    return InvalidField(missing.front(), absl::StrCat("missing fields: ", absl::StrJoin(missing, ", ")));
  }
  pv1::PimsRecord r;
  auto& f = *r.mutable_fields();
  for (const auto& [k, v] : fields) f[k] = v;
  if (client) {
    // The practice's next ids; active unless said otherwise.
    int64_t n = options_.clients + static_cast<int64_t>(written_clients_.size());
    r.set_id(cs ? std::to_string(1000 + n) : absl::StrFormat("A%06d", n + 1));
    f[cs ? "CLIENT_ID" : "ACCT"] = r.id();
    if (!cs && Get(fields, "STATUS").empty()) f["STATUS"] = "A";
    written_clients_.push_back(r);
    Changed(pv1::CLIENTS, n);
  } else {
    const char* owner_f = cs ? "CLIENT_ID" : "ACCT";
    std::string owner = Get(fields, owner_f);
    std::optional<int64_t> generated = ClientIndex(owner);
    if (!generated && !written_ids_.count(owner)) {
      return InvalidField(owner_f, absl::StrCat(owner_f, " '", owner, "' is not a client of this practice"));
    }
    int64_t n = first_patient_.back() + static_cast<int64_t>(written_patients_.size());
    if (cs) {
      r.set_id(std::to_string(50000 + n));
    } else {
      // Avimark numbers an account's animals: the next after its own and those written.
      int64_t k = generated ? first_patient_[*generated + 1] - first_patient_[*generated] : 0;
      for (const auto& p : written_patients_) k += p.fields().at("ACCT") == owner;
      r.set_id(absl::StrCat(owner, "-", k + 1));
    }
    f[cs ? "PATIENT_ID" : "ANIMAL"] = r.id();
    written_patients_.push_back(r);
    Changed(pv1::PATIENTS, n);
  }
  written_ids_.insert(r.id());
  return r.id();
}

absl::Status Practice::PlaceAppointment(const std::map<std::string, std::string>& fields, Appointment& a) const {
  const bool cs = options_.kind == Kind::kCornerstone;
  const char* const type_f = cs ? "APPT_TYPE_ID" : "TYPE";
  const char* const provider_f = cs ? "STAFF_ID" : "DOCTOR";
  const char* const room_f = cs ? "ROOM_ID" : "ROOM";
  const char* const date_f = cs ? "APPT_DATE" : "DATE";
  const char* const time_f = cs ? "APPT_TIME" : "TIME";
  const char* const length_f = cs ? "DURATION" : "UNITS";
  auto find = [&](const char* field, int n, auto id_of) -> absl::StatusOr<int> {
    std::string want = Get(fields, field);
    for (int i = 0; i < n; ++i) {
      if ((this->*id_of)(i) == want) return i;
    }
    return InvalidField(field, absl::StrCat(field, " '", want, "' is not one of this practice's"));
  };
  if (!Get(fields, type_f).empty()) {
    VL_ASSIGN_OR_RETURN(a.type, find(type_f, static_cast<int>(types_.size()), &Practice::TypeId));
  }
  if (!Get(fields, provider_f).empty()) {
    VL_ASSIGN_OR_RETURN(a.provider, find(provider_f, providers_, &Practice::ProviderId));
  }
  if (fields.count(room_f)) {
    a.room = -1;
    if (!Get(fields, room_f).empty()) {
      VL_ASSIGN_OR_RETURN(a.room, find(room_f, rooms_, &Practice::RoomId));
    }
  }
  if (!Get(fields, date_f).empty() || !Get(fields, time_f).empty()) {
    // One of the two alone keeps the other as it was.
    std::string date = Get(fields, date_f), time = Get(fields, time_f);
    if (date.empty()) date = cs ? CsDate(a.day) : AvDate(a.day);
    if (time.empty()) time = cs ? CsTime(a.start) : AvTime(a.start);
    absl::Time at;
    std::string err;
    std::string when = absl::StrCat(date, " ", time);
    // absl's %Y takes every digit it sees: Avimark's "YYYYMMDD HHMM" is split by hand.
    std::string parsed = when;
    if (!cs && date.size() == 8 && time.size() == 4) {
      parsed = absl::StrCat(date.substr(0, 4), "-", date.substr(4, 2), "-", date.substr(6), " ", time.substr(0, 2),
                            ":", time.substr(2));
    }
    if (!absl::ParseTime(cs ? "%m/%d/%Y %I:%M %p" : "%Y-%m-%d %H:%M", parsed, absl::UTCTimeZone(), &at, &err)) {
      return InvalidField(time_f, absl::StrCat(date_f, " and ", time_f, " are not a time: '", when, "'"));
    }
    absl::CivilMinute start = absl::ToCivilMinute(at, absl::UTCTimeZone());
    a.day = absl::CivilDay(start);
    a.start = start.hour() * 60 + start.minute();
  }
  if (a.minutes == 0) a.minutes = types_[a.type].minutes;
  if (std::string length = Get(fields, length_f); !length.empty()) {
    int n = 0;
    if (!absl::SimpleAtoi(length, &n) || n <= 0 || n > (cs ? 24 * 60 : 24 * 4)) {
      return InvalidField(length_f, absl::StrCat(length_f, " must be a positive number of ",
                                                 cs ? "minutes" : "15-minute units"));
    }
    a.minutes = cs ? n : n * 15;
  }
  if (a.start + a.minutes > 24 * 60) return InvalidField(length_f, "the appointment must end on its day");
  return absl::OkStatus();
}

absl::StatusOr<std::string> Practice::CreateAppointment(const std::map<std::string, std::string>& fields) {
  const bool cs = options_.kind == Kind::kCornerstone;
  const char* const client_f = cs ? "CLIENT_ID" : "ACCT";
  const char* const patient_f = cs ? "PATIENT_ID" : "ANIMAL";
  std::vector<std::string> missing;
  for (const char* name : {client_f, patient_f, cs ? "APPT_TYPE_ID" : "TYPE", cs ? "STAFF_ID" : "DOCTOR",
                           cs ? "APPT_DATE" : "DATE", cs ? "APPT_TIME" : "TIME"}) {
    if (Get(fields, name).empty()) missing.push_back(name);
  }
  if (!missing.empty()) {
    return InvalidField(missing.front(), absl::StrCat("missing fields: ", absl::StrJoin(missing, ", ")));
  }
  Appointment a;
  VL_RETURN_IF_ERROR(PlaceAppointment(fields, a));
  // A client or patient of the practice's own, or one written back before.
  a.client_id = Get(fields, client_f);
  a.patient_id = Get(fields, patient_f);
  std::optional<int64_t> client = ClientIndex(a.client_id), patient = PatientIndex(a.patient_id);
  if (!client && !written_ids_.count(a.client_id)) {
    return InvalidField(client_f, absl::StrCat(client_f, " '", a.client_id, "' is not a client of this practice"));
  }
  bool owned = patient ? client && *client == OwnerOf(*patient) : written_ids_.count(a.patient_id) > 0;
  if (!owned) {
    return InvalidField(patient_f, absl::StrCat(patient_f, " '", a.patient_id, "' is not a patient of ", client_f,
                                                " '", a.client_id, "'"));
  }
  if (Taken(a.day, a.start, a.minutes, a.provider, a.room, -1)) {
    return absl::FailedPreconditionError("the provider or the room is already booked at that time");
  }
  a.description = Get(fields, cs ? "REASON" : "NOTE");
  const int64_t k = static_cast<int64_t>(appointments_.size());
  appointments_.push_back(std::move(a));
  Index(k);
  Changed(pv1::APPOINTMENTS, k);
  return AppointmentId(k);
}

std::optional<int64_t> Practice::AppointmentIndex(const std::string& id) const {
  int64_t k = -1;
  if (options_.kind == Kind::kCornerstone) {
    if (!absl::SimpleAtoi(id, &k)) return std::nullopt;
    k -= 700000;
  } else if (id.size() == 9 && absl::StartsWith(id, "AP") && absl::SimpleAtoi(id.substr(2), &k)) {
    k -= 1;
  }
  if (k < 0 || k >= static_cast<int64_t>(appointments_.size()) || AppointmentId(k) != id) return std::nullopt;
  return k;
}

absl::StatusOr<std::string> Practice::UpdateAppointment(const std::string& id,
                                                        const std::map<std::string, std::string>& fields) {
  std::lock_guard<std::mutex> l(mu_);
  std::optional<int64_t> k = AppointmentIndex(id);
  if (!k) return NotFoundField("id", absl::StrCat("no appointment '", id, "' in this practice"));
  Appointment moved = appointments_[*k];
  if (moved.status == Status::kCancelled) {
    return absl::FailedPreconditionError("the appointment is cancelled in the PIMS");
  }
  VL_RETURN_IF_ERROR(PlaceAppointment(fields, moved));
  const Appointment& was = appointments_[*k];
  if (moved.day == was.day && moved.start == was.start && moved.minutes == was.minutes &&
      moved.provider == was.provider && moved.room == was.room && moved.type == was.type) {
    return id;  // already so
  }
  if (Taken(moved.day, moved.start, moved.minutes, moved.provider, moved.room, *k)) {
    return absl::FailedPreconditionError("the provider or the room is already booked at that time");
  }
  Unindex(*k);
  appointments_[*k] = std::move(moved);
  Index(*k);
  Changed(pv1::APPOINTMENTS, *k);
  return id;
}

absl::StatusOr<std::string> Practice::CancelAppointment(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  std::optional<int64_t> k = AppointmentIndex(id);
  if (!k) return NotFoundField("id", absl::StrCat("no appointment '", id, "' in this practice"));
  if (appointments_[*k].status != Status::kCancelled) CancelLocked(*k);
  return id;
}

absl::StatusOr<std::string> Practice::CreateNote(const std::map<std::string, std::string>& fields,
                                                 const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  if (!key.empty()) {
    if (auto it = created_.find("note:" + key); it != created_.end()) return it->second;
  }
  const bool cs = options_.kind == Kind::kCornerstone;
  const char* const client_f = cs ? "CLIENT_ID" : "ACCT";
  const char* const text_f = cs ? "NOTE_TEXT" : "TEXT";
  std::string owner = Get(fields, client_f);
  if (owner.empty() || Get(fields, text_f).empty()) {
    return InvalidField(owner.empty() ? client_f : text_f,
                        absl::StrCat("missing fields: ", owner.empty() ? client_f : text_f));
  }
  if (!ClientIndex(owner) && !written_ids_.count(owner)) {
    return InvalidField(client_f, absl::StrCat(client_f, " '", owner, "' is not a client of this practice"));
  }
  pv1::PimsRecord r;
  r.set_id(cs ? std::to_string(800000 + notes_.size()) : absl::StrFormat("N%07d", notes_.size() + 1));
  for (const auto& [k, v] : fields) (*r.mutable_fields())[k] = v;
  notes_.push_back(r);
  if (!key.empty()) created_["note:" + key] = r.id();
  return r.id();
}

std::vector<pv1::PimsRecord> Practice::Notes() const {
  std::lock_guard<std::mutex> l(mu_);
  return notes_;
}

}  // namespace vetline::pims_sim
