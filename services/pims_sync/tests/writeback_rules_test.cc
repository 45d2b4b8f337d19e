// The write-back rules without a PIMS: Vetline's records in each PIMS's shape, the
// description tags, which answers are retried and the backoff between tries.
#include <catch2/catch.hpp>

#include "services/pims_sync/writeback_rules.h"

using namespace vetline::pims_sync;

namespace {
bv1::SyncAppointment Appointment() {
  bv1::SyncAppointment a;
  a.set_appointment_type_pims_id("12");
  a.set_provider_pims_id("201");
  a.set_room_pims_id("EX1");
  a.set_start_local("2027-03-14T13:05");
  a.set_end_local("2027-03-14T13:40");
  return a;
}
}  // namespace

TEST_CASE("writeback rules: an appointment in Cornerstone's and Avimark's shapes", "[pims][writeback][rules]") {
  auto cs = AppointmentFields("cornerstone", Appointment(), "1042", "50042", "[Vetline Direct Booking]");
  REQUIRE(cs.ok());
  CHECK(cs->at("CLIENT_ID") == "1042");
  CHECK(cs->at("PATIENT_ID") == "50042");
  CHECK(cs->at("APPT_TYPE_ID") == "12");
  CHECK(cs->at("STAFF_ID") == "201");
  CHECK(cs->at("ROOM_ID") == "EX1");
  CHECK(cs->at("APPT_DATE") == "03/14/2027");
  CHECK(cs->at("APPT_TIME") == "01:05 PM");
  CHECK(cs->at("DURATION") == "35");
  CHECK(cs->at("REASON") == "[Vetline Direct Booking]");
  auto av = AppointmentFields("avimark", Appointment(), "A000123", "A000123-1", "x");
  REQUIRE(av.ok());
  CHECK(av->at("ACCT") == "A000123");
  CHECK(av->at("ANIMAL") == "A000123-1");
  CHECK(av->at("DATE") == "20270314");
  CHECK(av->at("TIME") == "1305");
  CHECK(av->at("UNITS") == "3");  // 35 minutes: three 15-minute units
  CHECK(av->at("NOTE") == "x");

  // A provider made in Vetline has no PIMS id: a clear error naming it, nothing sent.
  bv1::SyncAppointment local = Appointment();
  local.set_provider_pims_id("");
  auto missing = AppointmentFields("cornerstone", local, "1", "2", "d");
  CHECK(missing.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(missing.status().message()), Catch::Contains("provider was made in Vetline"));
  local = Appointment();
  local.set_start_local("2027-02-30T09:00");
  CHECK(MoveFields("avimark", local).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("writeback rules: clients and pets in each PIMS's shape", "[pims][writeback][rules]") {
  cv1::SyncClient c;
  c.set_first_name("Ana");
  c.set_last_name("O'Brien");
  auto* home = c.add_phones();
  home->set_number("+13125550100");
  home->set_type(cv1::HOME);
  auto* cell = c.add_phones();
  cell->set_number("+13125550101");
  cell->set_type(cv1::MOBILE);
  cell->set_primary(true);
  c.add_emails()->set_address("ana@example.com");
  PimsFields cs = ClientFields("cornerstone", c);
  CHECK(cs.at("FIRST_NAME") == "Ana");
  CHECK(cs.at("LAST_NAME") == "O'Brien");
  CHECK(cs.at("PHONE_CELL") == "(312) 555-0101");
  CHECK(cs.at("PHONE_HOME") == "(312) 555-0100");
  CHECK(cs.at("PHONE_PRIMARY") == "CELL");
  CHECK(cs.at("EMAIL") == "ana@example.com");
  PimsFields av = ClientFields("avimark", c);
  CHECK(av.at("NAME") == "O'BRIEN, ANA");
  CHECK(av.at("PHONE1") == "312.555.0101");  // the primary first
  CHECK(av.at("PHONE1_TYPE") == "C");
  CHECK(av.at("PHONE2_TYPE") == "H");
  CHECK(av.at("EMAIL") == "ANA@EXAMPLE.COM");

  cv1::SyncPet p;
  p.set_name("Rex");
  p.set_species("Canine");
  p.set_birth_date("2020-05-09");
  PimsFields cp = PatientFields("cornerstone", p, "1042");
  CHECK(cp.at("CLIENT_ID") == "1042");
  CHECK(cp.at("SPECIES") == "CANINE");
  CHECK(cp.at("BIRTHDATE") == "05/09/2020");
  PimsFields ap = PatientFields("avimark", p, "A000001");
  CHECK(ap.at("ACCT") == "A000001");
  CHECK(ap.at("NAME") == "REX");
  CHECK(ap.at("SPECIES") == "Dog");
  CHECK(ap.at("BIRTH") == "20200509");
}

TEST_CASE("writeback rules: description tags, retries, backoff and messages", "[pims][writeback][rules]") {
  CHECK(WritebackDescription(false, "") == "[Vetline Direct Booking]");
  CHECK(WritebackDescription(true, " Limping ") == "[Vetline Direct Booking - New Client] Limping");
  // One that came back from the PIMS keeps one tag.
  CHECK(WritebackDescription(false, "[Vetline Direct Booking] Limping") == "[Vetline Direct Booking] Limping");

  CHECK(IsTransient(absl::StatusCode::kUnavailable));
  CHECK(IsTransient(absl::StatusCode::kDeadlineExceeded));
  CHECK_FALSE(IsTransient(absl::StatusCode::kInvalidArgument));
  CHECK_FALSE(IsTransient(absl::StatusCode::kFailedPrecondition));

  RetryPolicy p{.first_backoff = absl::Seconds(1), .max_backoff = absl::Seconds(30), .max_attempts = 10};
  CHECK(Backoff(p, 1) == absl::Seconds(1));
  CHECK(Backoff(p, 2) == absl::Seconds(2));
  CHECK(Backoff(p, 4) == absl::Seconds(8));
  CHECK(Backoff(p, 9) == absl::Seconds(30));

  CHECK(ClinicMessage("the appointment", absl::FailedPreconditionError("the provider is booked"), false) ==
        "The PIMS refused the appointment: the provider is booked");
  CHECK_THAT(ClinicMessage("the new client", absl::UnavailableError("connect failed: 10.0.0.1"), true),
             Catch::Contains("Vetline keeps trying") && !Catch::Contains("10.0.0.1"));

  PimsFields note = NoteFields("avimark", "A000001", absl::CivilDay(2027, 1, 2), "text");
  CHECK(note.at("DATE") == "20270102");
  CHECK(note.at("TEXT") == "text");
}
