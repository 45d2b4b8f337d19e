// The conversations service with the real clients and identity services it asks, each
// over real gRPC on loopback, on fresh databases of the run's PostgreSQL (and its Redis
// for the client send limit). Tests act as staff and as clients (tests/support/principals.h).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "libs/core/status.h"
#include "libs/pg/pg.h"
#include "libs/rpc/rpc.h"
#include "services/clients/clients_component.h"
#include "services/conversations/conversations_component.h"
#include "tests/support/identity_stack.h"
#include "tests/support/principals.h"
#include "vetline/clients/v1/clients.grpc.pb.h"
#include "vetline/conversations/v1/conversations.grpc.pb.h"

namespace vetline::testing {

namespace cv1 = conversations::v1;

inline constexpr char kInboxPassword[] = "correct horse battery";

struct InboxFixture {
  struct Clinic {
    std::string id;
    api::Principal admin;  // the clinic's admin, as identity authenticates them
    api::Principal staff;  // a staff user (role staff)
    std::string staff_id;
  };

  // `send`: the delivery workers run (tests that follow a message out to a stand-in).
  // `blobs`: where files go (default: a directory of the fixture's own).
  explicit InboxFixture(conversations::ConversationsOptions options = {}, bool send = false,
                        blob::StoreSettings blobs = {})
      : signer(auth::Key::FromSecret(kTestInternalSecret).value()) {
    clients_service = clients::Start(TestServiceEnv(db.conninfo()), {}).value();
    const std::string clients_address =
        "127.0.0.1:" + std::to_string(clients_service->server().port());
    identity = std::make_unique<IdentityStack>(nullptr, clients_address);
    dir = std::filesystem::temp_directory_path() /
          ("vetline-inbox-" + std::to_string(::getpid()) + "-" +
           std::to_string(reinterpret_cast<uintptr_t>(this)));
    options.blob_dir = (dir / "blobs").string();
    // These tests read deliveries as the inbox queued them; sending is delivery_test's.
    if (!send) options.delivery.workers = 0;
    env = TestServiceEnv(db.conninfo(), /*with_redis=*/true, 8);
    env.platform.public_url = "http://vet.example";
    env.platform.blob = std::move(blobs);
    env.peers["clients"] = clients_address;
    env.peers["identity"] = identity->address();
    this->options = options;
    service = conversations::Start(env, options).value();
    auto channel = rpc::Dial("127.0.0.1:" + std::to_string(service->server().port()));
    inbox = cv1::ConversationsService::NewStub(channel);
    settings = cv1::ConversationSettingsService::NewStub(channel);
    clients = clients::v1::ClientsService::NewStub(rpc::Dial(clients_address));
    pool = pg::Pool::Create({.conninfo = db.conninfo(), .size = 2, .name = "inbox-test"}).value();
  }
  // A second replica of the service on the same database (and Redis), as a deployment
  // with several pods runs it: its stub.
  std::unique_ptr<cv1::ConversationsService::Stub> AddReplica() {
    replicas.push_back(conversations::Start(env, options).value());
    return cv1::ConversationsService::NewStub(
        rpc::Dial("127.0.0.1:" + std::to_string(replicas.back()->server().port())));
  }

  ~InboxFixture() {
    replicas.clear();
    service.reset();
    identity.reset();
    clients_service.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  std::unique_ptr<grpc::ClientContext> As(const api::Principal& p) const {
    return ContextAs(p, signer);
  }

  // A clinic with its admin and one staff user, both real identity users.
  Clinic MakeClinic(const std::string& name, const std::string& domain) {
    Clinic c;
    auto created = identity->CreateClinic(name, "admin@" + domain, kInboxPassword);
    c.id = created.clinic().id();
    c.admin = identity->Authenticate(identity->Login("admin@" + domain, kInboxPassword)).value();
    identity::v1::CreateStaffRequest req;
    req.set_email("staff@" + domain);
    req.set_name("Sam Staff");
    req.set_role(identity::v1::STAFF);
    req.set_password(kInboxPassword);
    identity::v1::StaffUser u;
    REQUIRE(identity->stub().CreateStaff(identity->As(&c.admin).get(), req, &u).ok());
    c.staff_id = u.id();
    c.staff = identity->Authenticate(identity->Login("staff@" + domain, kInboxPassword)).value();
    return c;
  }

  // A client with a primary texting-capable mobile and a primary email.
  clients::v1::Client MakeClient(const Clinic& c, const std::string& first, const std::string& last,
                                 const std::string& phone, const std::string& email) {
    clients::v1::CreateClientRequest req;
    req.set_first_name(first);
    req.set_last_name(last);
    if (!phone.empty()) {
      auto* p = req.add_phones();
      p->set_number(phone);
      p->set_type(clients::v1::MOBILE);
      p->set_texting_capable(true);
      p->set_primary(true);
    }
    if (!email.empty()) {
      auto* e = req.add_emails();
      e->set_address(email);
      e->set_primary(true);
    }
    clients::v1::Client out;
    grpc::Status st = clients->CreateClient(As(c.staff).get(), req, &out);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return out;
  }

  clients::v1::Pet AddPet(const Clinic& c, const std::string& client_id, const std::string& name) {
    clients::v1::AddPetRequest req;
    req.set_client_id(client_id);
    req.set_name(name);
    clients::v1::Pet pet;
    REQUIRE(clients->AddPet(As(c.staff).get(), req, &pet).ok());
    return pet;
  }

  cv1::Conversation Start(const api::Principal& who, const std::string& client_id,
                          const std::string& pet_id = "") {
    cv1::StartConversationRequest req;
    req.set_client_id(client_id);
    req.set_pet_id(pet_id);
    cv1::Conversation out;
    grpc::Status st = inbox->StartConversation(As(who).get(), req, &out);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return out;
  }

  grpc::Status Send(const api::Principal& who, const std::string& conversation_id,
                    const std::string& text, cv1::Message* out = nullptr, bool note = false,
                    const std::vector<std::string>& files = {}) {
    cv1::SendMessageRequest req;
    req.set_conversation_id(conversation_id);
    req.set_text(text);
    req.set_internal_note(note);
    for (const auto& f : files) req.add_file_ids(f);
    cv1::Message m;
    grpc::Status st = inbox->SendMessage(As(who).get(), req, &m);
    if (out) *out = m;
    return st;
  }

  cv1::Message MustSend(const api::Principal& who, const std::string& conversation_id,
                        const std::string& text, bool note = false,
                        const std::vector<std::string>& files = {}) {
    cv1::Message m;
    grpc::Status st = Send(who, conversation_id, text, &m, note, files);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return m;
  }

  cv1::Conversation Get(const api::Principal& who, const std::string& id) {
    cv1::GetConversationRequest req;
    req.set_id(id);
    cv1::Conversation out;
    grpc::Status st = inbox->GetConversation(As(who).get(), req, &out);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return out;
  }

  std::vector<cv1::Message> Messages(const api::Principal& who, const std::string& conversation_id) {
    cv1::ListMessagesRequest req;
    req.set_conversation_id(conversation_id);
    req.set_page_size(200);
    cv1::ListMessagesResponse resp;
    grpc::Status st = inbox->ListMessages(As(who).get(), req, &resp);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return {resp.messages().begin(), resp.messages().end()};
  }

  // One number from the database, for checks no RPC answers (rows left behind).
  int64_t Count(const std::string& sql) {
    int64_t n = -1;
    REQUIRE(pool->WithSession([&](pg::Session& s) -> absl::Status {
                  VL_ASSIGN_OR_RETURN(pg::Result res, s.ExecRaw(sql));
                  n = res.Int(0, "n");
                  return absl::OkStatus();
                })
                .ok());
    return n;
  }
  absl::Status Sql(const std::string& sql) {
    return pool->WithSession([&](pg::Session& s) { return s.ExecRaw(sql).status(); });
  }

  TestDatabase db;
  auth::PrincipalSigner signer;
  std::unique_ptr<rpc::RunningService> clients_service;
  std::unique_ptr<IdentityStack> identity;
  std::filesystem::path dir;
  rpc::ServiceEnv env;
  conversations::ConversationsOptions options;
  std::unique_ptr<rpc::RunningService> service;
  std::vector<std::unique_ptr<rpc::RunningService>> replicas;
  std::unique_ptr<cv1::ConversationsService::Stub> inbox;
  std::unique_ptr<cv1::ConversationSettingsService::Stub> settings;
  std::unique_ptr<clients::v1::ClientsService::Stub> clients;
  std::shared_ptr<pg::Pool> pool;
};

}  // namespace vetline::testing
