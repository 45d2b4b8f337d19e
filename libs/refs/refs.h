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
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/auth/auth.h"
#include "vetline/api/types.pb.h"
#include "vetline/clients/v1/clients.grpc.pb.h"
#include "vetline/conversations/v1/conversations.grpc.pb.h"
#include "vetline/identity/v1/identity.grpc.pb.h"

namespace vetline::refs {

inline constexpr absl::Duration kDefaultDeadline = absl::Seconds(2);

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

// The same check, answering with the profile itself (pets, phones, contact options) for
// services that need more than its existence.
class ClientProfiles : public ClientRefs {
 public:
  virtual absl::StatusOr<clients::v1::Client> Get(const api::Principal& caller,
                                                  std::string_view field,
                                                  std::string_view client_id) const = 0;
  absl::Status Check(const api::Principal& caller, std::string_view field,
                     std::string_view client_id) const override {
    return Get(caller, field, client_id).status();
  }
};

// Asks ClientsService.GetClient over a shared channel, forwarding the caller's
// principal re-signed, with a deadline.
class GrpcClientRefs final : public ClientProfiles {
 public:
  inline static constexpr absl::Duration kDefaultDeadline = refs::kDefaultDeadline;

  GrpcClientRefs(std::shared_ptr<grpc::ChannelInterface> clients, auth::PrincipalSigner signer,
                 absl::Duration deadline = kDefaultDeadline);
  absl::StatusOr<clients::v1::Client> Get(const api::Principal& caller, std::string_view field,
                                          std::string_view client_id) const override;

 private:
  std::unique_ptr<clients::v1::ClientsService::Stub> stub_;
  auth::PrincipalSigner signer_;
  absl::Duration deadline_;
};

// Staff users, teams and the clinic itself (owned by the identity service).
class StaffRefs {
 public:
  virtual ~StaffRefs() = default;
  // OK when `user_id` is an active staff user of the caller's clinic; NotFound naming
  // `field` for a missing or another clinic's id, FailedPrecondition for a deactivated one.
  virtual absl::Status CheckUser(const api::Principal& caller, std::string_view field,
                                 std::string_view user_id) const = 0;
  // OK when `team_id` is a team of the caller's clinic; NotFound naming `field` otherwise.
  virtual absl::Status CheckTeam(const api::Principal& caller, std::string_view field,
                                 std::string_view team_id) const = 0;
  // The caller's clinic (name, phone, time zone); NotFound when identity has none by its id.
  virtual absl::StatusOr<identity::v1::Clinic> Clinic(const api::Principal& caller) const = 0;
};

class GrpcStaffRefs final : public StaffRefs {
 public:
  GrpcStaffRefs(std::shared_ptr<grpc::ChannelInterface> identity, auth::PrincipalSigner signer,
                absl::Duration deadline = kDefaultDeadline);
  absl::Status CheckUser(const api::Principal& caller, std::string_view field,
                         std::string_view user_id) const override;
  absl::Status CheckTeam(const api::Principal& caller, std::string_view field,
                         std::string_view team_id) const override;
  absl::StatusOr<identity::v1::Clinic> Clinic(const api::Principal& caller) const override;

 private:
  std::unique_ptr<identity::v1::IdentityService::Stub> stub_;
  auth::PrincipalSigner signer_;
  absl::Duration deadline_;
};

// Conversation ids (owned by the conversations service).
class ConversationRefs {
 public:
  virtual ~ConversationRefs() = default;
  // OK when `conversation_id` is a conversation of the caller's clinic; InvalidArgument
  // for a malformed id, NotFound naming `field` for a missing or another clinic's one.
  virtual absl::Status Check(const api::Principal& caller, std::string_view field,
                             std::string_view conversation_id) const = 0;
};

class GrpcConversationRefs final : public ConversationRefs {
 public:
  GrpcConversationRefs(std::shared_ptr<grpc::ChannelInterface> conversations,
                       auth::PrincipalSigner signer, absl::Duration deadline = kDefaultDeadline);
  absl::Status Check(const api::Principal& caller, std::string_view field,
                     std::string_view conversation_id) const override;

 private:
  std::unique_ptr<conversations::v1::ConversationsService::Stub> stub_;
  auth::PrincipalSigner signer_;
  absl::Duration deadline_;
};

}  // namespace vetline::refs
