// Test support: the real identity service on a fresh database of the run's shared
// PostgreSQL, with helpers to call it as a given principal. Used by the identity tests,
// the end-to-end tests and the gateway benchmark.
#pragma once

#include <memory>
#include <string>

#include "libs/auth/auth.h"
#include "libs/core/clock.h"
#include "libs/rpc/service.h"
#include "libs/testing/servers.h"
#include "vetline/identity/v1/identity.grpc.pb.h"

namespace vetline::testing {

inline constexpr char kTestInternalSecret[] = "test-internal-secret-0123456789";

// How tests start a service: its database, the run's Redis (when `with_redis`), the
// test signing secret, any free loopback port, a fresh metrics registry.
rpc::ServiceEnv TestServiceEnv(const std::string& conninfo, bool with_redis = false,
                               int pool_size = 4);

class IdentityStack {
 public:
  // `clock` (optional) drives session expiry; it must outlive the stack.
  // `clients_address` is where identity checks client ids (LinkProspect).
  explicit IdentityStack(const Clock* clock = nullptr, const std::string& clients_address = "");
  ~IdentityStack();

  std::string address() const;
  identity::v1::IdentityService::Stub& stub() { return *stub_; }
  const auth::PrincipalSigner& signer() const { return signer_; }
  const std::string& conninfo() const { return conninfo_; }

  // A client context carrying `p` signed with the internal key (or none when null).
  std::unique_ptr<grpc::ClientContext> As(const api::Principal* p) const;
  // A platform (service) principal, as the gateway and the seeder use.
  static api::Principal Platform();

  // Creates a clinic with its admin; the admin password is `password`.
  identity::v1::CreateClinicResponse CreateClinic(const std::string& name,
                                                  const std::string& admin_email,
                                                  const std::string& password,
                                                  const std::string& time_zone = "America/Chicago");
  // Logs in and returns the session token (empty on failure).
  std::string Login(const std::string& email, const std::string& password);
  // The principal behind a token, via the Authenticate RPC.
  absl::StatusOr<api::Principal> Authenticate(const std::string& token);

 private:
  std::unique_ptr<TestDatabase> db_;
  std::string conninfo_;
  auth::PrincipalSigner signer_;
  std::unique_ptr<rpc::RunningService> running_;
  std::unique_ptr<identity::v1::IdentityService::Stub> stub_;
};

}  // namespace vetline::testing
