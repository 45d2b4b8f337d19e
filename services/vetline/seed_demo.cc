#include "services/vetline/seed_demo.h"

#include <sodium.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "libs/core/config.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/rpc/rpc.h"
#include "nlohmann/json.hpp"
#include "services/vetline/catalog.h"
#include "vetline/identity/v1/identity.grpc.pb.h"

namespace vetline::cli {
namespace {
namespace v1 = identity::v1;

struct DemoClinic {
  const char* name;
  const char* slug;
  const char* time_zone;
  const char* phone;
  v1::PimsKind pims;
};
constexpr DemoClinic kClinics[] = {
    {"Maple Street Veterinary Clinic", "maple", "America/Chicago", "+13125550100",
     v1::CORNERSTONE},
    {"Harbor Animal Hospital", "harbor", "America/New_York", "+16175550199", v1::AVIMARK},
};

std::string RandomPassword() {
  static const char kAlphabet[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::string out;
  for (int i = 0; i < 16; ++i) out.push_back(kAlphabet[randombytes_uniform(sizeof(kAlphabet) - 1)]);
  return out;
}

class Seeder {
 public:
  Seeder(const std::string& address, auth::PrincipalSigner signer)
      : stub_(v1::IdentityService::NewStub(rpc::Dial(address))), signer_(signer) {}

  absl::StatusOr<std::string> Login(const std::string& email, const std::string& password) {
    v1::LoginRequest req;
    req.set_email(email);
    req.set_password(password);
    v1::LoginResponse resp;
    grpc::ClientContext ctx;
    rpc::SetDeadline(ctx);
    VL_RETURN_IF_ERROR(rpc::FromGrpc(stub_->Login(&ctx, req, &resp)));
    return resp.token();
  }

  absl::StatusOr<api::Principal> PrincipalOf(const std::string& token) {
    v1::AuthenticateRequest req;
    req.set_token(token);
    api::Principal out;
    grpc::ClientContext ctx;
    rpc::SetDeadline(ctx);
    rpc::AttachPrincipal(ctx, Platform(), signer_);
    VL_RETURN_IF_ERROR(rpc::FromGrpc(stub_->Authenticate(&ctx, req, &out)));
    return out;
  }

  // Creates one demo clinic with an admin and a staff user; emails get a numeric suffix
  // when an earlier demo (whose demo.json was lost) already holds them.
  absl::StatusOr<nlohmann::json> Clinic(const DemoClinic& c) {
    for (int attempt = 1; attempt <= 20; ++attempt) {
      std::string suffix = attempt == 1 ? "" : absl::StrCat(attempt);
      std::string admin_email = absl::StrCat("admin", suffix, "@", c.slug, ".vetline.test");
      std::string staff_email = absl::StrCat("frontdesk", suffix, "@", c.slug, ".vetline.test");
      std::string admin_password = RandomPassword(), staff_password = RandomPassword();
      v1::CreateClinicRequest req;
      req.set_name(c.name);
      req.set_time_zone(c.time_zone);
      req.set_phone(c.phone);
      req.set_pims_kind(c.pims);
      req.set_admin_email(admin_email);
      req.set_admin_name(absl::StrCat("Admin at ", c.name));
      req.set_admin_password(admin_password);
      v1::CreateClinicResponse created;
      grpc::ClientContext ctx;
      rpc::SetDeadline(ctx);
      rpc::AttachPrincipal(ctx, Platform(), signer_);
      absl::Status st = rpc::FromGrpc(stub_->CreateClinic(&ctx, req, &created));
      if (st.code() == absl::StatusCode::kAlreadyExists) continue;
      VL_RETURN_IF_ERROR(st);

      VL_ASSIGN_OR_RETURN(std::string token, Login(admin_email, admin_password));
      VL_ASSIGN_OR_RETURN(api::Principal admin, PrincipalOf(token));
      v1::CreateStaffRequest staff;
      staff.set_email(staff_email);
      staff.set_name("Front Desk");
      staff.set_role(v1::STAFF);
      staff.set_password(staff_password);
      v1::StaffUser user;
      grpc::ClientContext sctx;
      rpc::SetDeadline(sctx);
      rpc::AttachPrincipal(sctx, admin, signer_);
      VL_RETURN_IF_ERROR(rpc::FromGrpc(stub_->CreateStaff(&sctx, staff, &user)));
      return nlohmann::json{
          {"id", created.clinic().id()},
          {"name", created.clinic().name()},
          {"admin", {{"email", admin_email}, {"password", admin_password}}},
          {"staff", nlohmann::json::array({{{"email", staff_email}, {"password", staff_password}}})},
      };
    }
    return absl::AlreadyExistsError("could not find free demo emails");
  }

 private:
  static api::Principal Platform() {
    api::Principal p;
    p.set_kind(api::Principal::SERVICE);
    p.set_user_id("seed-demo");
    return p;
  }
  std::unique_ptr<v1::IdentityService::Stub> stub_;
  auth::PrincipalSigner signer_;
};

// A demo whose every login still works is kept as it is.
bool DemoStillWorks(Seeder& seeder, const std::string& path) {
  std::ifstream in(path);
  if (!in) return false;
  nlohmann::json demo = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!demo.is_object() || !demo.contains("clinics") || !demo["clinics"].is_array()) return false;
  for (const auto& c : demo["clinics"]) {
    if (!seeder.Login(c.value("/admin/email"_json_pointer, ""), c.value("/admin/password"_json_pointer, "")).ok()) {
      return false;
    }
  }
  return demo["clinics"].size() == std::size(kClinics);
}

}  // namespace

int SeedDemo(int argc, char** argv) {
  log::Init("seed-demo");
  std::string identity, secret, base_url, out;
  int base_port;
  ConfigParser p("vetline seed-demo");
  p.String("identity", &identity, "identity service host:port", rpc::LocalAddresses().at("identity"));
  p.String("internal-secret", &secret, "the deployment's internal signing secret", "", true);
  p.String("base-url", &base_url, "the gateway's URL", "http://127.0.0.1:8080");
  p.Int("grpc-base-port", &base_port, "first gRPC port of `vetline serve`", rpc::kFirstServicePort, 1, 65000);
  p.String("out", &out, "where to write demo.json", ".vetline/demo.json");
  if (absl::Status st = p.Parse(argc, argv, 2); !st.ok()) {
    std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    return 2;
  }
  if (sodium_init() < 0) return 1;
  auto key = auth::Key::FromSecret(secret);
  if (!key.ok()) {
    std::fprintf(stderr, "vetline seed-demo: %s\n", std::string(key.status().message()).c_str());
    return 2;
  }
  Seeder seeder(identity, auth::PrincipalSigner(*key));
  if (DemoStillWorks(seeder, out)) {
    std::printf("demo already seeded: %s\n", out.c_str());
    return 0;
  }
  nlohmann::json demo = {{"base_url", base_url}, {"clinics", nlohmann::json::array()}};
  demo["services"] = ServiceAddresses(base_port);
  for (const DemoClinic& c : kClinics) {
    auto clinic = seeder.Clinic(c);
    if (!clinic.ok()) {
      std::fprintf(stderr, "vetline seed-demo: %s: %s\n", c.name, clinic.status().ToString().c_str());
      return 1;
    }
    demo["clinics"].push_back(*clinic);
  }
  std::filesystem::path path(out);
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::string tmp = out + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << demo.dump(2) << "\n";
    if (!f) {
      std::fprintf(stderr, "vetline seed-demo: cannot write %s\n", tmp.c_str());
      return 1;
    }
  }
  std::filesystem::permissions(tmp, std::filesystem::perms::owner_read |
                                        std::filesystem::perms::owner_write);
  std::filesystem::rename(tmp, out);
  std::printf("demo seeded: %s\n", out.c_str());
  return 0;
}

}  // namespace vetline::cli
