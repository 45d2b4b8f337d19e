// Sends each request about a call to the media replica holding it. Every call lives in
// one replica's memory (its GStreamer pipeline and event hub); which one is recorded on
// the call and told by any replica's LocateCall, which also places a call not yet used
// on the least-loaded live replica. The gateway routes through this, and so does any
// service or test that calls media about a call.
//
// A call's owner is cached (it changes only from none to one replica, and then to none
// when the call ends); an UNAVAILABLE answer from the owner (it died, or it says another
// replica holds the call) forgets it, so the next request asks where the call is again.
// One channel per replica address, made once.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/auth/auth.h"

namespace vetline::media {

class MediaRouter {
 public:
  // `any` reaches some media replica (the service's address); `signer` signs the
  // service principal LocateCall requires.
  MediaRouter(std::shared_ptr<grpc::Channel> any, const auth::PrincipalSigner& signer,
              absl::Duration deadline = absl::Seconds(5));

  // The call a request of `method` ("/vetline.media.v1.MediaService/Publish") is about,
  // when it must reach the call's replica; empty when any replica serves it.
  static std::string CallIdOf(const std::string& method, const google::protobuf::Message& request);

  using Picked = std::function<void(absl::StatusOr<std::shared_ptr<grpc::Channel>>)>;
  // The channel to the replica holding `call_id`; runs `picked` once, at once when the
  // owner is cached, else on a gRPC thread. Unavailable when no replica can take it.
  void Pick(const std::string& call_id, Picked picked);
  // The same, waiting (service code and tests).
  absl::StatusOr<std::shared_ptr<grpc::Channel>> ChannelFor(const std::string& call_id);
  // The owner answered UNAVAILABLE: ask again next time.
  void Forget(const std::string& call_id);

  const std::shared_ptr<grpc::Channel>& any() const { return any_; }

 private:
  std::shared_ptr<grpc::Channel> ChannelTo(const std::string& address);  // "": any

  std::shared_ptr<grpc::Channel> any_;
  const auth::PrincipalSigner& signer_;
  const absl::Duration deadline_;
  std::mutex mu_;
  std::map<std::string, std::string> owners_;  // call id -> address ("" any)
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;  // address -> channel
};

}  // namespace vetline::media
