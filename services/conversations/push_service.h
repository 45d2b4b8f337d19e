// The edge of PushSubscriptionsService: a client principal registers the browser's or
// app's Web Push subscription (endpoint + keys, checked before anything is stored) and
// removes it; staff can do neither (push stays read-only for them). The VAPID public key
// is public: the portal needs it to subscribe.
#pragma once

#include <string>

#include "libs/auth/auth.h"
#include "services/conversations/push_repository.h"
#include "vetline/conversations/v1/conversations.grpc.pb.h"

namespace vetline::conversations {

struct PushOptions {
  std::string vapid_public_key;  // empty: push is not configured
  // Tests only: also accept http://127.0.0.1:PORT/ endpoints (a loopback push receiver).
  bool allow_loopback_endpoints = false;
};

class PushService final : public v1::PushSubscriptionsService::Service {
 public:
  PushService(PushRepository& repo, const auth::PrincipalSigner& signer, PushOptions options)
      : repo_(repo), signer_(signer), options_(std::move(options)) {}

  grpc::Status RegisterPushSubscription(grpc::ServerContext*, const v1::RegisterPushSubscriptionRequest*,
                                        v1::PushSubscription*) override;
  grpc::Status DeletePushSubscription(grpc::ServerContext*, const v1::DeletePushSubscriptionRequest*,
                                      v1::DeletePushSubscriptionResponse*) override;
  grpc::Status GetVapidPublicKey(grpc::ServerContext*, const v1::GetVapidPublicKeyRequest*,
                                 v1::VapidPublicKey*) override;

 private:
  absl::Status CheckEndpoint(const std::string& endpoint) const;

  PushRepository& repo_;
  const auth::PrincipalSigner& signer_;
  PushOptions options_;
};

}  // namespace vetline::conversations
