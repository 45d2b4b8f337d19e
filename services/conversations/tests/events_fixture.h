// Test support for conversation events: the conversations service on a fresh database,
// with a Redis of its own (so a test may stop and restart it), events appended in a
// transaction through AppendEvent and announced as the inbox does (from "another
// replica": the test's own RedisAnnouncer), and watchers that read a stream on a thread.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "libs/core/ids.h"
#include "libs/core/status.h"
#include "libs/pg/pg.h"
#include "libs/rpc/rpc.h"
#include "libs/testing/servers.h"
#include "libs/testing/wait.h"
#include "services/conversations/conversations_component.h"
#include "services/conversations/event_log.h"
#include "services/conversations/redis_announcer.h"
#include "tests/support/identity_stack.h"
#include "tests/support/principals.h"
#include "vetline/conversations/v1/events.grpc.pb.h"

namespace vetline::testing {

namespace cv1 = conversations::v1;

using ::vetline::NewUuid;  // libs/core/ids.h

// One open WatchEvents stream, read on its own thread until it ends or is cancelled.
class Watch {
 public:
  Watch(cv1::ConversationEventsService::Stub& stub, const api::Principal& p, const auth::PrincipalSigner& signer,
        const std::string& last_event_id = "")
      : ctx_(ContextAs(p, signer, absl::Seconds(120))) {
    cv1::WatchEventsRequest req;
    req.set_last_event_id(last_event_id);
    reader_ = stub.WatchEvents(ctx_.get(), req);
    thread_ = std::thread([this] {
      cv1::Event e;
      while (reader_->Read(&e)) {
        std::lock_guard<std::mutex> l(mu_);
        events_.push_back(e);
      }
      grpc::Status st = reader_->Finish();
      std::lock_guard<std::mutex> l(mu_);
      status_ = st;
      ended_ = true;
    });
  }
  ~Watch() {
    ctx_->TryCancel();
    thread_.join();
  }
  std::vector<cv1::Event> events() const {
    std::lock_guard<std::mutex> l(mu_);
    return events_;
  }
  // Waits until `n` events (the snapshot included) came.
  bool WaitFor(size_t n, absl::Duration limit = absl::Seconds(15)) const {
    return WaitUntil([&] { return events().size() >= n; }, limit);
  }
  bool WaitEnded(absl::Duration limit = absl::Seconds(15)) const {
    return WaitUntil([&] { std::lock_guard<std::mutex> l(mu_); return ended_; }, limit);
  }
  grpc::Status status() const {
    std::lock_guard<std::mutex> l(mu_);
    return status_;
  }
  // The ids of the events after the snapshot.
  std::vector<std::string> ids() const {
    std::vector<std::string> out;
    for (const auto& e : events()) {
      if (e.type() != "snapshot") out.push_back(e.id());
    }
    return out;
  }

 private:
  std::unique_ptr<grpc::ClientContext> ctx_;
  std::unique_ptr<grpc::ClientReader<cv1::Event>> reader_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<cv1::Event> events_;
  grpc::Status status_;
  bool ended_ = false;
};

class EventsFixture {
 public:
  EventsFixture()
      : redis_dir_(std::filesystem::temp_directory_path() / ("vetline-events-redis-" + NewRequestId().substr(0, 12))),
        redis_(RedisServer::Start(redis_dir_.string()).value()),
        signer_(auth::Key::FromSecret(kTestInternalSecret).value()) {
    rpc::ServiceEnv env = TestServiceEnv(db_.conninfo());
    env.platform.redis = redis_->address();
    env.peers = {{"clients", "127.0.0.1:1"}, {"identity", "127.0.0.1:1"}, {"media", "127.0.0.1:1"}};
    conversations::ConversationsOptions options;
    options.blob_dir = (redis_dir_ / "blobs").string();  // removed with the Redis directory
    service_ = conversations::Start(env, options).value();
    pool_ = pg::Pool::Create({.conninfo = db_.conninfo(), .size = 2}).value();
    auto redis_options = redis::ParseAddress(redis_->address()).value();
    redis_options.timeout = absl::Milliseconds(300);
    announcer_ = std::make_unique<conversations::RedisAnnouncer>(redis::Pool::Create(redis_options).value());
    stub_ = cv1::ConversationEventsService::NewStub(
        rpc::Dial("127.0.0.1:" + std::to_string(service_->server().port())));
  }
  ~EventsFixture() {
    stub_.reset();
    announcer_.reset();
    service_.reset();
    redis_.reset();
    std::error_code ec;
    std::filesystem::remove_all(redis_dir_, ec);
  }

  // Appends events in one transaction (as the inbox does: last in the transaction),
  // then announces them unless `announce` is false (a lost announcement).
  std::vector<conversations::LoggedEvent> Append(std::vector<conversations::LoggedEvent> events, bool announce = true) {
    absl::Status st = pool_->Transact([&](pg::Session& s) { return conversations::AppendEvents(s, events); });
    if (!st.ok()) throw std::runtime_error(st.ToString());
    if (announce) announcer_->Announce(events);
    return events;
  }
  // A message.created event in `client_id`'s conversation, with staff-only fields set.
  static conversations::LoggedEvent Message(const std::string& clinic_id, const std::string& client_id,
                                            const std::string& text, bool staff_only = false) {
    conversations::LoggedEvent e{.clinic_id = clinic_id, .client_id = client_id, .staff_only = staff_only};
    e.event.set_type("message.created");
    cv1::Conversation& c = *e.event.mutable_conversation();
    c.set_id("c-" + client_id.substr(0, 8));
    c.set_clinic_id(clinic_id);
    c.set_client_id(client_id);
    c.set_assignee_user_id("staff-user-1");
    c.set_staff_unread(3);
    c.set_last_message_preview(text);
    cv1::Message& m = *e.event.mutable_message();
    m.set_text(text);
    m.set_internal_note(staff_only);
    m.add_deliveries();
    return e;
  }

  std::unique_ptr<Watch> WatchAs(const api::Principal& p, const std::string& last_event_id = "") {
    return std::make_unique<Watch>(*stub_, p, signer_, last_event_id);
  }

  RedisServer& redis() { return *redis_; }
  pg::Pool& pool() { return *pool_; }
  const std::shared_ptr<pg::Pool>& pool_ptr() { return pool_; }
  const auth::PrincipalSigner& signer() const { return signer_; }
  cv1::ConversationEventsService::Stub& stub() { return *stub_; }
  rpc::RunningService& service() { return *service_; }
  std::string conninfo() const { return db_.conninfo(); }

 private:
  TestDatabase db_;
  std::filesystem::path redis_dir_;
  std::unique_ptr<RedisServer> redis_;
  auth::PrincipalSigner signer_;
  std::unique_ptr<rpc::RunningService> service_;
  std::shared_ptr<pg::Pool> pool_;
  std::unique_ptr<conversations::RedisAnnouncer> announcer_;
  std::unique_ptr<cv1::ConversationEventsService::Stub> stub_;
};

}  // namespace vetline::testing
