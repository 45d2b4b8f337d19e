// Request forms and the appointments view: the pure rules (eligibility, answers,
// questions), then the services over real gRPC against a real PostgreSQL, with identity
// and clients running beside booking.
#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/core/status.h"
#include "libs/core/time.h"
#include "libs/pg/pg.h"
#include "libs/rpc/rpc.h"
#include "libs/testing/servers.h"
#include "nlohmann/json.hpp"
#include "services/booking/booking_component.h"
#include "services/booking/request_forms_rules.h"
#include "services/booking/visitor_token.h"
#include "services/clients/clients_component.h"
#include "tests/support/identity_stack.h"
#include "tests/support/principals.h"
#include "vetline/booking/v1/booking.grpc.pb.h"
#include "vetline/booking/v1/booking_sync.grpc.pb.h"
#include "vetline/booking/v1/request_forms.grpc.pb.h"
#include "vetline/clients/v1/clients.grpc.pb.h"
#include "vetline/clients/v1/sync.grpc.pb.h"

using namespace vetline;
namespace v1 = vetline::booking::v1;
using booking::Applicant;
using booking::CheckAnswers;
using booking::CheckEligibility;
using booking::CheckQuestions;

namespace {

v1::EligibilityRules Rules(bool existing, int months, bool camera) {
  v1::EligibilityRules r;
  r.set_existing_clients_only(existing);
  r.set_visited_within_months(months);
  r.set_requires_camera_and_microphone(camera);
  return r;
}

v1::FormQuestion Question(const std::string& id, const std::string& label, v1::QuestionKind kind, bool required,
                          std::vector<std::string> options = {}) {
  v1::FormQuestion q;
  q.set_id(id);
  q.set_label(label);
  q.set_kind(kind);
  q.set_required(required);
  for (auto& o : options) q.add_options(o);
  return q;
}

google::protobuf::RepeatedPtrField<v1::FormAnswer> Answers(std::vector<std::pair<std::string, std::string>> in) {
  google::protobuf::RepeatedPtrField<v1::FormAnswer> out;
  for (auto& [q, v] : in) {
    v1::FormAnswer* a = out.Add();
    a->set_question_id(q);
    a->set_value(v);
  }
  return out;
}

}  // namespace

TEST_CASE("request form eligibility: existing clients, a recent visit, camera and microphone",
          "[request_forms][rules]") {
  const absl::CivilDay today(2026, 5, 20);
  const Applicant anonymous{};
  const Applicant newcomer{.identified = true};
  const Applicant client{.identified = true, .is_client = true, .last_visit = absl::CivilDay(2025, 5, 20)};

  CHECK(CheckEligibility(Rules(false, 0, false), anonymous, today).ok());  // no rules: anybody

  auto unproved = CheckEligibility(Rules(true, 0, false), anonymous, today);
  CHECK(unproved.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(FieldOf(unproved) == "visitorToken");
  CHECK(absl::StrContains(unproved.message(), "existingClientsOnly"));
  auto not_client = CheckEligibility(Rules(true, 0, false), newcomer, today);
  CHECK(not_client.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(not_client.message(), "existingClientsOnly"));
  CHECK(CheckEligibility(Rules(true, 0, false), client, today).ok());

  // Twelve months back from 2026-05-20 is 2025-05-20: that day counts, the day before not.
  CHECK(CheckEligibility(Rules(false, 12, false), client, today).ok());
  Applicant older = client;
  older.last_visit = absl::CivilDay(2025, 5, 19);
  auto stale = CheckEligibility(Rules(false, 12, false), older, today);
  CHECK(stale.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(stale.message(), "visitedWithinMonths"));
  CHECK(absl::StrContains(stale.message(), "12 months"));
  Applicant never = client;
  never.last_visit.reset();
  CHECK(absl::StrContains(CheckEligibility(Rules(false, 12, false), never, today).message(), "visitedWithinMonths"));
  CHECK(absl::StrContains(CheckEligibility(Rules(false, 12, false), newcomer, today).message(), "visitedWithinMonths"));
  // A visit rule alone still needs a known client: an unidentified visitor is asked to prove who they are.
  CHECK(FieldOf(CheckEligibility(Rules(false, 12, false), anonymous, today)) == "visitorToken");
  // Month ends: one month before March 31 is February's last day.
  Applicant feb = client;
  feb.last_visit = absl::CivilDay(2026, 2, 28);
  CHECK(CheckEligibility(Rules(false, 1, false), feb, absl::CivilDay(2026, 3, 31)).ok());
  feb.last_visit = absl::CivilDay(2026, 2, 27);
  CHECK_FALSE(CheckEligibility(Rules(false, 1, false), feb, absl::CivilDay(2026, 3, 31)).ok());

  auto camera = CheckEligibility(Rules(false, 0, true), client, today);
  CHECK(camera.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(FieldOf(camera) == "confirmsCameraAndMicrophone");
  CHECK(absl::StrContains(camera.message(), "requiresCameraAndMicrophone"));
  Applicant confirmed = client;
  confirmed.confirms_camera_and_microphone = true;
  CHECK(CheckEligibility(Rules(true, 12, true), confirmed, today).ok());
  // On the portal there is no token field to name.
  auto portal = CheckEligibility(Rules(true, 0, false), newcomer, today, "");
  CHECK(portal.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(FieldOf(portal).empty());
}

TEST_CASE("request form answers are checked against the form's questions", "[request_forms][rules]") {
  const std::vector<v1::FormQuestion> form = {
      Question("q1", "Reason for visit", v1::LONG_TEXT, true),
      Question("q2", "Pet name", v1::SHORT_TEXT, false),
      Question("q3", "Is it urgent?", v1::YES_NO, true),
      Question("q4", "Preferred time", v1::CHOICE, false, {"Morning", "Afternoon"}),
  };
  auto ok = CheckAnswers(form, Answers({{"q3", " Yes "}, {"q1", "Itchy ears\nsince Monday"}, {"q4", "Morning"}}));
  REQUIRE(ok.ok());
  REQUIRE(ok->size() == 3);  // the form's order, the optional unanswered one left out
  CHECK((*ok)[0].label() == "Reason for visit");
  CHECK((*ok)[0].value() == "Itchy ears\nsince Monday");
  CHECK((*ok)[1].value() == "yes");
  CHECK((*ok)[2].question_id() == "q4");

  struct Bad {
    std::vector<std::pair<std::string, std::string>> answers;
    std::string says;
  };
  for (const Bad& b : std::vector<Bad>{
           {{{"q3", "yes"}}, "\"Reason for visit\" must be answered"},
           {{{"q1", "   "}, {"q3", "yes"}}, "\"Reason for visit\" must be answered"},
           {{{"q1", "x"}, {"q3", "maybe"}}, "\"Is it urgent?\" must be yes or no"},
           {{{"q1", "x"}, {"q3", "no"}, {"q4", "Evening"}}, "\"Preferred time\" must be one of its options"},
           {{{"q1", "x"}, {"q3", "no"}, {"q2", "Rex\nthe dog"}}, "\"Pet name\""},
           {{{"q1", std::string(4001, 'a')}, {"q3", "no"}}, "longer than 4000"},
           {{{"q1", "x"}, {"q3", "no"}, {"q9", "?"}}, "does not have"},
           {{{"q1", "x"}, {"q1", "y"}, {"q3", "no"}}, "answered twice"},
           {{{"q1", "bell\x07"}, {"q3", "no"}}, "control characters"},
       }) {
    auto st = CheckAnswers(form, Answers(b.answers)).status();
    INFO(st.message());
    CHECK_FALSE(st.ok());
    CHECK(FieldOf(st) == "answers");
    CHECK(absl::StrContains(st.message(), b.says));
  }
}

TEST_CASE("request form questions: kinds, options and ids are checked, naming the question", "[request_forms][rules]") {
  google::protobuf::RepeatedPtrField<v1::FormQuestion> qs;
  *qs.Add() = Question("", " Reason ", v1::LONG_TEXT, true);
  *qs.Add() = Question("", "When", v1::CHOICE, false, {"Morning", "Afternoon"});
  auto ok = CheckQuestions("questions", qs, {});
  REQUIRE(ok.ok());
  CHECK((*ok)[0].label() == "Reason");
  CHECK(IsUuid((*ok)[0].id()));
  CHECK((*ok)[0].id() != (*ok)[1].id());

  auto field_of = [](std::vector<v1::FormQuestion> in, std::set<std::string> existing = {}) {
    google::protobuf::RepeatedPtrField<v1::FormQuestion> r;
    for (auto& q : in) *r.Add() = q;
    return FieldOf(CheckQuestions("questions", r, existing).status());
  };
  CHECK(field_of({Question("", "When", v1::CHOICE, false, {"Only one"})}) == "questions[0].options");
  CHECK(field_of({Question("", "A", v1::SHORT_TEXT, false), Question("", "B", v1::YES_NO, false, {"x", "y"})}) ==
        "questions[1].options");
  CHECK(field_of({Question("", "When", v1::CHOICE, false, {"Same", "Same"})}) == "questions[0].options");
  CHECK(field_of({Question("", "A", v1::QUESTION_KIND_UNSPECIFIED, false)}) == "questions[0].kind");
  CHECK(field_of({Question("", "", v1::SHORT_TEXT, false)}) == "questions[0].label");
  CHECK(field_of({Question("", "A", v1::SHORT_TEXT, false), Question("", "a", v1::LONG_TEXT, false)}) ==
        "questions[1].label");
  CHECK(field_of({Question("made-up", "A", v1::SHORT_TEXT, false)}) == "questions[0].id");
  CHECK(field_of({Question("q1", "A", v1::SHORT_TEXT, false)}, {"q1"}).empty());  // an existing id is kept
  CHECK(booking::CheckRules(Rules(false, 121, false)).code() == absl::StatusCode::kInvalidArgument);
  CHECK(FieldOf(booking::CheckRules(Rules(false, -1, false))) == "rules.visitedWithinMonths");
}

namespace {

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 5, 20, 12, 0, 0), absl::UTCTimeZone());

// identity (clinics and their zones), clients and booking, each on its own database.
class Stack {
 public:
  Stack()
      : signer_(auth::Key::FromSecret(testing::kTestInternalSecret).value()),
        visitors_(auth::LinkSigner(auth::Key::FromSecret(testing::kTestInternalSecret).value()), absl::Minutes(30)) {
    clients_ = clients::Start(testing::TestServiceEnv(clients_db_.conninfo()), {}).value();
    const std::string clients_address = "127.0.0.1:" + std::to_string(clients_->server().port());
    rpc::ServiceEnv env = testing::TestServiceEnv(db_.conninfo());
    env.peers = {{"clients", clients_address}, {"identity", identity_.address()}};
    booking_ = booking::Start(env, clock_).value();
    auto channel = rpc::Dial("127.0.0.1:" + std::to_string(booking_->server().port()));
    schedule = v1::BookingService::NewStub(channel);
    sync = v1::BookingSyncService::NewStub(channel);
    view = v1::AppointmentsViewService::NewStub(channel);
    forms = v1::RequestFormsService::NewStub(channel);
    auto clients_channel = rpc::Dial(clients_address);
    clients = clients::v1::ClientsService::NewStub(clients_channel);
    client_sync = clients::v1::ClientSyncService::NewStub(clients_channel);
    pool_ = pg::Pool::Create({.conninfo = db_.conninfo(), .size = 2}).value();
  }

  std::string Clinic(const std::string& zone = "America/New_York") {
    ++clinics_;
    return identity_
        .CreateClinic("Clinic " + std::to_string(clinics_), "admin" + std::to_string(clinics_) + "@clinic.example",
                      "correct horse battery staple", zone)
        .clinic()
        .id();
  }

  std::unique_ptr<grpc::ClientContext> Admin(const std::string& clinic) {
    return testing::ContextAs(testing::StaffPrincipal(clinic, "u-admin", "admin"), signer_);
  }
  std::unique_ptr<grpc::ClientContext> Staff(const std::string& clinic) {
    return testing::ContextAs(testing::StaffPrincipal(clinic, "u-staff", "staff"), signer_);
  }
  std::unique_ptr<grpc::ClientContext> As(const api::Principal& p) { return testing::ContextAs(p, signer_); }
  std::unique_ptr<grpc::ClientContext> Anonymous() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    rpc::SetDeadline(*ctx, absl::Seconds(30));
    return ctx;
  }
  std::string Token(const std::string& clinic, const std::string& client_id, const std::string& contact) {
    return visitors_.Issue({clinic, client_id, contact}, kNow);
  }

  // A client with one pet, as staff create them; {client id, pet id}.
  std::pair<std::string, std::string> Client(const std::string& clinic, const std::string& first,
                                             const std::string& pet_name) {
    clients::v1::CreateClientRequest c;
    c.set_first_name(first);
    c.set_last_name("Lee");
    clients::v1::Client out;
    REQUIRE(clients->CreateClient(Staff(clinic).get(), c, &out).ok());
    clients::v1::AddPetRequest p;
    p.set_client_id(out.id());
    p.set_name(pet_name);
    clients::v1::Pet pet;
    REQUIRE(clients->AddPet(Staff(clinic).get(), p, &pet).ok());
    return {out.id(), pet.id()};
  }

  // A client synced from the PIMS with its last visit; its Vetline id.
  std::string PimsClient(const std::string& clinic, const std::string& pims_id, const std::string& last_visit) {
    clients::v1::UpsertBatch b;
    b.set_clinic_id(clinic);
    auto* c = b.add_clients();
    c->set_pims_id(pims_id);
    c->set_first_name("Ana");
    c->set_last_name("Ruiz");
    c->set_last_visit_date(last_visit);
    c->set_active(true);
    auto* pet = b.add_pets();
    pet->set_pims_id(pims_id + "-pet");
    pet->set_client_pims_id(pims_id);
    pet->set_name("Rex");
    pet->set_active(true);
    auto ctx = As(testing::ServicePrincipal(clinic, "pims_sync"));
    clients::v1::UpsertSummary summary;
    auto writer = client_sync->Upsert(ctx.get(), &summary);
    writer->Write(b);
    writer->WritesDone();
    REQUIRE(writer->Finish().ok());
    clients::v1::SearchClientsRequest q;
    q.set_query(pims_id);
    clients::v1::SearchClientsResponse found;
    REQUIRE(clients->SearchClients(Staff(clinic).get(), q, &found).ok());
    REQUIRE(found.clients_size() == 1);
    return found.clients(0).id();
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
  int64_t Count(const std::string& sql, const pg::Params& params = {}) { return Sql(sql, params).Int(0, "n"); }

  std::unique_ptr<v1::BookingService::Stub> schedule;
  std::unique_ptr<v1::BookingSyncService::Stub> sync;
  std::unique_ptr<v1::AppointmentsViewService::Stub> view;
  std::unique_ptr<v1::RequestFormsService::Stub> forms;
  std::unique_ptr<clients::v1::ClientsService::Stub> clients;
  std::unique_ptr<clients::v1::ClientSyncService::Stub> client_sync;

 private:
  FakeClock clock_{kNow};
  testing::IdentityStack identity_;
  testing::TestDatabase clients_db_, db_;
  auth::PrincipalSigner signer_;
  booking::VisitorTokens visitors_;
  std::unique_ptr<rpc::RunningService> clients_, booking_;
  std::shared_ptr<pg::Pool> pool_;
  int clinics_ = 0;
};

// The field a refused call names (error details carry it as plain text).
std::string FieldOf(const grpc::Status& st) { return st.error_details(); }

// A clinic's types, providers and rooms, made by its admin.
struct Schedule {
  std::string wellness, telemedicine, dr_a, dr_b, exam, video_room;
};
Schedule MakeSchedule(Stack& s, const std::string& clinic) {
  Schedule out;
  auto type = [&](const std::string& name) {
    v1::CreateAppointmentTypeRequest r;
    r.set_name(name);
    r.set_duration_minutes(30);
    v1::AppointmentType t;
    REQUIRE(s.schedule->CreateAppointmentType(s.Admin(clinic).get(), r, &t).ok());
    return t.id();
  };
  auto provider = [&](const std::string& name) {
    v1::CreateProviderRequest r;
    r.set_name(name);
    v1::Provider p;
    REQUIRE(s.schedule->CreateProvider(s.Admin(clinic).get(), r, &p).ok());
    return p.id();
  };
  auto room = [&](const std::string& name) {
    v1::CreateRoomRequest r;
    r.set_name(name);
    v1::Room x;
    REQUIRE(s.schedule->CreateRoom(s.Admin(clinic).get(), r, &x).ok());
    return x.id();
  };
  out.wellness = type("Wellness");
  out.telemedicine = type("Telemedicine");
  out.dr_a = provider("Dr. A");
  out.dr_b = provider("Dr. B");
  out.exam = room("Exam 1");
  out.video_room = room("Video room");
  return out;
}

std::string Book(Stack& s, const std::string& clinic, const std::pair<std::string, std::string>& who,
                 const std::string& type, const std::string& provider, const std::string& room, absl::Time start) {
  v1::CreateAppointmentRequest r;
  r.set_client_id(who.first);
  r.set_pet_id(who.second);
  r.set_appointment_type_id(type);
  r.set_provider_id(provider);
  r.set_room_id(room);
  *r.mutable_start_time() = ToTimestamp(start);
  v1::Appointment a;
  grpc::Status st = s.schedule->CreateAppointment(s.Staff(clinic).get(), r, &a);
  INFO(st.error_message());
  REQUIRE(st.ok());
  return a.id();
}

v1::AppointmentsColumn Column(Stack& s, const std::string& clinic, const std::string& name,
                              std::vector<std::string> types, std::vector<std::string> providers,
                              std::vector<std::string> rooms, grpc::Status* status = nullptr) {
  v1::CreateAppointmentsColumnRequest r;
  r.set_name(name);
  for (auto& id : types) r.add_appointment_type_ids(id);
  for (auto& id : providers) r.add_provider_ids(id);
  for (auto& id : rooms) r.add_room_ids(id);
  v1::AppointmentsColumn c;
  grpc::Status st = s.view->CreateColumn(s.Admin(clinic).get(), r, &c);
  if (status) {
    *status = st;
  } else {
    INFO(st.error_message());
    REQUIRE(st.ok());
  }
  return c;
}

std::vector<std::string> ColumnNames(Stack& s, const std::string& clinic) {
  v1::ListAppointmentsColumnsResponse r;
  REQUIRE(s.view->ListColumns(s.Staff(clinic).get(), {}, &r).ok());
  std::vector<std::string> out;
  for (const auto& c : r.columns()) out.push_back(c.name());
  return out;
}

}  // namespace

TEST_CASE("appointments view: admins define, reorder and remove columns, and foreign ids are refused",
          "[request_forms][view]") {
  Stack s;
  const std::string clinic = s.Clinic(), other = s.Clinic();
  Schedule mine = MakeSchedule(s, clinic), theirs = MakeSchedule(s, other);

  v1::AppointmentsColumn tele = Column(s, clinic, "Telemedicine", {mine.telemedicine}, {}, {mine.video_room});
  v1::AppointmentsColumn dr_a = Column(s, clinic, "Dr. A", {}, {mine.dr_a}, {});
  v1::AppointmentsColumn all = Column(s, clinic, "Everything", {}, {}, {});
  CHECK(tele.position() == 0);
  CHECK(all.position() == 2);
  CHECK(tele.appointment_type_ids(0) == mine.telemedicine);
  CHECK(ColumnNames(s, clinic) == std::vector<std::string>{"Telemedicine", "Dr. A", "Everything"});

  // Another clinic's provider, type or room, or a made-up one: refused naming the filter, nothing added.
  struct Foreign {
    std::vector<std::string> types, providers, rooms;
    std::string field;
  };
  for (const Foreign& f : std::vector<Foreign>{{{theirs.telemedicine}, {}, {}, "appointmentTypeIds"},
                                               {{}, {mine.dr_a, theirs.dr_a}, {}, "providerIds"},
                                               {{}, {}, {theirs.exam}, "roomIds"},
                                               {{}, {}, {"not-an-id"}, "roomIds"}}) {
    grpc::Status st;
    Column(s, clinic, "Sneaky", f.types, f.providers, f.rooms, &st);
    CHECK_FALSE(st.ok());
    CHECK(FieldOf(st) == f.field);
  }
  v1::UpdateAppointmentsColumnRequest up;
  up.set_id(dr_a.id());
  up.mutable_provider_ids()->add_ids(theirs.dr_b);
  v1::AppointmentsColumn changed;
  grpc::Status refused = s.view->UpdateColumn(s.Admin(clinic).get(), up, &changed);
  CHECK(refused.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(FieldOf(refused) == "providerIds");
  // The other clinic cannot touch this clinic's column.
  up.mutable_provider_ids()->set_ids(0, mine.dr_b);
  CHECK(s.view->UpdateColumn(s.Admin(other).get(), up, &changed).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(ColumnNames(s, clinic) == std::vector<std::string>{"Telemedicine", "Dr. A", "Everything"});
  // Staff read; only admins change.
  v1::CreateAppointmentsColumnRequest by_staff;
  by_staff.set_name("Mine");
  CHECK(s.view->CreateColumn(s.Staff(clinic).get(), by_staff, &changed).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);

  up.set_name("Dr. B");
  REQUIRE(s.view->UpdateColumn(s.Admin(clinic).get(), up, &changed).ok());
  CHECK(changed.provider_ids_size() == 1);
  CHECK(changed.provider_ids(0) == mine.dr_b);
  CHECK(changed.position() == 1);

  v1::ReorderAppointmentsColumnsRequest order;
  order.add_column_ids(all.id());
  order.add_column_ids(tele.id());
  v1::ListAppointmentsColumnsResponse listed;
  grpc::Status partial = s.view->ReorderColumns(s.Admin(clinic).get(), order, &listed);
  CHECK(partial.error_code() == grpc::StatusCode::INVALID_ARGUMENT);  // every column, once
  CHECK(FieldOf(partial) == "columnIds");
  order.add_column_ids(dr_a.id());
  REQUIRE(s.view->ReorderColumns(s.Admin(clinic).get(), order, &listed).ok());
  CHECK(ColumnNames(s, clinic) == std::vector<std::string>{"Everything", "Telemedicine", "Dr. B"});

  v1::DeleteAppointmentsColumnRequest del;
  del.set_id(tele.id());
  v1::DeleteAppointmentsColumnResponse gone;
  CHECK(s.view->DeleteColumn(s.Admin(other).get(), del, &gone).error_code() == grpc::StatusCode::NOT_FOUND);
  REQUIRE(s.view->DeleteColumn(s.Admin(clinic).get(), del, &gone).ok());
  REQUIRE(s.view->ListColumns(s.Staff(clinic).get(), {}, &listed).ok());
  REQUIRE(listed.columns_size() == 2);
  CHECK(listed.columns(1).name() == "Dr. B");
  CHECK(listed.columns(1).position() == 1);
}

TEST_CASE("appointments view: a local day across the spring DST change, each column its matching appointments",
          "[request_forms][view]") {
  Stack s;
  const std::string clinic = s.Clinic("America/New_York");
  Schedule x = MakeSchedule(s, clinic);
  auto pat = s.Client(clinic, "Pat", "Rex");
  auto sam = s.Client(clinic, "Sam", "Tom");
  const absl::TimeZone ny = [] {
    absl::TimeZone z;
    REQUIRE(absl::LoadTimeZone("America/New_York", &z));
    return z;
  }();
  auto at = [&](int d, int h, int m) { return absl::FromCivil(absl::CivilSecond(2026, 3, d, h, m, 0), ny); };
  // 2026-03-08 is 23 hours long in New York: 02:00 EST jumps to 03:00 EDT.
  Book(s, clinic, pat, x.wellness, x.dr_a, x.exam, at(7, 23, 0));             // the evening before: not this day
  const std::string early = Book(s, clinic, pat, x.telemedicine, x.dr_a, x.video_room, at(8, 0, 30));  // EST
  const std::string morning = Book(s, clinic, sam, x.wellness, x.dr_b, x.exam, at(8, 9, 0));           // EDT
  const std::string late = Book(s, clinic, sam, x.telemedicine, x.dr_b, x.video_room, at(8, 23, 30));  // EDT
  const std::string cancelled = Book(s, clinic, pat, x.wellness, x.dr_a, x.exam, at(8, 12, 0));
  Book(s, clinic, pat, x.wellness, x.dr_a, x.exam, at(9, 0, 0));  // the next local day starts here
  v1::CancelAppointmentRequest cancel;
  cancel.set_id(cancelled);
  v1::Appointment ignored;
  REQUIRE(s.schedule->CancelAppointment(s.Staff(clinic).get(), cancel, &ignored).ok());

  Column(s, clinic, "Telemedicine", {x.telemedicine}, {}, {});
  Column(s, clinic, "Dr. B in Exam 1", {}, {x.dr_b}, {x.exam});
  Column(s, clinic, "Video room or exam, any type", {}, {}, {x.video_room, x.exam});
  Column(s, clinic, "All", {}, {}, {});

  v1::GetAppointmentsViewRequest req;
  req.set_date("2026-03-08");
  v1::AppointmentsView v;
  grpc::Status st = s.view->GetView(s.Staff(clinic).get(), req, &v);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(v.time_zone() == "America/New_York");
  REQUIRE(v.columns_size() == 4);
  auto ids = [&](int c) {
    std::vector<std::string> out;
    for (const auto& a : v.columns(c).appointments()) out.push_back(a.appointment_id());
    return out;
  };
  CHECK(v.columns(0).column().name() == "Telemedicine");
  CHECK(ids(0) == std::vector<std::string>{early, late});
  CHECK(ids(1) == std::vector<std::string>{morning});
  CHECK(ids(2) == std::vector<std::string>{early, morning, late});
  CHECK(ids(3) == std::vector<std::string>{early, morning, late});  // in time order, cancelled left out

  const v1::ViewAppointment& e = v.columns(3).appointments(0);
  CHECK(e.start_local() == "2026-03-08T00:30:00-05:00");
  CHECK(e.client_name() == "Pat Lee");
  CHECK(e.pet_name() == "Rex");
  CHECK(e.appointment_type_name() == "Telemedicine");
  CHECK(e.provider_name() == "Dr. A");
  CHECK(e.room_name() == "Video room");
  const v1::ViewAppointment& l = v.columns(3).appointments(2);
  CHECK(l.start_local() == "2026-03-08T23:30:00-04:00");
  CHECK(l.end_local() == "2026-03-09T00:00:00-04:00");
  CHECK(l.client_name() == "Sam Lee");
  CHECK(FromTimestamp(l.start_time()) == at(8, 23, 30));

  req.set_date("2026-02-30");
  grpc::Status bad = s.view->GetView(s.Staff(clinic).get(), req, &v);
  CHECK(bad.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(FieldOf(bad) == "date");
}

namespace {

// A telemedicine form with every rule and three questions.
v1::RequestForm TelemedicineForm(Stack& s, const std::string& clinic, v1::EligibilityRules rules,
                                 bool active = true) {
  v1::CreateRequestFormRequest r;
  r.set_name("Telemedicine appointment");
  r.set_description("A video visit for existing patients");
  r.set_active(active);
  *r.add_questions() = Question("", "Reason for visit", v1::LONG_TEXT, true);
  *r.add_questions() = Question("", "Is it urgent?", v1::YES_NO, true);
  *r.add_questions() = Question("", "Preferred time", v1::CHOICE, false, {"Morning", "Afternoon"});
  *r.mutable_rules() = rules;
  v1::RequestForm f;
  grpc::Status st = s.forms->CreateRequestForm(s.Admin(clinic).get(), r, &f);
  INFO(st.error_message());
  REQUIRE(st.ok());
  return f;
}

v1::SubmitFormRequestRequest Submission(const std::string& clinic, const v1::RequestForm& f, const std::string& token) {
  v1::SubmitFormRequestRequest r;
  r.set_clinic_id(clinic);
  r.set_form_id(f.id());
  r.set_visitor_token(token);
  auto* a = r.add_answers();
  a->set_question_id(f.questions(0).id());
  a->set_value("Itchy ears");
  a = r.add_answers();
  a->set_question_id(f.questions(1).id());
  a->set_value("no");
  r.set_confirms_camera_and_microphone(true);
  return r;
}

int64_t Requests(Stack& s) { return s.Count("SELECT count(*) AS n FROM booking.form_requests"); }
int64_t Events(Stack& s) {
  return s.Count("SELECT count(*) AS n FROM booking.outbox WHERE topic = 'conversation.requested'");
}

}  // namespace

TEST_CASE("request forms: only eligible visitors submit, and a request is stored with one conversation.requested event",
          "[request_forms][submit]") {
  Stack s;
  const std::string clinic = s.Clinic(), other = s.Clinic();
  const v1::RequestForm form = TelemedicineForm(s, clinic, Rules(true, 12, true));
  TelemedicineForm(s, clinic, Rules(false, 0, false), /*active=*/false);  // a draft: not on the widget

  // The widget sees the active form, questions and rules; nothing else.
  v1::ListPublicRequestFormsRequest lp;
  lp.set_clinic_id(clinic);
  v1::ListPublicRequestFormsResponse listed;
  REQUIRE(s.forms->ListPublicRequestForms(s.Anonymous().get(), lp, &listed).ok());
  REQUIRE(listed.request_forms_size() == 1);
  CHECK(listed.request_forms(0).name() == "Telemedicine appointment");
  CHECK(listed.request_forms(0).questions_size() == 3);
  CHECK(listed.request_forms(0).rules().visited_within_months() == 12);
  lp.set_clinic_id(other);
  REQUIRE(s.forms->ListPublicRequestForms(s.Anonymous().get(), lp, &listed).ok());
  CHECK(listed.request_forms_size() == 0);
  v1::GetPublicRequestFormRequest gp;
  gp.set_clinic_id(other);
  gp.set_form_id(form.id());
  v1::PublicRequestForm fetched;
  grpc::Status cross = s.forms->GetPublicRequestForm(s.Anonymous().get(), gp, &fetched);
  CHECK(cross.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(FieldOf(cross) == "formId");

  // Clients: one whose PIMS profile shows a visit 3 months ago, one who came to a
  // completed appointment in booking 2 months ago, one seen 2 years ago.
  const std::string recent = s.PimsClient(clinic, "C-RECENT", "2026-02-11");
  const std::string stale = s.PimsClient(clinic, "C-STALE", "2024-04-01");
  auto pat = s.Client(clinic, "Pat", "Rex");
  Schedule x = MakeSchedule(s, clinic);
  const std::string visit = Book(s, clinic, pat, x.wellness, x.dr_a, x.exam,
                                 absl::FromCivil(absl::CivilSecond(2026, 3, 20, 10, 0, 0), absl::UTCTimeZone()));
  s.Sql("UPDATE booking.appointments SET status = 'completed' WHERE id = $1", {visit});  // as the PIMS records it

  struct Refusal {
    std::string who;
    v1::SubmitFormRequestRequest req;
    grpc::StatusCode code;
    std::string field, says;
  };
  auto with = [&](std::string token) { return Submission(clinic, form, token); };
  v1::SubmitFormRequestRequest no_camera = with(s.Token(clinic, recent, "+15550001111"));
  no_camera.set_confirms_camera_and_microphone(false);
  v1::SubmitFormRequestRequest anonymous = with("");
  anonymous.set_contact("+1 555 000 2222");
  anonymous.set_contact_name("Walk In");
  v1::SubmitFormRequestRequest missing_answer = with(s.Token(clinic, recent, "+15550001111"));
  missing_answer.mutable_answers()->RemoveLast();
  v1::SubmitFormRequestRequest bad_choice = with(s.Token(clinic, recent, "+15550001111"));
  auto* choice = bad_choice.add_answers();
  choice->set_question_id(form.questions(2).id());
  choice->set_value("Midnight");
  v1::SubmitFormRequestRequest someone_elses_pet = with(s.Token(clinic, recent, "+15550001111"));
  someone_elses_pet.set_pet_id(pat.second);
  v1::SubmitFormRequestRequest wrong_contact = with(s.Token(clinic, recent, "+15550001111"));
  wrong_contact.set_contact("+15550009999");
  for (const Refusal& r : std::vector<Refusal>{
           {"anonymous", anonymous, grpc::StatusCode::FAILED_PRECONDITION, "visitorToken", "existingClientsOnly"},
           {"not a client", with(s.Token(clinic, "", "new@pets.example")), grpc::StatusCode::FAILED_PRECONDITION,
            "visitorToken", "existingClientsOnly"},
           {"seen 2 years ago", with(s.Token(clinic, stale, "+15550003333")), grpc::StatusCode::FAILED_PRECONDITION,
            "visitorToken", "visitedWithinMonths"},
           {"no camera", no_camera, grpc::StatusCode::FAILED_PRECONDITION, "confirmsCameraAndMicrophone",
            "requiresCameraAndMicrophone"},
           {"another clinic's token", with(s.Token(other, recent, "+15550001111")),
            grpc::StatusCode::UNAUTHENTICATED, "visitorToken", "visitor token invalid"},
           {"altered token", with(s.Token(clinic, recent, "+15550001111") + "x"), grpc::StatusCode::UNAUTHENTICATED,
            "visitorToken", "visitor token invalid"},
           {"required answer missing", missing_answer, grpc::StatusCode::INVALID_ARGUMENT, "answers",
            "\"Is it urgent?\" must be answered"},
           {"not an option", bad_choice, grpc::StatusCode::INVALID_ARGUMENT, "answers", "\"Preferred time\""},
           {"another client's pet", someone_elses_pet, grpc::StatusCode::NOT_FOUND, "petId", "pet"},
           {"contact differs from the token's", wrong_contact, grpc::StatusCode::INVALID_ARGUMENT, "contact", "token"},
       }) {
    v1::SubmitFormRequestResponse out;
    grpc::Status st = s.forms->SubmitRequest(s.Anonymous().get(), r.req, &out);
    INFO(r.who << ": " << st.error_message());
    CHECK(st.error_code() == r.code);
    CHECK(FieldOf(st) == r.field);
    CHECK(absl::StrContains(st.error_message(), r.says));
  }
  CHECK(Requests(s) == 0);  // nothing written by any refusal
  CHECK(Events(s) == 0);

  // Eligible: a recent PIMS visit; a completed booking appointment (with the pet named).
  v1::SubmitFormRequestResponse first, second;
  REQUIRE(s.forms->SubmitRequest(s.Anonymous().get(), with(s.Token(clinic, recent, "+15550001111")), &first).ok());
  v1::SubmitFormRequestRequest by_pat = with(s.Token(clinic, pat.first, "pat@pets.example"));
  by_pat.set_pet_id(pat.second);
  grpc::Status pat_st = s.forms->SubmitRequest(s.Anonymous().get(), by_pat, &second);
  INFO(pat_st.error_message());
  REQUIRE(pat_st.ok());
  CHECK(first.request_id() != second.request_id());
  CHECK(Requests(s) == 2);

  // One event per request, carrying the contract's fields and the answers for staff.
  pg::Result ev = s.Sql(
      "SELECT payload::text AS p FROM booking.outbox WHERE topic = 'conversation.requested' ORDER BY id");
  REQUIRE(ev.rows() == 2);
  nlohmann::json e1 = nlohmann::json::parse(ev.Text(0, "p")), e2 = nlohmann::json::parse(ev.Text(1, "p"));
  CHECK(e1["requestId"] == first.request_id());
  CHECK(e2["requestId"] == second.request_id());
  CHECK(e1["clinicId"] == clinic);
  CHECK(e1["clientId"] == recent);
  CHECK(e1["petId"] == "");
  CHECK(e1["contact"] == "+15550001111");
  CHECK(e1["contactName"] == "Ana Ruiz");
  CHECK(e1["subject"] == "Telemedicine appointment");
  const std::string text = e1["text"];
  CHECK(absl::StrContains(text, "Reason for visit: Itchy ears"));
  CHECK(absl::StrContains(text, "Is it urgent?: no"));
  CHECK(absl::StrContains(text, "camera and a microphone: confirmed"));
  CHECK(absl::StrContains(e1["clientText"].get<std::string>(), "We received your request"));
  CHECK(e2["clientId"] == pat.first);
  CHECK(e2["petId"] == pat.second);
  CHECK(e2["contactName"] == "Pat Lee");
  for (const char* key : {"clinicId", "clientId", "petId", "contact", "contactName", "subject", "text", "clientText",
                          "requestId"}) {
    CHECK(e1.contains(key));
  }

  // Staff list the form's requests newest first, mark one handled, filter by status.
  v1::ListFormRequestsRequest lr;
  lr.set_form_id(form.id());
  v1::ListFormRequestsResponse reqs;
  REQUIRE(s.forms->ListFormRequests(s.Staff(clinic).get(), lr, &reqs).ok());
  REQUIRE(reqs.requests_size() == 2);
  CHECK(reqs.requests(0).id() == second.request_id());
  CHECK(reqs.requests(0).status() == v1::NEW);
  CHECK(reqs.requests(1).answers(0).label() == "Reason for visit");
  CHECK(reqs.requests(1).contact_verified());
  lr.set_page_size(1);
  REQUIRE(s.forms->ListFormRequests(s.Staff(clinic).get(), lr, &reqs).ok());
  REQUIRE(reqs.requests_size() == 1);
  lr.set_page_token(reqs.next_page_token());
  v1::ListFormRequestsResponse page2;
  REQUIRE(s.forms->ListFormRequests(s.Staff(clinic).get(), lr, &page2).ok());
  REQUIRE(page2.requests_size() == 1);
  CHECK(page2.requests(0).id() == first.request_id());
  CHECK(page2.next_page_token().empty());

  v1::UpdateFormRequestRequest handle;
  handle.set_form_id(form.id());
  handle.set_id(first.request_id());
  handle.set_status(v1::HANDLED);
  v1::FormRequest handled;
  CHECK(s.forms->UpdateFormRequest(s.Staff(other).get(), handle, &handled).error_code() == grpc::StatusCode::NOT_FOUND);
  REQUIRE(s.forms->UpdateFormRequest(s.Staff(clinic).get(), handle, &handled).ok());
  CHECK(handled.status() == v1::HANDLED);
  v1::ListFormRequestsRequest only_new;
  only_new.set_form_id(form.id());
  only_new.set_status(v1::NEW);
  REQUIRE(s.forms->ListFormRequests(s.Staff(clinic).get(), only_new, &reqs).ok());
  REQUIRE(reqs.requests_size() == 1);
  CHECK(reqs.requests(0).id() == second.request_id());
  only_new.set_form_id(form.id());
  CHECK(s.forms->ListFormRequests(s.Staff(other).get(), only_new, &reqs).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(Events(s) == 2);  // handling writes no event
}

TEST_CASE("request forms: without a token a form without client rules takes contact details, and the portal "
          "client submits as themselves",
          "[request_forms][submit]") {
  Stack s;
  const std::string clinic = s.Clinic();
  const v1::RequestForm open = TelemedicineForm(s, clinic, Rules(false, 0, false));
  const v1::RequestForm clients_only = TelemedicineForm(s, clinic, Rules(true, 0, false));

  v1::SubmitFormRequestRequest r = Submission(clinic, open, "");
  v1::SubmitFormRequestResponse out;
  grpc::Status no_contact = s.forms->SubmitRequest(s.Anonymous().get(), r, &out);
  CHECK(no_contact.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(FieldOf(no_contact) == "contactName");
  r.set_contact_name("Walk In");
  r.set_contact("not a phone");
  CHECK(FieldOf(s.forms->SubmitRequest(s.Anonymous().get(), r, &out)) == "contact");
  CHECK(Requests(s) == 0);
  r.set_contact("+1 555 000 4444");
  grpc::Status st = s.forms->SubmitRequest(s.Anonymous().get(), r, &out);
  INFO(st.error_message());
  REQUIRE(st.ok());
  pg::Result ev = s.Sql("SELECT payload::text AS p FROM booking.outbox WHERE topic = 'conversation.requested'");
  REQUIRE(ev.rows() == 1);
  nlohmann::json e = nlohmann::json::parse(ev.Text(0, "p"));
  CHECK(e["contact"] == "+15550004444");
  CHECK(e["contactName"] == "Walk In");
  CHECK(e["clientId"] == "");
  CHECK(e["clientText"] == "");  // an unproved number gets no message from the clinic
  CHECK(absl::StrContains(e["text"].get<std::string>(), "(not verified)"));

  // The portal: a linked client submits the client-only form; a prospect cannot.
  auto pat = s.Client(clinic, "Pat", "Rex");
  v1::SubmitPortalFormRequestRequest p;
  p.set_form_id(clients_only.id());
  p.set_pet_id(pat.second);
  const v1::SubmitFormRequestRequest answered = Submission(clinic, clients_only, "");
  *p.mutable_answers() = answered.answers();
  grpc::Status prospect =
      s.forms->SubmitPortalRequest(s.As(testing::ClientPrincipal(clinic, "")).get(), p, &out);
  CHECK(prospect.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(absl::StrContains(prospect.error_message(), "existingClientsOnly"));
  CHECK(s.forms->SubmitPortalRequest(s.Staff(clinic).get(), p, &out).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  // Another clinic's form, or another client's pet: refused naming the field, nothing written.
  const std::string other = s.Clinic();
  const v1::RequestForm elsewhere = TelemedicineForm(s, other, Rules(false, 0, false));
  auto sam = s.Client(clinic, "Sam", "Tom");
  v1::SubmitPortalFormRequestRequest foreign = p;
  foreign.set_form_id(elsewhere.id());
  grpc::Status foreign_form =
      s.forms->SubmitPortalRequest(s.As(testing::ClientPrincipal(clinic, pat.first)).get(), foreign, &out);
  CHECK(foreign_form.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(FieldOf(foreign_form) == "formId");
  foreign = p;
  foreign.set_pet_id(sam.second);
  grpc::Status foreign_pet =
      s.forms->SubmitPortalRequest(s.As(testing::ClientPrincipal(clinic, pat.first)).get(), foreign, &out);
  CHECK(foreign_pet.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(FieldOf(foreign_pet) == "petId");
  CHECK(Events(s) == 1);
  REQUIRE(s.forms->SubmitPortalRequest(s.As(testing::ClientPrincipal(clinic, pat.first)).get(), p, &out).ok());
  pg::Result row = s.Sql("SELECT client_id::text AS c, pet_id::text AS p FROM booking.form_requests WHERE id = $1",
                         {out.request_id()});
  CHECK(row.Text(0, "c") == pat.first);
  CHECK(row.Text(0, "p") == pat.second);
  CHECK(Events(s) == 2);

  // A deactivated form takes nothing more.
  v1::UpdateRequestFormRequest off;
  off.set_id(clients_only.id());
  off.set_active(false);
  v1::RequestForm updated;
  REQUIRE(s.forms->UpdateRequestForm(s.Admin(clinic).get(), off, &updated).ok());
  grpc::Status inactive =
      s.forms->SubmitPortalRequest(s.As(testing::ClientPrincipal(clinic, pat.first)).get(), p, &out);
  CHECK(inactive.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(FieldOf(inactive) == "formId");
  CHECK(Events(s) == 2);
}

TEST_CASE("request forms: admins edit forms, question ids survive an edit, and bad input changes nothing",
          "[request_forms][admin]") {
  Stack s;
  const std::string clinic = s.Clinic(), other = s.Clinic();
  const v1::RequestForm form = TelemedicineForm(s, clinic, Rules(true, 12, true));

  v1::UpdateRequestFormRequest up;
  up.set_id(form.id());
  auto* q = up.mutable_questions()->add_questions();
  *q = form.questions(1);
  q->set_label("Urgent?");
  *up.mutable_questions()->add_questions() = Question("", "Pet's weight", v1::SHORT_TEXT, false);
  v1::RequestForm updated;
  REQUIRE(s.forms->UpdateRequestForm(s.Admin(clinic).get(), up, &updated).ok());
  REQUIRE(updated.questions_size() == 2);
  CHECK(updated.questions(0).id() == form.questions(1).id());
  CHECK(updated.questions(0).label() == "Urgent?");
  CHECK(updated.questions(1).id() != form.questions(0).id());
  CHECK(updated.rules().visited_within_months() == 12);  // absent rules stay

  v1::GetRequestFormRequest get;
  get.set_id(form.id());
  v1::RequestForm before;
  REQUIRE(s.forms->GetRequestForm(s.Staff(clinic).get(), get, &before).ok());
  struct Bad {
    v1::UpdateRequestFormRequest req;
    std::string field;
  };
  std::vector<Bad> bad(4);
  for (auto& b : bad) b.req.set_id(form.id());
  bad[0].req.mutable_questions()->add_questions()->set_label("No kind");
  bad[0].field = "questions.questions[0].kind";
  *bad[1].req.mutable_questions()->add_questions() = Question("made-up-id", "X", v1::SHORT_TEXT, false);
  bad[1].field = "questions.questions[0].id";
  bad[2].req.mutable_rules()->set_visited_within_months(500);
  bad[2].field = "rules.visitedWithinMonths";
  bad[3].req.set_name(" ");
  bad[3].field = "name";
  for (const Bad& b : bad) {
    grpc::Status st = s.forms->UpdateRequestForm(s.Admin(clinic).get(), b.req, &updated);
    INFO(b.field << ": " << st.error_message());
    CHECK_FALSE(st.ok());
    CHECK(FieldOf(st) == b.field);
  }
  v1::RequestForm after;
  REQUIRE(s.forms->GetRequestForm(s.Staff(clinic).get(), get, &after).ok());
  CHECK(after.SerializeAsString() == before.SerializeAsString());

  CHECK(s.forms->UpdateRequestForm(s.Staff(clinic).get(), up, &updated).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  CHECK(s.forms->GetRequestForm(s.Staff(other).get(), get, &after).error_code() == grpc::StatusCode::NOT_FOUND);
  v1::DeleteRequestFormRequest del;
  del.set_id(form.id());
  v1::DeleteRequestFormResponse gone;
  CHECK(s.forms->DeleteRequestForm(s.Admin(other).get(), del, &gone).error_code() == grpc::StatusCode::NOT_FOUND);
  REQUIRE(s.forms->DeleteRequestForm(s.Admin(clinic).get(), del, &gone).ok());
  v1::ListRequestFormsResponse listed;
  REQUIRE(s.forms->ListRequestForms(s.Staff(clinic).get(), {}, &listed).ok());
  CHECK(listed.request_forms_size() == 0);
}
