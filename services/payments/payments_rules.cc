#include "services/payments/payments_rules.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"

namespace vetline::payments {
namespace {

absl::Status Text(std::string_view field, const std::string& value, bool required) {
  if (required && value.empty()) return InvalidField(field, absl::StrCat(std::string(field), " is required"));
  if (!validate::IsUtf8(value) || value.size() > kMaxDescriptionBytes || value.find('\0') != std::string::npos) {
    return InvalidField(field, absl::StrCat(std::string(field), " must be text of at most ", kMaxDescriptionBytes,
                                            " bytes"));
  }
  return absl::OkStatus();
}

std::string Str(const nlohmann::json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

bool Bool(const nlohmann::json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_boolean() && it->get<bool>();
}

int64_t Int(const nlohmann::json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string KindName(Kind k) {
  switch (k) {
    case Kind::kDeposit:
      return "Deposit";
    case Kind::kInvoice:
      return "Invoice";
    case Kind::kConsultation:
      return "Consultation charge";
  }
  return "Payment";
}

}  // namespace

std::string_view KindText(Kind k) {
  switch (k) {
    case Kind::kDeposit:
      return "deposit";
    case Kind::kInvoice:
      return "invoice";
    case Kind::kConsultation:
      return "consultation";
  }
  return "deposit";
}

std::optional<Kind> KindFromText(std::string_view s) {
  for (Kind k : {Kind::kDeposit, Kind::kInvoice, Kind::kConsultation}) {
    if (KindText(k) == s) return k;
  }
  return std::nullopt;
}

std::string_view StatusText(Status s) {
  switch (s) {
    case Status::kCreating:
      return "creating";
    case Status::kRequested:
      return "requested";
    case Status::kPaid:
      return "paid";
    case Status::kExpired:
      return "expired";
    case Status::kCancelled:
      return "cancelled";
    case Status::kRefunded:
      return "refunded";
    case Status::kPartlyRefunded:
      return "partly_refunded";
  }
  return "requested";
}

std::optional<Status> StatusFromText(std::string_view s) {
  for (Status x : {Status::kCreating, Status::kRequested, Status::kPaid, Status::kExpired, Status::kCancelled,
                   Status::kRefunded, Status::kPartlyRefunded}) {
    if (StatusText(x) == s) return x;
  }
  return std::nullopt;
}

absl::StatusOr<CheckedRequest> CheckRequest(const RequestInput& in) {
  CheckedRequest out;
  if (in.client_request_id.empty()) return InvalidField("clientRequestId", "clientRequestId is required");
  if (in.client_request_id.size() > 100 || !validate::IsUtf8(in.client_request_id) ||
      in.client_request_id.find('\0') != std::string::npos) {
    return InvalidField("clientRequestId", "clientRequestId must be text of at most 100 bytes");
  }
  out.client_request_id = in.client_request_id;
  switch (in.kind) {
    case 1:
      out.kind = Kind::kDeposit;
      break;
    case 2:
      out.kind = Kind::kInvoice;
      break;
    case 3:
      out.kind = Kind::kConsultation;
      break;
    default:
      return InvalidField("kind", "kind must be DEPOSIT, INVOICE or CONSULTATION");
  }
  VL_ASSIGN_OR_RETURN(out.currency, FindCurrency(in.currency, "currency"));
  VL_RETURN_IF_ERROR(Text("description", in.description, false));
  out.description = in.description;
  if (out.kind != Kind::kInvoice) {
    if (!in.lines.empty()) return InvalidField("lineItems", "only an invoice has line items; give amount instead");
    if (in.apply_deposits) return InvalidField("applyDeposits", "only an invoice applies deposits");
    VL_RETURN_IF_ERROR(CheckAmount(in.amount, "amount"));
    VL_RETURN_IF_ERROR(CheckStep(in.amount, out.currency, "amount"));
    out.lines.push_back({.description = in.description.empty() ? KindName(out.kind) : in.description,
                         .unit_amount = in.amount, .quantity = 1});
    out.subtotal = in.amount;
    return out;
  }
  if (in.amount != 0) return InvalidField("amount", "an invoice's amount is the sum of its lineItems");
  if (in.lines.empty()) return InvalidField("lineItems", "an invoice needs at least one line");
  if (static_cast<int>(in.lines.size()) > kMaxLines) {
    return InvalidField("lineItems", absl::StrCat("an invoice has at most ", kMaxLines, " lines"));
  }
  int64_t total = 0;
  for (size_t i = 0; i < in.lines.size(); ++i) {
    const Line& l = in.lines[i];
    const std::string at = absl::StrCat("lineItems[", i, "]");
    VL_RETURN_IF_ERROR(Text(at + ".description", l.description, true));
    if (l.unit_amount < 0) return InvalidField(at + ".unitAmount", "a line's amount cannot be negative");
    if (l.unit_amount > kMaxMinorUnits) return InvalidField(at + ".unitAmount", "the amount is larger than one payment may be");
    VL_RETURN_IF_ERROR(CheckStep(l.unit_amount, out.currency, at + ".unitAmount"));
    const int quantity = l.quantity == 0 ? 1 : l.quantity;
    if (quantity < 1 || quantity > kMaxQuantity) {
      return InvalidField(at + ".quantity", absl::StrCat("quantity must be 1 to ", kMaxQuantity));
    }
    total += l.unit_amount * quantity;  // both bounded: no overflow
    if (total > kMaxMinorUnits) return InvalidField("lineItems", "the invoice is larger than one payment may be");
    out.lines.push_back({.description = l.description, .unit_amount = l.unit_amount, .quantity = quantity});
  }
  if (total <= 0) return InvalidField("lineItems", "the invoice's total must be more than zero");
  out.subtotal = total;
  out.apply_deposits = in.apply_deposits;
  return out;
}

std::string Fingerprint(const CheckedRequest& r, const std::string& client_id, const std::string& appointment_id) {
  nlohmann::json j = {{"kind", std::string(KindText(r.kind))}, {"currency", r.currency.code}, {"client", client_id},
                      {"appointment", appointment_id}, {"description", r.description},
                      {"applyDeposits", r.apply_deposits}, {"lines", nlohmann::json::array()}};
  for (const Line& l : r.lines) j["lines"].push_back({l.description, l.unit_amount, l.quantity});
  return j.dump();
}

std::vector<Applied> ApplyDeposits(int64_t subtotal, const std::vector<AvailableDeposit>& deposits) {
  std::vector<Applied> out;
  int64_t left = subtotal;
  for (const AvailableDeposit& d : deposits) {
    if (left <= 0) break;
    if (d.available <= 0) continue;
    const int64_t take = std::min(left, d.available);
    out.push_back({d.id, take});
    left -= take;
  }
  return out;
}

absl::StatusOr<int64_t> RefundAmount(int64_t requested, int64_t paid, int64_t refunded, const Currency& currency) {
  const int64_t left = paid - refunded;
  if (paid <= 0) return FieldError(absl::StatusCode::kFailedPrecondition, "paymentRequestId", "nothing was paid yet");
  if (left <= 0) {
    return FieldError(absl::StatusCode::kFailedPrecondition, "paymentRequestId", "this payment is already refunded");
  }
  if (requested < 0) return InvalidField("amount", "the amount cannot be negative");
  if (requested == 0) return left;
  VL_RETURN_IF_ERROR(CheckStep(requested, currency, "amount"));
  if (requested > left) {
    return InvalidField("amount", absl::StrCat("at most ", FormatAmount(left, currency), " is left to refund"));
  }
  return requested;
}

Status StatusFor(Status unpaid, int64_t paid, int64_t refunded) {
  if (paid <= 0) return unpaid;
  if (refunded <= 0) return Status::kPaid;
  return refunded >= paid ? Status::kRefunded : Status::kPartlyRefunded;
}

absl::StatusOr<StripeEvent> ParseEvent(const nlohmann::json& e) {
  if (!e.is_object()) return InvalidField("payload", "not a Stripe event");
  StripeEvent out;
  out.id = Str(e, "id");
  out.type = Str(e, "type");
  out.created = Int(e, "created");
  if (out.id.empty() || out.type.empty() || !e.contains("data") || !e["data"].is_object() ||
      !e["data"].contains("object") || !e["data"]["object"].is_object()) {
    return InvalidField("payload", "not a Stripe event");
  }
  const nlohmann::json& o = e["data"]["object"];
  const nlohmann::json meta = o.contains("metadata") && o["metadata"].is_object() ? o["metadata"] : nlohmann::json::object();
  out.request_id = Str(meta, "payment_request_id");
  out.currency = Str(o, "currency");
  if (out.type == "checkout.session.completed" || out.type == "checkout.session.async_payment_succeeded") {
    out.session_id = Str(o, "id");
    out.payment_intent_id = Str(o, "payment_intent");
    if (Str(o, "payment_status") == "paid" && !out.payment_intent_id.empty()) {
      out.what = StripeEvent::What::kCharge;
      out.amount = Int(o, "amount_total");
    }
  } else if (out.type == "checkout.session.expired") {
    out.session_id = Str(o, "id");
    out.what = StripeEvent::What::kSessionExpired;
  } else if (out.type == "payment_intent.succeeded") {
    out.payment_intent_id = Str(o, "id");
    out.amount = Int(o, "amount_received");
    out.what = StripeEvent::What::kCharge;
  } else if (out.type == "charge.succeeded" || out.type == "charge.refunded") {
    out.charge_id = Str(o, "id");
    out.payment_intent_id = Str(o, "payment_intent");
    const bool paid = Bool(o, "paid") && Str(o, "status") == "succeeded";
    out.amount = Int(o, "amount_captured");
    if (out.amount == 0) out.amount = Int(o, "amount");
    out.amount_refunded = Int(o, "amount_refunded");
    if (paid && !out.payment_intent_id.empty()) {
      out.what = out.type == "charge.refunded" ? StripeEvent::What::kChargeRefunded : StripeEvent::What::kCharge;
    }
  } else if (out.type == "refund.created" || out.type == "refund.updated" || out.type == "charge.refund.updated") {
    out.refund_id = Str(o, "id");
    out.payment_intent_id = Str(o, "payment_intent");
    out.charge_id = Str(o, "charge");
    out.amount = Int(o, "amount");
    if (Str(o, "status") == "succeeded" && !out.refund_id.empty() && out.amount > 0) out.what = StripeEvent::What::kRefund;
  }
  if (out.what != StripeEvent::What::kOther && out.what != StripeEvent::What::kSessionExpired) {
    if (out.amount <= 0 || out.amount > kMaxMinorUnits * 1000) out.what = StripeEvent::What::kOther;
    if (!FindCurrency(out.currency).ok()) out.what = StripeEvent::What::kOther;
  }
  return out;
}

std::string RequestedText(Kind kind, const std::string& description, const std::string& amount_text,
                          const std::string& applied_text, const std::string& pay_url) {
  std::string text = absl::StrCat(KindName(kind), " requested: ", amount_text);
  if (!description.empty() && description != KindName(kind)) absl::StrAppend(&text, " (", description, ")");
  if (!applied_text.empty()) absl::StrAppend(&text, ", after your ", applied_text, " deposit");
  if (pay_url.empty()) {
    absl::StrAppend(&text, ". Nothing is left to pay.");
  } else {
    absl::StrAppend(&text, ". Pay securely here: ", pay_url);
  }
  return text;
}

std::string StatusChangeText(Kind kind, Status status, const std::string& amount_text,
                             const std::string& refunded_text) {
  const std::string what = KindName(kind);
  switch (status) {
    case Status::kPaid:
      return absl::StrCat(what, " of ", amount_text, " paid. Thank you!");
    case Status::kExpired:
      return absl::StrCat("The pay link for the ", absl::AsciiStrToLower(what), " of ", amount_text, " has expired.");
    case Status::kCancelled:
      return absl::StrCat("The ", absl::AsciiStrToLower(what), " request of ", amount_text, " was cancelled.");
    case Status::kRefunded:
      return absl::StrCat(what, " of ", amount_text, " refunded in full.");
    case Status::kPartlyRefunded:
      return absl::StrCat(refunded_text, " of the ", absl::AsciiStrToLower(what), " of ", amount_text,
                          " refunded.");
    default:
      return absl::StrCat(what, " of ", amount_text, ": ", std::string(StatusText(status)));
  }
}

namespace {

std::string AppliedText(const PaymentRecord& r) {
  return r.deposits_applied > 0 ? FormatAmount(r.deposits_applied, r.currency) : "";
}

}  // namespace

std::string RequestedPayload(const PaymentRecord& r) {
  const std::string amount = FormatAmount(r.amount, r.currency);
  return nlohmann::json{{"clinicId", r.clinic_id},
                        {"clientId", r.client_id},
                        {"paymentRequestId", r.id},
                        {"noticeId", absl::StrCat("payment:", r.id, ":requested")},
                        {"kind", std::string(KindText(r.kind))},
                        {"status", std::string(StatusText(r.status))},
                        {"amount", r.amount},
                        {"currency", r.currency.code},
                        {"payUrl", r.pay_url},
                        {"text", RequestedText(r.kind, r.description, amount, AppliedText(r), r.pay_url)}}
      .dump();
}

std::string StatusChangedPayload(const PaymentRecord& r) {
  const std::string amount = FormatAmount(r.amount, r.currency);
  return nlohmann::json{{"clinicId", r.clinic_id},
                        {"clientId", r.client_id},
                        {"paymentRequestId", r.id},
                        {"noticeId", absl::StrCat("payment:", r.id, ":", std::string(StatusText(r.status)), ":", r.paid_amount, ":",
                                                  r.refunded_amount)},
                        {"kind", std::string(KindText(r.kind))},
                        {"status", std::string(StatusText(r.status))},
                        {"amount", r.amount},
                        {"paidAmount", r.paid_amount},
                        {"refundedAmount", r.refunded_amount},
                        {"currency", r.currency.code},
                        {"payUrl", r.pay_url},
                        {"text", StatusChangeText(r.kind, r.status, FormatAmount(r.paid_amount > 0 ? r.paid_amount : r.amount, r.currency),
                                                  FormatAmount(r.refunded_amount, r.currency))}}
      .dump();
}

}  // namespace vetline::payments
