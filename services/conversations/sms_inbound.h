// Texting's inbound half: an inbound text lands in the sender's conversation (a known
// client's, or an unknown sender's), STOP/START/HELP are honoured and answered, and
// status callbacks move deliveries forward. The gRPC edge (twilio_webhooks_service) has
// checked the signature before anything here runs.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "libs/auth/auth.h"
#include "libs/refs/refs.h"
#include "services/conversations/channels/sms_keywords.h"
#include "services/conversations/channels/twilio_webhooks.h"
#include "services/conversations/sms_repository.h"

namespace vetline::conversations {

// Who has this number in the clinic (the clients service knows): a client id, or "" when
// nobody does.
class ClientsByPhone {
 public:
  virtual ~ClientsByPhone() = default;
  virtual absl::StatusOr<std::string> Find(const std::string& clinic_id,
                                           const std::string& phone) const = 0;
};

// ClientsService.SearchClients by the number as a service principal of the clinic; of
// the profiles found, one with exactly this number (its primary number first).
class GrpcClientsByPhone final : public ClientsByPhone {
 public:
  GrpcClientsByPhone(std::shared_ptr<grpc::ChannelInterface> clients, auth::PrincipalSigner signer);
  absl::StatusOr<std::string> Find(const std::string& clinic_id, const std::string& phone) const override;

 private:
  std::unique_ptr<clients::v1::ClientsService::Stub> stub_;
  auth::PrincipalSigner signer_;
};

// The short, clinic-branded answer to a keyword ("" for an ordinary message).
std::string KeywordReply(channels::SmsKeyword k, const std::string& clinic_name,
                         const std::string& clinic_phone);
// TwiML for Twilio: <Response/>, or one <Message> with `reply` (XML-escaped).
std::string TwiML(const std::string& reply);
// The message text as stored: the body, then each MMS media URL on a line of its own.
std::string InboundMessageText(const channels::TwilioInboundText& t);

class SmsInbound {
 public:
  SmsInbound(SmsRepository& repo, const ClientsByPhone& clients, const refs::StaffRefs& clinics)
      : repo_(repo), clients_(clients), clinics_(clinics) {}

  // Records the text (once per MessageSid) and returns the TwiML answer. NotFound naming
  // "To" when no clinic texts from that number.
  absl::StatusOr<std::string> Receive(const channels::TwilioInboundText& t);
  // Applies a status callback (forward only). A callback can overtake the worker's
  // record of the provider id, so an unknown id is looked up again for a short while.
  absl::Status Status(const channels::TwilioStatusUpdate& u);

 private:
  SmsRepository& repo_;
  const ClientsByPhone& clients_;
  const refs::StaffRefs& clinics_;
};

}  // namespace vetline::conversations
