// Foreign ids: answers "does this id exist in the caller's clinic" for ids owned by
// another service, by asking that service as the caller. Every id a request names in
// its path or body resolves inside the caller's clinic, or the request fails naming
// the field (see docs/architecture.md, Tenancy).
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/auth/auth.h"
#include "vetline/api/types.pb.h"
#include "vetline/clients/v1/clients.grpc.pb.h"

namespace vetline::refs {

// Client profile ids (owned by the clients service).
class ClientRefs {
 public:
  virtual ~ClientRefs() = default;
  // OK when `client_id` names a live client profile of `caller`'s clinic. Otherwise an
  // error naming `field` (its JSON name): InvalidArgument for a malformed id, NotFound
  // for a missing id or another clinic's (the same answer), FailedPrecondition for a
  // profile merged into another; Unavailable when the clients service cannot answer.
  virtual absl::Status Check(const api::Principal& caller, std::string_view field,
                             std::string_view client_id) const = 0;
};

// Asks ClientsService.GetClient over a shared channel, forwarding the caller's
// principal re-signed, with a deadline.
class GrpcClientRefs final : public ClientRefs {
 public:
  inline static constexpr absl::Duration kDefaultDeadline = absl::Seconds(2);

  GrpcClientRefs(std::shared_ptr<grpc::ChannelInterface> clients, auth::PrincipalSigner signer,
                 absl::Duration deadline = kDefaultDeadline);
  absl::Status Check(const api::Principal& caller, std::string_view field,
                     std::string_view client_id) const override;

 private:
  std::unique_ptr<clients::v1::ClientsService::Stub> stub_;
  auth::PrincipalSigner signer_;
  absl::Duration deadline_;
};

}  // namespace vetline::refs
