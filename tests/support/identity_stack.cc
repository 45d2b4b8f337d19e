#include "tests/support/identity_stack.h"

#include <stdexcept>

#include "libs/rpc/rpc.h"
#include "services/identity/identity_component.h"

namespace vetline::testing {
namespace v1 = identity::v1;

rpc::ServiceEnv TestServiceEnv(const std::string& conninfo, bool with_redis, int pool_size) {
  rpc::ServiceEnv env;
  env.platform.pg_dsn = conninfo;
  env.platform.pg_pool_size = pool_size;
  if (with_redis) env.platform.redis = SharedRedis().address();
  env.platform.internal_secret = kTestInternalSecret;
  env.grpc_address = "127.0.0.1:0";
  env.registry = std::make_shared<prometheus::Registry>();
  return env;
}

IdentityStack::IdentityStack(const Clock* clock, const std::string& clients_address)
    : db_(std::make_unique<TestDatabase>()),
      conninfo_(db_->conninfo()),
      signer_(auth::Key::FromSecret(kTestInternalSecret).value()) {
  rpc::ServiceEnv env = TestServiceEnv(conninfo_);
  // Without a clients service nothing listens there: linking a prospect is Unavailable.
  env.peers["clients"] = clients_address.empty() ? "127.0.0.1:1" : clients_address;
  auto running = identity::Start(env, {}, clock ? *clock : Clock::Real());
  if (!running.ok()) throw std::runtime_error(running.status().ToString());
  running_ = std::move(*running);
  stub_ = v1::IdentityService::NewStub(rpc::Dial(address()));
}

IdentityStack::~IdentityStack() {
  stub_.reset();
  running_.reset();
}

std::string IdentityStack::address() const {
  return "127.0.0.1:" + std::to_string(running_->server().port());
}

std::unique_ptr<grpc::ClientContext> IdentityStack::As(const api::Principal* p) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  rpc::SetDeadline(*ctx);
  if (p) rpc::AttachPrincipal(*ctx, *p, signer_);
  return ctx;
}

api::Principal IdentityStack::Platform() {
  api::Principal p;
  p.set_kind(api::Principal::SERVICE);
  p.set_user_id("test");
  return p;
}

v1::CreateClinicResponse IdentityStack::CreateClinic(const std::string& name,
                                                     const std::string& admin_email,
                                                     const std::string& password,
                                                     const std::string& time_zone) {
  v1::CreateClinicRequest req;
  req.set_name(name);
  req.set_time_zone(time_zone);
  req.set_phone("+15551230000");
  req.set_pims_kind(v1::CORNERSTONE);
  req.set_admin_email(admin_email);
  req.set_admin_name("Admin of " + name);
  req.set_admin_password(password);
  v1::CreateClinicResponse resp;
  api::Principal platform = Platform();
  grpc::Status st = stub_->CreateClinic(As(&platform).get(), req, &resp);
  if (!st.ok()) throw std::runtime_error("CreateClinic: " + st.error_message());
  return resp;
}

std::string IdentityStack::Login(const std::string& email, const std::string& password) {
  v1::LoginRequest req;
  req.set_email(email);
  req.set_password(password);
  v1::LoginResponse resp;
  return stub_->Login(As(nullptr).get(), req, &resp).ok() ? resp.token() : "";
}

absl::StatusOr<api::Principal> IdentityStack::Authenticate(const std::string& token) {
  v1::AuthenticateRequest req;
  req.set_token(token);
  api::Principal out;
  api::Principal platform = Platform();
  grpc::Status st = stub_->Authenticate(As(&platform).get(), req, &out);
  if (!st.ok()) return rpc::FromGrpc(st);
  return out;
}

}  // namespace vetline::testing
