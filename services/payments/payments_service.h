// The payments edges (payments.proto): PaymentsService for staff and admins, and
// StripeWebhooksService for Stripe's signed events. Callers, input and ids are checked
// here; Stripe's steps are in PaymentsFlow and SQL in the repository.
#pragma once

#include <memory>

#include "libs/auth/auth.h"
#include "libs/core/page_token.h"
#include "libs/refs/refs.h"
#include "services/payments/payments_flow.h"
#include "vetline/booking/v1/booking.grpc.pb.h"
#include "vetline/payments/v1/payments.grpc.pb.h"

namespace vetline::payments {

namespace v1 = ::vetline::payments::v1;

// The appointment a request links to must be the client's, in the caller's clinic (asked
// of the booking service as the caller).
class AppointmentRefs {
 public:
  virtual ~AppointmentRefs() = default;
  virtual absl::Status Check(const api::Principal& caller, const std::string& appointment_id,
                             const std::string& client_id) const = 0;
};

class GrpcAppointmentRefs final : public AppointmentRefs {
 public:
  GrpcAppointmentRefs(std::shared_ptr<grpc::Channel> booking, auth::PrincipalSigner signer)
      : stub_(booking ? booking::v1::BookingService::NewStub(booking) : nullptr), signer_(signer) {}
  absl::Status Check(const api::Principal& caller, const std::string& appointment_id,
                     const std::string& client_id) const override;

 private:
  std::unique_ptr<booking::v1::BookingService::Stub> stub_;  // null: no booking service
  auth::PrincipalSigner signer_;
};

v1::PaymentRequest ToWire(const PaymentRecord& p);

class PaymentsService final : public v1::PaymentsService::Service {
 public:
  PaymentsService(PaymentsFlow& flow, const refs::ClientRefs& clients, const AppointmentRefs& appointments,
                  const auth::PrincipalSigner& signer, PageTokens page_tokens)
      : flow_(flow), clients_(clients), appointments_(appointments), signer_(signer),
        page_tokens_(std::move(page_tokens)) {}

  grpc::Status ConnectAccount(grpc::ServerContext*, const v1::ConnectAccountRequest*, v1::StripeAccount*) override;
  grpc::Status GetAccount(grpc::ServerContext*, const v1::GetAccountRequest*, v1::StripeAccount*) override;
  grpc::Status CreatePaymentRequest(grpc::ServerContext*, const v1::CreatePaymentRequestRequest*,
                                    v1::PaymentRequest*) override;
  grpc::Status GetPaymentRequest(grpc::ServerContext*, const v1::GetPaymentRequestRequest*,
                                 v1::PaymentRequest*) override;
  grpc::Status ListPaymentRequests(grpc::ServerContext*, const v1::ListPaymentRequestsRequest*,
                                   v1::ListPaymentRequestsResponse*) override;
  grpc::Status CancelPaymentRequest(grpc::ServerContext*, const v1::CancelPaymentRequestRequest*,
                                    v1::PaymentRequest*) override;
  grpc::Status RefundPayment(grpc::ServerContext*, const v1::RefundPaymentRequest*, v1::Refund*) override;
  grpc::Status GetBalances(grpc::ServerContext*, const v1::GetBalancesRequest*, v1::GetBalancesResponse*) override;
  grpc::Status GetPaymentsReport(grpc::ServerContext*, const v1::GetPaymentsReportRequest*,
                                 v1::GetPaymentsReportResponse*) override;

 private:
  PaymentsFlow& flow_;
  const refs::ClientRefs& clients_;
  const AppointmentRefs& appointments_;
  const auth::PrincipalSigner& signer_;
  PageTokens page_tokens_;
};

class StripeWebhooksService final : public v1::StripeWebhooksService::Service {
 public:
  explicit StripeWebhooksService(PaymentsFlow& flow) : flow_(flow) {}
  grpc::Status StripeWebhook(grpc::ServerContext*, const v1::StripeWebhookRequest*, v1::StripeWebhookResponse*) override;

 private:
  PaymentsFlow& flow_;
};

}  // namespace vetline::payments
