#include "services/gateway/backend_calls.h"

#include "libs/rpc/rpc.h"

namespace vetline::gateway {

namespace pb = google::protobuf;

BackendCalls::BackendCalls(Options options) : options_(std::move(options)) {
  for (const auto& [name, address] : options_.backends) {
    auto channel = rpc::Dial(address);
    backends_[name] = {channel, std::make_unique<grpc::GenericStub>(channel)};
  }
  // A call's media lives on one replica: its requests go there.
  if (auto it = backends_.find("media"); it != backends_.end()) {
    media_ = std::make_unique<media::MediaRouter>(it->second.channel, *options_.signer);
  }
}

std::string BackendCalls::RouteKey(const std::string& backend, const std::string& method,
                                   const pb::Message& request) const {
  if (backend != "media" || !media_) return "";
  return media::MediaRouter::CallIdOf(method, request);
}

void BackendCalls::PickStub(const std::string& backend, const std::string& key, StubReady ready) {
  grpc::GenericStub* own = Stub(backend);
  if (!own) {
    return ready(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the " + backend + " service is not configured"),
                 nullptr);
  }
  if (key.empty()) return ready(grpc::Status::OK, own);
  media_->Pick(key, [this, ready = std::move(ready)](absl::StatusOr<std::shared_ptr<grpc::Channel>> channel) {
    if (!channel.ok()) return ready(rpc::ToGrpc(channel.status()), nullptr);
    grpc::GenericStub* stub;
    {
      std::lock_guard<std::mutex> l(replicas_mu_);
      Backend& b = replicas_[channel->get()];
      if (!b.stub) b = {*channel, std::make_unique<grpc::GenericStub>(*channel)};
      stub = b.stub.get();
    }
    ready(grpc::Status::OK, stub);
  });
}

void BackendCalls::Unroute(const std::string& backend, const std::string& key) {
  if (backend == "media" && media_ && !key.empty()) media_->Forget(key);
}

grpc::GenericStub* BackendCalls::Stub(const std::string& backend) {
  auto it = backends_.find(backend);
  return it == backends_.end() ? nullptr : it->second.stub.get();
}

std::shared_ptr<grpc::Channel> BackendCalls::Channel(const std::string& backend) {
  auto it = backends_.find(backend);
  return it == backends_.end() ? nullptr : it->second.channel;
}

void BackendCalls::Identify(grpc::ClientContext& ctx, const std::optional<api::Principal>& principal,
                            const std::string& request_id) const {
  if (principal) {
    rpc::AttachPrincipal(ctx, *principal, *options_.signer, request_id);
  } else {
    rpc::AttachRequest(ctx, request_id);
  }
}

void BackendCalls::Call(const std::string& backend, const std::string& method,
                        const pb::Message& req, const std::optional<api::Principal>& principal,
                        const std::string& request_id, Done done) {
  grpc::ByteBuffer empty;
  if (!Stub(backend)) {
    return done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the " + backend + " service is not configured"),
                empty);
  }
  struct Pending {
    grpc::ClientContext ctx;
    grpc::ByteBuffer request, reply;
  };
  auto call = std::make_shared<Pending>();
  {
    std::lock_guard<std::mutex> l(mu_);
    if (draining_) {
      return done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the gateway is restarting; try again"), empty);
    }
    if (unary_waiting_ >= options_.max_in_flight) {
      if (options_.refused) options_.refused->Increment();
      return done(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "the service is at capacity; try again shortly"),
                  empty);
    }
    unary_.insert(&call->ctx);
    ++unary_waiting_;
  }
  rpc::SetDeadline(call->ctx, options_.deadline);
  Identify(call->ctx, principal, request_id);
  call->request = rpc::ToBuffer(req);
  std::string key = RouteKey(backend, method, req);
  auto finished = [this, call, backend, key, done = std::move(done)](grpc::Status st) {
    {
      std::lock_guard<std::mutex> l(mu_);
      --unary_waiting_;
    }
    if (st.error_code() == grpc::StatusCode::UNAVAILABLE) Unroute(backend, key);
    done(std::move(st), call->reply);
    Untrack(&call->ctx, false);
  };
  PickStub(backend, key, [call, method, finished = std::move(finished)](grpc::Status st,
                                                                       grpc::GenericStub* stub) mutable {
    if (!st.ok()) return finished(std::move(st));
    stub->UnaryCall(&call->ctx, method, grpc::StubOptions(), &call->request, &call->reply, std::move(finished));
  });
}

bool BackendCalls::TrackStream(grpc::ClientContext* ctx) {
  std::lock_guard<std::mutex> l(mu_);
  if (draining_) return false;
  streams_.insert(ctx);
  return true;
}

void BackendCalls::UntrackStream(grpc::ClientContext* ctx) { Untrack(ctx, true); }

void BackendCalls::Untrack(grpc::ClientContext* ctx, bool stream) {
  std::lock_guard<std::mutex> l(mu_);
  (stream ? streams_ : unary_).erase(ctx);
  changed_.notify_all();
}

int BackendCalls::unary_in_flight() {
  std::lock_guard<std::mutex> l(mu_);
  return static_cast<int>(unary_.size());
}

void BackendCalls::Drain(absl::Duration grace) {
  std::unique_lock<std::mutex> l(mu_);
  draining_ = true;
  // Event streams last as long as someone watches: they end now.
  for (grpc::ClientContext* ctx : streams_) ctx->TryCancel();
  changed_.wait_for(l, absl::ToChronoNanoseconds(grace), [this] { return unary_.empty(); });
  for (grpc::ClientContext* ctx : unary_) ctx->TryCancel();
  for (grpc::ClientContext* ctx : streams_) ctx->TryCancel();
  // Cancelled calls complete promptly; the bound only guards against a stuck runtime.
  changed_.wait_for(l, std::chrono::seconds(5), [this] { return unary_.empty() && streams_.empty(); });
}

}  // namespace vetline::gateway
