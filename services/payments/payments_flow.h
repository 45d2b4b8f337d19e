// The payments steps that talk to Stripe, shared by the staff edge, the webhook and the
// reconciliation worker: the clinic's account (secrets opened, resealed lazily after a key
// rotation), Checkout Sessions made once per request, cancellations, refunds, and Stripe's
// events applied by state — fetching the PaymentIntent or refunds an event's order left
// us without.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/auth/sealed_secrets.h"
#include "services/payments/payments_repository.h"
#include "services/payments/stripe/stripe_client.h"

namespace vetline::payments {

struct PaymentsOptions {
  std::string stripe_api_base = "https://api.stripe.com";
  // The portal pages Checkout returns to; the service sets it from the platform's.
  std::string public_url = "http://127.0.0.1:8080";
  // "id:secret[,id:secret…]", the first current (libs/auth/sealed_secrets.h); empty: no
  // account can be connected.
  std::string secret_keys;
  absl::Duration reconcile_every = absl::Minutes(5);
  absl::Duration stripe_timeout = absl::Seconds(20);
};

class PaymentsFlow {
 public:
  PaymentsFlow(PaymentsRepository& repo, PaymentsOptions options, std::unique_ptr<auth::SecretKeyring> keyring);

  const PaymentsOptions& options() const { return options_; }
  PaymentsRepository& repo() { return repo_; }

  // Connects (or replaces) the clinic's account once Stripe accepted the key.
  absl::StatusOr<AccountRow> Connect(const std::string& clinic_id, const std::string& user_id,
                                     const std::string& secret_key, const std::string& webhook_secret);
  // The clinic's working account, or FailedPrecondition saying how to get one.
  absl::StatusOr<stripe::Account> StripeAccountFor(const std::string& clinic_id);

  // Stores the request (or finds the same one again) and makes its Checkout Session.
  absl::StatusOr<PaymentRecord> Create(const std::string& clinic_id, const NewRequest& request);
  // Makes the Checkout Session of a request left 'creating' (same Idempotency-Key).
  absl::StatusOr<PaymentRecord> Finish(const std::string& clinic_id, const std::string& id);
  absl::StatusOr<PaymentRecord> Cancel(const std::string& clinic_id, const std::string& id);
  absl::StatusOr<PaymentsRepository::RefundAsk> Refund(const std::string& clinic_id, const std::string& request_id,
                                                       const std::string& client_request_id, int64_t amount,
                                                       const std::string& reason);

  // A webhook: the signature checked with the clinic's signing secret before anything in
  // the body is read (InvalidArgument on Stripe-Signature otherwise), then applied.
  absl::Status Webhook(const std::string& clinic_id, const std::string& payload, const std::string& signature);
  // One event (already trusted: verified, or read from Stripe's API).
  absl::StatusOr<EventOutcome> Apply(const std::string& clinic_id, const stripe::Account& account,
                                     const StripeEvent& event);

  // One reconciliation pass over one due clinic; false when none was due.
  absl::StatusOr<bool> ReconcileOne();

 private:
  absl::StatusOr<std::pair<std::string, std::string>> Open(const AccountRow& a);  // key, webhook secret
  absl::Status FetchFacts(const std::string& clinic_id, const stripe::Account& account, const StripeEvent& e,
                          EventOutcome need);

  PaymentsRepository& repo_;
  PaymentsOptions options_;
  std::unique_ptr<auth::SecretKeyring> keyring_;
  stripe::Client stripe_;
};

}  // namespace vetline::payments
