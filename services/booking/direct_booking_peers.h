// What direct booking asks other services: the clients service (who has this phone or
// email; a new client and pet) and conversations (a one-off notice with the code). Both
// as a service principal of the clinic; interfaces so the service's logic stays testable.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "libs/auth/auth.h"
#include "services/booking/direct_booking_rules.h"
#include "vetline/clients/v1/clients.grpc.pb.h"
#include "vetline/conversations/v1/notices.grpc.pb.h"

namespace vetline::booking {

class ClientDirectory {
 public:
  virtual ~ClientDirectory() = default;
  // The client with exactly this phone or email (a primary one first), if any.
  virtual absl::StatusOr<std::optional<clients::v1::Client>> Find(const std::string& clinic_id,
                                                                  const Contact& contact) const = 0;
  virtual absl::StatusOr<clients::v1::Client> Get(const std::string& clinic_id, const std::string& client_id) const = 0;
  // A new client with the contact (primary) and their pet: the pet.
  virtual absl::StatusOr<clients::v1::Pet> Create(const std::string& clinic_id, const std::string& first_name,
                                                  const std::string& last_name, const Contact& contact,
                                                  const std::string& pet_name, const std::string& species) const = 0;
};

class CodeSender {
 public:
  virtual ~CodeSender() = default;
  virtual absl::Status Send(const std::string& clinic_id, const Contact& to, const std::string& text) const = 0;
};

class GrpcClientDirectory final : public ClientDirectory {
 public:
  GrpcClientDirectory(std::shared_ptr<grpc::ChannelInterface> clients, auth::PrincipalSigner signer)
      : stub_(clients::v1::ClientsService::NewStub(std::move(clients))), signer_(signer) {}
  absl::StatusOr<std::optional<clients::v1::Client>> Find(const std::string& clinic_id,
                                                          const Contact& contact) const override;
  absl::StatusOr<clients::v1::Client> Get(const std::string& clinic_id, const std::string& client_id) const override;
  absl::StatusOr<clients::v1::Pet> Create(const std::string& clinic_id, const std::string& first_name,
                                          const std::string& last_name, const Contact& contact,
                                          const std::string& pet_name, const std::string& species) const override;

 private:
  std::unique_ptr<clients::v1::ClientsService::Stub> stub_;
  auth::PrincipalSigner signer_;
};

// conversations' NoticesService.SendNotice.
class GrpcCodeSender final : public CodeSender {
 public:
  GrpcCodeSender(std::shared_ptr<grpc::ChannelInterface> conversations, auth::PrincipalSigner signer)
      : stub_(conversations::v1::NoticesService::NewStub(std::move(conversations))), signer_(signer) {}
  absl::Status Send(const std::string& clinic_id, const Contact& to, const std::string& text) const override;

 private:
  std::unique_ptr<conversations::v1::NoticesService::Stub> stub_;
  auth::PrincipalSigner signer_;
};

}  // namespace vetline::booking
