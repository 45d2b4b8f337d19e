#include "services/payments/payments_service.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/ids.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/core/time.h"
#include "libs/core/validate.h"
#include "absl/time/civil_time.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"

namespace vetline::payments {
namespace {

constexpr char kRequestList[] = "payments.requests";

v1::PaymentStatus StatusOut(Status s) {
  switch (s) {
    case Status::kCreating:
    case Status::kRequested:
      return v1::REQUESTED;
    case Status::kPaid:
      return v1::PAID;
    case Status::kExpired:
      return v1::EXPIRED;
    case Status::kCancelled:
      return v1::CANCELLED;
    case Status::kRefunded:
      return v1::REFUNDED;
    case Status::kPartlyRefunded:
      return v1::PARTLY_REFUNDED;
  }
  return v1::PAYMENT_STATUS_UNSPECIFIED;
}

v1::PaymentKind KindOut(Kind k) {
  switch (k) {
    case Kind::kDeposit:
      return v1::DEPOSIT;
    case Kind::kInvoice:
      return v1::INVOICE;
    case Kind::kConsultation:
      return v1::CONSULTATION;
  }
  return v1::PAYMENT_KIND_UNSPECIFIED;
}

void AccountOut(const AccountRow& a, v1::StripeAccount* out) {
  out->set_connected(true);
  out->set_working(a.working);
  out->set_secret_key_last4(a.secret_key_last4);
  out->set_webhook_secret_last4(a.webhook_secret_last4);
  out->set_livemode(a.livemode);
  *out->mutable_verify_time() = ToTimestamp(a.verify_time);
  out->set_webhook_path(absl::StrCat("/v1/webhooks/stripe/", a.clinic_id));
}

// A secret as Stripe issues them: its prefix, then URL-safe characters.
absl::Status Secret(std::string_view field, const std::string& value, std::initializer_list<std::string_view> prefixes) {
  bool prefixed = false;
  for (std::string_view p : prefixes) prefixed = prefixed || value.rfind(p, 0) == 0;
  if (!prefixed || value.size() < 12 || value.size() > 255) {
    return InvalidField(field, absl::StrCat(std::string(field), " must be a Stripe secret starting with ",
                                            std::string(*prefixes.begin())));
  }
  for (unsigned char c : value) {
    if (!absl::ascii_isalnum(c) && c != '_') {
      return InvalidField(field, absl::StrCat(std::string(field), " has characters a Stripe secret never has"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> Day(std::string_view field, const std::string& value) {
  absl::CivilDay d;
  if (value.size() != 10 || !absl::ParseCivilTime(value, &d) || d.year() < 2000 || d.year() > 2200) {
    return InvalidField(field, absl::StrCat(std::string(field), " must be a date like 2026-03-08"));
  }
  return absl::FromCivil(d, absl::UTCTimeZone());
}

}  // namespace

absl::Status GrpcAppointmentRefs::Check(const api::Principal& caller, const std::string& appointment_id,
                                        const std::string& client_id) const {
  VL_RETURN_IF_ERROR(validate::Id("appointmentId", appointment_id));
  if (!stub_) return absl::UnavailableError("appointments cannot be checked on this deployment");
  booking::v1::GetAppointmentRequest req;
  req.set_id(appointment_id);
  booking::v1::Appointment a;
  grpc::ClientContext ctx;
  rpc::AttachPrincipal(ctx, caller, signer_);
  rpc::SetDeadline(ctx, absl::Seconds(2));
  grpc::Status st = stub_->GetAppointment(&ctx, req, &a);
  if (st.error_code() == grpc::StatusCode::NOT_FOUND || st.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    return NotFoundField("appointmentId", "no appointment with this appointmentId in your clinic");
  }
  if (!st.ok()) {
    log::Warn("appointment check failed", {{"code", rpc::CodeName(st.error_code())}, {"detail", st.error_message()}});
    return absl::UnavailableError("appointments cannot be checked right now; try again");
  }
  if (a.client_id() != client_id) {
    return InvalidField("appointmentId", "this appointment is not the client's");
  }
  return absl::OkStatus();
}

v1::PaymentRequest ToWire(const PaymentRecord& p) {
  v1::PaymentRequest w;
  w.set_id(p.id);
  w.set_client_request_id(p.client_request_id);
  w.set_kind(KindOut(p.kind));
  w.set_status(StatusOut(p.status));
  w.set_client_id(p.client_id);
  w.set_appointment_id(p.appointment_id);
  w.set_currency(p.currency.code);
  for (const Line& l : p.lines) {
    v1::LineItem* li = w.add_line_items();
    li->set_description(l.description);
    li->set_unit_amount(l.unit_amount);
    li->set_quantity(l.quantity);
  }
  w.set_subtotal(p.subtotal);
  for (const Applied& a : p.applied) {
    v1::AppliedDeposit* d = w.add_applied_deposits();
    d->set_deposit_id(a.deposit_id);
    d->set_amount(a.amount);
  }
  w.set_amount(p.amount);
  w.set_paid_amount(p.paid_amount);
  w.set_refunded_amount(p.refunded_amount);
  w.set_pay_url(p.pay_url);
  w.set_description(p.description);
  w.set_amount_text(FormatAmount(p.amount, p.currency));
  *w.mutable_create_time() = ToTimestamp(absl::FromUnixMicros(p.create_unix_micros));
  if (p.paid_unix_micros > 0) *w.mutable_paid_time() = ToTimestamp(absl::FromUnixMicros(p.paid_unix_micros));
  return w;
}

grpc::Status PaymentsService::ConnectAccount(grpc::ServerContext* ctx, const v1::ConnectAccountRequest* req,
                                             v1::StripeAccount* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_RETURN_IF_ERROR(Secret("secretKey", req->secret_key(), {"sk_test_", "sk_live_", "rk_test_", "rk_live_"}));
    VL_RETURN_IF_ERROR(Secret("webhookSigningSecret", req->webhook_signing_secret(), {"whsec_"}));
    VL_ASSIGN_OR_RETURN(AccountRow a,
                        flow_.Connect(p.clinic_id(), IsUuid(p.user_id()) ? p.user_id() : "", req->secret_key(), req->webhook_signing_secret()));
    AccountOut(a, out);
    return absl::OkStatus();
  }());
}

grpc::Status PaymentsService::GetAccount(grpc::ServerContext* ctx, const v1::GetAccountRequest*,
                                         v1::StripeAccount* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(std::optional<AccountRow> a, flow_.repo().Account(p.clinic_id()));
    if (a) AccountOut(*a, out);
    return absl::OkStatus();
  }());
}

grpc::Status PaymentsService::CreatePaymentRequest(grpc::ServerContext* ctx, const v1::CreatePaymentRequestRequest* req,
                                                   v1::PaymentRequest* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    RequestInput in{.client_request_id = req->client_request_id(),
                    .kind = req->kind(),
                    .currency = req->currency(),
                    .amount = req->amount(),
                    .description = req->description(),
                    .apply_deposits = req->apply_deposits()};
    for (const v1::LineItem& l : req->line_items()) {
      in.lines.push_back({.description = l.description(), .unit_amount = l.unit_amount(), .quantity = l.quantity()});
    }
    VL_ASSIGN_OR_RETURN(CheckedRequest checked, CheckRequest(in));
    VL_RETURN_IF_ERROR(validate::Id("clientId", req->client_id()));
    if (!req->appointment_id().empty()) VL_RETURN_IF_ERROR(validate::Id("appointmentId", req->appointment_id()));
    VL_RETURN_IF_ERROR(clients_.Check(p, "clientId", req->client_id()));
    if (!req->appointment_id().empty()) {
      VL_RETURN_IF_ERROR(appointments_.Check(p, req->appointment_id(), req->client_id()));
    }
    NewRequest n{.id = NewUuid(), .checked = checked, .client_id = req->client_id(),
                 .appointment_id = req->appointment_id(), .created_by = IsUuid(p.user_id()) ? p.user_id() : "",
                 .fingerprint = Fingerprint(checked, req->client_id(), req->appointment_id())};
    VL_ASSIGN_OR_RETURN(PaymentRecord rec, flow_.Create(p.clinic_id(), n));
    *out = ToWire(rec);
    return absl::OkStatus();
  }());
}

grpc::Status PaymentsService::GetPaymentRequest(grpc::ServerContext* ctx, const v1::GetPaymentRequestRequest* req,
                                                v1::PaymentRequest* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    // Staff see their clinic's requests; a client sees only their own (the portal's pay
    // page), and another client's is as missing as one that does not exist.
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaffOrClient(*ctx, signer_));
    const bool client = p.kind() == api::Principal::CLIENT;
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_ASSIGN_OR_RETURN(PaymentRecord rec, flow_.repo().Get(p.clinic_id(), req->id()));
    if (client && (p.client_id().empty() || rec.client_id != p.client_id())) {
      return NotFoundField("id", "no such payment request in your clinic");
    }
    *out = ToWire(rec);
    return absl::OkStatus();
  }());
}

grpc::Status PaymentsService::ListPaymentRequests(grpc::ServerContext* ctx, const v1::ListPaymentRequestsRequest* req,
                                                  v1::ListPaymentRequestsResponse* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(int size, validate::PageSize("pageSize", req->page_size()));
    if (!req->client_id().empty()) {
      VL_RETURN_IF_ERROR(validate::Id("clientId", req->client_id()));
      VL_RETURN_IF_ERROR(clients_.Check(p, "clientId", req->client_id()));
    }
    std::optional<std::pair<int64_t, std::string>> after;
    if (!req->page_token().empty()) {
      VL_ASSIGN_OR_RETURN(std::vector<std::string> c,
                          page_tokens_.Decode("pageToken", req->page_token(), kRequestList,
                                              p.clinic_id() + "/" + req->client_id(), 2));
      int64_t micros = 0;
      if (!absl::SimpleAtoi(c[0], &micros) || !IsUuid(c[1])) return InvalidField("pageToken", "bad page token");
      after = std::make_pair(micros, c[1]);
    }
    VL_ASSIGN_OR_RETURN(std::vector<PaymentRecord> rows,
                        flow_.repo().List(p.clinic_id(), req->client_id(), after, size + 1));
    for (int i = 0; i < static_cast<int>(rows.size()) && i < size; ++i) *out->add_payment_requests() = ToWire(rows[i]);
    if (static_cast<int>(rows.size()) > size) {
      const PaymentRecord& last = rows[size - 1];
      out->set_next_page_token(page_tokens_.Encode(kRequestList, p.clinic_id() + "/" + req->client_id(),
                                                   {std::to_string(last.create_unix_micros), last.id}));
    }
    return absl::OkStatus();
  }());
}

grpc::Status PaymentsService::CancelPaymentRequest(grpc::ServerContext* ctx,
                                                   const v1::CancelPaymentRequestRequest* req,
                                                   v1::PaymentRequest* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_RETURN_IF_ERROR(flow_.repo().Get(p.clinic_id(), req->id()).status());  // 404 before Stripe is needed
    VL_ASSIGN_OR_RETURN(PaymentRecord rec, flow_.Cancel(p.clinic_id(), req->id()));
    *out = ToWire(rec);
    return absl::OkStatus();
  }());
}

// Refunds are money leaving the clinic's account: admins only, the same role that
// connects the account and sees the balances.
grpc::Status PaymentsService::RefundPayment(grpc::ServerContext* ctx, const v1::RefundPaymentRequest* req,
                                            v1::Refund* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("paymentRequestId", req->payment_request_id()));
    if (req->client_request_id().empty() || req->client_request_id().size() > 100 ||
        !validate::IsUtf8(req->client_request_id()) || req->client_request_id().find('\0') != std::string::npos) {
      return InvalidField("clientRequestId", "clientRequestId is required (text of at most 100 bytes)");
    }
    if (req->amount() < 0) return InvalidField("amount", "the amount cannot be negative");
    if (req->amount() > kMaxMinorUnits) return InvalidField("amount", "the amount is larger than one payment may be");
    const std::string& reason = req->reason();
    if (!reason.empty() && reason != "duplicate" && reason != "fraudulent" && reason != "requested_by_customer") {
      return InvalidField("reason", "reason must be duplicate, fraudulent or requested_by_customer");
    }
    // Found in the caller's clinic, or the error names this RPC's own field.
    absl::StatusOr<PaymentRecord> rec = flow_.repo().Get(p.clinic_id(), req->payment_request_id());
    if (absl::IsNotFound(rec.status())) {
      return NotFoundField("paymentRequestId", "no payment request with this paymentRequestId in your clinic");
    }
    VL_RETURN_IF_ERROR(rec.status());
    VL_ASSIGN_OR_RETURN(PaymentsRepository::RefundAsk ask,
                        flow_.Refund(p.clinic_id(), req->payment_request_id(), req->client_request_id(),
                                     req->amount(), reason));
    out->set_id(ask.refund_id);
    out->set_payment_request_id(ask.request.id);
    out->set_amount(ask.amount);
    out->set_currency(ask.request.currency.code);
    *out->mutable_payment_request() = ToWire(ask.request);
    return absl::OkStatus();
  }());
}

grpc::Status PaymentsService::GetBalances(grpc::ServerContext* ctx, const v1::GetBalancesRequest*,
                                          v1::GetBalancesResponse* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(std::vector<LedgerTotals> totals, flow_.repo().Balances(p.clinic_id()));
    for (const LedgerTotals& t : totals) {
      v1::Balance* b = out->add_balances();
      b->set_currency(t.currency);
      b->set_charged(t.charged);
      b->set_refunded(t.refunded);
      b->set_net(t.charged - t.refunded);
    }
    return absl::OkStatus();
  }());
}

grpc::Status PaymentsService::GetPaymentsReport(grpc::ServerContext* ctx, const v1::GetPaymentsReportRequest* req,
                                                v1::GetPaymentsReportResponse* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(absl::Time from, Day("from", req->from()));
    VL_ASSIGN_OR_RETURN(absl::Time to, Day("to", req->to()));
    if (to < from) return InvalidField("to", "to is before from");
    if (to - from > absl::Hours(24 * 366)) return InvalidField("to", "ask for at most a year at a time");
    VL_ASSIGN_OR_RETURN(std::vector<ReportLine> lines, flow_.repo().Report(p.clinic_id(), from, to + absl::Hours(24)));
    std::map<std::string, v1::Balance> totals;
    for (const ReportLine& l : lines) {
      v1::ReportRow* r = out->add_rows();
      r->set_day(l.day);
      r->set_currency(l.currency);
      r->set_kind(KindOut(l.kind));
      r->set_charges(static_cast<int32_t>(l.charges));
      r->set_charged(l.charged);
      r->set_refunds(static_cast<int32_t>(l.refunds));
      r->set_refunded(l.refunded);
      r->set_net(l.charged - l.refunded);
      v1::Balance& t = totals[l.currency];
      t.set_currency(l.currency);
      t.set_charged(t.charged() + l.charged);
      t.set_refunded(t.refunded() + l.refunded);
      t.set_net(t.charged() - t.refunded());
    }
    for (auto& [currency, t] : totals) *out->add_totals() = t;
    return absl::OkStatus();
  }());
}

grpc::Status StripeWebhooksService::StripeWebhook(grpc::ServerContext*, const v1::StripeWebhookRequest* req,
                                                  v1::StripeWebhookResponse*) {
  return rpc::ToGrpc([&]() -> absl::Status {
    // Anonymous: the signature under the clinic's own signing secret is the proof.
    if (!IsUuid(req->clinic_id())) return NotFoundField("clinicId", "no such webhook endpoint");
    if (req->signature().empty()) return InvalidField("Stripe-Signature", "the Stripe-Signature header is missing");
    return flow_.Webhook(req->clinic_id(), req->payload(), req->signature());
  }());
}

}  // namespace vetline::payments
