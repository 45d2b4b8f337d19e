// The payments domain, pure (no I/O): what a payment request may ask for, how deposits
// apply to an invoice, how much may be refunded, a request's status from what was paid
// and refunded, what a Stripe event says, and the texts the client's conversation shows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "services/payments/money.h"

namespace vetline::payments {

enum class Kind { kDeposit, kInvoice, kConsultation };
enum class Status { kCreating, kRequested, kPaid, kExpired, kCancelled, kRefunded, kPartlyRefunded };

std::string_view KindText(Kind k);                      // "deposit" (the database's word)
std::optional<Kind> KindFromText(std::string_view s);
std::string_view StatusText(Status s);                  // "partly_refunded"
std::optional<Status> StatusFromText(std::string_view s);

inline constexpr int kMaxLines = 100;
inline constexpr int kMaxQuantity = 1000;
inline constexpr size_t kMaxDescriptionBytes = 500;

struct Line {
  std::string description;
  int64_t unit_amount = 0;
  int quantity = 1;
};

// What staff asked for, before any id is looked up.
struct RequestInput {
  std::string client_request_id;
  int kind = 0;                  // the wire enum: 1 deposit, 2 invoice, 3 consultation
  std::string currency;
  int64_t amount = 0;            // deposits and consultations
  std::string description;
  std::vector<Line> lines;       // invoices
  bool apply_deposits = false;
};

// A request checked: its currency, its lines (one line for a deposit or consultation),
// their total. Errors name the JSON field ("lineItems[2].unitAmount").
struct CheckedRequest {
  std::string client_request_id;
  Kind kind = Kind::kDeposit;
  Currency currency;
  std::string description;
  std::vector<Line> lines;
  int64_t subtotal = 0;
  bool apply_deposits = false;
};
absl::StatusOr<CheckedRequest> CheckRequest(const RequestInput& in);

// What the caller asked, as one string: a clientRequestId reused for something else is
// refused, a true retry answers the first request.
std::string Fingerprint(const CheckedRequest& r, const std::string& client_id, const std::string& appointment_id);

// A paid deposit that could still be applied: what is left of it (paid - refunded).
struct AvailableDeposit {
  std::string id;
  int64_t available = 0;
};
struct Applied {
  std::string deposit_id;
  int64_t amount = 0;
};
// The deposits, oldest first, taken whole while the invoice has room; the last one that
// fits only in part is applied for what is left, so the invoice never goes below zero.
std::vector<Applied> ApplyDeposits(int64_t subtotal, const std::vector<AvailableDeposit>& deposits);

// A refund of `requested` (0: everything left) of a payment that took `paid` and gave
// back `refunded`; InvalidArgument on "amount" when it is more than is left.
absl::StatusOr<int64_t> RefundAmount(int64_t requested, int64_t paid, int64_t refunded, const Currency& currency);

// The status money says: nothing paid keeps `unpaid` (requested, expired, cancelled);
// anything paid is paid, partly refunded or refunded, whatever came before (a payment
// that beat a cancellation still happened).
Status StatusFor(Status unpaid, int64_t paid, int64_t refunded);

// One Stripe event, as far as payments read it. Every id and amount is taken from the
// object the event carries; which request it is about comes from our metadata
// (`payment_request_id`) or, for a refund, the PaymentIntent.
struct StripeEvent {
  enum class What { kOther, kCharge, kSessionExpired, kRefund, kChargeRefunded };
  std::string id, type;
  int64_t created = 0;
  What what = What::kOther;
  std::string request_id;        // metadata.payment_request_id ("" when not ours)
  std::string session_id;
  std::string payment_intent_id;
  std::string charge_id;
  std::string refund_id;
  int64_t amount = 0;            // paid (a charge) or given back (a refund)
  int64_t amount_refunded = 0;   // charge.refunded: everything refunded so far
  std::string currency;
};
// InvalidArgument when the JSON is not an event with an id, a type and its object.
absl::StatusOr<StripeEvent> ParseEvent(const nlohmann::json& event);

// A payment request as stored.
struct PaymentRecord {
  std::string id, clinic_id, client_request_id, client_id, appointment_id, description, fingerprint;
  Kind kind = Kind::kDeposit;
  Status status = Status::kCreating;
  Currency currency;
  std::vector<Line> lines;
  std::vector<Applied> applied;  // deposits this invoice applied
  int64_t subtotal = 0, deposits_applied = 0, amount = 0, paid_amount = 0, refunded_amount = 0;
  std::string session_id, pay_url, payment_intent_id;
  int64_t create_unix_micros = 0, paid_unix_micros = 0;  // 0: not paid
};

// The outbox records the client's conversation follows: `payment.requested` (the pay
// link) and `payment.status_changed`. `noticeId` is unique per notice so conversations
// posts each once.
std::string RequestedPayload(const PaymentRecord& r);
std::string StatusChangedPayload(const PaymentRecord& r);

// The client's messages.
std::string RequestedText(Kind kind, const std::string& description, const std::string& amount_text,
                          const std::string& applied_text, const std::string& pay_url);
std::string StatusChangeText(Kind kind, Status status, const std::string& amount_text,
                             const std::string& refunded_text);

}  // namespace vetline::payments
