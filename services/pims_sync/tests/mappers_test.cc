// Each PIMS's conventions, mapped into Vetline's shape; the simulator's practices.
#include <catch2/catch.hpp>
#include <google/protobuf/util/message_differencer.h>

#include "absl/strings/ascii.h"
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
