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
#include "libs/core/clock.h"
#include "libs/core/time.h"
#include "vetline/booking/v1/booking.grpc.pb.h"
#include "vetline/booking/v1/booking_sync.grpc.pb.h"
#include "vetline/clients/v1/clients.grpc.pb.h"
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
    booking_ = booking::Start(env, clock_).value();
    auto channel = rpc::Dial("127.0.0.1:" + std::to_string(booking_->server().port()));
    sync_ = v1::BookingSyncService::NewStub(channel);
    booking_channel_ = channel;
    clients_channel_ = rpc::Dial(clients_address);
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
  std::unique_ptr<v1::BookingService::Stub> BookingStub() { return v1::BookingService::NewStub(booking_channel_); }
  // A second replica of the booking service on the same database (its own memory).
  std::unique_ptr<v1::BookingService::Stub> ReplicaStub() {
    if (!replica_) {
      rpc::ServiceEnv env = testing::TestServiceEnv(db_.conninfo());
      env.peers = {{"clients", "127.0.0.1:" + std::to_string(clients_->server().port())},
                   {"identity", identity_.address()}};
      replica_ = booking::Start(env, clock_).value();
    }
    return v1::BookingService::NewStub(rpc::Dial("127.0.0.1:" + std::to_string(replica_->server().port())));
  }
  std::unique_ptr<clients::v1::ClientsService::Stub> ClientsStub() {
    return clients::v1::ClientsService::NewStub(clients_channel_);
  }

  grpc::Status last_status;

 private:
  // "Now" for minimum notice and the horizon: before the June days the tests book.
  FakeClock clock_{absl::FromCivil(absl::CivilSecond(2026, 5, 20, 0, 0, 0), absl::UTCTimeZone())};
  testing::IdentityStack identity_;
  testing::TestDatabase clients_db_, db_;
  auth::PrincipalSigner signer_;
  std::unique_ptr<rpc::RunningService> clients_, booking_, replica_;
  std::unique_ptr<v1::BookingSyncService::Stub> sync_;
  std::unique_ptr<clients::v1::ClientSyncService::Stub> client_sync_;
  std::shared_ptr<pg::Pool> pool_;
  std::shared_ptr<grpc::Channel> booking_channel_, clients_channel_;
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

namespace {

// The staff API as the clinic's staff (or admin) see it, on the same stack.
struct Staff {
  Stack& s;
  std::string clinic;
  std::unique_ptr<v1::BookingService::Stub> stub;
  std::unique_ptr<clients::v1::ClientsService::Stub> clients;
  auth::PrincipalSigner signer{auth::Key::FromSecret(testing::kTestInternalSecret).value()};

  std::unique_ptr<grpc::ClientContext> Ctx(bool admin = false) {
    return testing::ContextAs(testing::StaffPrincipal(clinic, "u-1", admin ? "admin" : "staff"), signer);
  }
  std::string Id(const std::string& table, const std::string& pims_id) {
    return s.Sql("SELECT id::text AS id FROM booking." + table + " WHERE clinic_id = $1 AND pims_id = $2",
                 {clinic, pims_id}).Text(0, "id");
  }
  // A client with one pet in the clients service: {client id, pet id}.
  std::pair<std::string, std::string> ClientWithPet(const std::string& name) {
    clients::v1::CreateClientRequest req;
    req.set_first_name(name);
    req.set_last_name("Lee");
    clients::v1::Client c;
    REQUIRE(clients->CreateClient(Ctx().get(), req, &c).ok());
    clients::v1::AddPetRequest pet;
    pet.set_client_id(c.id());
    pet.set_name("Rex");
    clients::v1::Pet p;
    REQUIRE(clients->AddPet(Ctx().get(), pet, &p).ok());
    return {c.id(), p.id()};
  }
  grpc::Status Book(const std::string& client, const std::string& pet, absl::Time start, v1::Appointment* out,
                    const std::string& provider_pims = "P1") {
    v1::CreateAppointmentRequest req;
    req.set_client_id(client);
    req.set_pet_id(pet);
    req.set_appointment_type_id(Id("appointment_types", "T1"));
    req.set_provider_id(Id("providers", provider_pims));
    *req.mutable_start_time() = ToTimestamp(start);
    return stub->CreateAppointment(Ctx().get(), req, out);
  }
};

std::string FieldOf(const grpc::Status& st) { return st.error_details(); }

absl::Time Utc(int y, int mo, int d, int h, int mi = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), absl::UTCTimeZone());
}

}  // namespace

TEST_CASE("booking: staff book, move and cancel, and a taken slot is a clean error with nothing written",
          "[booking][staff]") {
  Stack s;
  Staff st{s, s.Clinic(), s.BookingStub(), s.ClientsStub()};
  s.Sync(st.clinic, {Basics()});
  REQUIRE(s.last_status.ok());
  auto [client, pet] = st.ClientWithPet("Pat");
  v1::Appointment a;
  REQUIRE(st.Book(client, pet, Utc(2026, 6, 1, 14), &a).ok());
  CHECK(a.source() == v1::STAFF);
  CHECK(a.status() == v1::SCHEDULED);
  CHECK(FromTimestamp(a.end_time()) == Utc(2026, 6, 1, 14, 30));  // the type's 30 minutes

  v1::Appointment b;
  grpc::Status taken = st.Book(client, pet, Utc(2026, 6, 1, 14, 15), &b);
  CHECK(taken.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(FieldOf(taken) == "startTime");
  CHECK(taken.error_message() == "slot no longer available");
  CHECK(Count(s, "SELECT count(*) AS n FROM booking.appointments") == 1);
  // Another provider is free then.
  REQUIRE(st.Book(client, pet, Utc(2026, 6, 1, 14, 15), &b, "P2").ok());

  // Moving onto P2's appointment is refused the same way; elsewhere it moves.
  v1::MoveAppointmentRequest move;
  move.set_id(a.id());
  *move.mutable_start_time() = ToTimestamp(Utc(2026, 6, 1, 14, 20));
  move.set_provider_id(st.Id("providers", "P2"));
  v1::Appointment moved;
  grpc::Status refused = st.stub->MoveAppointment(st.Ctx().get(), move, &moved);
  CHECK(refused.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(FieldOf(refused) == "startTime");
  move.clear_provider_id();
  move.set_version(1);
  *move.mutable_start_time() = ToTimestamp(Utc(2026, 6, 1, 16));
  REQUIRE(st.stub->MoveAppointment(st.Ctx().get(), move, &moved).ok());
  CHECK(moved.version() == 2);
  CHECK(FromTimestamp(moved.end_time()) == Utc(2026, 6, 1, 16, 30));
  grpc::Status stale = st.stub->MoveAppointment(st.Ctx().get(), move, &moved);  // version 1 again
  CHECK(stale.error_code() == grpc::StatusCode::ABORTED);
  CHECK(FieldOf(stale) == "version");

  v1::CancelAppointmentRequest cancel;
  cancel.set_id(a.id());
  v1::Appointment cancelled;
  REQUIRE(st.stub->CancelAppointment(st.Ctx().get(), cancel, &cancelled).ok());
  CHECK(cancelled.status() == v1::CANCELLED);
  CHECK(st.stub->CancelAppointment(st.Ctx().get(), cancel, &cancelled).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);
  // Its slot is free again.
  REQUIRE(st.Book(client, pet, Utc(2026, 6, 1, 16), &b).ok());

  pg::Result topics = s.Sql("SELECT string_agg(topic, ',' ORDER BY id) AS t FROM booking.outbox");
  CHECK(topics.Text(0, "t") ==
        "appointment.created,appointment.created,appointment.moved,appointment.cancelled,appointment.created");

  // The day's list, filtered by provider.
  v1::ListAppointmentsRequest list;
  list.set_from("2026-06-01");
  list.set_to("2026-06-01");
  list.add_provider_ids(st.Id("providers", "P1"));
  v1::ListAppointmentsResponse day;
  REQUIRE(st.stub->ListAppointments(st.Ctx().get(), list, &day).ok());
  REQUIRE(day.appointments_size() == 2);  // the cancelled one and the new one, both at 16:00
  std::multiset<int> statuses;
  for (const auto& x : day.appointments()) statuses.insert(x.status());
  CHECK(statuses == std::multiset<int>{v1::SCHEDULED, v1::CANCELLED});
  list.set_page_size(1);  // and page by page
  REQUIRE(st.stub->ListAppointments(st.Ctx().get(), list, &day).ok());
  REQUIRE(day.appointments_size() == 1);
  REQUIRE_FALSE(day.next_page_token().empty());
  list.set_page_token(day.next_page_token());
  v1::ListAppointmentsResponse next;
  REQUIRE(st.stub->ListAppointments(st.Ctx().get(), list, &next).ok());
  REQUIRE(next.appointments_size() == 1);
  CHECK(next.appointments(0).id() != day.appointments(0).id());
}

TEST_CASE("booking: concurrent bookings of one slot through the API, exactly one wins", "[booking][staff][race]") {
  Stack s;
  Staff st{s, s.Clinic(), s.BookingStub(), s.ClientsStub()};
  s.Sync(st.clinic, {Basics()});
  auto [client, pet] = st.ClientWithPet("Pat");
  constexpr int kCallers = 8;
  std::vector<grpc::Status> results(kCallers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      v1::Appointment out;
      results[i] = st.Book(client, pet, Utc(2026, 6, 2, 14, i), &out);  // all overlap 14:00-14:37
    });
  }
  for (auto& t : threads) t.join();
  int ok = 0;
  for (const grpc::Status& r : results) {
    if (r.ok()) {
      ++ok;
    } else {
      CHECK(r.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
      CHECK(FieldOf(r) == "startTime");
    }
  }
  CHECK(ok == 1);
  CHECK(Count(s, "SELECT count(*) AS n FROM booking.appointments") == 1);
}

TEST_CASE("booking: ids resolve in the caller's clinic, and the pet must be the client's", "[booking][staff]") {
  Stack s;
  Staff st{s, s.Clinic(), s.BookingStub(), s.ClientsStub()};
  Staff other{s, s.Clinic(), s.BookingStub(), s.ClientsStub()};
  s.Sync(st.clinic, {Basics()});
  s.Sync(other.clinic, {Basics()});
  auto [client, pet] = st.ClientWithPet("Pat");
  auto [client2, pet2] = st.ClientWithPet("Sam");
  v1::Appointment a;
  grpc::Status not_theirs = st.Book(client, pet2, Utc(2026, 6, 1, 14), &a);
  CHECK(not_theirs.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(FieldOf(not_theirs) == "petId");

  // Another clinic's type and provider are unknown here.
  v1::CreateAppointmentRequest req;
  req.set_client_id(client);
  req.set_pet_id(pet);
  req.set_appointment_type_id(other.Id("appointment_types", "T1"));
  req.set_provider_id(st.Id("providers", "P1"));
  *req.mutable_start_time() = ToTimestamp(Utc(2026, 6, 1, 14));
  grpc::Status foreign = st.stub->CreateAppointment(st.Ctx().get(), req, &a);
  CHECK(foreign.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(FieldOf(foreign) == "appointmentTypeId");
  req.set_appointment_type_id(st.Id("appointment_types", "T1"));
  req.set_provider_id(other.Id("providers", "P1"));
  foreign = st.stub->CreateAppointment(st.Ctx().get(), req, &a);
  CHECK(FieldOf(foreign) == "providerId");
  CHECK(Count(s, "SELECT count(*) AS n FROM booking.appointments") == 0);

  // Another clinic's appointment is 404 to get, move or cancel.
  auto [oc, op] = other.ClientWithPet("Oz");
  v1::Appointment theirs;
  REQUIRE(other.Book(oc, op, Utc(2026, 6, 1, 9), &theirs).ok());
  v1::GetAppointmentRequest get;
  get.set_id(theirs.id());
  CHECK(st.stub->GetAppointment(st.Ctx().get(), get, &a).error_code() == grpc::StatusCode::NOT_FOUND);
  v1::CancelAppointmentRequest cancel;
  cancel.set_id(theirs.id());
  CHECK(st.stub->CancelAppointment(st.Ctx().get(), cancel, &a).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(other.stub->GetAppointment(other.Ctx().get(), get, &a).ok());
  CHECK(a.status() == v1::SCHEDULED);
}

TEST_CASE("booking: settings, hours and availability", "[booking][staff][availability]") {
  Stack s;
  Staff st{s, s.Clinic("America/New_York"), s.BookingStub(), s.ClientsStub()};
  s.Sync(st.clinic, {Basics()});

  v1::UpdateSettingsRequest bad_zone;
  bad_zone.set_time_zone("Mars/Olympus_Mons");
  v1::BookingSettings settings;
  grpc::Status zone = st.stub->UpdateSettings(st.Ctx(true).get(), bad_zone, &settings);
  CHECK(zone.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(FieldOf(zone) == "timeZone");
  CHECK(st.stub->UpdateSettings(st.Ctx(false).get(), v1::UpdateSettingsRequest(), &settings).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  v1::UpdateSettingsRequest change;
  change.set_minimum_notice_minutes(0);
  change.set_slot_granularity_minutes(30);
  REQUIRE(st.stub->UpdateSettings(st.Ctx(true).get(), change, &settings).ok());
  CHECK(settings.time_zone() == "America/New_York");
  CHECK(settings.slot_granularity_minutes() == 30);

  v1::PutClinicHoursRequest bad_hours;
  auto* w = bad_hours.mutable_schedule()->add_weekly();
  w->set_weekday(v1::MONDAY);
  auto* r = w->add_ranges();
  r->set_open("09:00");
  r->set_close("25:00");
  v1::Schedule hours;
  grpc::Status bad = st.stub->PutClinicHours(st.Ctx(true).get(), bad_hours, &hours);
  CHECK(FieldOf(bad) == "schedule");

  // Mondays 09:00-11:00 local; 1 June 2026 is a Monday (EDT, UTC-4).
  r->set_close("11:00");
  REQUIRE(st.stub->PutClinicHours(st.Ctx(true).get(), bad_hours, &hours).ok());
  v1::GetAvailabilityRequest q;
  q.set_appointment_type_id(st.Id("appointment_types", "T1"));
  q.set_provider_id(st.Id("providers", "P1"));
  q.set_from("2026-06-01");
  q.set_to("2026-06-07");
  v1::GetAvailabilityResponse open;
  REQUIRE(st.stub->GetAvailability(st.Ctx().get(), q, &open).ok());
  std::vector<absl::Time> starts;
  for (const auto& slot : open.slots()) starts.push_back(FromTimestamp(slot.start_time()));
  CHECK(starts == std::vector<absl::Time>{Utc(2026, 6, 1, 13), Utc(2026, 6, 1, 13, 30), Utc(2026, 6, 1, 14),
                                          Utc(2026, 6, 1, 14, 30)});

  // A booking and a block-off take slots away.
  auto [client, pet] = st.ClientWithPet("Pat");
  v1::Appointment a;
  REQUIRE(st.Book(client, pet, Utc(2026, 6, 1, 13, 30), &a).ok());
  v1::CreateBlockOffRequest block;
  block.set_provider_id(st.Id("providers", "P1"));
  *block.mutable_start_time() = ToTimestamp(Utc(2026, 6, 1, 14, 30));
  *block.mutable_end_time() = ToTimestamp(Utc(2026, 6, 1, 15));
  block.set_reason("Surgery prep");
  v1::BlockOff blocked;
  REQUIRE(st.stub->CreateBlockOff(st.Ctx().get(), block, &blocked).ok());
  open.Clear();
  REQUIRE(st.stub->GetAvailability(st.Ctx().get(), q, &open).ok());
  starts.clear();
  for (const auto& slot : open.slots()) starts.push_back(FromTimestamp(slot.start_time()));
  CHECK(starts == std::vector<absl::Time>{Utc(2026, 6, 1, 13), Utc(2026, 6, 1, 14)});

  // Bad questions name their field.
  q.set_to("2026-05-01");
  CHECK(FieldOf(st.stub->GetAvailability(st.Ctx().get(), q, &open)) == "to");
  q.set_to("2026-06-07");
  q.set_provider_id("33333333-3333-4333-8333-333333333333");
  CHECK(FieldOf(st.stub->GetAvailability(st.Ctx().get(), q, &open)) == "providerId");
}

namespace {

TEST_CASE("booking: open slots follow bookings, cancellations and PIMS changes made through another replica",
          "[booking][availability][replicas]") {
  Stack s;
  Staff a{s, s.Clinic("America/New_York"), s.BookingStub(), s.ClientsStub()};
  Staff b{s, a.clinic, s.ReplicaStub(), s.ClientsStub()};
  s.SyncClient(a.clinic, "C1", "PT1");
  s.Sync(a.clinic, {Basics()});
  v1::UpdateSettingsRequest change;
  change.set_minimum_notice_minutes(0);
  change.set_slot_granularity_minutes(30);
  v1::BookingSettings settings;
  REQUIRE(a.stub->UpdateSettings(a.Ctx(true).get(), change, &settings).ok());
  v1::PutClinicHoursRequest hours;  // Mondays 09:00-11:00 local; 1 June 2026 is a Monday (EDT)
  auto* w = hours.mutable_schedule()->add_weekly();
  w->set_weekday(v1::MONDAY);
  auto* r = w->add_ranges();
  r->set_open("09:00");
  r->set_close("11:00");
  v1::Schedule stored;
  REQUIRE(a.stub->PutClinicHours(a.Ctx(true).get(), hours, &stored).ok());

  v1::GetAvailabilityRequest q;
  q.set_appointment_type_id(a.Id("appointment_types", "T1"));
  q.set_provider_id(a.Id("providers", "P1"));
  q.set_from("2026-06-01");
  q.set_to("2026-06-07");
  auto open_on_a = [&] {
    v1::GetAvailabilityResponse open;
    REQUIRE(a.stub->GetAvailability(a.Ctx().get(), q, &open).ok());
    std::vector<absl::Time> starts;
    for (const auto& slot : open.slots()) starts.push_back(FromTimestamp(slot.start_time()));
    return starts;
  };
  const absl::Time nine = Utc(2026, 6, 1, 13), nine30 = Utc(2026, 6, 1, 13, 30), ten = Utc(2026, 6, 1, 14),
                   ten30 = Utc(2026, 6, 1, 14, 30);
  REQUIRE(open_on_a() == std::vector<absl::Time>{nine, nine30, ten, ten30});

  // Booked on the other replica: gone here at once.
  auto [client, pet] = b.ClientWithPet("Pat");
  v1::Appointment booked;
  REQUIRE(b.Book(client, pet, nine30, &booked).ok());
  CHECK(open_on_a() == std::vector<absl::Time>{nine, ten, ten30});

  // The PIMS books 10:00 local.
  s.Sync(a.clinic, {[] {
           v1::BookingSyncBatch batch;
           *batch.add_appointments() = Appointment("A1", "2026-06-01T10:00", "2026-06-01T10:30");
           return batch;
         }()});
  REQUIRE(s.last_status.ok());
  CHECK(open_on_a() == std::vector<absl::Time>{nine, ten30});

  // Cancelled on the other replica: open again here.
  v1::CancelAppointmentRequest cancel;
  cancel.set_id(booked.id());
  v1::Appointment cancelled;
  REQUIRE(b.stub->CancelAppointment(b.Ctx().get(), cancel, &cancelled).ok());
  CHECK(open_on_a() == std::vector<absl::Time>{nine, nine30, ten30});
}

}  // namespace
