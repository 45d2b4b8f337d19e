// Pure domain rules of the clients service.
#include <catch2/catch.hpp>

#include "libs/core/status.h"
#include "services/clients/merge_rules.h"
#include "services/clients/search_query.h"
#include "services/clients/sync_records.h"

using namespace vetline;
using namespace vetline::clients;

TEST_CASE("search box: phones, emails and names are told apart", "[clients][rules]") {
  auto phone = ParseSearchQuery(" (555) 123-4567 ");
  REQUIRE(phone.ok());
  CHECK(phone->digits == "5551234567");
  CHECK(phone->email.empty());
  auto email = ParseSearchQuery("Pat@Example.COM");
  CHECK(email->email == "pat@example.com");
  CHECK(email->digits.empty());
  auto name = ParseSearchQuery("Biscuit 2");
  CHECK(name->text == "biscuit 2");
  CHECK(name->digits.empty());  // letters: not a phone number
  CHECK(name->names);
  CHECK_FALSE(phone->names);
  CHECK_FALSE(email->names);
  CHECK(ParseSearchQuery("CS-1042")->raw == "CS-1042");
  CHECK(FieldOf(ParseSearchQuery("   ").status()) == "query");
  CHECK_FALSE(ParseSearchQuery(std::string(101, 'a')).ok());
}

TEST_CASE("merge rules name what is in the way", "[clients][rules]") {
  MergeSide a{"a", "Pat Lee", "", ""}, b{"b", "Pat Lee", "", ""};
  CHECK(CheckMerge(a, b).ok());
  CHECK(FieldOf(CheckMerge(a, a)) == "otherClientId");
  MergeSide merged{"b", "Pat Lee", "", "c"};
  CHECK(CheckMerge(a, merged).code() == absl::StatusCode::kFailedPrecondition);
  MergeSide pa{"a", "Pat Lee", "CS-1", ""}, pb{"b", "P. Lee", "CS-2", ""};
  auto conflict = CheckMerge(pa, pb);
  CHECK(conflict.code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(conflict.message()), Catch::Contains("CS-1") && Catch::Contains("CS-2"));
  CHECK(CheckMerge(pa, b).ok());  // only one side linked to the PIMS
}

TEST_CASE("sync records are normalised or rejected with the field named", "[clients][rules]") {
  v1::SyncClient c;
  c.set_pims_id("1042");
  c.set_first_name("  Pat ");
  c.set_last_name("Lee");
  auto* ph = c.add_phones();
  ph->set_number("+1 (312) 555-0100");
  ph->set_primary(true);
  c.add_emails()->set_address("PAT@Example.com");
  CHECK_FALSE(CheckClient(c).has_value());
  CHECK(c.first_name() == "Pat");
  CHECK(c.phones(0).number() == "+13125550100");
  CHECK(c.emails(0).address() == "pat@example.com");

  v1::SyncClient nameless = c;
  nameless.set_last_name("");
  CHECK(CheckClient(nameless)->field() == "lastName");
  v1::SyncClient bad_phone = c;
  bad_phone.mutable_phones(0)->set_number("call me");
  CHECK(CheckClient(bad_phone)->field() == "phones");
  v1::SyncClient bad_date = c;
  bad_date.set_last_visit_date("2026-02-30");
  CHECK(CheckClient(bad_date)->field() == "lastVisitDate");

  v1::SyncPet pet;
  pet.set_pims_id("P-1");
  pet.set_client_pims_id("1042");
  pet.set_name("Biscuit");
  CHECK_FALSE(CheckPet(pet).has_value());
  pet.set_client_pims_id("");
  CHECK(CheckPet(pet)->field() == "clientPimsId");
}

TEST_CASE("sync digests change exactly when a synced field changes", "[clients][rules]") {
  v1::SyncClient a;
  a.set_pims_id("1");
  a.set_first_name("Pat");
  v1::SyncClient b = a;
  CHECK(Digest(a) == Digest(b));
  b.set_active(true);
  CHECK(Digest(a) != Digest(b));
}
