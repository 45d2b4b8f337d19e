// Direct booking over real gRPC with the real services it asks: identity (the clinic),
// clients (who has this email; new clients), conversations (the one-time code and the
// confirmation go out by email to a real SMTP server; booking's conversation.requested
// feed lands in the clinic's queue), on a real PostgreSQL. Booking runs on a fake clock so
// code and hold expiry and the cut-off are walked through without waiting.
#include <catch2/catch.hpp>

#include <cstdio>
#include <regex>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "libs/core/clock.h"
#include "libs/core/time.h"
#include "libs/testing/wait.h"
#include "services/booking/booking_component.h"
#include "services/booking/booking_repository.h"
#include "services/conversations/tests/inbox_fixture.h"
#include "tests/support/smtp_sink.h"
#include "vetline/booking/v1/booking.grpc.pb.h"
#include "vetline/booking/v1/direct_booking.grpc.pb.h"

using namespace vetline;
namespace v1 = vetline::booking::v1;
namespace cv1 = vetline::conversations::v1;

namespace {

// 2026-06-02 is a Tuesday; the clinic (America/Chicago, UTC-5 in June) opens 09:00-17:00.
const absl::Time kTen = absl::FromCivil(absl::CivilSecond(2026, 6, 2, 15, 0, 0), absl::UTCTimeZone());

conversations::ConversationsOptions Options(const testing::SmtpSink& sink) {
  conversations::ConversationsOptions o;
  o.delivery.smtp_url = sink.Url();
  o.delivery.workers = 1;
  o.delivery.options.email_from = "hello@maple.example";
  return o;
}

struct Stack {
  testing::SmtpSink sink{VETLINE_SOURCE_DIR};
  testing::InboxFixture fx{Options(sink), /*send=*/true};
  FakeClock clock{absl::FromCivil(absl::CivilSecond(2026, 5, 20, 12, 0, 0), absl::UTCTimeZone())};
  std::unique_ptr<rpc::RunningService> booking;
  std::unique_ptr<v1::DirectBookingService::Stub> direct;
  std::unique_ptr<v1::BookingService::Stub> staff;
  testing::InboxFixture::Clinic clinic;
  std::string type_id, provider_id;

  explicit Stack(bool allow_new_clients = true) {
    // Booking sends codes through conversations; a second conversations replica follows
    // booking's feed (each needs the other's address).
    rpc::ServiceEnv env = fx.env;
    env.peers["conversations"] = "127.0.0.1:" + std::to_string(fx.service->server().port());
    env.platform.public_url = "http://vet.example";
    booking = booking::Start(env, clock).value();
    const std::string address = "127.0.0.1:" + std::to_string(booking->server().port());
    fx.env.peers["booking"] = address;
    fx.AddReplica();
    auto channel = rpc::Dial(address);
    direct = v1::DirectBookingService::NewStub(channel);
    staff = v1::BookingService::NewStub(channel);
    clinic = fx.MakeClinic("Maple Vets", "maple.example");
    Setup(allow_new_clients);
  }

  void Setup(bool allow_new_clients) {
    v1::CreateAppointmentTypeRequest t;
    t.set_name("Wellness exam");
    t.set_duration_minutes(30);
    v1::AppointmentType type;
    REQUIRE(staff->CreateAppointmentType(fx.As(clinic.admin).get(), t, &type).ok());
    type_id = type.id();
    v1::UpdateAppointmentTypeRequest u;
    u.set_id(type_id);
    u.set_online_bookable(true);
    u.set_new_client_allowed(true);
    REQUIRE(staff->UpdateAppointmentType(fx.As(clinic.admin).get(), u, &type).ok());
    v1::CreateProviderRequest p;
    p.set_name("Dr Lee");
    v1::Provider provider;
    REQUIRE(staff->CreateProvider(fx.As(clinic.admin).get(), p, &provider).ok());
    provider_id = provider.id();
    v1::PutClinicHoursRequest h;
    for (v1::Weekday d : {v1::MONDAY, v1::TUESDAY, v1::WEDNESDAY, v1::THURSDAY, v1::FRIDAY}) {
      auto* w = h.mutable_schedule()->add_weekly();
      w->set_weekday(d);
      auto* r = w->add_ranges();
      r->set_open("09:00");
      r->set_close("17:00");
    }
    v1::Schedule sched;
    REQUIRE(staff->PutClinicHours(fx.As(clinic.admin).get(), h, &sched).ok());
    v1::UpdateSettingsRequest s;
    s.set_allow_new_clients(allow_new_clients);
    v1::BookingSettings settings;
    REQUIRE(staff->UpdateSettings(fx.As(clinic.admin).get(), s, &settings).ok());
  }

  grpc::Status RequestCode(const std::string& contact, v1::RequestCodeResponse* out = nullptr) {
    v1::RequestCodeRequest req;
    req.set_clinic_id(clinic.id);
    req.set_contact(contact);
    v1::RequestCodeResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = direct->RequestCode(&ctx, req, out ? out : &resp);
    return st;
  }

  // The newest code the SMTP server received for `email`.
  std::string CodeSentTo(const std::string& email) {
    std::string code;
    REQUIRE(testing::WaitUntil(
        [&] {
          for (const std::string& path : sink.Messages()) {
            const std::string m = testing::SmtpSink::Read(path);
            std::smatch match;
            if (absl::StrContains(m, "To: " + email) && std::regex_search(m, match, std::regex("code is ([0-9]{6})"))) {
              code = match[1];
            }
          }
          return !code.empty();
        },
        absl::Seconds(10)));
    return code;
  }

  grpc::Status Verify(const std::string& contact, const std::string& code, v1::VerifyCodeResponse* out) {
    v1::VerifyCodeRequest req;
    req.set_clinic_id(clinic.id);
    req.set_contact(contact);
    req.set_code(code);
    grpc::ClientContext ctx;
    return direct->VerifyCode(&ctx, req, out);
  }

  v1::VerifyCodeResponse Prove(const std::string& email) {
    REQUIRE(RequestCode(email).ok());
    const std::string code = CodeSentTo(email);
    v1::VerifyCodeResponse out;
    grpc::Status st = Verify(email, code, &out);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return out;
  }

  grpc::Status Hold(const std::string& token, const std::string& pet_id, absl::Time start, v1::Hold* out) {
    v1::HoldSlotRequest req;
    req.set_clinic_id(clinic.id);
    req.set_visitor_token(token);
    req.set_appointment_type_id(type_id);
    req.set_pet_id(pet_id);
    *req.mutable_start_time() = ToTimestamp(start);
    grpc::ClientContext ctx;
    return direct->HoldSlot(&ctx, req, out);
  }

  grpc::Status Confirm(const std::string& token, const std::string& hold_id, v1::BookedAppointment* out,
                       const v1::NewClientDetails* details = nullptr) {
    v1::ConfirmBookingRequest req;
    req.set_clinic_id(clinic.id);
    req.set_visitor_token(token);
    req.set_hold_id(hold_id);
    if (details) *req.mutable_new_client() = *details;
    grpc::ClientContext ctx;
    return direct->ConfirmBooking(&ctx, req, out);
  }

  int64_t Count(const std::string& sql) { return fx.Count(sql); }
};

std::string Field(const grpc::Status& st) {
  // rpc::ToGrpc puts the field in the message's "field" detail; the text names it too.
  return st.error_details();
}

std::string TokenOf(const std::string& url) { return url.substr(url.find("?t=") + 3); }

}  // namespace

TEST_CASE("direct booking: an existing client books with a code read from the email and the clinic sees it on top",
          "[booking][direct]") {
  Stack s;
  auto ann = s.fx.MakeClient(s.clinic, "Ann", "Lee", "", "ann@example.com");
  auto rex = s.fx.AddPet(s.clinic, ann.id(), "Rex");
  // An older conversation of someone else, so "on top" means something.
  auto other = s.fx.MakeClient(s.clinic, "Bo", "Kim", "", "bo@example.com");
  auto other_chat = s.fx.Start(s.clinic.staff, other.id());
  s.fx.MustSend(s.clinic.staff, other_chat.id(), "Your invoice is ready");

  // No enumeration: the answer for a stranger is the same as for a client, and a code goes
  // to both.
  v1::RequestCodeResponse known, unknown;
  REQUIRE(s.RequestCode("Ann@Example.com", &known).ok());
  REQUIRE(s.RequestCode("nobody@example.com", &unknown).ok());
  CHECK(known.ByteSizeLong() == unknown.ByteSizeLong());
  CHECK(known.expires_at().seconds() == unknown.expires_at().seconds());
  CHECK_FALSE(s.CodeSentTo("nobody@example.com").empty());

  const std::string code = s.CodeSentTo("ann@example.com");
  v1::VerifyCodeResponse visitor;
  grpc::Status st = s.Verify("ann@example.com", code, &visitor);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(visitor.existing_client());
  REQUIRE(visitor.pets_size() == 1);
  CHECK(visitor.pets(0).name() == "Rex");
  CHECK(visitor.pets(0).id() == rex.id());
  // Single use.
  v1::VerifyCodeResponse again;
  st = s.Verify("ann@example.com", code, &again);
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(absl::StrContains(st.error_message(), "already used"));

  // Open slots come from the engine: 09:00..16:30 every 15 minutes on a Tuesday.
  v1::ListOpenSlotsRequest slots_req;
  slots_req.set_clinic_id(s.clinic.id);
  slots_req.set_visitor_token(visitor.visitor_token());
  slots_req.set_appointment_type_id(s.type_id);
  slots_req.set_from("2026-06-02");
  slots_req.set_to("2026-06-02");
  v1::ListOpenSlotsResponse slots;
  {
    grpc::ClientContext ctx;
    REQUIRE(s.direct->ListOpenSlots(&ctx, slots_req, &slots).ok());
  }
  CHECK(slots.slots_size() == 31);

  v1::Hold hold;
  st = s.Hold(visitor.visitor_token(), rex.id(), kTen, &hold);
  INFO(st.error_message());
  REQUIRE(st.ok());
  // The held slot is gone from the open slots at once.
  v1::ListOpenSlotsResponse after;
  {
    grpc::ClientContext ctx;
    REQUIRE(s.direct->ListOpenSlots(&ctx, slots_req, &after).ok());
  }
  CHECK(after.slots_size() == slots.slots_size() - 3);  // 09:45, 10:00, 10:15 overlap it

  v1::BookedAppointment booked;
  st = s.Confirm(visitor.visitor_token(), hold.hold_id(), &booked);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(booked.status() == "scheduled");
  CHECK(absl::StartsWith(booked.manage_url(), "http://vet.example/portal/appointments/" + booked.appointment_id() + "?t="));
  // In the schedule at once, as a direct booking with the PIMS description.
  CHECK(s.Count("SELECT count(*) AS n FROM booking.appointments WHERE id = '" + booked.appointment_id() +
                "' AND status = 'scheduled' AND source = 'direct_booking' AND NOT new_client AND client_id = '" +
                ann.id() + "' AND pet_id = '" + rex.id() + "' AND description = '[Vetline Direct Booking]'") == 1);
  CHECK(s.Count("SELECT count(*) AS n FROM booking.outbox WHERE topic = 'appointment.created' AND "
                "payload::jsonb->>'description' = '[Vetline Direct Booking]' AND "
                "(payload::jsonb->>'newClient')::boolean = false") == 1);

  // The conversation with the details is on top of the queue, unread for staff.
  cv1::ListConversationsResponse queue;
  REQUIRE(testing::WaitUntil(
      [&] {
        cv1::ListConversationsRequest req;
        queue.Clear();
        return s.fx.inbox->ListConversations(s.fx.As(s.clinic.staff).get(), req, &queue).ok() &&
               queue.conversations_size() > 0 && queue.conversations(0).client_id() == ann.id();
      },
      absl::Seconds(20)));
  CHECK(queue.conversations(0).staff_unread() >= 1);
  auto messages = s.fx.Messages(s.clinic.staff, queue.conversations(0).id());
  REQUIRE(messages.size() == 2);
  bool details = false, confirmation = false;
  for (const auto& m : messages) {
    details = details || (absl::StrContains(m.text(), "Booked online: Wellness exam for Rex") &&
                          absl::StrContains(m.text(), "Ann Lee") && absl::StrContains(m.text(), "10:00"));
    confirmation = confirmation || absl::StrContains(m.text(), booked.manage_url());
  }
  CHECK(details);
  CHECK(confirmation);
  // The confirmation went out by email with the link.
  REQUIRE(testing::WaitUntil(
      [&] {
        for (const std::string& path : s.sink.Messages()) {
          const std::string m = testing::SmtpSink::Read(path);
          if (absl::StrContains(m, "To: ann@example.com") && absl::StrContains(m, "Your appointment is booked")) return true;
        }
        return false;
      },
      absl::Seconds(20)));
  // A replayed feed record posts nothing twice: the consumer's cursor is wound back to
  // the start, it reads the record again, and there is still one request and two messages.
  CHECK(s.Count("SELECT count(*) AS n FROM conversations.requested") == 1);
  REQUIRE(s.fx.Sql("UPDATE conversations.outbox_cursors SET last_id = 0 WHERE source = 'booking'").ok());
  REQUIRE(testing::WaitUntil(
      [&] { return s.Count("SELECT last_id AS n FROM conversations.outbox_cursors WHERE source = 'booking'") > 0; },
      absl::Seconds(20)));
  CHECK(s.Count("SELECT count(*) AS n FROM conversations.requested") == 1);
  CHECK(s.fx.Messages(s.clinic.staff, queue.conversations(0).id()).size() == 2);

  // The link: view, and cancel before the cut-off (24 h).
  v1::ManagedAppointmentRequest manage;
  manage.set_clinic_id(s.clinic.id);
  manage.set_appointment_id(booked.appointment_id());
  manage.set_manage_token(TokenOf(booked.manage_url()));
  v1::BookedAppointment seen;
  {
    grpc::ClientContext ctx;
    REQUIRE(s.direct->GetManagedAppointment(&ctx, manage, &seen).ok());
  }
  CHECK(seen.pet_name() == "Rex");
  CHECK(seen.appointment_type_name() == "Wellness exam");
  // A link for another appointment id is refused.
  v1::ManagedAppointmentRequest forged = manage;
  forged.set_appointment_id("00000000-0000-4000-8000-000000000002");
  {
    grpc::ClientContext ctx;
    CHECK(s.direct->CancelManagedAppointment(&ctx, forged, &seen).error_code() == grpc::StatusCode::PERMISSION_DENIED);
  }
  // Moved with the link to 11:00, the same provider; the old slot is free again.
  const absl::Time eleven = kTen + absl::Hours(1);
  // The link alone lists the open slots to move to (its appointment's type); a forged
  // link lists nothing.
  v1::ListOpenSlotsRequest move_slots;
  move_slots.set_clinic_id(s.clinic.id);
  move_slots.set_manage_token(manage.manage_token());
  move_slots.set_appointment_id(booked.appointment_id());
  move_slots.set_from("2026-06-02");
  move_slots.set_to("2026-06-02");
  {
    grpc::ClientContext ctx;
    v1::ListOpenSlotsResponse open;
    st = s.direct->ListOpenSlots(&ctx, move_slots, &open);
    INFO(st.error_message());
    REQUIRE(st.ok());
    CHECK(open.slots_size() == after.slots_size());  // the booked 10:00 still blocks its neighbours
    bool has_eleven = false;
    for (const auto& slot : open.slots()) has_eleven = has_eleven || FromTimestamp(slot.start_time()) == eleven;
    CHECK(has_eleven);
  }
  {
    grpc::ClientContext ctx;
    v1::ListOpenSlotsRequest forged_slots = move_slots;
    forged_slots.set_appointment_id("00000000-0000-4000-8000-000000000002");
    v1::ListOpenSlotsResponse open;
    st = s.direct->ListOpenSlots(&ctx, forged_slots, &open);
    CHECK(st.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(Field(st) == "manageToken");
    CHECK(open.slots_size() == 0);
  }
  v1::RescheduleAppointmentRequest move;
  move.set_clinic_id(s.clinic.id);
  move.set_appointment_id(booked.appointment_id());
  move.set_manage_token(manage.manage_token());
  *move.mutable_start_time() = ToTimestamp(eleven);
  {
    grpc::ClientContext ctx;
    st = s.direct->RescheduleManagedAppointment(&ctx, move, &seen);
  }
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(FromTimestamp(seen.start_time()) == eleven);
  CHECK(s.Count("SELECT count(*) AS n FROM booking.outbox WHERE topic = 'appointment.moved'") == 1);
  // After the cut-off nothing changes.
  s.clock.Set(eleven - absl::Hours(23));
  {
    grpc::ClientContext ctx;
    st = s.direct->CancelManagedAppointment(&ctx, manage, &seen);
  }
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(absl::StrContains(st.error_message(), "no longer be changed online"));
  CHECK(s.Count("SELECT count(*) AS n FROM booking.appointments WHERE status = 'scheduled'") == 1);
  s.clock.Set(eleven - absl::Hours(25));
  {
    grpc::ClientContext ctx;
    st = s.direct->CancelManagedAppointment(&ctx, manage, &seen);
  }
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(seen.status() == "cancelled");
  CHECK(s.Count("SELECT count(*) AS n FROM booking.outbox WHERE topic = 'appointment.cancelled'") == 1);
}

TEST_CASE("direct booking: codes expire and are single use and lock after five wrong tries and bad input is named",
          "[booking][direct]") {
  Stack s;
  v1::VerifyCodeResponse out;
  REQUIRE(s.RequestCode("pat@example.com").ok());
  std::string code = s.CodeSentTo("pat@example.com");
  const std::string wrong = code == "000000" ? "111111" : "000000";
  for (int i = 0; i < 5; ++i) {
    grpc::Status st = s.Verify("pat@example.com", wrong, &out);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
  // Locked: even the right code no longer works.
  grpc::Status st = s.Verify("pat@example.com", code, &out);
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(absl::StrContains(st.error_message(), "too many wrong codes"));

  // A fresh code expires after ten minutes.
  for (const std::string& path : s.sink.Messages()) std::remove(path.c_str());
  REQUIRE(s.RequestCode("pat@example.com").ok());
  code = s.CodeSentTo("pat@example.com");
  s.clock.Advance(absl::Minutes(11));
  st = s.Verify("pat@example.com", code, &out);
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(absl::StrContains(st.error_message(), "expired"));

  // Malformed input names its field and writes nothing.
  const int64_t codes = s.Count("SELECT count(*) AS n FROM booking.direct_codes");
  st = s.RequestCode("not a phone");
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(absl::StrContains(Field(st), "contact"));
  st = s.RequestCode("bad@@example");
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  st = s.Verify("pat@example.com", "12ab56", &out);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(absl::StrContains(Field(st), "code"));
  v1::RequestCodeRequest unknown_clinic;
  unknown_clinic.set_clinic_id("00000000-0000-4000-8000-000000000001");
  unknown_clinic.set_contact("pat@example.com");
  v1::RequestCodeResponse r;
  {
    grpc::ClientContext ctx;
    st = s.direct->RequestCode(&ctx, unknown_clinic, &r);
  }
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(absl::StrContains(Field(st), "clinicId"));
  CHECK(s.Count("SELECT count(*) AS n FROM booking.direct_codes") == codes);
  // A step after the code without a token.
  v1::Hold hold;
  st = s.Hold("", "", kTen, &hold);
  CHECK(st.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(absl::StrContains(Field(st), "visitorToken"));
}

TEST_CASE("direct booking: a new client books when the clinic allows it and client and pet are created",
          "[booking][direct]") {
  Stack s;
  v1::VerifyCodeResponse visitor = s.Prove("new@example.com");
  CHECK_FALSE(visitor.existing_client());
  CHECK(visitor.new_client_allowed());
  v1::Hold hold;
  grpc::Status st = s.Hold(visitor.visitor_token(), "", kTen, &hold);
  INFO(st.error_message());
  REQUIRE(st.ok());
  v1::BookedAppointment booked;
  // The details are required and named.
  st = s.Confirm(visitor.visitor_token(), hold.hold_id(), &booked);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(absl::StrContains(Field(st), "newClient.firstName"));
  v1::NewClientDetails d;
  d.set_first_name("Noa");
  d.set_last_name("Park");
  d.set_pet_name("Miso");
  d.set_pet_species("cat");
  st = s.Confirm(visitor.visitor_token(), hold.hold_id(), &booked, &d);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(s.Count("SELECT count(*) AS n FROM booking.appointments WHERE new_client AND "
                "description = '[Vetline Direct Booking - New Client]' AND client_id IS NOT NULL AND pet_id IS NOT NULL") == 1);
  CHECK(s.Count("SELECT count(*) AS n FROM booking.outbox WHERE topic = 'appointment.created' AND "
                "(payload::jsonb->>'newClient')::boolean") == 1);
  CHECK(s.Count("SELECT count(*) AS n FROM clients.clients c JOIN clients.emails e ON e.client_id = c.id "
                "WHERE c.first_name = 'Noa' AND e.address = 'new@example.com'") == 1);
  CHECK(s.Count("SELECT count(*) AS n FROM clients.pets WHERE name = 'Miso' AND species = 'cat'") == 1);
  REQUIRE(testing::WaitUntil(
      [&] { return s.Count("SELECT count(*) AS n FROM conversations.requested") == 1; }, absl::Seconds(20)));
}

TEST_CASE("direct booking: a clinic that books existing clients only sends a new client to the request form",
          "[booking][direct]") {
  Stack s(/*allow_new_clients=*/false);
  v1::VerifyCodeResponse visitor = s.Prove("new@example.com");
  CHECK_FALSE(visitor.new_client_allowed());
  v1::Hold hold;
  grpc::Status st = s.Hold(visitor.visitor_token(), "", kTen, &hold);
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(absl::StrContains(st.error_message(), "request form"));
  CHECK(s.Count("SELECT count(*) AS n FROM booking.appointments") == 0);
}

TEST_CASE("direct booking: holds keep a slot for one visitor and expire and a race has one winner",
          "[booking][direct]") {
  Stack s;
  auto ann = s.fx.MakeClient(s.clinic, "Ann", "Lee", "", "ann@example.com");
  auto rex = s.fx.AddPet(s.clinic, ann.id(), "Rex");
  auto bo = s.fx.MakeClient(s.clinic, "Bo", "Kim", "", "bo@example.com");
  auto kit = s.fx.AddPet(s.clinic, bo.id(), "Kit");
  const std::string a = s.Prove("ann@example.com").visitor_token();
  const std::string b = s.Prove("bo@example.com").visitor_token();

  v1::Hold hold;
  // Another client's pet, a slot outside the hours, and a slot in the past are refused.
  grpc::Status st = s.Hold(a, kit.id(), kTen, &hold);
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(absl::StrContains(Field(st), "petId"));
  st = s.Hold(a, rex.id(), kTen + absl::Hours(9), &hold);  // 19:00 local
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(absl::StrContains(Field(st), "startTime"));
  st = s.Hold(a, rex.id(), absl::FromCivil(absl::CivilSecond(2026, 5, 19, 15, 0, 0), absl::UTCTimeZone()), &hold);
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(s.Count("SELECT count(*) AS n FROM booking.appointments") == 0);

  // A race on one slot: exactly one hold.
  std::atomic<int> won{0}, lost{0};
  std::vector<std::thread> racers;
  for (int i = 0; i < 6; ++i) {
    racers.emplace_back([&, i] {
      v1::Hold h;
      grpc::Status r = s.Hold(i % 2 ? a : b, i % 2 ? rex.id() : kit.id(), kTen, &h);
      if (r.ok()) {
        ++won;
      } else if (r.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
                 absl::StrContains(r.error_message(), "slot no longer available")) {
        ++lost;
      }
    });
  }
  for (auto& t : racers) t.join();
  CHECK(won == 1);
  CHECK(lost == 5);
  pg::Result held(nullptr);
  REQUIRE(s.fx.pool->WithSession([&](pg::Session& ses) -> absl::Status {
    auto r = ses.ExecRaw("SELECT id::text AS id, client_id::text AS client FROM booking.appointments WHERE status = 'held'");
    if (!r.ok()) return r.status();
    held = std::move(*r);
    return absl::OkStatus();
  }).ok());
  REQUIRE(held.rows() == 1);
  const std::string hold_id = held.Text(0, "id");
  const bool ann_won = held.Text(0, "client") == ann.id();
  const std::string& winner = ann_won ? a : b;
  const std::string& loser = ann_won ? b : a;

  // Someone else's hold cannot be confirmed.
  v1::BookedAppointment booked;
  st = s.Confirm(loser, hold_id, &booked);
  CHECK(st.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(absl::StrContains(Field(st), "holdId"));
  // After five minutes the hold has expired: confirming it is a clear error, and the slot
  // is open again for the other visitor (the expired hold gives way in their transaction).
  s.clock.Advance(absl::Minutes(6));
  st = s.Confirm(winner, hold_id, &booked);
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(absl::StrContains(Field(st), "holdId"));
  CHECK(absl::StrContains(st.error_message(), "expired"));
  st = s.Hold(loser, ann_won ? kit.id() : rex.id(), kTen, &hold);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(s.Count("SELECT count(*) AS n FROM booking.appointments") == 1);
  st = s.Confirm(loser, hold.hold_id(), &booked);
  INFO(st.error_message());
  REQUIRE(st.ok());
  // A staff booking over the booked slot loses like any overlap.
  CHECK(s.Count("SELECT count(*) AS n FROM booking.appointments WHERE status = 'scheduled'") == 1);
}

TEST_CASE("direct booking: an expired hold frees its slot at once and its row is swept later", "[booking][direct]") {
  Stack s;
  auto ann = s.fx.MakeClient(s.clinic, "Ann", "Lee", "", "ann@example.com");
  auto rex = s.fx.AddPet(s.clinic, ann.id(), "Rex");
  const std::string a = s.Prove("ann@example.com").visitor_token();
  v1::Hold first, second;
  REQUIRE(s.Hold(a, rex.id(), kTen, &first).ok());
  s.clock.Advance(absl::Minutes(30));  // the first hold expired 25 minutes ago
  REQUIRE(s.Hold(a, rex.id(), kTen + absl::Hours(2), &second).ok());
  auto starts = [&] {
    v1::GetAvailabilityRequest q;
    q.set_appointment_type_id(s.type_id);
    q.set_from("2026-06-02");
    q.set_to("2026-06-02");
    v1::GetAvailabilityResponse open;
    grpc::Status st = s.staff->GetAvailability(s.fx.As(s.clinic.staff).get(), q, &open);
    INFO(st.error_message());
    REQUIRE(st.ok());
    std::set<absl::Time> out;
    for (const auto& slot : open.slots()) out.insert(FromTimestamp(slot.start_time()));
    return out;
  };
  // Staff availability offers the expired hold's slot though its row is still there; the
  // live hold keeps its own.
  CHECK(s.Count("SELECT count(*) AS n FROM booking.appointments WHERE status = 'held'") == 2);
  std::set<absl::Time> open = starts();
  CHECK(open.count(kTen) == 1);
  CHECK(open.count(kTen + absl::Hours(2)) == 0);
  // The sweep takes holds that expired before its cut-off and leaves the live one; the
  // answer is the same after it.
  booking::BookingRepository repo(s.fx.pool);
  auto swept = repo.SweepExpiredHolds(s.clock.Now(), 500);
  REQUIRE(swept.ok());
  CHECK(*swept == 1);
  CHECK(s.Count("SELECT count(*) AS n FROM booking.appointments WHERE status = 'held' AND id = '" +
                second.hold_id() + "'") == 1);
  CHECK(s.Count("SELECT count(*) AS n FROM booking.appointments") == 1);
  CHECK(starts() == open);
}

TEST_CASE("direct booking: a signed-in portal client takes the same steps without a code", "[booking][direct]") {
  Stack s;
  auto ann = s.fx.MakeClient(s.clinic, "Ann", "Lee", "", "ann@example.com");
  auto rex = s.fx.AddPet(s.clinic, ann.id(), "Rex");
  const api::Principal portal = testing::ClientPrincipal(s.clinic.id, ann.id());
  v1::HoldSlotRequest req;
  req.set_clinic_id(s.clinic.id);
  req.set_appointment_type_id(s.type_id);
  req.set_pet_id(rex.id());
  *req.mutable_start_time() = ToTimestamp(kTen);
  v1::Hold hold;
  grpc::Status st = s.direct->HoldSlot(s.fx.As(portal).get(), req, &hold);
  INFO(st.error_message());
  REQUIRE(st.ok());
  // Another portal client cannot confirm it.
  auto bo = s.fx.MakeClient(s.clinic, "Bo", "Kim", "", "bo@example.com");
  v1::ConfirmBookingRequest confirm;
  confirm.set_clinic_id(s.clinic.id);
  confirm.set_hold_id(hold.hold_id());
  v1::BookedAppointment booked;
  st = s.direct->ConfirmBooking(s.fx.As(testing::ClientPrincipal(s.clinic.id, bo.id())).get(), confirm, &booked);
  CHECK(st.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  st = s.direct->ConfirmBooking(s.fx.As(portal).get(), confirm, &booked);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(s.Count("SELECT count(*) AS n FROM booking.appointments WHERE status = 'scheduled' AND client_id = '" +
                ann.id() + "'") == 1);
}
