// All SQL of the payments service. Every statement takes the clinic id. Calls to Stripe
// that must happen at most once per request run inside the transaction that holds the
// request's row lock (the `stripe` callbacks), so concurrent retries wait for the first
// and then find its answer.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/outbox/outbox.h"
#include "libs/pg/pg.h"
#include "services/payments/payments_rules.h"

namespace vetline::payments {

struct AccountRow {
  std::string clinic_id, secret_key_sealed, webhook_secret_sealed, secret_key_last4, webhook_secret_last4;
  bool livemode = false, working = false;
  absl::Time verify_time;
  int64_t events_checked_until = 0;
};

struct NewRequest {
  std::string id;  // chosen before the insert: the Checkout Session's Idempotency-Key comes from it
  CheckedRequest checked;
  std::string client_id, appointment_id, created_by, fingerprint;
};

struct CheckoutSession {
  std::string id, url;
};

struct RefundFact {
  std::string refund_id;
  int64_t amount = 0;
};

struct LedgerTotals {
  std::string currency;
  int64_t charged = 0, refunded = 0;
};
struct ReportLine {
  std::string day, currency;
  Kind kind = Kind::kDeposit;
  int64_t charges = 0, charged = 0, refunds = 0, refunded = 0;
};

// What applying an event needs before it can finish: the PaymentIntent behind a refund
// we have not seen paid, or the refunds of a charge we have fewer of than Stripe.
enum class EventOutcome { kApplied, kDuplicate, kNeedIntent, kNeedRefunds, kIgnored };

class PaymentsRepository {
 public:
  explicit PaymentsRepository(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)), outbox_("payments") {}
  const outbox::Outbox& events() const { return outbox_; }
  pg::Pool& pool() { return *pool_; }

  // ---- accounts ----
  absl::Status SaveAccount(const AccountRow& a, const std::string& user_id, absl::Duration reconcile_every);
  absl::StatusOr<std::optional<AccountRow>> Account(const std::string& clinic_id);
  // Replaces the sealed secrets only if they are still `old_*` (another replica may have
  // resealed them first).
  absl::Status Reseal(const std::string& clinic_id, const std::string& old_key, const std::string& new_key,
                      const std::string& old_webhook, const std::string& new_webhook);
  absl::Status MarkNotWorking(const std::string& clinic_id);

  // ---- payment requests ----
  // Stores a new request as 'creating' (with its lines and, for an invoice, the deposits
  // it applies), or finds the one stored under the same clientRequestId; a different ask
  // under that id is AlreadyExists on clientRequestId. An invoice that deposits cover
  // whole is 'paid' at once and its notice written.
  absl::StatusOr<PaymentRecord> BeginRequest(const std::string& clinic_id, const NewRequest& r);
  // Under the request's row lock: when it is still 'creating', `stripe` makes its Checkout
  // Session and the request becomes 'requested' with the payment.requested notice.
  absl::StatusOr<PaymentRecord> FinishRequest(
      const std::string& clinic_id, const std::string& id,
      const std::function<absl::StatusOr<CheckoutSession>(const PaymentRecord&)>& stripe);
  absl::StatusOr<PaymentRecord> Get(const std::string& clinic_id, const std::string& id);
  // Newest first after (create_time micros, id).
  absl::StatusOr<std::vector<PaymentRecord>> List(const std::string& clinic_id, const std::string& client_id,
                                                  std::optional<std::pair<int64_t, std::string>> after, int limit);
  // Under the row lock: a 'requested' request is expired at Stripe (`stripe`) and cancelled.
  absl::StatusOr<PaymentRecord> Cancel(const std::string& clinic_id, const std::string& id,
                                       const std::function<absl::Status(const PaymentRecord&)>& stripe);

  // ---- refunds ----
  struct RefundAsk {
    std::string id;  // refund_requests.id, the Idempotency-Key's root
    int64_t amount = 0;
    std::string refund_id;  // set once Stripe answered
    PaymentRecord request;
  };
  // Stores the refund asked for under clientRequestId with its amount checked against what
  // is left (or finds the earlier one: the same ask, else AlreadyExists).
  absl::StatusOr<RefundAsk> BeginRefund(const std::string& clinic_id, const std::string& request_id,
                                        const std::string& client_request_id, int64_t amount);
  // Under the request's row lock: `stripe` makes the refund unless it was made, then the
  // ledger row and the request's totals, status and notice.
  absl::StatusOr<RefundAsk> FinishRefund(const std::string& clinic_id, const RefundAsk& ask,
                                         const std::function<absl::StatusOr<RefundFact>(const RefundAsk&)>& stripe);

  // ---- Stripe's facts ----
  // Applies one event once (payments.events): charges, refunds, expiries, by state.
  absl::StatusOr<EventOutcome> ApplyEvent(const std::string& clinic_id, const StripeEvent& e, bool facts_fetched);
  // A charge or refund learnt from Stripe outside an event (a PaymentIntent or the
  // refunds of a charge fetched to finish one); keyed like the event's.
  absl::Status RecordFacts(const std::string& clinic_id, const StripeEvent& charge,
                           const std::vector<StripeEvent>& refunds);

  // ---- ledger ----
  absl::StatusOr<std::vector<LedgerTotals>> Balances(const std::string& clinic_id);
  absl::StatusOr<std::vector<ReportLine>> Report(const std::string& clinic_id, absl::Time from, absl::Time to);

  // ---- reconciliation ----
  // One clinic whose reconciliation is due, its lease moved `every` ahead (SKIP LOCKED:
  // each replica takes another clinic).
  absl::StatusOr<std::optional<AccountRow>> ClaimReconciliation(absl::Duration every);
  // Requests left 'creating' (a crash between Stripe and our commit) for longer than `age`.
  absl::StatusOr<std::vector<std::string>> StaleCreating(const std::string& clinic_id, absl::Duration age);
  absl::Status EventsCheckedUntil(const std::string& clinic_id, int64_t created);

 private:
  std::shared_ptr<pg::Pool> pool_;
  outbox::Outbox outbox_;
};

}  // namespace vetline::payments
