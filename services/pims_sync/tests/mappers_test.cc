// Each PIMS's conventions, mapped into Vetline's shape; the simulator's practices.
#include <catch2/catch.hpp>
#include <google/protobuf/util/message_differencer.h>

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/pims_sync/mappers.h"
#include "tools/pims_sim/practice.h"

using namespace vetline;
using namespace vetline::pims_sync;

TEST_CASE("pims mappers: US phones, dates and upper-case names", "[pims]") {
  CHECK(UsPhoneToE164("(312) 555-0100") == "+13125550100");
  CHECK(UsPhoneToE164("312.555.0100") == "+13125550100");
  CHECK(UsPhoneToE164("1-312-555-0100") == "+13125550100");
  CHECK(UsPhoneToE164("CALL WORK").empty());
  CHECK(UsPhoneToE164("555-0100").empty());
  CHECK(*IsoDate("03/09/2024", "MM/DD/YYYY") == "2024-03-09");
  CHECK(*IsoDate("20240309", "YYYYMMDD") == "2024-03-09");
  CHECK(IsoDate("", "YYYYMMDD")->empty());
  CHECK_FALSE(IsoDate("02/30/2024", "MM/DD/YYYY").has_value());
  CHECK_FALSE(IsoDate("2024-03-09", "YYYYMMDD").has_value());
  CHECK(NameCase("O'BRIEN") == "O'Brien");
  CHECK(NameCase("MARY-JANE SMITH") == "Mary-Jane Smith");
}

TEST_CASE("pims mappers: a Cornerstone practice maps into Vetline's model", "[pims]") {
  pims_sim::Practice practice({pims_sim::Kind::kCornerstone, 500, 7});
  auto mapper = MapperFor("cornerstone").value();
  auto rec = practice.Record(pims::v1::CLIENTS, 0);
  CHECK(rec.id() == "1000");
  auto mapped = mapper->Client(rec);
  REQUIRE(std::holds_alternative<cv1::SyncClient>(mapped));
  const auto& c = std::get<cv1::SyncClient>(mapped);
  CHECK(c.pims_id() == "1000");
  CHECK_FALSE(c.first_name().empty());
  REQUIRE(c.phones_size() >= 1);
  CHECK(c.phones(0).number().rfind("+1", 0) == 0);
  int primaries = 0;
  for (const auto& p : c.phones()) primaries += p.primary();
  CHECK(primaries == 1);
  CHECK(c.last_visit_date().size() == 10);
  // The practice's typed-in phone ("CALL WORK") is refused with the field named.
  auto bad = mapper->Client(practice.Record(pims::v1::CLIENTS, 11));
  REQUIRE(std::holds_alternative<cv1::RecordError>(bad));
  CHECK(std::get<cv1::RecordError>(bad).field() == "phones");
  CHECK(std::get<cv1::RecordError>(bad).pims_id() == "1011");
  auto pet = mapper->Patient(practice.Record(pims::v1::PATIENTS, 0));
  REQUIRE(std::holds_alternative<cv1::SyncPet>(pet));
  CHECK(std::get<cv1::SyncPet>(pet).client_pims_id() == "1000");
  CHECK((std::get<cv1::SyncPet>(pet).species() == "Canine" ||
         std::get<cv1::SyncPet>(pet).species() == "Feline"));
}

TEST_CASE("pims mappers: an Avimark practice maps into Vetline's model", "[pims]") {
  pims_sim::Practice practice({pims_sim::Kind::kAvimark, 500, 7});
  auto mapper = MapperFor("avimark").value();
  auto rec = practice.Record(pims::v1::CLIENTS, 0);
  CHECK(rec.id() == "A000001");
  CHECK(rec.fields().at("NAME").find(", ") != std::string::npos);  // "LAST, FIRST"
  auto mapped = mapper->Client(rec);
  const auto& c = std::get<cv1::SyncClient>(mapped);
  CHECK(c.last_name() + ", " + c.first_name() == NameCase(rec.fields().at("NAME")));
  CHECK(c.emails(0).address() == absl::AsciiStrToLower(rec.fields().at("EMAIL")));
  auto mapped_pet = mapper->Patient(practice.Record(pims::v1::PATIENTS, 0));
  const auto& pet = std::get<cv1::SyncPet>(mapped_pet);
  CHECK(pet.client_pims_id() == "A000001");
  CHECK(pet.pims_id().rfind("A000001-", 0) == 0);
  CHECK_FALSE(MapperFor("none").ok());
}

TEST_CASE("pims simulator: deterministic, about 1.5 patients per client, changes over time",
          "[pims]") {
  pims_sim::Practice a({pims_sim::Kind::kCornerstone, 1000, 7});
  pims_sim::Practice b({pims_sim::Kind::kCornerstone, 1000, 7});
  pims_sim::Practice c({pims_sim::Kind::kCornerstone, 1000, 8});
  using google::protobuf::util::MessageDifferencer;
  CHECK(MessageDifferencer::Equals(a.Record(pims::v1::CLIENTS, 42), b.Record(pims::v1::CLIENTS, 42)));
  CHECK_FALSE(MessageDifferencer::Equals(a.Record(pims::v1::CLIENTS, 42), c.Record(pims::v1::CLIENTS, 42)));
  for (auto e : {pims::v1::APPOINTMENTS, pims::v1::BLOCK_OFFS, pims::v1::PROVIDERS}) {
    CHECK(a.Count(e) == b.Count(e));
    CHECK(MessageDifferencer::Equals(a.Record(e, 3), b.Record(e, 3)));
  }
  CHECK_FALSE(MessageDifferencer::Equals(a.Record(pims::v1::APPOINTMENTS, 42), c.Record(pims::v1::APPOINTMENTS, 42)));
  int64_t pets = a.Count(pims::v1::PATIENTS);
  CHECK(pets > 1400);
  CHECK(pets < 1600);
  CHECK(a.cursor() == 0);
  int64_t cursor = a.Mutate(10);
  CHECK(cursor == 10);
  int64_t next = 0;
  auto changed = a.ChangesSince(pims::v1::CLIENTS, 0, 100, &next);
  CHECK_FALSE(changed.empty());
  CHECK(next == 10);
  CHECK(a.ChangesSince(pims::v1::CLIENTS, 10, 100, &next).empty());
}

// ---- The schedule ----

namespace {

template <typename T>
T Must(const std::variant<T, cv1::RecordError>& m) {
  if (const auto* e = std::get_if<cv1::RecordError>(&m)) FAIL(e->pims_id() << " " << e->field() << ": " << e->message());
  return std::get<T>(m);
}
template <typename T>
cv1::RecordError Refused(const std::variant<T, cv1::RecordError>& m) {
  REQUIRE(std::holds_alternative<cv1::RecordError>(m));
  return std::get<cv1::RecordError>(m);
}

pims::v1::PimsRecord With(pims::v1::PimsRecord r, const std::string& field, const std::string& value) {
  (*r.mutable_fields())[field] = value;
  return r;
}

// Every active appointment of the practice, mapped; fails on any overlap per provider
// or room. Returns how many were checked.
int64_t CheckNoOverlaps(const pims_sim::Practice& practice, const Mapper& mapper) {
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> by_provider, by_room;
  int64_t n = 0;
  for (int64_t k = 0; k < practice.Count(pims::v1::APPOINTMENTS); ++k) {
    auto m = mapper.Appointment(practice.Record(pims::v1::APPOINTMENTS, k));
    const auto* a = std::get_if<bv1::SyncAppointment>(&m);
    if (!a || a->status() == bv1::SYNC_CANCELLED || a->status() == bv1::SYNC_NO_SHOW) continue;
    by_provider[a->provider_pims_id()].push_back({a->start_local(), a->end_local()});
    if (!a->room_pims_id().empty()) by_room[a->room_pims_id()].push_back({a->start_local(), a->end_local()});
    ++n;
  }
  for (auto* index : {&by_provider, &by_room}) {
    for (auto& [who, spans] : *index) {
      std::sort(spans.begin(), spans.end());
      for (size_t i = 1; i < spans.size(); ++i) {
        INFO(who << " " << spans[i - 1].first << ".." << spans[i - 1].second << " and " << spans[i].first);
        CHECK(spans[i - 1].second <= spans[i].first);  // ISO wall-clock strings sort as times
      }
    }
  }
  return n;
}

}  // namespace

TEST_CASE("pims mappers: 12- and 24-hour clocks and wall-clock times", "[pims]") {
  CHECK(*Clock12("09:30 AM") == 9 * 60 + 30);
  CHECK(*Clock12("9:30 am") == 9 * 60 + 30);
  CHECK(*Clock12("12:15 AM") == 15);
  CHECK(*Clock12("12:00 PM") == 12 * 60);
  CHECK(*Clock12("01:45 PM") == 13 * 60 + 45);
  CHECK_FALSE(Clock12("13:00 PM").has_value());
  CHECK_FALSE(Clock12("9:3O AM").has_value());
  CHECK_FALSE(Clock12("09:30").has_value());
  CHECK(*Clock24("0930") == 570);
  CHECK(*Clock24("2359") == 23 * 60 + 59);
  CHECK_FALSE(Clock24("2575").has_value());
  CHECK_FALSE(Clock24("930").has_value());
  CHECK(WallClock("2026-03-08", 570) == "2026-03-08T09:30");
  CHECK(WallClock("2026-03-08", 24 * 60 + 15) == "2026-03-09T00:15");  // runs past midnight
}

TEST_CASE("pims mappers: a Cornerstone schedule maps into booking's records", "[pims]") {
  pims_sim::Practice practice({pims_sim::Kind::kCornerstone, 1500, 7});
  auto mapper = MapperFor("cornerstone").value();
  auto type = Must(mapper->AppointmentType(practice.Record(pims::v1::APPOINTMENT_TYPES, 0)));
  CHECK(type.pims_id() == "10");
  CHECK(type.name() == "Wellness Exam");  // DESCRIPTION is upper case
  CHECK(type.duration_minutes() == 30);   // LENGTH in minutes
  CHECK(type.active());
  CHECK_FALSE(Must(mapper->AppointmentType(practice.Record(pims::v1::APPOINTMENT_TYPES, 7))).active());
  auto provider = Must(mapper->Provider(practice.Record(pims::v1::PROVIDERS, 0)));
  CHECK(provider.pims_id() == "201");
  CHECK(provider.name().rfind("Dr. ", 0) == 0);
  auto room = Must(mapper->Room(practice.Record(pims::v1::ROOMS, 0)));
  CHECK(room.name() == "Exam Room 1");

  auto rec = practice.Record(pims::v1::APPOINTMENTS, 0);
  auto appt = Must(mapper->Appointment(rec));
  CHECK(appt.pims_id() == "700000");
  CHECK(appt.client_pims_id() == rec.fields().at("CLIENT_ID"));
  CHECK(appt.provider_pims_id() == "201");
  // "11/02/2026" + "08:15 AM" + 30 minutes -> "2026-11-02T08:15" .. "2026-11-02T08:45"
  const auto& f = rec.fields();
  std::string date = *IsoDate(f.at("APPT_DATE"), "MM/DD/YYYY");
  CHECK(appt.start_local() == WallClock(date, *Clock12(f.at("APPT_TIME"))));
  CHECK(appt.end_local() == WallClock(date, *Clock12(f.at("APPT_TIME")) + std::stoi(f.at("DURATION"))));
  CHECK(appt.status() != bv1::SYNC_APPOINTMENT_STATUS_UNSPECIFIED);

  // The practice's broken records: 0 minutes (#500), a time typed with a letter O (#700).
  auto zero = Refused(mapper->Appointment(practice.Record(pims::v1::APPOINTMENTS, 500)));
  CHECK(zero.pims_id() == "700500");
  CHECK(zero.field() == "endLocal");
  CHECK(zero.entity() == "appointment");
  auto bad_time = Refused(mapper->Appointment(practice.Record(pims::v1::APPOINTMENTS, 700)));
  CHECK(bad_time.pims_id() == "700700");
  CHECK(bad_time.field() == "startLocal");
  CHECK(Refused(mapper->Appointment(With(rec, "APPT_DATE", "02/30/2026"))).field() == "startLocal");
  CHECK(Refused(mapper->Appointment(With(rec, "DURATION", "-15"))).field() == "endLocal");
  CHECK(Refused(mapper->Appointment(With(rec, "STATUS", "ZZZ"))).field() == "status");
  CHECK(Refused(mapper->Appointment(With(rec, "PATIENT_ID", ""))).field() == "patientPimsId");
  CHECK(Refused(mapper->AppointmentType(With(practice.Record(pims::v1::APPOINTMENT_TYPES, 0), "LENGTH", "0")))
            .field() == "durationMinutes");

  // Block-offs: a provider's, a room's and the whole clinic's.
  int provider_blocks = 0, room_blocks = 0, clinic_blocks = 0;
  for (int64_t b = 0; b < practice.Count(pims::v1::BLOCK_OFFS); ++b) {
    auto x = Must(mapper->BlockOff(practice.Record(pims::v1::BLOCK_OFFS, b)));
    CHECK(x.start_local() < x.end_local());
    if (!x.provider_pims_id().empty()) ++provider_blocks;
    if (!x.room_pims_id().empty()) ++room_blocks;
    if (x.provider_pims_id().empty() && x.room_pims_id().empty()) {
      ++clinic_blocks;
      CHECK(x.start_local().substr(11) == "08:00");
    }
  }
  CHECK(provider_blocks > 0);
  CHECK(room_blocks > 0);
  CHECK(clinic_blocks > 0);
  CHECK(Refused(mapper->BlockOff(With(practice.Record(pims::v1::BLOCK_OFFS, 0), "END_TIME", "11:00 AM")))
            .field() == "endLocal");

  std::vector<cv1::RecordError> errors;
  pims::v1::SchedulingSettings settings;
  for (const auto& [k, v] : practice.SchedulingSettings()) (*settings.mutable_settings())[k] = v;
  auto s = mapper->Settings(settings, &errors);
  CHECK(errors.empty());
  CHECK(s.slot_granularity_minutes() == 15);
  CHECK(s.minimum_notice_minutes() == 120);  // ONLINE_BOOKING_LEAD_HOURS = 2
  CHECK(s.booking_horizon_days() == 60);
  CHECK(s.buffer_after_minutes() == 5);
  (*settings.mutable_settings())["APPT_INTERVAL_MIN"] = "fifteen";
  s = mapper->Settings(settings, &errors);
  CHECK(s.slot_granularity_minutes() == 0);  // not set: Vetline's value stays
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].field() == "slotGranularityMinutes");
  CHECK(errors[0].pims_id() == "APPT_INTERVAL_MIN");
}

TEST_CASE("pims mappers: an Avimark schedule maps into booking's records", "[pims]") {
  pims_sim::Practice practice({pims_sim::Kind::kAvimark, 1500, 7});
  auto mapper = MapperFor("avimark").value();
  auto type_rec = practice.Record(pims::v1::APPOINTMENT_TYPES, 3);
  CHECK(type_rec.id() == "T04");
  CHECK(type_rec.fields().at("UNITS") == "4");
  auto type = Must(mapper->AppointmentType(type_rec));
  CHECK(type.name() == "Dental Cleaning");
  CHECK(type.duration_minutes() == 60);  // UNITS of 15 minutes
  auto provider_rec = practice.Record(pims::v1::PROVIDERS, 0);
  auto provider = Must(mapper->Provider(provider_rec));
  CHECK(provider.pims_id() == "D01");
  // "RUIZ, ANA" with CRED DVM -> "Dr. Ana Ruiz"
  std::string name = provider_rec.fields().at("NAME");
  CHECK(provider.name() == "Dr. " + NameCase(name.substr(name.find(", ") + 2) + " " + name.substr(0, name.find(','))));
  auto rec = practice.Record(pims::v1::APPOINTMENTS, 0);
  CHECK(rec.id() == "AP0000001");
  auto appt = Must(mapper->Appointment(rec));
  const auto& f = rec.fields();
  std::string date = *IsoDate(f.at("DATE"), "YYYYMMDD");
  CHECK(appt.start_local() == WallClock(date, *Clock24(f.at("TIME"))));
  CHECK(appt.end_local() == WallClock(date, *Clock24(f.at("TIME")) + 15 * std::stoi(f.at("UNITS"))));
  CHECK(appt.patient_pims_id().rfind(appt.client_pims_id() + "-", 0) == 0);
  CHECK(Refused(mapper->Appointment(practice.Record(pims::v1::APPOINTMENTS, 500))).field() == "endLocal");
  CHECK(Refused(mapper->Appointment(practice.Record(pims::v1::APPOINTMENTS, 700))).field() == "startLocal");
  CHECK(Refused(mapper->Appointment(With(rec, "DATE", "2026-12-01"))).field() == "startLocal");
  CHECK(Refused(mapper->Appointment(With(rec, "STATUS", "SCH"))).field() == "status");  // Cornerstone's code
  CHECK(Refused(mapper->Appointment(With(rec, "UNITS", "0"))).field() == "endLocal");

  bool clinic_block = false;
  for (int64_t b = 0; b < practice.Count(pims::v1::BLOCK_OFFS) && !clinic_block; ++b) {
    auto r = practice.Record(pims::v1::BLOCK_OFFS, b);
    if (r.fields().at("DOCTOR") != "ALL") continue;
    auto x = Must(mapper->BlockOff(r));
    CHECK(x.provider_pims_id().empty());  // "ALL": the whole clinic
    CHECK(x.room_pims_id().empty());
    clinic_block = true;
  }
  CHECK(clinic_block);

  std::vector<cv1::RecordError> errors;
  pims::v1::SchedulingSettings settings;
  for (const auto& [k, v] : practice.SchedulingSettings()) (*settings.mutable_settings())[k] = v;
  auto s = mapper->Settings(settings, &errors);
  CHECK(errors.empty());
  CHECK(s.slot_granularity_minutes() == 20);
  CHECK(s.minimum_notice_minutes() == 120);
  CHECK(s.booking_horizon_days() == 56);  // BookAhead = 8W
  CHECK(s.buffer_after_minutes() == 10);
  (*settings.mutable_settings())["BookAhead"] = "soon";
  CHECK(mapper->Settings(settings, &errors).booking_horizon_days() == 0);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].field() == "bookingHorizonDays");
}

TEST_CASE("pims simulator: appointments book existing clients and pets and never overlap per "
          "provider or room", "[pims]") {
  for (auto kind : {pims_sim::Kind::kCornerstone, pims_sim::Kind::kAvimark}) {
    pims_sim::Practice practice({kind, 3000, 7});
    auto mapper = MapperFor(practice.kind_name()).value();
    CHECK(practice.Count(pims::v1::APPOINTMENTS) == 3000);
    std::set<std::string> clients, pets;
    for (int64_t i = 0; i < practice.Count(pims::v1::CLIENTS); ++i) {
      auto c = mapper->Client(practice.Record(pims::v1::CLIENTS, i));
      if (auto* x = std::get_if<cv1::SyncClient>(&c); x && !x->deleted() && !x->last_name().empty()) {
        clients.insert(x->pims_id());
      }
    }
    for (int64_t j = 0; j < practice.Count(pims::v1::PATIENTS); ++j) {
      auto p = mapper->Patient(practice.Record(pims::v1::PATIENTS, j));
      if (auto* x = std::get_if<cv1::SyncPet>(&p); x && !x->name().empty()) pets.insert(x->pims_id());
    }
    for (int64_t k = 0; k < practice.Count(pims::v1::APPOINTMENTS); k += 7) {
      auto m = mapper->Appointment(practice.Record(pims::v1::APPOINTMENTS, k));
      if (auto* a = std::get_if<bv1::SyncAppointment>(&m)) {
        INFO(a->pims_id());
        CHECK(clients.count(a->client_pims_id()));
        CHECK(pets.count(a->patient_pims_id()));
      }
    }
    CHECK(CheckNoOverlaps(practice, *mapper) > 2500);
    // Moving appointments around keeps it so.
    for (int64_t k = 0; k < 300; ++k) practice.MoveAppointment(k * 7 % 3000);
    CheckNoOverlaps(practice, *mapper);
  }
}

TEST_CASE("pims simulator: schedule changes come through Changes: new types, moved and "
          "cancelled appointments, deleted block-offs", "[pims]") {
  pims_sim::Practice practice({pims_sim::Kind::kCornerstone, 1000, 7});
  auto mapper = MapperFor("cornerstone").value();
  auto before = Must(mapper->Appointment(practice.Record(pims::v1::APPOINTMENTS, 10)));
  int64_t start = practice.cursor();
  REQUIRE(practice.MoveAppointment(10));
  practice.CancelAppointment(11);
  practice.DeleteBlockOff(0);
  int64_t t = practice.AddAppointmentType();
  CHECK(t == 8);
  int64_t next = 0;
  auto appts = practice.ChangesSince(pims::v1::APPOINTMENTS, start, 100, &next);
  REQUIRE(appts.size() == 2);
  auto moved = Must(mapper->Appointment(appts[0]));
  CHECK(moved.pims_id() == before.pims_id());
  CHECK(moved.start_local() != before.start_local());
  CHECK(Must(mapper->Appointment(appts[1])).status() == bv1::SYNC_CANCELLED);
  auto blocks = practice.ChangesSince(pims::v1::BLOCK_OFFS, start, 100, &next);
  REQUIRE(blocks.size() == 1);
  CHECK(Must(mapper->BlockOff(blocks[0])).deleted());
  auto types = practice.ChangesSince(pims::v1::APPOINTMENT_TYPES, start, 100, &next);
  REQUIRE(types.size() == 1);
  CHECK(Must(mapper->AppointmentType(types[0])).name() == "Laser Therapy");
  CHECK(practice.Count(pims::v1::APPOINTMENT_TYPES) == 9);
  CHECK(next == practice.cursor());

  // Mutate changes the schedule too, one cursor step per change.
  int64_t c = practice.cursor();
  CHECK(practice.Mutate(200) == c + 200);
  int schedule = 0;
  for (auto e : {pims::v1::APPOINTMENT_TYPES, pims::v1::APPOINTMENTS, pims::v1::BLOCK_OFFS}) {
    schedule += static_cast<int>(practice.ChangesSince(e, c, 1000, &next).size());
  }
  CHECK(schedule > 40);
  CHECK(schedule < 160);
}

TEST_CASE("pims simulator: a written appointment is checked like a real PIMS would and comes "
          "back from the next sync", "[pims]") {
  pims_sim::Practice practice({pims_sim::Kind::kCornerstone, 1000, 7});
  auto mapper = MapperFor("cornerstone").value();
  pims::v1::PimsRecord taken;
  for (int64_t k = 0; k < 50; ++k) {  // an appointment that holds its time
    taken = practice.Record(pims::v1::APPOINTMENTS, k);
    if (taken.fields().at("STATUS") != "CXL" && taken.fields().at("STATUS") != "NS") break;
  }
  std::map<std::string, std::string> f = {{"CLIENT_ID", "1000"}, {"PATIENT_ID", "50000"},
                                          {"APPT_TYPE_ID", "11"},  {"STAFF_ID", taken.fields().at("STAFF_ID")},
                                          {"APPT_DATE", taken.fields().at("APPT_DATE")},
                                          {"APPT_TIME", taken.fields().at("APPT_TIME")},
                                          {"REASON", "[Vetline Direct Booking]"}};
  // The provider is busy then.
  auto busy = practice.Create(pims::v1::APPOINTMENTS, f, "k1");
  CHECK(busy.status().code() == absl::StatusCode::kFailedPrecondition);
  // 06:00 on that day is free.
  f["APPT_TIME"] = "06:00 AM";
  int64_t cursor = practice.cursor();
  auto id = practice.Create(pims::v1::APPOINTMENTS, f, "k2");
  REQUIRE(id.ok());
  CHECK(*practice.Create(pims::v1::APPOINTMENTS, f, "k2") == *id);  // the same key: the same record
  CHECK(practice.Create(pims::v1::APPOINTMENTS, f, "k3").status().code() ==
        absl::StatusCode::kFailedPrecondition);  // now taken by itself
  int64_t n = practice.Count(pims::v1::APPOINTMENTS);
  auto stored = Must(mapper->Appointment(practice.Record(pims::v1::APPOINTMENTS, n - 1)));
  CHECK(stored.pims_id() == *id);
  CHECK(stored.description() == "[Vetline Direct Booking]");
  CHECK(stored.start_local().substr(11) == "06:00");
  CHECK(stored.end_local().substr(11) == "06:15");  // the type's length (Vaccination, 15)
  CHECK(stored.status() == bv1::SYNC_SCHEDULED);
  int64_t next = 0;
  auto changes = practice.ChangesSince(pims::v1::APPOINTMENTS, cursor, 10, &next);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].id() == *id);

  auto missing = practice.Create(pims::v1::APPOINTMENTS, {{"CLIENT_ID", "1000"}}, "");
  CHECK(missing.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(missing.status().message()), Catch::Contains("PATIENT_ID") && Catch::Contains("APPT_TIME"));
  auto other = f;
  other["PATIENT_ID"] = "50005";  // another client's pet
  other["APPT_TIME"] = "06:30 AM";
  CHECK(practice.Create(pims::v1::APPOINTMENTS, other, "").status().code() == absl::StatusCode::kInvalidArgument);
  auto bad_time = f;
  bad_time["APPT_TIME"] = "25:00";
  CHECK_THAT(std::string(practice.Create(pims::v1::APPOINTMENTS, bad_time, "").status().message()),
             Catch::Contains("APPT_TIME"));
  CHECK(practice.Count(pims::v1::APPOINTMENTS) == n);  // nothing stored by a refused write

  // A client and pet written back get the practice's next ids, come back from the next
  // sync, and can be booked at once.
  CHECK_THAT(std::string(practice.Create(pims::v1::CLIENTS, {{"FIRST_NAME", "Ana"}}, "").status().message()),
             Catch::Contains("LAST_NAME"));
  auto client = practice.Create(pims::v1::CLIENTS, {{"FIRST_NAME", "Ana"}, {"LAST_NAME", "Ruiz"}}, "c1");
  REQUIRE(client.ok());
  CHECK(*client == "2000");  // after 1000 .. 1999
  REQUIRE(practice.Count(pims::v1::CLIENTS) == 1001);
  auto synced = Must(mapper->Client(practice.Record(pims::v1::CLIENTS, 1000)));
  CHECK(synced.pims_id() == "2000");
  CHECK(synced.last_name() == "Ruiz");
  CHECK(practice.Create(pims::v1::PATIENTS, {{"CLIENT_ID", "9999"}, {"NAME", "Mochi"}}, "").status().code() ==
        absl::StatusCode::kInvalidArgument);  // no such client
  auto pet = practice.Create(pims::v1::PATIENTS, {{"CLIENT_ID", *client}, {"NAME", "Mochi"}}, "p1");
  REQUIRE(pet.ok());
  auto pet_changes = practice.ChangesSince(pims::v1::PATIENTS, cursor, 10, &next);
  REQUIRE(pet_changes.size() == 1);
  CHECK(Must(mapper->Patient(pet_changes[0])).client_pims_id() == *client);
  auto fresh = f;
  fresh["CLIENT_ID"] = *client;
  fresh["PATIENT_ID"] = *pet;
  fresh["APPT_TIME"] = "06:30 AM";
  fresh["REASON"] = "[Vetline Direct Booking - New Client]";
  CHECK(practice.Create(pims::v1::APPOINTMENTS, fresh, "k4").ok());

  // Avimark numbers a new account after its own and an account's animals after its own.
  pims_sim::Practice av({pims_sim::Kind::kAvimark, 100, 7});
  auto account = av.Create(pims::v1::CLIENTS, {{"NAME", "RUIZ, ANA"}}, "");
  REQUIRE(account.ok());
  CHECK(*account == "A000101");
  CHECK(*av.Create(pims::v1::PATIENTS, {{"ACCT", *account}, {"NAME", "MOCHI"}}, "") == "A000101-1");
  int64_t own = 0;
  for (int64_t j = 0; j < av.Count(pims::v1::PATIENTS); ++j) own += av.Record(pims::v1::PATIENTS, j).fields().at("ACCT") == "A000001";
  CHECK(*av.Create(pims::v1::PATIENTS, {{"ACCT", "A000001"}, {"NAME", "REX"}}, "") == absl::StrCat("A000001-", own + 1));
  CHECK(std::get<cv1::SyncClient>(MapperFor("avimark").value()->Client(av.Record(pims::v1::CLIENTS, 100))).active());
}
