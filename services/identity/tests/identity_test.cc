// The identity service over real gRPC against a real PostgreSQL.
#include <catch2/catch.hpp>
#include <grpcpp/health_check_service_interface.h>

#include "libs/core/clock.h"
#include "libs/rpc/rpc.h"
#include "services/clients/clients_component.h"
#include "tests/support/identity_stack.h"

using namespace vetline;
namespace v1 = vetline::identity::v1;
using testing::IdentityStack;

namespace {

constexpr char kPassword[] = "correct horse battery";

// A clinic with an admin session, ready for calls.
struct Clinic {
  v1::CreateClinicResponse created;
  api::Principal admin;
};

Clinic MakeClinic(IdentityStack& s, const std::string& name, const std::string& email) {
  Clinic c;
  c.created = s.CreateClinic(name, email, kPassword);
  std::string token = s.Login(email, kPassword);
  REQUIRE_FALSE(token.empty());
  c.admin = s.Authenticate(token).value();
  return c;
}

api::Principal AddStaff(IdentityStack& s, const Clinic& c, const std::string& email,
                        v1::Role role) {
  v1::CreateStaffRequest req;
  req.set_email(email);
  req.set_name("Staff " + email);
  req.set_role(role);
  req.set_password(kPassword);
  v1::StaffUser u;
  REQUIRE(s.stub().CreateStaff(s.As(&c.admin).get(), req, &u).ok());
  return s.Authenticate(s.Login(email, kPassword)).value();
}

int CountStaff(IdentityStack& s, const api::Principal& p) {
  v1::ListStaffResponse resp;
  REQUIRE(s.stub().ListStaff(s.As(&p).get(), {}, &resp).ok());
  return resp.staff_size();
}

}  // namespace

TEST_CASE("identity: login issues a session the gateway can authenticate", "[identity]") {
  IdentityStack s;
  Clinic c = MakeClinic(s, "Maple Vet", "admin@maple.example");
  CHECK(c.admin.kind() == api::Principal::STAFF);
  CHECK(c.admin.clinic_id() == c.created.clinic().id());
  CHECK(c.admin.role() == "admin");
  CHECK_FALSE(c.admin.session_id().empty());

  v1::LoginRequest req;
  req.set_email("  ADMIN@maple.example ");  // emails are case- and space-insensitive
  req.set_password(kPassword);
  v1::LoginResponse resp;
  REQUIRE(s.stub().Login(s.As(nullptr).get(), req, &resp).ok());
  CHECK(resp.token().rfind("vls_", 0) == 0);
  CHECK(resp.expires_at().seconds() > absl::ToUnixSeconds(absl::Now() + absl::Hours(11)));
}

TEST_CASE("identity: wrong password and unknown email get the same answer", "[identity]") {
  IdentityStack s;
  MakeClinic(s, "Maple Vet", "admin@maple.example");
  v1::LoginRequest req;
  v1::LoginResponse resp;
  req.set_email("admin@maple.example");
  req.set_password("wrong password!");
  grpc::Status wrong = s.stub().Login(s.As(nullptr).get(), req, &resp);
  req.set_email("nobody@maple.example");
  grpc::Status unknown = s.stub().Login(s.As(nullptr).get(), req, &resp);
  CHECK(wrong.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(unknown.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(wrong.error_message() == unknown.error_message());
  req.set_email("not an email");
  grpc::Status bad = s.stub().Login(s.As(nullptr).get(), req, &resp);
  CHECK(bad.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(bad.error_details() == "email");
}

TEST_CASE("identity: expired and revoked sessions stop authenticating", "[identity]") {
  FakeClock clock(absl::Now());
  IdentityStack s(&clock);
  Clinic c = MakeClinic(s, "Maple Vet", "admin@maple.example");
  std::string token = s.Login("admin@maple.example", kPassword);
  REQUIRE(s.Authenticate(token).ok());

  SECTION("expiry") {
    clock.Advance(absl::Hours(12) + absl::Seconds(1));
    CHECK(s.Authenticate(token).status().code() == absl::StatusCode::kUnauthenticated);
  }
  SECTION("logout revokes only this session") {
    api::Principal p = s.Authenticate(token).value();
    v1::LogoutResponse out;
    REQUIRE(s.stub().Logout(s.As(&p).get(), {}, &out).ok());
    CHECK(s.Authenticate(token).status().code() == absl::StatusCode::kUnauthenticated);
    CHECK(s.Authenticate(s.Login("admin@maple.example", kPassword)).ok());
  }
  SECTION("garbage tokens") {
    CHECK(s.Authenticate("vls_nope").status().code() == absl::StatusCode::kUnauthenticated);
    CHECK(s.Authenticate("").status().code() == absl::StatusCode::kUnauthenticated);
  }
}

TEST_CASE("identity: only services may authenticate tokens or create clinics", "[identity]") {
  IdentityStack s;
  Clinic c = MakeClinic(s, "Maple Vet", "admin@maple.example");
  v1::AuthenticateRequest req;
  req.set_token(s.Login("admin@maple.example", kPassword));
  api::Principal out;
  CHECK(s.stub().Authenticate(s.As(&c.admin).get(), req, &out).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  // No principal, or a principal signed with another key, is not a caller at all.
  CHECK(s.stub().Authenticate(s.As(nullptr).get(), req, &out).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  auth::PrincipalSigner forger(auth::Key::FromSecret("some other secret entirely").value());
  grpc::ClientContext forged;
  rpc::AttachPrincipal(forged, IdentityStack::Platform(), forger);
  CHECK(s.stub().Authenticate(&forged, req, &out).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  v1::CreateClinicRequest cc;
  v1::CreateClinicResponse cr;
  CHECK(s.stub().CreateClinic(s.As(&c.admin).get(), cc, &cr).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
}

TEST_CASE("identity: a clinic's principal gets 404 for everything of another clinic",
          "[identity][tenancy]") {
  IdentityStack s;
  Clinic a = MakeClinic(s, "Maple Vet", "admin@maple.example");
  Clinic b = MakeClinic(s, "Oak Animal Hospital", "admin@oak.example");
  api::Principal b_staff = AddStaff(s, b, "tech@oak.example", v1::STAFF);

  v1::Clinic clinic;
  v1::GetClinicRequest gc;
  gc.set_id(a.created.clinic().id());
  REQUIRE(s.stub().GetClinic(s.As(&a.admin).get(), gc, &clinic).ok());
  CHECK(clinic.name() == "Maple Vet");
  CHECK(clinic.time_zone() == "America/Chicago");
  gc.set_id(b.created.clinic().id());
  CHECK(s.stub().GetClinic(s.As(&a.admin).get(), gc, &clinic).error_code() ==
        grpc::StatusCode::NOT_FOUND);

  v1::GetStaffRequest gs;
  gs.set_id(b_staff.user_id());
  v1::StaffUser u;
  CHECK(s.stub().GetStaff(s.As(&a.admin).get(), gs, &u).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  v1::UpdateStaffRequest us;
  us.set_id(b_staff.user_id());
  us.set_name("Hijacked");
  CHECK(s.stub().UpdateStaff(s.As(&a.admin).get(), us, &u).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  v1::DeactivateStaffRequest ds;
  ds.set_id(b_staff.user_id());
  CHECK(s.stub().DeactivateStaff(s.As(&a.admin).get(), ds, &u).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  // B's user is untouched and still signs in.
  REQUIRE(s.stub().GetStaff(s.As(&b.admin).get(), gs, &u).ok());
  CHECK(u.name() == "Staff tech@oak.example");
  CHECK(u.active());
  CHECK(CountStaff(s, a.admin) == 1);
  CHECK(CountStaff(s, b.admin) == 2);
}

TEST_CASE("identity: staff management is for admins and validates every field",
          "[identity]") {
  IdentityStack s;
  Clinic c = MakeClinic(s, "Maple Vet", "admin@maple.example");
  api::Principal tech = AddStaff(s, c, "tech@maple.example", v1::STAFF);

  v1::CreateStaffRequest req;
  req.set_email("vet@maple.example");
  req.set_name("Dr. Rowan");
  req.set_role(v1::PROVIDER);
  req.set_password(kPassword);
  v1::StaffUser u;
  CHECK(s.stub().CreateStaff(s.As(&tech).get(), req, &u).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);

  struct Bad {
    std::function<void(v1::CreateStaffRequest&)> mutate;
    std::string field;
  };
  for (const Bad& bad : std::vector<Bad>{
           {[](auto& r) { r.set_email("vet-at-maple"); }, "email"},
           {[](auto& r) { r.set_name("   "); }, "name"},
           {[](auto& r) { r.set_role(v1::ROLE_UNSPECIFIED); }, "role"},
           {[](auto& r) { r.set_password("short"); }, "password"},
           {[](auto& r) { r.set_email("TECH@maple.example"); }, "email"},  // taken
       }) {
    v1::CreateStaffRequest r = req;
    bad.mutate(r);
    grpc::Status st = s.stub().CreateStaff(s.As(&c.admin).get(), r, &u);
    INFO(bad.field << ": " << st.error_message());
    CHECK_FALSE(st.ok());
    CHECK(st.error_details() == bad.field);
  }
  CHECK(CountStaff(s, c.admin) == 2);  // nothing half-written

  REQUIRE(s.stub().CreateStaff(s.As(&c.admin).get(), req, &u).ok());
  CHECK(u.role() == v1::PROVIDER);
  CHECK(u.email() == "vet@maple.example");
  CHECK(CountStaff(s, c.admin) == 3);
}

TEST_CASE("identity: the clinic always keeps an active admin", "[identity]") {
  IdentityStack s;
  Clinic c = MakeClinic(s, "Maple Vet", "admin@maple.example");
  v1::StaffUser u;
  v1::UpdateStaffRequest demote;
  demote.set_id(c.admin.user_id());
  demote.set_role(v1::STAFF);
  grpc::Status st = s.stub().UpdateStaff(s.As(&c.admin).get(), demote, &u);
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  v1::GetStaffRequest get;
  get.set_id(c.admin.user_id());
  REQUIRE(s.stub().GetStaff(s.As(&c.admin).get(), get, &u).ok());
  CHECK(u.role() == v1::ADMIN);  // the refused change left no trace

  v1::DeactivateStaffRequest self;
  self.set_id(c.admin.user_id());
  CHECK(s.stub().DeactivateStaff(s.As(&c.admin).get(), self, &u).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_CASE("identity: deactivating a user ends their sessions", "[identity]") {
  IdentityStack s;
  Clinic c = MakeClinic(s, "Maple Vet", "admin@maple.example");
  AddStaff(s, c, "tech@maple.example", v1::STAFF);
  std::string token = s.Login("tech@maple.example", kPassword);
  api::Principal tech = s.Authenticate(token).value();
  v1::DeactivateStaffRequest req;
  req.set_id(tech.user_id());
  v1::StaffUser u;
  REQUIRE(s.stub().DeactivateStaff(s.As(&c.admin).get(), req, &u).ok());
  CHECK_FALSE(u.active());
  CHECK_FALSE(s.Authenticate(token).ok());
  CHECK(s.Login("tech@maple.example", kPassword).empty());
}

TEST_CASE("identity: changing the password ends the other sessions", "[identity]") {
  IdentityStack s;
  MakeClinic(s, "Maple Vet", "admin@maple.example");
  std::string here = s.Login("admin@maple.example", kPassword);
  std::string elsewhere = s.Login("admin@maple.example", kPassword);
  api::Principal me = s.Authenticate(here).value();
  v1::ChangePasswordRequest req;
  v1::ChangePasswordResponse resp;
  req.set_current_password("not my password");
  req.set_new_password("a brand new passphrase");
  grpc::Status st = s.stub().ChangePassword(s.As(&me).get(), req, &resp);
  CHECK(st.error_details() == "currentPassword");
  req.set_current_password(kPassword);
  req.set_new_password("short");
  CHECK(s.stub().ChangePassword(s.As(&me).get(), req, &resp).error_details() == "newPassword");
  req.set_new_password("a brand new passphrase");
  REQUIRE(s.stub().ChangePassword(s.As(&me).get(), req, &resp).ok());
  CHECK(s.Authenticate(here).ok());
  CHECK_FALSE(s.Authenticate(elsewhere).ok());
  CHECK(s.Login("admin@maple.example", kPassword).empty());
  CHECK_FALSE(s.Login("admin@maple.example", "a brand new passphrase").empty());
}

TEST_CASE("identity: teams belong to one clinic", "[identity]") {
  IdentityStack s;
  Clinic a = MakeClinic(s, "Maple Vet", "admin@maple.example");
  Clinic b = MakeClinic(s, "Oak Animal Hospital", "admin@oak.example");
  v1::CreateTeamRequest tr;
  tr.set_name("Front desk");
  v1::Team front, oak_team;
  REQUIRE(s.stub().CreateTeam(s.As(&a.admin).get(), tr, &front).ok());
  CHECK(s.stub().CreateTeam(s.As(&a.admin).get(), tr, &front).error_code() ==
        grpc::StatusCode::ALREADY_EXISTS);
  REQUIRE(s.stub().CreateTeam(s.As(&b.admin).get(), tr, &oak_team).ok());

  api::Principal tech = AddStaff(s, a, "tech@maple.example", v1::STAFF);
  v1::UpdateStaffRequest up;
  up.set_id(tech.user_id());
  up.set_set_team_ids(true);
  up.add_team_ids(front.id());
  v1::StaffUser u;
  REQUIRE(s.stub().UpdateStaff(s.As(&a.admin).get(), up, &u).ok());
  REQUIRE(u.team_ids_size() == 1);
  CHECK(u.team_ids(0) == front.id());

  up.add_team_ids(oak_team.id());  // another clinic's team
  grpc::Status st = s.stub().UpdateStaff(s.As(&a.admin).get(), up, &u);
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(st.error_details() == "teamIds");
  v1::ListTeamsResponse teams;
  REQUIRE(s.stub().ListTeams(s.As(&a.admin).get(), {}, &teams).ok());
  REQUIRE(teams.teams_size() == 1);
  CHECK(teams.teams(0).member_ids_size() == 1);  // the failed update changed nothing
}

TEST_CASE("identity: staff lists page through the clinic", "[identity]") {
  IdentityStack s;
  Clinic c = MakeClinic(s, "Maple Vet", "admin@maple.example");
  for (int i = 0; i < 4; ++i) AddStaff(s, c, "s" + std::to_string(i) + "@maple.example", v1::STAFF);
  v1::ListStaffRequest req;
  req.set_page_size(2);
  std::vector<std::string> emails;
  for (int page = 0; page < 5; ++page) {
    v1::ListStaffResponse resp;
    REQUIRE(s.stub().ListStaff(s.As(&c.admin).get(), req, &resp).ok());
    for (auto& u : resp.staff()) emails.push_back(u.email());
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  CHECK(emails.size() == 5);
  CHECK(std::is_sorted(emails.begin(), emails.end()));
  req.set_page_size(1000);
  v1::ListStaffResponse resp;
  CHECK(s.stub().ListStaff(s.As(&c.admin).get(), req, &resp).error_details() == "pageSize");
}

TEST_CASE("identity: portal sign-ups are prospects until staff link them", "[identity]") {
  // Linking checks the client id with the real clients service.
  testing::TestDatabase clients_db;
  auto clients_service =
      clients::Start(testing::TestServiceEnv(clients_db.conninfo()), {}).value();
  std::string clients_address =
      "127.0.0.1:" + std::to_string(clients_service->server().port());
  auto clients_stub = clients::v1::ClientsService::NewStub(rpc::Dial(clients_address));
  IdentityStack s(nullptr, clients_address);
  Clinic c = MakeClinic(s, "Maple Vet", "admin@maple.example");
  Clinic other = MakeClinic(s, "Oak Vet", "admin@oak.example");
  auto create_client = [&](const api::Principal& as) {
    clients::v1::CreateClientRequest req;
    req.set_first_name("Pat");
    req.set_last_name("Owner");
    clients::v1::Client out;
    REQUIRE(clients_stub->CreateClient(s.As(&as).get(), req, &out).ok());
    return out.id();
  };
  std::string client_id = create_client(c.admin);
  std::string other_clinics_client = create_client(other.admin);
  v1::PortalSignupRequest su;
  su.set_clinic_id(c.created.clinic().id());
  su.set_email("owner@pets.example");
  su.set_name("Pat Owner");
  su.set_password(kPassword);
  v1::PortalAccount acct;
  REQUIRE(s.stub().PortalSignup(s.As(nullptr).get(), su, &acct).ok());
  CHECK(acct.prospect());
  CHECK(s.stub().PortalSignup(s.As(nullptr).get(), su, &acct).error_code() ==
        grpc::StatusCode::ALREADY_EXISTS);

  v1::PortalLoginRequest pl;
  pl.set_clinic_id(c.created.clinic().id());
  pl.set_email("owner@pets.example");
  pl.set_password(kPassword);
  v1::LoginResponse login;
  REQUIRE(s.stub().PortalLogin(s.As(nullptr).get(), pl, &login).ok());
  api::Principal owner = s.Authenticate(login.token()).value();
  CHECK(owner.kind() == api::Principal::CLIENT);
  CHECK(owner.client_id().empty());

  // A client principal is not staff.
  v1::ListProspectsResponse prospects;
  CHECK(s.stub().ListProspects(s.As(&owner).get(), {}, &prospects).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  REQUIRE(s.stub().ListProspects(s.As(&c.admin).get(), {}, &prospects).ok());
  REQUIRE(prospects.prospects_size() == 1);

  v1::LinkProspectRequest link;
  link.set_id(acct.id());
  // Another clinic's client and a made-up id are refused naming the field; still a prospect.
  for (const std::string& foreign : {other_clinics_client,
                                     std::string("7d0e6a52-3f3e-4c51-9a49-1b0b5f0c2e11")}) {
    link.set_client_id(foreign);
    v1::PortalAccount unchanged;
    grpc::Status st = s.stub().LinkProspect(s.As(&c.admin).get(), link, &unchanged);
    CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(st.error_details() == "clientId");
  }
  REQUIRE(s.stub().ListProspects(s.As(&c.admin).get(), {}, &prospects).ok());
  CHECK(prospects.prospects_size() == 1);
  link.set_client_id(client_id);
  REQUIRE(s.stub().LinkProspect(s.As(&c.admin).get(), link, &acct).ok());
  CHECK_FALSE(acct.prospect());
  REQUIRE(s.stub().ListProspects(s.As(&c.admin).get(), {}, &prospects).ok());
  CHECK(prospects.prospects_size() == 0);
  CHECK(s.Authenticate(login.token())->client_id() == link.client_id());

  v1::Me me;
  REQUIRE(s.stub().GetMe(s.As(&owner).get(), {}, &me).ok());
  CHECK(me.portal_account().email() == "owner@pets.example");
  CHECK(me.clinic().name() == "Maple Vet");
}

TEST_CASE("identity: creating a clinic validates it and writes nothing on error",
          "[identity]") {
  IdentityStack s;
  api::Principal platform = IdentityStack::Platform();
  v1::CreateClinicRequest req;
  req.set_name("Birch Vets");
  req.set_time_zone("Europe/Nowhere");
  req.set_phone("+15551230000");
  req.set_admin_email("admin@birch.example");
  req.set_admin_name("Ash");
  req.set_admin_password(kPassword);
  v1::CreateClinicResponse resp;
  CHECK(s.stub().CreateClinic(s.As(&platform).get(), req, &resp).error_details() == "timeZone");
  req.set_time_zone("Europe/London");
  req.set_phone("555");
  CHECK(s.stub().CreateClinic(s.As(&platform).get(), req, &resp).error_details() == "phone");
  req.set_phone("+44 20 7946 0000");
  REQUIRE(s.stub().CreateClinic(s.As(&platform).get(), req, &resp).ok());
  CHECK(resp.clinic().phone() == "+442079460000");
  CHECK(resp.clinic().pims_kind() == v1::NONE);
  // The admin email is taken now: the second clinic is not created either.
  req.set_name("Birch Vets Two");
  grpc::Status dup = s.stub().CreateClinic(s.As(&platform).get(), req, &resp);
  CHECK(dup.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK(dup.error_details() == "email");
}

TEST_CASE("identity: health reports SERVING once migrated", "[identity]") {
  IdentityStack s;
  auto channel = rpc::Dial(s.address());
  CHECK(rpc::CheckHealth(*channel).value());
  CHECK(rpc::CheckHealth(*channel, "vetline.identity.v1.IdentityService").value());
}

TEST_CASE("identity: server reflection lists the service", "[identity]") {
  IdentityStack s;
  auto names = rpc::ListServicesByReflection(*rpc::Dial(s.address()));
  REQUIRE(names.ok());
  CHECK(std::count(names->begin(), names->end(), "vetline.identity.v1.IdentityService") == 1);
  CHECK(std::count(names->begin(), names->end(), "grpc.health.v1.Health") == 1);
}

TEST_CASE("identity: a signed portal link signs its client in and a bad one is refused naming link",
          "[identity]") {
  testing::TestDatabase clients_db;
  auto clients_service =
      clients::Start(testing::TestServiceEnv(clients_db.conninfo()), {}).value();
  std::string clients_address =
      "127.0.0.1:" + std::to_string(clients_service->server().port());
  auto clients_stub = clients::v1::ClientsService::NewStub(rpc::Dial(clients_address));
  FakeClock clock;
  IdentityStack s(&clock, clients_address);
  Clinic c = MakeClinic(s, "Maple Vet", "admin@maple.example");
  Clinic other = MakeClinic(s, "Oak Vet", "admin@oak.example");
  auto create_client = [&](const api::Principal& as, const std::string& first) {
    clients::v1::CreateClientRequest req;
    req.set_first_name(first);
    req.set_last_name("Owner");
    clients::v1::Client out;
    REQUIRE(clients_stub->CreateClient(s.As(&as).get(), req, &out).ok());
    return out.id();
  };
  const std::string clinic_id = c.created.clinic().id();
  const std::string with_account = create_client(c.admin, "Pat");
  const std::string without_account = create_client(c.admin, "Sam");
  const std::string oak_client = create_client(other.admin, "Lee");

  // Pat has a portal account linked to the profile.
  v1::PortalSignupRequest su;
  su.set_clinic_id(clinic_id);
  su.set_email("pat@pets.example");
  su.set_name("Pat Owner");
  su.set_password(kPassword);
  v1::PortalAccount acct;
  REQUIRE(s.stub().PortalSignup(s.As(nullptr).get(), su, &acct).ok());
  v1::LinkProspectRequest link_prospect;
  link_prospect.set_id(acct.id());
  link_prospect.set_client_id(with_account);
  REQUIRE(s.stub().LinkProspect(s.As(&c.admin).get(), link_prospect, &acct).ok());

  // Signed as conversations and clients sign the links of their messages.
  auth::LinkSigner links(auth::Key::FromSecret(testing::kTestInternalSecret).value());
  auto sign = [&](const std::string& subject, std::string_view purpose = "portal") {
    return links.Sign(purpose, subject, clock.Now() + absl::Hours(1));
  };
  auto login = [&](const std::string& link, const std::string& clinic = "") {
    v1::PortalLinkLoginRequest req;
    req.set_link(link);
    req.set_clinic_id(clinic);
    v1::LoginResponse resp;
    grpc::Status st = s.stub().PortalLinkLogin(s.As(nullptr).get(), req, &resp);
    return std::make_pair(st, resp.token());
  };

  // A client with an account gets that account's session.
  auto [st, token] = login(sign(clinic_id + "/" + with_account), clinic_id);
  REQUIRE(st.ok());
  api::Principal pat = s.Authenticate(token).value();
  CHECK(pat.kind() == api::Principal::CLIENT);
  CHECK(pat.user_id() == acct.id());
  CHECK(pat.client_id() == with_account);
  CHECK(pat.clinic_id() == clinic_id);

  // A client without one is let in by the link alone, scoped to that client.
  std::tie(st, token) = login(sign(clinic_id + "/" + without_account));
  REQUIRE(st.ok());
  api::Principal sam = s.Authenticate(token).value();
  CHECK(sam.kind() == api::Principal::CLIENT);
  CHECK(sam.user_id().empty());
  CHECK(sam.client_id() == without_account);
  CHECK(sam.clinic_id() == clinic_id);
  v1::Me me;
  REQUIRE(s.stub().GetMe(s.As(&sam).get(), {}, &me).ok());
  CHECK(me.kind() == api::Principal::CLIENT);
  CHECK(me.portal_account().client_id() == without_account);
  CHECK(me.clinic().name() == "Maple Vet");
  // The session ends like any other.
  v1::LogoutResponse out;
  REQUIRE(s.stub().Logout(s.As(&sam).get(), {}, &out).ok());
  CHECK(s.Authenticate(token).status().code() == absl::StatusCode::kUnauthenticated);

  auto refused = [&](const std::string& link, const std::string& clinic, const std::string& says) {
    auto [st, token] = login(link, clinic);
    INFO(st.error_message());
    CHECK(st.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(st.error_details() == "link");
    CHECK(st.error_message().find(says) != std::string::npos);
    CHECK(token.empty());
  };
  const std::string good = sign(clinic_id + "/" + without_account);
  // Tampered: one character of the signed payload changed, or the signature cut.
  std::string tampered = good;
  tampered[3] = tampered[3] == 'A' ? 'B' : 'A';
  refused(tampered, "", "not valid");
  refused(good.substr(0, good.size() - 4), "", "not valid");
  refused("not-a-link", "", "not valid");
  // Meant for something else (a video call's invitation).
  refused(sign(clinic_id + "/" + without_account, "video-join"), "", "not valid");
  // Opened in another clinic's portal, or naming another clinic's client.
  refused(good, other.created.clinic().id(), "another clinic");
  refused(sign(clinic_id + "/" + oak_client), "", "not valid");
  refused(sign(clinic_id + "/not-a-uuid"), "", "not valid");
  // Expired.
  const std::string soon = sign(clinic_id + "/" + with_account);
  clock.Advance(absl::Hours(2));
  refused(soon, "", "expired");
  // Missing, and a malformed clinic id: invalid arguments naming the field.
  std::tie(st, token) = login("");
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_details() == "link");
  std::tie(st, token) = login(sign(clinic_id + "/" + with_account), "nope");
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_details() == "clinicId");
}
