// The booking service over real gRPC against a real PostgreSQL: the PIMS sync's schedule
// writes (BookingSyncService), the no-double-booking constraints, and (with identity and
// clients running beside it) the ids it resolves.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "libs/pg/pg.h"
#include "libs/rpc/rpc.h"
#include "libs/testing/servers.h"
#include "libs/testing/wait.h"
#include "services/booking/booking_component.h"
#include "services/clients/clients_component.h"
#include "tests/support/identity_stack.h"
#include "tests/support/principals.h"
#include "vetline/booking/v1/booking_sync.grpc.pb.h"
#include "vetline/clients/v1/sync.grpc.pb.h"

using namespace vetline;
namespace v1 = vetline::booking::v1;

namespace {

// identity (the clinic and its zone), clients (PIMS ids of clients and pets) and booking,
// each on its own database of the run's PostgreSQL.
class Stack {
 public:
  Stack() : signer_(auth::Key::FromSecret(testing::kTestInternalSecret).value()) {
    clients_ = clients::Start(testing::TestServiceEnv(clients_db_.conninfo()), {}).value();
    const std::string clients_address = "127.0.0.1:" + std::to_string(clients_->server().port());
    rpc::ServiceEnv env = testing::TestServiceEnv(db_.conninfo());
    env.peers = {{"clients", clients_address}, {"identity", identity_.address()}};
    booking_ = booking::Start(env).value();
    auto channel = rpc::Dial("127.0.0.1:" + std::to_string(booking_->server().port()));
    sync_ = v1::BookingSyncService::NewStub(channel);
    client_sync_ = clients::v1::ClientSyncService::NewStub(rpc::Dial(clients_address));
    pool_ = pg::Pool::Create({.conninfo = db_.conninfo(), .size = 4}).value();
  }

  // A clinic in identity with `zone`; its id.
  std::string Clinic(const std::string& zone = "America/New_York") {
    identity::v1::CreateClinicRequest req;
    req.set_name("Clinic " + std::to_string(++clinics_));
    req.set_time_zone(zone);
    req.set_phone("+15551230000");
    req.set_pims_kind(identity::v1::CORNERSTONE);
    req.set_admin_email("admin" + std::to_string(clinics_) + "@clinic.example");
    req.set_admin_name("Admin");
    req.set_admin_password("correct horse battery staple");
    identity::v1::CreateClinicResponse resp;
    api::Principal platform = testing::IdentityStack::Platform();
    grpc::Status st = identity_.stub().CreateClinic(identity_.As(&platform).get(), req, &resp);
    REQUIRE(st.ok());
    return resp.clinic().id();
  }

  v1::BookingSyncSummary Sync(const std::string& clinic, std::vector<v1::BookingSyncBatch> batches,
                              const api::Principal* caller = nullptr) {
    auto ctx = testing::ContextAs(caller ? *caller : testing::ServicePrincipal(clinic, "pims_sync"), signer_);
    v1::BookingSyncSummary summary;
    auto writer = sync_->Upsert(ctx.get(), &summary);
    for (auto& b : batches) {
      b.set_clinic_id(clinic);
      writer->Write(b);
    }
    writer->WritesDone();
    last_status = writer->Finish();
    return summary;
  }

  // Clients and pets in the clients service, as the PIMS sync writes them.
  void SyncClient(const std::string& clinic, const std::string& client_pims_id, const std::string& pet_pims_id) {
    clients::v1::UpsertBatch b;
    b.set_clinic_id(clinic);
    auto* c = b.add_clients();
    c->set_pims_id(client_pims_id);
    c->set_first_name("Ana");
    c->set_last_name("Ruiz");
    c->set_active(true);
    auto* p = b.add_pets();
    p->set_pims_id(pet_pims_id);
    p->set_client_pims_id(client_pims_id);
    p->set_name("Rex");
    p->set_active(true);
    auto ctx = testing::ContextAs(testing::ServicePrincipal(clinic, "pims_sync"), signer_);
    clients::v1::UpsertSummary summary;
    auto writer = client_sync_->Upsert(ctx.get(), &summary);
    writer->Write(b);
    writer->WritesDone();
    REQUIRE(writer->Finish().ok());
    REQUIRE(summary.clients().inserted() == 1);
  }

  pg::Result Sql(const std::string& sql, const pg::Params& params = {}) {
    pg::Result out(nullptr);
    REQUIRE(pool_->WithSession([&](pg::Session& s) -> absl::Status {
      auto r = s.ExecRaw(sql, params);
      if (!r.ok()) return r.status();
      out = std::move(*r);
      return absl::OkStatus();
    }).ok());
    return out;
  }
  pg::Pool& db() { return *pool_; }

  grpc::Status last_status;

 private:
  testing::IdentityStack identity_;
  testing::TestDatabase clients_db_, db_;
  auth::PrincipalSigner signer_;
  std::unique_ptr<rpc::RunningService> clients_, booking_;
  std::unique_ptr<v1::BookingSyncService::Stub> sync_;
  std::unique_ptr<clients::v1::ClientSyncService::Stub> client_sync_;
  std::shared_ptr<pg::Pool> pool_;
  int clinics_ = 0;
};

v1::SyncAppointment Appointment(const std::string& pims_id, const std::string& start, const std::string& end,
                                const std::string& provider = "P1", const std::string& room = "") {
  v1::SyncAppointment a;
  a.set_pims_id(pims_id);
  a.set_client_pims_id("C1");
  a.set_patient_pims_id("PT1");
  a.set_appointment_type_pims_id("T1");
  a.set_provider_pims_id(provider);
  a.set_room_pims_id(room);
  a.set_start_local(start);
  a.set_end_local(end);
  a.set_status(v1::SYNC_SCHEDULED);
  return a;
}

// Types, providers and rooms of a small Cornerstone-like clinic.
v1::BookingSyncBatch Basics() {
  v1::BookingSyncBatch b;
  auto* t = b.add_appointment_types();
  t->set_pims_id("T1");
  t->set_name("Wellness exam");
  t->set_duration_minutes(30);
  t->set_active(true);
  for (const char* id : {"P1", "P2"}) {
    auto* p = b.add_providers();
    p->set_pims_id(id);
    p->set_name(std::string("Dr. ") + id);
    p->set_active(true);
  }
  auto* r = b.add_rooms();
  r->set_pims_id("R1");
  r->set_name("Exam 1");
  r->set_active(true);
  return b;
}

int64_t Count(Stack& s, const std::string& sql, const pg::Params& params = {}) {
  return s.Sql(sql, params).Int(0, "n");
}

}  // namespace

TEST_CASE("booking sync: the schedule is stored, clients resolved, and a repeated sync changes nothing",
          "[booking][sync]") {
  Stack s;
  std::string clinic = s.Clinic();
  s.SyncClient(clinic, "C1", "PT1");
  auto batch = [] {
    v1::BookingSyncBatch b = Basics();
    *b.add_appointments() = Appointment("A1", "2026-06-01T09:00", "2026-06-01T09:30", "P1", "R1");
    v1::SyncAppointment unknown = Appointment("A2", "2026-06-01T10:00", "2026-06-01T10:30");
    unknown.set_client_pims_id("C-NEW");
    unknown.set_patient_pims_id("PT-NEW");
    *b.add_appointments() = unknown;
    auto* blk = b.add_block_offs();
    blk->set_pims_id("B1");
    blk->set_provider_pims_id("P2");
    blk->set_start_local("2026-06-01T12:00");
    blk->set_end_local("2026-06-01T13:00");
    blk->set_reason("Lunch");
    b.mutable_settings()->set_minimum_notice_minutes(240);
    return b;
  };
  v1::BookingSyncSummary first = s.Sync(clinic, {batch()});
  REQUIRE(s.last_status.ok());
  CHECK(first.errors_size() == 0);
  CHECK(first.appointment_types().inserted() == 1);
  CHECK(first.providers().inserted() == 2);
  CHECK(first.rooms().inserted() == 1);
  CHECK(first.block_offs().inserted() == 1);
  CHECK(first.appointments().inserted() == 2);

  // The known client and pet are Vetline ids now; the unknown ones keep their PIMS ids.
  pg::Result a1 = s.Sql("SELECT client_id::text AS c, pet_id::text AS p, lower(during) AS starts, source "
                        "FROM booking.appointments WHERE pims_id = 'A1'");
  CHECK(!a1.Text(0, "c").empty());
  CHECK(!a1.Text(0, "p").empty());
  CHECK(a1.Text(0, "source") == "pims");
  // 09:00 in New York in June is EDT (UTC-4).
  CHECK(a1.Time(0, "starts") == absl::FromCivil(absl::CivilSecond(2026, 6, 1, 13, 0, 0), absl::UTCTimeZone()));
  pg::Result a2 = s.Sql("SELECT client_id IS NULL AS no_client, pet_id IS NULL AS no_pet, client_pims_id, "
                        "patient_pims_id FROM booking.appointments WHERE pims_id = 'A2'");
  CHECK(a2.Bool(0, "no_client"));
  CHECK(a2.Bool(0, "no_pet"));
  CHECK(a2.Text(0, "client_pims_id") == "C-NEW");
  CHECK(a2.Text(0, "patient_pims_id") == "PT-NEW");
  CHECK(Count(s, "SELECT minimum_notice_minutes AS n FROM booking.settings WHERE clinic_id = $1", {clinic}) == 240);
  CHECK(s.Sql("SELECT time_zone FROM booking.settings WHERE clinic_id = $1", {clinic}).Text(0, "time_zone") ==
        "America/New_York");
  const int64_t events = Count(s, "SELECT count(*) AS n FROM booking.outbox WHERE topic = 'appointment.created'");
  CHECK(events == 2);

  v1::BookingSyncSummary again = s.Sync(clinic, {batch()});
  REQUIRE(s.last_status.ok());
  CHECK(again.appointment_types().unchanged() == 1);
  CHECK(again.providers().unchanged() == 2);
  CHECK(again.rooms().unchanged() == 1);
  CHECK(again.block_offs().unchanged() == 1);
  CHECK(again.appointments().unchanged() == 2);
  CHECK(again.appointments().inserted() + again.appointments().updated() == 0);
  CHECK(Count(s, "SELECT count(*) AS n FROM booking.outbox") == events);
  CHECK(Count(s, "SELECT count(*) AS n FROM booking.appointments") == 2);

  // Once the client is synced, the next sync fills in the Vetline ids.
  s.SyncClient(clinic, "C-NEW", "PT-NEW");
  v1::BookingSyncSummary resolved = s.Sync(clinic, {batch()});
  CHECK(resolved.appointments().updated() == 1);
  CHECK(Count(s, "SELECT count(*) AS n FROM booking.appointments WHERE client_id IS NOT NULL AND pet_id IS NOT NULL") == 2);
}

TEST_CASE("booking sync: moves and cancellations in the PIMS are events", "[booking][sync]") {
  Stack s;
  std::string clinic = s.Clinic();
  v1::BookingSyncBatch b = Basics();
  *b.add_appointments() = Appointment("A1", "2026-06-01T09:00", "2026-06-01T09:30");
  *b.add_appointments() = Appointment("A2", "2026-06-01T10:00", "2026-06-01T10:30");
  s.Sync(clinic, {b});
  REQUIRE(s.last_status.ok());

  v1::BookingSyncBatch changes;
  *changes.add_appointments() = Appointment("A1", "2026-06-01T11:00", "2026-06-01T11:30");
  v1::SyncAppointment gone;
  gone.set_pims_id("A2");
  gone.set_deleted(true);
  *changes.add_appointments() = gone;
  v1::BookingSyncSummary sum = s.Sync(clinic, {changes});
  REQUIRE(s.last_status.ok());
  CHECK(sum.appointments().updated() == 2);
  pg::Result moved = s.Sql("SELECT payload->>'previousStartTime' AS was, payload->>'startTime' AS now, "
                           "payload->>'source' AS source FROM booking.outbox WHERE topic = 'appointment.moved'");
  REQUIRE(moved.rows() == 1);
  CHECK(moved.Text(0, "source") == "pims");
  CHECK(moved.Text(0, "was") != moved.Text(0, "now"));
  CHECK(Count(s, "SELECT count(*) AS n FROM booking.outbox WHERE topic = 'appointment.cancelled'") == 1);
  CHECK(s.Sql("SELECT status FROM booking.appointments WHERE pims_id = 'A2'").Text(0, "status") == "cancelled");
  CHECK(Count(s, "SELECT version AS n FROM booking.appointments WHERE pims_id = 'A1'") == 2);
}

TEST_CASE("booking sync: wall-clock times on the nights the clocks change", "[booking][sync][dst]") {
  Stack s;
  std::string clinic = s.Clinic("America/New_York");
  v1::BookingSyncBatch b = Basics();
  // 02:30 does not exist on 8 March 2026 in New York: the moment of the change (07:00Z).
  *b.add_appointments() = Appointment("SPRING", "2026-03-08T02:30", "2026-03-08T03:30");
  // 01:30 happens twice on 1 November 2026: its first occurrence, still EDT (05:30Z).
  *b.add_appointments() = Appointment("FALL", "2026-11-01T01:30", "2026-11-01T01:45", "P2");
  s.Sync(clinic, {b});
  REQUIRE(s.last_status.ok());
  auto start = [&](const char* id) {
    return s.Sql("SELECT lower(during) AS t FROM booking.appointments WHERE pims_id = $1", {id}).Time(0, "t");
  };
  CHECK(start("SPRING") == absl::FromCivil(absl::CivilSecond(2026, 3, 8, 7, 0, 0), absl::UTCTimeZone()));
  CHECK(start("FALL") == absl::FromCivil(absl::CivilSecond(2026, 11, 1, 5, 30, 0), absl::UTCTimeZone()));
  // The spring-forward appointment lasts 30 real minutes (07:00Z-07:30Z = 03:00-03:30 EDT).
  CHECK(s.Sql("SELECT upper(during) AS t FROM booking.appointments WHERE pims_id = 'SPRING'").Time(0, "t") ==
        absl::FromCivil(absl::CivilSecond(2026, 3, 8, 7, 30, 0), absl::UTCTimeZone()));
}

TEST_CASE("booking sync: bad records are reported by field and not stored", "[booking][sync]") {
  Stack s;
  std::string clinic = s.Clinic();
  v1::BookingSyncBatch b = Basics();
  *b.add_appointments() = Appointment("BAD-TIME", "2026-06-01 9am", "2026-06-01T09:30");
  *b.add_appointments() = Appointment("BACKWARDS", "2026-06-01T10:00", "2026-06-01T09:30");
  *b.add_appointments() = Appointment("NO-PROVIDER", "2026-06-01T10:00", "2026-06-01T10:30", "P-GONE");
  v1::SyncAppointment no_type = Appointment("NO-TYPE", "2026-06-01T11:00", "2026-06-01T11:30");
  no_type.set_appointment_type_pims_id("T-GONE");
  *b.add_appointments() = no_type;
  v1::SyncAppointment no_status = Appointment("NO-STATUS", "2026-06-01T12:00", "2026-06-01T12:30");
  no_status.set_status(v1::SYNC_APPOINTMENT_STATUS_UNSPECIFIED);
  *b.add_appointments() = no_status;
  *b.add_appointments() = Appointment("GOOD", "2026-06-01T13:00", "2026-06-01T13:30");
  auto* blk = b.add_block_offs();
  blk->set_pims_id("B-ROOM");
  blk->set_room_pims_id("R-GONE");
  blk->set_start_local("2026-06-01T12:00");
  blk->set_end_local("2026-06-01T13:00");
  auto* type = b.add_appointment_types();
  type->set_pims_id("T-ZERO");
  type->set_name("Zero");
  b.mutable_settings()->set_slot_granularity_minutes(5000);

  v1::BookingSyncSummary sum = s.Sync(clinic, {b});
  REQUIRE(s.last_status.ok());
  std::map<std::string, std::string> field_of;
  for (const auto& e : sum.errors()) field_of[e.pims_id().empty() ? e.entity() : e.pims_id()] = e.field();
  CHECK(field_of["BAD-TIME"] == "startLocal");
  CHECK(field_of["BACKWARDS"] == "endLocal");
  CHECK(field_of["NO-PROVIDER"] == "providerPimsId");
  CHECK(field_of["NO-TYPE"] == "appointmentTypePimsId");
  CHECK(field_of["NO-STATUS"] == "status");
  CHECK(field_of["B-ROOM"] == "roomPimsId");
  CHECK(field_of["T-ZERO"] == "durationMinutes");
  CHECK(field_of["settings"] == "slotGranularityMinutes");
  CHECK(sum.appointments().failed() == 5);
  CHECK(sum.appointments().inserted() == 1);
  CHECK(sum.block_offs().failed() == 1);
  CHECK(sum.appointment_types().failed() == 1);
  CHECK(Count(s, "SELECT count(*) AS n FROM booking.appointments") == 1);
  CHECK(Count(s, "SELECT count(*) AS n FROM booking.block_offs") == 0);
  CHECK(Count(s, "SELECT slot_granularity_minutes AS n FROM booking.settings") == 15);
}

TEST_CASE("booking sync: the PIMS's own double bookings are stored, reported and hold no guard",
          "[booking][sync][overlap]") {
  Stack s;
  std::string clinic = s.Clinic();
  v1::BookingSyncBatch b = Basics();
  *b.add_appointments() = Appointment("FIRST", "2026-06-01T09:00", "2026-06-01T10:00", "P1", "R1");
  *b.add_appointments() = Appointment("SECOND", "2026-06-01T09:30", "2026-06-01T10:30", "P1");
  *b.add_appointments() = Appointment("ROOM", "2026-06-01T09:45", "2026-06-01T10:15", "P2", "R1");
  *b.add_appointments() = Appointment("ELSEWHERE", "2026-06-01T09:00", "2026-06-01T10:00", "P2");
  v1::BookingSyncSummary sum = s.Sync(clinic, {b});
  REQUIRE(s.last_status.ok());
  CHECK(sum.appointments().inserted() == 4);
  std::set<std::string> reported;
  for (const auto& e : sum.errors()) {
    CHECK(e.field() == "startLocal");
    reported.insert(e.pims_id());
  }
  CHECK(reported == std::set<std::string>{"ROOM", "SECOND"});
  CHECK(Count(s, "SELECT count(*) AS n FROM booking.appointments WHERE NOT blocks_slots") == 2);

  // A later appointment overlapping a stored one is stored the same way.
  v1::BookingSyncBatch later;
  *later.add_appointments() = Appointment("LATER", "2026-06-01T09:15", "2026-06-01T09:45", "P1");
  sum = s.Sync(clinic, {later});
  REQUIRE(s.last_status.ok());
  REQUIRE(sum.errors_size() == 1);
  CHECK(sum.errors(0).pims_id() == "LATER");
  CHECK(Count(s, "SELECT count(*) AS n FROM booking.appointments") == 5);
}

TEST_CASE("booking: two overlapping bookings in concurrent transactions, one wins", "[booking][race]") {
  Stack s;
  std::string clinic = s.Clinic();
  s.Sync(clinic, {Basics()});
  REQUIRE(s.last_status.ok());
  const std::string provider =
      s.Sql("SELECT id::text AS id FROM booking.providers WHERE pims_id = 'P1'").Text(0, "id");
  const char* kInsert =
      "INSERT INTO booking.appointments (clinic_id, provider_id, during, status, source) VALUES "
      "($1, $2, tstzrange($3::timestamptz, $4::timestamptz, '[)'), 'scheduled', 'staff')";
  // The first transaction inserts and stays open; the second inserts an overlap, which
  // waits on the first and fails once it commits.
  std::atomic<bool> first_inserted{false}, release{false};
  absl::Status first, second;
  std::thread t1([&] {
    first = s.db().Transact([&](pg::Session& x) -> absl::Status {
      auto r = x.ExecRaw(kInsert, {clinic, provider, "2026-06-01T13:00:00Z", "2026-06-01T13:30:00Z"});
      if (!r.ok()) return r.status();
      first_inserted = true;
      for (int i = 0; i < 500 && !release; ++i) absl::SleepFor(absl::Milliseconds(10));
      return absl::OkStatus();
    }, pg::Isolation::kReadCommitted, 1);
  });
  REQUIRE(testing::WaitUntil([&] { return first_inserted.load(); }, absl::Seconds(10)));
  std::thread t2([&] {
    second = s.db().Transact([&](pg::Session& x) -> absl::Status {
      return x.ExecRaw(kInsert, {clinic, provider, "2026-06-01T13:15:00Z", "2026-06-01T13:45:00Z"}).status();
    }, pg::Isolation::kReadCommitted, 1);
  });
  // The second is waiting on the first's row lock now (or will be): let the first commit.
  REQUIRE(testing::WaitUntil([&] {
    return Count(s, "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()") > 0;
  }, absl::Seconds(10)));
  release = true;
  t1.join();
  t2.join();
  CHECK(first.ok());
  CHECK(second.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(second.message(), "appointments_provider_no_overlap"));
  CHECK(Count(s, "SELECT count(*) AS n FROM booking.appointments") == 1);
  // A cancelled appointment frees its slot.
  s.Sql("UPDATE booking.appointments SET status = 'cancelled'");
  CHECK(s.db().Transact([&](pg::Session& x) -> absl::Status {
    return x.ExecRaw(kInsert, {clinic, provider, "2026-06-01T13:15:00Z", "2026-06-01T13:45:00Z"}).status();
  }).ok());
}

TEST_CASE("booking sync: only services may write, and only for their clinic", "[booking][sync]") {
  Stack s;
  std::string clinic = s.Clinic();
  api::Principal staff = testing::StaffPrincipal(clinic, "u-1", "admin");
  s.Sync(clinic, {Basics()}, &staff);
  CHECK(s.last_status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  api::Principal other = testing::ServicePrincipal("22222222-2222-4222-8222-222222222222", "pims_sync");
  s.Sync(clinic, {Basics()}, &other);
  CHECK(s.last_status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(Count(s, "SELECT count(*) AS n FROM booking.providers") == 0);
}
