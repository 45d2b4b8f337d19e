// Test support: every service (identity, clients, pims_sync, conversations, media) and the gateway in
// one process, each on its own loopback port, sharing one fresh database of the run's
// PostgreSQL: the running stack as a front end sees it, for tests that walk every route.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "libs/rpc/service.h"
#include "libs/testing/servers.h"
#include "services/conversations/conversations_component.h"
#include "services/gateway/gateway.h"
#include "tests/support/http_client.h"
#include "vetline/identity/v1/identity.grpc.pb.h"

namespace vetline::testing {

class EdgeStack {
 public:
  // `tune` may adjust the conversations service's options (providers, workers); its
  // public URL is the gateway's.
  explicit EdgeStack(const std::function<void(conversations::ConversationsOptions&)>& tune = nullptr);
  ~EdgeStack();

  int http_port() const;
  std::string conninfo() const { return db_.conninfo(); }
  HttpClient Client() const { return HttpClient(http_port()); }
  identity::v1::IdentityService::Stub& identity() { return *identity_; }

  struct Clinic {
    std::string id;
    std::string admin_id;
    std::string token;  // the admin's session
  };
  // A clinic with an admin, signed in through the gateway.
  Clinic CreateClinic(const std::string& name, const std::string& admin_email);

 private:
  TestDatabase db_;
  std::filesystem::path media_dir_;
  std::unique_ptr<rpc::RunningService> clients_, identity_service_, pims_sync_, conversations_,
      media_;
  std::unique_ptr<gateway::Gateway> gateway_;
  std::unique_ptr<identity::v1::IdentityService::Stub> identity_;
};

}  // namespace vetline::testing
