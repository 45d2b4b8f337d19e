#include "tools/pims_sim/practice.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

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
  switch (entity) {
    case pv1::CLIENTS: return options_.clients;
    case pv1::PATIENTS: return first_patient_.back();
    default: return 0;
  }
}

int Practice::VersionOf(pv1::Entity e, int64_t index) const {
  auto it = versions_.find({static_cast<int>(e), index});
  return it == versions_.end() ? 0 : it->second;
}

pv1::PimsRecord Practice::Record(pv1::Entity entity, int64_t index) const {
  std::lock_guard<std::mutex> l(mu_);
  int v = VersionOf(entity, index);
  return entity == pv1::CLIENTS ? ClientRecord(index, v) : PatientRecord(index, v);
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
  auto it = std::upper_bound(first_patient_.begin(), first_patient_.end(), j);
  int64_t owner = (it - first_patient_.begin()) - 1;
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
    int v = VersionOf(entity, it->index);
    out.push_back(entity == pv1::CLIENTS ? ClientRecord(it->index, v) : PatientRecord(it->index, v));
  }
  return out;
}

std::map<std::string, std::string> Practice::SchedulingSettings() const {
  if (options_.kind == Kind::kCornerstone) {
    return {{"APPT_INTERVAL_MIN", "15"}, {"OPEN_TIME", "08:00"}, {"CLOSE_TIME", "18:00"},
            {"ONLINE_BOOKING_LEAD_HOURS", "2"}};
  }
  return {{"SlotLength", "20"}, {"DayStart", "0800"}, {"DayEnd", "1730"}, {"LeadTime", "120"}};
}

std::string Practice::Create(pv1::Entity entity, const std::map<std::string, std::string>&,
                             const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  if (!key.empty()) {
    if (auto it = created_.find(key); it != created_.end()) return it->second;
  }
  std::string id = absl::StrCat(options_.kind == Kind::kCornerstone ? "W" : "AW",
                                static_cast<int>(entity), "-", ++written_);
  if (!key.empty()) created_[key] = id;
  return id;
}

}  // namespace vetline::pims_sim
