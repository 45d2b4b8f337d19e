// Write-back end to end: a staff booking in the real booking service -> its outbox ->
// Redis wake-up -> the pims_sync feed consumer -> pims_sync.writebacks -> the worker ->
// a simulated PIMS over real gRPC; new clients and pets created there first, PIMS ids
// recorded back in clients and booking, and a later sync adding nothing twice.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>

#include "libs/core/time.h"
#include "libs/pg/migrations.h"
#include "libs/rpc/rpc.h"
#include "libs/testing/servers.h"
#include "libs/testing/wait.h"
#include "nlohmann/json.hpp"
#include "services/booking/booking_component.h"
#include "services/clients/clients_component.h"
#include "services/conversations/conversations_component.h"
#include "services/pims_sync/pims_sync_component.h"
#include "services/pims_sync/sync_runner.h"
#include "tests/support/identity_stack.h"
#include "tests/support/principals.h"
#include "tools/pims_sim/in_process.h"
#include "vetline/booking/v1/booking.grpc.pb.h"
#include "vetline/clients/v1/clients.grpc.pb.h"
#include "vetline/conversations/v1/conversations.grpc.pb.h"
#include "vetline/conversations/v1/pims_export.grpc.pb.h"
#include "vetline/pims_sync/v1/pims_sync.grpc.pb.h"

using namespace vetline;
using namespace vetline::pims_sync;
namespace bv1 = vetline::booking::v1;
namespace cv1 = vetline::clients::v1;
namespace conv1 = vetline::conversations::v1;

namespace {

// Short backoff so retries happen within a test.
WritebackSettings Fast() {
  WritebackSettings s;
  s.retry = {.first_backoff = absl::Milliseconds(50), .max_backoff = absl::Milliseconds(400), .max_attempts = 8};
  s.call_deadline = absl::Seconds(2);
  s.idle_pause = absl::Milliseconds(200);
  return s;
}

// A simulated practice served over real gRPC, in this process, and what it holds.
struct Sim : pims_sim::InProcess {
  explicit Sim(pims_sim::Kind kind) : InProcess(kind, 200) {}
  // The PIMS's appointments matching `pred`.
  std::vector<pims::v1::PimsRecord> Appointments(const std::function<bool(const pims::v1::PimsRecord&)>& pred) {
    std::vector<pims::v1::PimsRecord> out;
    for (int64_t k = 0; k < practice.Count(pims::v1::APPOINTMENTS); ++k) {
      auto r = practice.Record(pims::v1::APPOINTMENTS, k);
      if (pred(r)) out.push_back(r);
    }
    return out;
  }
  std::optional<pims::v1::PimsRecord> Appointment(const std::string& id) {
    auto v = Appointments([&](const pims::v1::PimsRecord& r) { return r.id() == id; });
    if (v.empty()) return std::nullopt;
    return v.front();
  }
};

// identity, clients, booking and pims_sync (with write-back) on one database, Redis for
// the feed wake-ups, a clinic synced from the simulator.
struct Stack {
  explicit Stack(pims_sim::Kind sim_kind, const std::string& kind_name, WritebackSettings settings = Fast())
      : signer(auth::Key::FromSecret(testing::kTestInternalSecret).value()), sim(sim_kind), kind(kind_name) {
    clients = clients::Start(testing::TestServiceEnv(db.conninfo(), true, 6), {}).value();
    clients_address = "127.0.0.1:" + std::to_string(clients->server().port());
    rpc::ServiceEnv env = testing::TestServiceEnv(db.conninfo(), true, 6);
    env.peers = {{"clients", clients_address}, {"identity", identity.address()}};
    booking = booking::Start(env).value();
    booking_address = "127.0.0.1:" + std::to_string(booking->server().port());
    pool = pg::Pool::Create({.conninfo = db.conninfo(), .size = 4}).value();
    REQUIRE(pg::Migrate(*pool, "pims_sync", pg::pims_sync_migrations()).ok());
    repo = std::make_unique<SyncRepository>(pool);
    auto created = identity.CreateClinic("Clinic", "admin@clinic.example", "correct horse battery staple");
    clinic = created.clinic().id();
    zone_name = created.clinic().time_zone();
    sv1::Connector c;
    c.set_clinic_id(clinic);
    c.set_kind(kind);
    c.set_address(sim.address());
    REQUIRE(repo->SetConnector(c).ok());
    REQUIRE(Sync().ok());
    pims_sync = StartPimsSync(settings);
    booking_stub = bv1::BookingService::NewStub(rpc::Dial(booking_address));
    clients_stub = cv1::ClientsService::NewStub(rpc::Dial(clients_address));
  }

  std::unique_ptr<rpc::RunningService> StartPimsSync(WritebackSettings settings) {
    rpc::ServiceEnv env = testing::TestServiceEnv(db.conninfo(), true, 6);
    env.peers = {{"clients", clients_address}, {"booking", booking_address}};
    if (!conversations_address.empty()) env.peers["conversations"] = conversations_address;
    auto running = pims_sync::Start(env, settings).value();
    writebacks.push_back(sv1::PimsSyncService::NewStub(rpc::Dial("127.0.0.1:" + std::to_string(running->server().port()))));
    return running;
  }

  // Conversations too, and pims_sync again following its exports.
  void StartConversations() {
    conversations::ConversationsOptions o;
    o.blob_dir = (std::filesystem::temp_directory_path() / ("vetline-writeback-" + std::to_string(::getpid()))).string();
    o.delivery.workers = 0;
    rpc::ServiceEnv env = testing::TestServiceEnv(db.conninfo(), true, 6);
    env.peers = {{"clients", clients_address}, {"identity", identity.address()}};
    conversations = conversations::Start(env, o).value();
    conversations_address = "127.0.0.1:" + std::to_string(conversations->server().port());
    inbox = conv1::ConversationsService::NewStub(rpc::Dial(conversations_address));
    exports = conv1::PimsExportService::NewStub(rpc::Dial(conversations_address));
    pims_sync.reset();
    writebacks.clear();
    pims_sync = StartPimsSync(Fast());
  }

  absl::StatusOr<sv1::Run> Sync(bool full = true) {
    SyncRunner runner(*repo, rpc::Dial(clients_address), rpc::Dial(booking_address), signer, SyncSettings{});
    return runner.Run(clinic, full);
  }

  std::unique_ptr<grpc::ClientContext> Staff() {
    return testing::ContextAs(testing::StaffPrincipal(clinic, "u-1", "staff"), signer);
  }
  std::string One(const std::string& sql, const pg::Params& params = {}) {
    std::string out;
    REQUIRE(pool->WithSession([&](pg::Session& s) -> absl::Status {
      auto r = s.ExecRaw(sql, params);
      if (!r.ok()) return r.status();
      out = r->rows() > 0 ? r->Text(0, 0) : "";
      return absl::OkStatus();
    }).ok());
    return out;
  }
  int64_t Count(const std::string& sql, const pg::Params& params = {}) { return std::stoll(One(sql, params)); }

  // A synced client with a pet, an active type and an active provider (Vetline ids).
  struct Booking {
    std::string client, pet, type, provider;
  };
  Booking Synced() {
    Booking b;
    b.pet = One("SELECT p.id::text FROM clients.pets p JOIN clients.clients c ON c.id = p.client_id WHERE "
                "c.clinic_id = $1 AND c.pims_id IS NOT NULL AND p.pims_id IS NOT NULL AND NOT p.deceased "
                "AND p.active AND c.pims_active AND NOT c.pims_deleted ORDER BY c.pims_id LIMIT 1",
                {clinic});
    b.client = One("SELECT client_id::text FROM clients.pets WHERE id = $1", {b.pet});
    b.type = One("SELECT id::text FROM booking.appointment_types WHERE clinic_id = $1 AND active "
                 "ORDER BY pims_id LIMIT 1", {clinic});
    b.provider = One("SELECT id::text FROM booking.providers WHERE clinic_id = $1 AND active "
                     "ORDER BY pims_id LIMIT 1", {clinic});
    REQUIRE_FALSE(b.pet.empty());
    return b;
  }
  // Sundays in 2027: the simulated practice books no one then.
  static absl::Time Sunday(int week, int hour, const absl::TimeZone& zone) {
    return absl::FromCivil(absl::CivilMinute(absl::CivilDay(2027, 6, 6) + 7 * week) + hour * 60, zone);
  }
  absl::TimeZone Zone() {
    absl::TimeZone z;
    REQUIRE(absl::LoadTimeZone(One("SELECT time_zone FROM booking.settings WHERE clinic_id = $1", {clinic}), &z));
    return z;
  }

  bv1::Appointment Book(const Booking& b, absl::Time start, const std::string& description = "") {
    bv1::CreateAppointmentRequest req;
    req.set_client_id(b.client);
    req.set_pet_id(b.pet);
    req.set_appointment_type_id(b.type);
    req.set_provider_id(b.provider);
    *req.mutable_start_time() = ToTimestamp(start);
    req.set_description(description);
    bv1::Appointment a;
    grpc::Status st = booking_stub->CreateAppointment(Staff().get(), req, &a);
    REQUIRE(st.ok());
    return a;
  }

  // The write-back row of a Vetline record, as staff see it.
  sv1::Writeback Row(const std::string& vetline_id) {
    sv1::ListWritebacksRequest req;
    req.set_page_size(200);
    sv1::ListWritebacksResponse resp;
    if (!writebacks.front()->ListWritebacks(Staff().get(), req, &resp).ok()) return {};
    for (const auto& w : resp.writebacks()) {
      if (w.vetline_id() == vetline_id) return w;
    }
    return {};
  }
  bool WaitState(const std::string& vetline_id, const std::string& state, absl::Duration limit = absl::Seconds(20)) {
    return testing::WaitUntil([&] { return Row(vetline_id).state() == state; }, limit);
  }
  std::string PimsIdOf(const std::string& appointment_id) {
    return One("SELECT coalesce(pims_id, '') FROM booking.appointments WHERE id = $1", {appointment_id});
  }

  testing::TestDatabase db;
  auth::PrincipalSigner signer;
  testing::IdentityStack identity;
  Sim sim;
  std::string kind;
  std::unique_ptr<rpc::RunningService> clients, booking, conversations, pims_sync, second_replica;
  std::string clients_address, booking_address, conversations_address, clinic, zone_name;
  std::unique_ptr<conv1::ConversationsService::Stub> inbox;
  std::unique_ptr<conv1::PimsExportService::Stub> exports;
  std::shared_ptr<pg::Pool> pool;
  std::unique_ptr<SyncRepository> repo;
  std::vector<std::unique_ptr<sv1::PimsSyncService::Stub>> writebacks;
  std::unique_ptr<bv1::BookingService::Stub> booking_stub;
  std::unique_ptr<cv1::ClientsService::Stub> clients_stub;
};

const char* Field(const std::string& kind, const char* cornerstone, const char* avimark) {
  return kind == "cornerstone" ? cornerstone : avimark;
}

}  // namespace

TEST_CASE("write-back: a staff booking, its move and its cancellation reach each PIMS kind, and the "
          "next sync adds no second appointment", "[pims][writeback]") {
  for (auto [kind, name] : {std::pair{pims_sim::Kind::kCornerstone, "cornerstone"},
                            std::pair{pims_sim::Kind::kAvimark, "avimark"}}) {
    INFO(name);
    Stack s(kind, name);
    const int64_t before = s.sim.practice.Count(pims::v1::APPOINTMENTS);
    Stack::Booking b = s.Synced();
    bv1::Appointment a = s.Book(b, Stack::Sunday(0, 10, s.Zone()), "Limping");
    REQUIRE(s.WaitState(a.id(), "written"));
    sv1::Writeback row = s.Row(a.id());
    CHECK(row.what() == "appointment");
    CHECK(row.attempts() == 1);
    const std::string pims_id = s.PimsIdOf(a.id());
    REQUIRE_FALSE(pims_id.empty());
    CHECK(row.pims_id() == pims_id);
    auto in_pims = s.sim.Appointment(pims_id);
    REQUIRE(in_pims);
    CHECK(s.sim.practice.Count(pims::v1::APPOINTMENTS) == before + 1);
    const auto& f = in_pims->fields();
    CHECK(f.at(Field(name, "REASON", "NOTE")) == "[Vetline Direct Booking] Limping");
    CHECK(f.at(Field(name, "APPT_DATE", "DATE")) == (s.kind == "cornerstone" ? "06/06/2027" : "20270606"));
    CHECK(f.at(Field(name, "APPT_TIME", "TIME")) == (s.kind == "cornerstone" ? "10:00 AM" : "1000"));
    CHECK(f.at(Field(name, "CLIENT_ID", "ACCT")) ==
          s.One("SELECT pims_id FROM clients.clients WHERE id = $1", {b.client}));

    // Moved in Vetline: the PIMS's record moves (the same id).
    bv1::MoveAppointmentRequest move;
    move.set_id(a.id());
    *move.mutable_start_time() = ToTimestamp(Stack::Sunday(0, 14, s.Zone()));
    bv1::Appointment moved;
    REQUIRE(s.booking_stub->MoveAppointment(s.Staff().get(), move, &moved).ok());
    REQUIRE(testing::WaitUntil([&] {
      auto r = s.sim.Appointment(pims_id);
      return r && r->fields().at(Field(name, "APPT_TIME", "TIME")) == (s.kind == "cornerstone" ? "02:00 PM" : "1400");
    }));
    CHECK(s.WaitState(a.id(), "written"));
    CHECK(s.Row(a.id()).action() == "move");

    // The next sync matches it by its PIMS id: still one appointment, still the staff's.
    auto sync = s.Sync(false);
    REQUIRE(sync.ok());
    CHECK(s.Count("SELECT count(*) FROM booking.appointments WHERE clinic_id = $1 AND lower(during) >= $2",
                  {s.clinic, Stack::Sunday(0, 0, s.Zone())}) == 1);
    CHECK(s.One("SELECT source FROM booking.appointments WHERE id = $1", {a.id()}) == "staff");

    // Cancelled in Vetline: cancelled in the PIMS.
    bv1::CancelAppointmentRequest cancel;
    cancel.set_id(a.id());
    bv1::Appointment cancelled;
    REQUIRE(s.booking_stub->CancelAppointment(s.Staff().get(), cancel, &cancelled).ok());
    REQUIRE(testing::WaitUntil([&] {
      auto r = s.sim.Appointment(pims_id);
      return r && r->fields().at("STATUS") == (s.kind == "cornerstone" ? "CXL" : "X");
    }));
    CHECK(s.WaitState(a.id(), "written"));
    CHECK(s.sim.practice.Count(pims::v1::APPOINTMENTS) == before + 1);
    // A full sync afterwards changes nothing of it either.
    REQUIRE(s.Sync(true).ok());
    CHECK(s.Count("SELECT count(*) FROM booking.appointments WHERE clinic_id = $1 AND lower(during) >= $2",
                  {s.clinic, Stack::Sunday(0, 0, s.Zone())}) == 1);
  }
}

TEST_CASE("write-back: a new client and pet are created in the PIMS before their appointment, their "
          "PIMS ids recorded, and the next sync matches all three", "[pims][writeback]") {
  Stack s(pims_sim::Kind::kCornerstone, "cornerstone");
  const int64_t clients_before = s.sim.practice.Count(pims::v1::CLIENTS);
  const int64_t pets_before = s.sim.practice.Count(pims::v1::PATIENTS);
  // A client and pet made in Vetline (no PIMS ids), as a booking by a new client makes them.
  cv1::CreateClientRequest creq;
  creq.set_first_name("Noor");
  creq.set_last_name("Haddad");
  auto* phone = creq.add_phones();
  phone->set_number("+13125550188");
  phone->set_type(cv1::MOBILE);
  creq.add_emails()->set_address("noor@example.com");
  cv1::Client client;
  REQUIRE(s.clients_stub->CreateClient(s.Staff().get(), creq, &client).ok());
  cv1::AddPetRequest preq;
  preq.set_client_id(client.id());
  preq.set_name("Pita");
  preq.set_species("Feline");
  cv1::Pet pet;
  REQUIRE(s.clients_stub->AddPet(s.Staff().get(), preq, &pet).ok());
  Stack::Booking b = s.Synced();
  b.client = client.id();
  b.pet = pet.id();
  bv1::Appointment a = s.Book(b, Stack::Sunday(1, 9, s.Zone()));
  REQUIRE(s.WaitState(a.id(), "written"));

  const std::string client_pims = s.One("SELECT coalesce(pims_id, '') FROM clients.clients WHERE id = $1", {client.id()});
  const std::string pet_pims = s.One("SELECT coalesce(pims_id, '') FROM clients.pets WHERE id = $1", {pet.id()});
  REQUIRE_FALSE(client_pims.empty());
  REQUIRE_FALSE(pet_pims.empty());
  CHECK(s.sim.practice.Count(pims::v1::CLIENTS) == clients_before + 1);
  CHECK(s.sim.practice.Count(pims::v1::PATIENTS) == pets_before + 1);
  auto pc = s.sim.practice.Record(pims::v1::CLIENTS, clients_before);
  CHECK(pc.id() == client_pims);
  CHECK(pc.fields().at("LAST_NAME") == "Haddad");
  CHECK(pc.fields().at("PHONE_CELL") == "(312) 555-0188");
  CHECK(pc.fields().at("EMAIL") == "noor@example.com");
  auto pp = s.sim.practice.Record(pims::v1::PATIENTS, pets_before);
  CHECK(pp.id() == pet_pims);
  CHECK(pp.fields().at("CLIENT_ID") == client_pims);
  CHECK(pp.fields().at("SPECIES") == "FELINE");
  auto appt = s.sim.Appointment(s.PimsIdOf(a.id()));
  REQUIRE(appt);
  CHECK(appt->fields().at("CLIENT_ID") == client_pims);
  CHECK(appt->fields().at("PATIENT_ID") == pet_pims);
  // The client and pet writes are rows staff see, written, with the PIMS ids.
  CHECK(s.Row(client.id()).what() == "client");
  CHECK(s.Row(client.id()).pims_id() == client_pims);
  CHECK(s.Row(pet.id()).state() == "written");

  // The sync brings the three back under their PIMS ids: one row each, none added.
  auto sync = s.Sync(false);
  REQUIRE(sync.ok());
  CHECK(sync->clients().inserted() == 0);
  CHECK(sync->pets().inserted() == 0);
  CHECK(sync->appointments().inserted() == 0);
  CHECK(s.Count("SELECT count(*) FROM clients.clients WHERE clinic_id = $1 AND last_name = 'Haddad'", {s.clinic}) == 1);
  CHECK(s.Count("SELECT count(*) FROM clients.pets WHERE clinic_id = $1 AND name = 'Pita'", {s.clinic}) == 1);
  CHECK(s.Count("SELECT count(*) FROM booking.appointments WHERE clinic_id = $1 AND pims_id = $2",
                {s.clinic, s.PimsIdOf(a.id())}) == 1);
}

TEST_CASE("write-back: a refusal fails at once with the PIMS's reason for staff, and a retry writes it",
          "[pims][writeback]") {
  Stack s(pims_sim::Kind::kAvimark, "avimark");
  s.sim.service.write_faults().refuse = true;
  bv1::Appointment a = s.Book(s.Synced(), Stack::Sunday(2, 11, s.Zone()));
  REQUIRE(s.WaitState(a.id(), "failed"));
  sv1::Writeback row = s.Row(a.id());
  CHECK(row.attempts() == 1);  // a refusal is not retried
  CHECK_THAT(row.last_error(), Catch::StartsWith("The PIMS refused the appointment: the practice is closed"));
  CHECK(s.PimsIdOf(a.id()).empty());
  // Listed among the failures.
  sv1::ListWritebacksRequest req;
  req.set_state("failed");
  sv1::ListWritebacksResponse failed;
  REQUIRE(s.writebacks.front()->ListWritebacks(s.Staff().get(), req, &failed).ok());
  REQUIRE(failed.writebacks_size() == 1);
  CHECK(failed.writebacks(0).id() == row.id());
  req.set_state("lost");
  grpc::Status bad = s.writebacks.front()->ListWritebacks(s.Staff().get(), req, &failed);
  CHECK(bad.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(bad.error_details() == "state");

  // Staff retry once the PIMS accepts again.
  s.sim.service.write_faults().refuse = false;
  sv1::RetryWritebackRequest retry;
  retry.set_id(row.id());
  sv1::Writeback again;
  REQUIRE(s.writebacks.front()->RetryWriteback(s.Staff().get(), retry, &again).ok());
  REQUIRE(s.WaitState(a.id(), "written"));
  CHECK_FALSE(s.PimsIdOf(a.id()).empty());
  CHECK(s.Row(a.id()).last_error().empty());
  // Only a failed one can be retried; another clinic's is not found.
  CHECK(s.writebacks.front()->RetryWriteback(s.Staff().get(), retry, &again).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);
  auto other = testing::ContextAs(testing::StaffPrincipal("22222222-2222-4222-8222-222222222222"), s.signer);
  CHECK(s.writebacks.front()->RetryWriteback(other.get(), retry, &again).error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("write-back: while the PIMS is down the write is retried with backoff, then written once",
          "[pims][writeback]") {
  Stack s(pims_sim::Kind::kCornerstone, "cornerstone");
  const int64_t before = s.sim.practice.Count(pims::v1::APPOINTMENTS);
  s.sim.service.write_faults().unavailable = 3;
  bv1::Appointment a = s.Book(s.Synced(), Stack::Sunday(3, 9, s.Zone()));
  REQUIRE(s.WaitState(a.id(), "written"));
  CHECK(s.Row(a.id()).attempts() == 4);
  CHECK(s.sim.practice.Count(pims::v1::APPOINTMENTS) == before + 1);
}

TEST_CASE("write-back: a create that timed out but landed in the PIMS is not created again by the retry",
          "[pims][writeback]") {
  WritebackSettings quick = Fast();
  quick.call_deadline = absl::Milliseconds(300);
  Stack s(pims_sim::Kind::kCornerstone, "cornerstone", quick);
  const int64_t before = s.sim.practice.Count(pims::v1::APPOINTMENTS);
  s.sim.service.write_faults().slow_ms = 600;  // past the deadline; the PIMS still stores it
  bv1::Appointment a = s.Book(s.Synced(), Stack::Sunday(4, 9, s.Zone()));
  REQUIRE(testing::WaitUntil([&] { return s.Row(a.id()).attempts() >= 2; }));
  s.sim.service.write_faults().slow_ms = 0;
  REQUIRE(s.WaitState(a.id(), "written"));
  CHECK(s.sim.practice.Count(pims::v1::APPOINTMENTS) == before + 1);
}

TEST_CASE("write-back: a replayed feed record writes nothing twice, and two replicas write each "
          "booking once", "[pims][writeback]") {
  Stack s(pims_sim::Kind::kCornerstone, "cornerstone");
  s.second_replica = s.StartPimsSync(Fast());
  const int64_t before = s.sim.practice.Count(pims::v1::APPOINTMENTS);
  Stack::Booking b = s.Synced();
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i) ids.push_back(s.Book(b, Stack::Sunday(5, 8, s.Zone()) + absl::Minutes(60 * i)).id());
  for (const auto& id : ids) REQUIRE(s.WaitState(id, "written"));
  CHECK(s.sim.practice.Count(pims::v1::APPOINTMENTS) == before + 12);
  CHECK(s.sim.service.write_faults().calls == 12);  // no replica wrote one a second time

  // The feed delivered again from the start (as after a restored backup): the rows are
  // written again as they stand, and the PIMS gets no new appointment.
  const int64_t calls = s.sim.service.write_faults().calls;
  s.One("UPDATE pims_sync.outbox_cursors SET last_id = 0 WHERE source = 'booking' RETURNING source");
  REQUIRE(testing::WaitUntil([&] { return s.sim.service.write_faults().calls >= calls + 12; }));
  for (const auto& id : ids) REQUIRE(s.WaitState(id, "written"));
  CHECK(s.sim.practice.Count(pims::v1::APPOINTMENTS) == before + 12);
  CHECK(s.Count("SELECT count(*) FROM pims_sync.writebacks WHERE clinic_id = $1", {s.clinic}) == 12);
}

TEST_CASE("write-back: staff export a conversation and its record lands in the PIMS as a client "
          "communication note once with only what is new the next time", "[pims][writeback][notes]") {
  Stack s(pims_sim::Kind::kCornerstone, "cornerstone");
  s.StartConversations();
  Stack::Booking b = s.Synced();
  const std::string client_pims = s.One("SELECT pims_id FROM clients.clients WHERE id = $1", {b.client});
  auto staff = [&] { return testing::ContextAs(testing::StaffPrincipal(s.clinic, "u-1", "staff"), s.signer); };
  auto start = [&](const std::string& client_id) {
    conv1::StartConversationRequest req;
    req.set_client_id(client_id);
    conv1::Conversation c;
    REQUIRE(s.inbox->StartConversation(staff().get(), req, &c).ok());
    return c.id();
  };
  auto send = [&](const std::string& conversation, const std::string& text, bool note,
                  const api::Principal& as) {
    conv1::SendMessageRequest req;
    req.set_conversation_id(conversation);
    req.set_text(text);
    req.set_internal_note(note);
    conv1::Message m;
    grpc::Status st = s.inbox->SendMessage(testing::ContextAs(as, s.signer).get(), req, &m);
    REQUIRE(st.ok());
  };
  auto exporting = [&](const std::string& conversation, bool whole, conv1::PimsExport* out,
                       const api::Principal& as) {
    conv1::ExportToPimsRequest req;
    req.set_conversation_id(conversation);
    req.set_whole(whole);
    return s.exports->ExportToPims(testing::ContextAs(as, s.signer).get(), req, out);
  };
  const api::Principal desk = testing::StaffPrincipal(s.clinic, "u-1", "staff");
  const std::string conversation = start(b.client);
  send(conversation, "Is Rex due for shots?", false, testing::ClientPrincipal(s.clinic, b.client));
  send(conversation, "Yes, next Tuesday.", false, desk);
  send(conversation, "Rabies booster too", true, desk);

  conv1::PimsExport first;
  REQUIRE(exporting(conversation, false, &first, desk).ok());
  CHECK(first.message_count() == 3);
  CHECK(first.client_id() == b.client);
  CHECK(first.exported_by() == "u-1");
  CHECK_FALSE(first.more_to_export());
  CHECK(first.text().find(" Client: Is Rex due for shots?\n") != std::string::npos);
  CHECK(first.text().find(" Staff: Yes, next Tuesday.\n") != std::string::npos);
  CHECK(first.text().find(" Staff (internal note): Rabies booster too\n") != std::string::npos);
  CHECK(first.text().find("(" + s.zone_name + ")") != std::string::npos);
  // conversations' outbox -> Redis -> pims_sync's consumer -> the worker -> the PIMS.
  REQUIRE(s.WaitState(first.id(), "written"));
  auto notes = s.sim.practice.Notes();
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].fields().at("CLIENT_ID") == client_pims);
  CHECK(notes[0].fields().at("NOTE_TEXT") == first.text());
  absl::TimeZone zone;
  REQUIRE(absl::LoadTimeZone(s.zone_name, &zone));
  CHECK(notes[0].fields().at("NOTE_DATE") ==
        absl::FormatTime("%m/%d/%Y", FromTimestamp(first.create_time()), zone));
  CHECK(s.Row(first.id()).pims_id() == notes[0].id());

  // Nothing new: a clear refusal, and the PIMS keeps one note.
  conv1::PimsExport again;
  grpc::Status st = exporting(conversation, false, &again, desk);
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(st.error_message() == "nothing new to export since the previous export");
  // Later messages: the next export takes only those; `whole` takes everything again.
  send(conversation, "See you then", false, testing::ClientPrincipal(s.clinic, b.client));
  conv1::PimsExport second;
  REQUIRE(exporting(conversation, false, &second, desk).ok());
  CHECK(second.message_count() == 1);
  CHECK(second.text().find("See you then") != std::string::npos);
  CHECK(second.text().find("Is Rex due") == std::string::npos);
  REQUIRE(s.WaitState(second.id(), "written"));
  CHECK(s.sim.practice.Notes().size() == 2);
  conv1::PimsExport whole;
  REQUIRE(exporting(conversation, true, &whole, desk).ok());
  CHECK(whole.message_count() == 4);
  conv1::ListPimsExportsRequest list;
  list.set_conversation_id(conversation);
  conv1::ListPimsExportsResponse listed;
  REQUIRE(s.exports->ListPimsExports(staff().get(), list, &listed).ok());
  REQUIRE(listed.exports_size() == 3);
  CHECK(listed.exports(0).id() == whole.id());
  CHECK(listed.exports(2).id() == first.id());

  // A client made in Vetline only: the export is kept, its write-back fails clearly.
  cv1::CreateClientRequest creq;
  creq.set_first_name("Vera");
  creq.set_last_name("New");
  cv1::Client fresh;
  REQUIRE(s.clients_stub->CreateClient(s.Staff().get(), creq, &fresh).ok());
  const std::string other = start(fresh.id());
  send(other, "Hello", false, desk);
  conv1::PimsExport orphan;
  REQUIRE(exporting(other, false, &orphan, desk).ok());
  REQUIRE(s.WaitState(orphan.id(), "failed"));
  CHECK(s.Row(orphan.id()).last_error() == "The client is not in the PIMS yet, so the note has nowhere to go.");
  REQUIRE(s.WaitState(whole.id(), "written"));
  CHECK(s.sim.practice.Notes().size() == 3);

  // Bad input: nothing exported.
  const int64_t rows = s.Count("SELECT count(*) FROM conversations.pims_exports");
  conv1::PimsExport bad;
  st = exporting("not-an-id", false, &bad, desk);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message().find("conversationId") != std::string::npos);
  st = exporting("00000000-0000-4000-8000-000000000000", false, &bad, desk);
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  const std::string elsewhere =
      s.identity.CreateClinic("Elsewhere", "admin@elsewhere.example", "correct horse battery staple").clinic().id();
  st = exporting(conversation, true, &bad, testing::StaffPrincipal(elsewhere, "u-9", "staff"));
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  st = exporting(conversation, true, &bad, testing::ClientPrincipal(s.clinic, b.client));
  CHECK(st.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(s.Count("SELECT count(*) FROM conversations.pims_exports") == rows);
}
