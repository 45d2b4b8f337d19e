// What the booking benchmarks share: identity (the clinic and its zone), clients (the
// client and pet a booking names) and booking, each on a fresh database of the run's
// PostgreSQL, with staff stubs and a pool on booking's database for seeding and checks.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <memory>
#include <string>

#include "libs/pg/pg.h"
#include "libs/rpc/rpc.h"
#include "libs/testing/servers.h"
#include "services/booking/booking_component.h"
#include "services/clients/clients_component.h"
#include "tests/support/identity_stack.h"
#include "tests/support/principals.h"
#include "vetline/booking/v1/booking.grpc.pb.h"
#include "vetline/clients/v1/clients.grpc.pb.h"

namespace vetline::bench {

class BookingBenchStack {
 public:
  explicit BookingBenchStack(int booking_pool = 8)
      : signer_(auth::Key::FromSecret(testing::kTestInternalSecret).value()) {
    clients_ = clients::Start(testing::TestServiceEnv(clients_db_.conninfo()), {}).value();
    const std::string clients_address = "127.0.0.1:" + std::to_string(clients_->server().port());
    rpc::ServiceEnv env = testing::TestServiceEnv(db_.conninfo(), false, booking_pool);
    env.peers = {{"clients", clients_address}, {"identity", identity_.address()}};
    booking_ = booking::Start(env).value();
    channel_ = rpc::Dial("127.0.0.1:" + std::to_string(booking_->server().port()));
    clients_channel_ = rpc::Dial(clients_address);
    pool_ = pg::Pool::Create({.conninfo = db_.conninfo(), .size = 4}).value();

    identity::v1::CreateClinicRequest req;
    req.set_name("Bench Vet");
    req.set_time_zone("America/New_York");
    req.set_phone("+15551230000");
    req.set_pims_kind(identity::v1::NONE);
    req.set_admin_email("admin@bench.example");
    req.set_admin_name("Admin");
    req.set_admin_password("correct horse battery staple");
    identity::v1::CreateClinicResponse resp;
    api::Principal platform = testing::IdentityStack::Platform();
    grpc::Status st = identity_.stub().CreateClinic(identity_.As(&platform).get(), req, &resp);
    if (!st.ok()) {
      std::fprintf(stderr, "CreateClinic: %s\n", st.error_message().c_str());
      std::exit(1);
    }
    clinic_ = resp.clinic().id();
  }

  const std::string& clinic() const { return clinic_; }
  pg::Pool& db() { return *pool_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::unique_ptr<grpc::ClientContext> Staff(bool admin = false) const {
    return testing::ContextAs(testing::StaffPrincipal(clinic_, "u-bench", admin ? "admin" : "staff"), signer_);
  }
  // `n` providers or rooms named "<prefix> 00", ... and a type of `minutes`, created by
  // the clinic's admin through the staff API: their ids.
  std::vector<std::string> Providers(int n) { return Named(n, "Dr.", true); }
  std::vector<std::string> Rooms(int n) { return Named(n, "Exam", false); }
  std::string Type(int minutes) {
    booking::v1::CreateAppointmentTypeRequest req;
    req.set_name("Wellness exam");
    req.set_duration_minutes(minutes);
    booking::v1::AppointmentType type;
    Must(stub()->CreateAppointmentType(Staff(true).get(), req, &type), "CreateAppointmentType");
    return type.id();
  }
  // A client with one pet: {client id, pet id}.
  std::pair<std::string, std::string> ClientWithPet() {
    auto stub = clients::v1::ClientsService::NewStub(clients_channel_);
    clients::v1::CreateClientRequest req;
    req.set_first_name("Pat");
    req.set_last_name("Bench");
    clients::v1::Client c;
    clients::v1::Pet p;
    clients::v1::AddPetRequest pet;
    if (!stub->CreateClient(Staff().get(), req, &c).ok()) std::exit(1);
    pet.set_client_id(c.id());
    pet.set_name("Rex");
    if (!stub->AddPet(Staff().get(), pet, &p).ok()) std::exit(1);
    return {c.id(), p.id()};
  }
  // Runs SQL on booking's database (seeding, checks); exits on failure.
  pg::Result Sql(const std::string& sql, const pg::Params& params = {}) {
    pg::Result out(nullptr);
    absl::Status st = pool_->WithSession([&](pg::Session& s) -> absl::Status {
      auto r = s.ExecRaw(sql, params);
      if (!r.ok()) return r.status();
      out = std::move(*r);
      return absl::OkStatus();
    });
    if (!st.ok()) {
      std::fprintf(stderr, "SQL failed: %s\n", st.ToString().c_str());
      std::exit(1);
    }
    return out;
  }

 private:
  std::unique_ptr<booking::v1::BookingService::Stub> stub() const {
    return booking::v1::BookingService::NewStub(channel_);
  }
  static void Must(const grpc::Status& st, const char* what) {
    if (st.ok()) return;
    std::fprintf(stderr, "%s: %s\n", what, st.error_message().c_str());
    std::exit(1);
  }
  std::vector<std::string> Named(int n, const char* prefix, bool providers) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      char name[32];
      std::snprintf(name, sizeof(name), "%s %02d", prefix, i);
      if (providers) {
        booking::v1::CreateProviderRequest req;
        req.set_name(name);
        booking::v1::Provider p;
        Must(stub()->CreateProvider(Staff(true).get(), req, &p), "CreateProvider");
        ids.push_back(p.id());
      } else {
        booking::v1::CreateRoomRequest req;
        req.set_name(name);
        booking::v1::Room r;
        Must(stub()->CreateRoom(Staff(true).get(), req, &r), "CreateRoom");
        ids.push_back(r.id());
      }
    }
    return ids;
  }

  auth::PrincipalSigner signer_;
  testing::IdentityStack identity_;
  testing::TestDatabase clients_db_, db_;
  std::unique_ptr<rpc::RunningService> clients_, booking_;
  std::shared_ptr<grpc::Channel> channel_, clients_channel_;
  std::shared_ptr<pg::Pool> pool_;
  std::string clinic_;
};

// The p-th quantile of `v` (nearest rank).
inline double Quantile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

}  // namespace vetline::bench
