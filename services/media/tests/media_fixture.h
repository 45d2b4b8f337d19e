// The media service in this process over real gRPC on loopback, on a fresh database,
// for tests of its edge and its event streams (no gateway, no separate process).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "libs/core/ids.h"
#include "libs/core/status.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/migrations.h"
#include "libs/rpc/rpc.h"
#include "libs/rpc/server.h"
#include "libs/testing/servers.h"
#include "services/media/media_service.h"
#include "tests/support/identity_stack.h"
#include "tests/support/principals.h"
#include "vetline/media/v1/media.grpc.pb.h"

namespace vetline::testing {

// Stands in for the clients and conversations services (media_test runs the real clients
// service behind the gateway): the ids each clinic has.
template <typename Refs>
class KnownIds final : public Refs {
 public:
  void Add(const std::string& clinic_id, const std::string& id) { ids_[clinic_id].insert(id); }
  absl::Status Check(const api::Principal& caller, std::string_view field, std::string_view id) const override {
    if (!IsUuid(id)) return InvalidField(field, "not an id");
    auto it = ids_.find(caller.clinic_id());
    if (it == ids_.end() || !it->second.count(std::string(id))) return NotFoundField(field, "not in this clinic");
    return absl::OkStatus();
  }

 private:
  std::map<std::string, std::set<std::string>> ids_;
};
using KnownClients = KnownIds<refs::ClientRefs>;
using KnownConversations = KnownIds<refs::ConversationRefs>;

inline constexpr char kMapleClinic[] = "6f0b8f8e-4d7e-4b1a-9d55-0c3a1f2e9b10";
inline constexpr char kBirchClinic[] = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
inline constexpr char kMapleHost[] = "0d9f3a55-8a4e-4bb8-b4a4-2f6c7e1d5a22";

struct MediaFixture {
  explicit MediaFixture(size_t watcher_queue = media::EventHub::kDefaultMaxQueued)
      : key(auth::Key::FromSecret(kTestInternalSecret).value()),
        signer(key),
        links(key),
        pool(pg::Pool::Create({.conninfo = db.conninfo(), .size = 8, .name = "media"}).value()),
        repo(pool),
        engine(LoopbackEngine()),
        hub(watcher_queue),
        dir(std::filesystem::temp_directory_path() / ("vetline-media-fx-" + UniqueRedisPrefix().substr(5, 12))),
        blobs(blob::LocalDirectory((dir / "blobs").string())),
        service(repo, engine, hub, *blobs, signer, links, Clock::Real(), Options(dir), clients, conversations,
                replica) {
    replica.SetId("127.0.0.1:fixture");  // the one replica: it takes every call it is asked about
    std::vector<pg::Migration> migrations = pg::media_migrations();
    migrations.push_back(repo.events().Migration());  // as the service kit applies them
    (void)pg::Migrate(*pool, "media", migrations).value();
    server = rpc::Server::Start({.name = "media", .registry = std::make_shared<prometheus::Registry>()},
                                {&service})
                 .value();
    server->SetServing(true);
    channel = rpc::Dial("127.0.0.1:" + std::to_string(server->port()));
    stub = media::v1::MediaService::NewStub(channel);
  }
  ~MediaFixture() {
    server.reset();
    std::filesystem::remove_all(dir);
  }

  static media::CallEngine::Options LoopbackEngine() {
    media::CallEngine::Options o;
    o.ice.local_addresses = {"127.0.0.1"};
    return o;
  }
  static media::MediaOptions Options(const std::filesystem::path& dir) {
    media::MediaOptions o;
    o.data_dir = (dir / "data").string();
    o.blob_dir = (dir / "blobs").string();
    return o;
  }

  // A staff member of a clinic (Maple's host by default).
  static api::Principal Staff(const std::string& clinic = kMapleClinic, const std::string& user = kMapleHost,
                              const std::string& role = "staff") {
    return testing::StaffPrincipal(clinic, user, role);
  }
  std::unique_ptr<grpc::ClientContext> As(const api::Principal& p) const {
    return testing::ContextAs(p, signer, absl::Seconds(20));
  }
  std::unique_ptr<grpc::ClientContext> Anonymous() const {
    auto ctx = std::make_unique<grpc::ClientContext>();
    rpc::SetDeadline(*ctx, absl::Seconds(20));
    return ctx;
  }

  absl::StatusOr<media::v1::CreateCallResponse> CreateCall(const media::v1::CreateCallRequest& req = {},
                                                           const api::Principal& who = Staff()) {
    media::v1::CreateCallResponse out;
    grpc::Status s = stub->CreateCall(As(who).get(), req, &out);
    if (!s.ok()) return rpc::FromGrpc(s);
    return out;
  }
  absl::StatusOr<media::v1::JoinResponse> HostJoin(const std::string& call_id) {
    media::v1::HostJoinRequest req;
    req.set_call_id(call_id);
    req.set_display_name("Dr. Rivera");
    media::v1::JoinResponse out;
    grpc::Status s = stub->HostJoin(As(Staff()).get(), req, &out);
    if (!s.ok()) return rpc::FromGrpc(s);
    return out;
  }
  absl::StatusOr<media::v1::JoinResponse> Join(const std::string& call_id, const std::string& invitation,
                                               const std::string& name) {
    media::v1::JoinRequest req;
    req.set_call_id(call_id);
    req.set_invitation_token(invitation);
    req.set_display_name(name);
    media::v1::JoinResponse out;
    grpc::Status s = stub->Join(Anonymous().get(), req, &out);
    if (!s.ok()) return rpc::FromGrpc(s);
    return out;
  }
  // A new call of Maple Vet with its host in it: the call, its invitation, the host's token.
  struct Hosted {
    media::v1::CreateCallResponse created;
    std::string id, host_token;
  };
  absl::StatusOr<Hosted> HostedCall() {
    Hosted out;
    VL_ASSIGN_OR_RETURN(out.created, CreateCall());
    out.id = out.created.call().id();
    VL_ASSIGN_OR_RETURN(media::v1::JoinResponse host, HostJoin(out.id));
    out.host_token = host.participant_token();
    return out;
  }
  absl::StatusOr<media::v1::Participant> Admit(const std::string& call_id, const std::string& participant_id,
                                               bool remove = false) {
    media::v1::ParticipantRequest req;
    req.set_call_id(call_id);
    req.set_participant_id(participant_id);
    media::v1::Participant out;
    grpc::Status s = remove ? stub->Remove(As(Staff()).get(), req, &out) : stub->Admit(As(Staff()).get(), req, &out);
    if (!s.ok()) return rpc::FromGrpc(s);
    return out;
  }
  absl::StatusOr<media::v1::Call> GetCall(const std::string& call_id) {
    media::v1::GetCallRequest req;
    req.set_id(call_id);
    media::v1::Call out;
    grpc::Status s = stub->GetCall(As(Staff()).get(), req, &out);
    if (!s.ok()) return rpc::FromGrpc(s);
    return out;
  }

  TestDatabase db;
  auth::Key key;
  auth::PrincipalSigner signer;
  auth::LinkSigner links;
  std::shared_ptr<pg::Pool> pool;
  media::MediaRepository repo;
  media::CallEngine engine;
  media::EventHub hub;
  std::filesystem::path dir;
  std::unique_ptr<blob::BlobStore> blobs;
  KnownClients clients;
  KnownConversations conversations;
  media::Replica replica{"fixture-volume", absl::Seconds(10)};
  media::MediaService service;
  std::unique_ptr<rpc::Server> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<media::v1::MediaService::Stub> stub;
};

}  // namespace vetline::testing
