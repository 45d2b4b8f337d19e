// The gRPC side of the gateway: one channel and generic stub per backend, made once at
// start; unary calls with a deadline and the signed principal; a cap on unary calls in
// flight (beyond it a call fails at once with UNAVAILABLE, so the answer is 503 +
// Retry-After instead of another thread in a backend); and every call and stream
// tracked, so stopping waits for them and cancels what is left. Media's requests about a
// call go to the replica holding the call (media::MediaRouter).
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <google/protobuf/message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"
#include "libs/auth/auth.h"
#include "libs/rpc/byte_buffer.h"
#include "prometheus/counter.h"
#include "services/media/client/media_router.h"
#include "vetline/api/types.pb.h"

namespace vetline::gateway {


class BackendCalls {
 public:
  struct Options {
    std::map<std::string, std::string> backends;  // name -> host:port
    absl::Duration deadline = absl::Seconds(10);
    int max_in_flight = 64;
    const auth::PrincipalSigner* signer = nullptr;  // required
    prometheus::Counter* refused = nullptr;         // counts calls refused at the cap
  };
  explicit BackendCalls(Options options);

  using Done = std::function<void(grpc::Status, const grpc::ByteBuffer&)>;
  // Calls `method` on `backend`; `done` runs once, on a gRPC thread.
  void Call(const std::string& backend, const std::string& method,
            const google::protobuf::Message& request,
            const std::optional<api::Principal>& principal, const std::string& request_id,
            Done done);

  grpc::GenericStub* Stub(const std::string& backend);  // nullptr: not configured
  std::shared_ptr<grpc::Channel> Channel(const std::string& backend);

  // The replica a request must reach, for backends whose calls live on one replica
  // (media): a routing key, empty when the backend's own stub serves it.
  std::string RouteKey(const std::string& backend, const std::string& method,
                       const google::protobuf::Message& request) const;
  using StubReady = std::function<void(grpc::Status, grpc::GenericStub*)>;
  // The stub for `key` (the backend's own when empty); `ready` runs once, perhaps at once.
  void PickStub(const std::string& backend, const std::string& key, StubReady ready);
  // The replica picked for `key` answered UNAVAILABLE: look it up again next time.
  void Unroute(const std::string& backend, const std::string& key);
  // The signed principal (or none) on an outgoing call, with the request id and the trace
  // of the request in scope (rpc::AttachRequest).
  void Identify(grpc::ClientContext& ctx, const std::optional<api::Principal>& principal,
                const std::string& request_id) const;

  // Open streams register here while they run, so Drain can end them; false once
  // draining has begun (the stream must not start).
  bool TrackStream(grpc::ClientContext* ctx);
  void UntrackStream(grpc::ClientContext* ctx);

  // Stopping: streams are cancelled at once, unary calls get `grace` to finish and are
  // then cancelled; returns when none is left (or after a further few seconds).
  void Drain(absl::Duration grace);
  int unary_in_flight();

 private:
  struct Backend {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<grpc::GenericStub> stub;
  };
  void Untrack(grpc::ClientContext* ctx, bool stream);

  Options options_;
  std::map<std::string, Backend> backends_;
  std::unique_ptr<media::MediaRouter> media_;  // when "media" is a backend
  std::mutex replicas_mu_;
  std::map<grpc::Channel*, Backend> replicas_;  // a stub per replica channel, made once
  std::mutex mu_;
  std::condition_variable changed_;
  std::set<grpc::ClientContext*> unary_, streams_;
  // Calls holding a slot of the cap: a slot frees when the backend answers, before the
  // answer is written, so a client's next request never meets its own previous call.
  int unary_waiting_ = 0;
  bool draining_ = false;  // no new calls or streams
};

}  // namespace vetline::gateway
