#include "services/payments/payments_repository.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "libs/core/ids.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "nlohmann/json.hpp"

namespace vetline::payments {
namespace {

#define VL_PAYMENT_COLUMNS                                                                                      \
  "id, clinic_id, client_request_id, kind, client_id, COALESCE(appointment_id::text, '') AS appointment_id, "    \
  "currency, description, subtotal, deposits_applied, amount, status, COALESCE(session_id, '') AS session_id, " \
  "pay_url, COALESCE(payment_intent_id, '') AS payment_intent_id, paid_amount, refunded_amount, fingerprint, "   \
  "(extract(epoch FROM create_time) * 1000000)::bigint AS create_us, "                                           \
  "COALESCE((extract(epoch FROM paid_time) * 1000000)::bigint, 0) AS paid_us"

#define VL_ACCOUNT_COLUMNS                                                                                     \
  "clinic_id, secret_key_sealed, webhook_secret_sealed, secret_key_last4, webhook_secret_last4, livemode, "     \
  "working, verify_time, events_checked_until"

// ---- accounts ----
// A first connection has nothing of ours to repair: its first reconciliation pass is a
// period away and reads Stripe's events from now on. A reconnection (a key fixed after
// Stripe refused it) is checked at once.
constexpr pg::Statement kSaveAccount{
    "payments_save_account",
    "INSERT INTO payments.accounts (clinic_id, secret_key_sealed, webhook_secret_sealed, secret_key_last4, "
    "webhook_secret_last4, livemode, working, verify_time, connected_by, reconcile_due, events_checked_until) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, now(), NULLIF($8, '')::uuid, "
    "now() + $9::bigint * interval '1 microsecond', extract(epoch FROM now())::bigint) "
    "ON CONFLICT (clinic_id) DO UPDATE SET secret_key_sealed = $2, webhook_secret_sealed = $3, "
    "secret_key_last4 = $4, webhook_secret_last4 = $5, livemode = $6, working = $7, verify_time = now(), "
    "connected_by = NULLIF($8, '')::uuid, reconcile_due = now(), update_time = now()"};
constexpr pg::Statement kAccount{"payments_account",
                                 "SELECT " VL_ACCOUNT_COLUMNS " FROM payments.accounts WHERE clinic_id = $1"};
constexpr pg::Statement kReseal{
    "payments_reseal",
    "UPDATE payments.accounts SET secret_key_sealed = $3, webhook_secret_sealed = $5, update_time = now() "
    "WHERE clinic_id = $1 AND secret_key_sealed = $2 AND webhook_secret_sealed = $4"};
constexpr pg::Statement kNotWorking{
    "payments_not_working",
    "UPDATE payments.accounts SET working = false, verify_time = now(), update_time = now() WHERE clinic_id = $1"};

// ---- requests ----
constexpr pg::Statement kInsertRequest{
    "payments_insert_request",
    "INSERT INTO payments.requests (id, clinic_id, client_request_id, kind, client_id, appointment_id, currency, "
    "description, subtotal, amount, status, fingerprint, created_by) "
    "VALUES ($1, $2, $3, $4, $5, NULLIF($6, '')::uuid, $7, $8, $9, $9, 'creating', $10, NULLIF($11, '')::uuid) "
    "ON CONFLICT (clinic_id, client_request_id) DO NOTHING RETURNING id"};
constexpr pg::Statement kInsertLines{
    "payments_insert_lines",
    "INSERT INTO payments.request_lines (request_id, position, description, unit_amount, quantity) "
    "SELECT $1, (t.ord - 1)::int, t.line->>0, (t.line->>1)::bigint, (t.line->>2)::int "
    "FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS t(line, ord)"};
constexpr pg::Statement kByClientRequestId{
    "payments_by_client_request_id",
    "SELECT " VL_PAYMENT_COLUMNS " FROM payments.requests WHERE clinic_id = $1 AND client_request_id = $2"};
constexpr pg::Statement kRequest{"payments_request",
                                 "SELECT " VL_PAYMENT_COLUMNS " FROM payments.requests WHERE clinic_id = $1 AND id = $2"};
constexpr pg::Statement kLockRequest{
    "payments_lock_request",
    "SELECT " VL_PAYMENT_COLUMNS " FROM payments.requests WHERE clinic_id = $1 AND id = $2 FOR UPDATE"};
constexpr pg::Statement kLockByIntent{
    "payments_lock_by_intent",
    "SELECT " VL_PAYMENT_COLUMNS " FROM payments.requests WHERE clinic_id = $1 AND payment_intent_id = $2 FOR UPDATE"};
constexpr pg::Statement kLockBySession{
    "payments_lock_by_session",
    "SELECT " VL_PAYMENT_COLUMNS " FROM payments.requests WHERE clinic_id = $1 AND session_id = $2 FOR UPDATE"};
constexpr pg::Statement kLines{
    "payments_lines",
    "SELECT request_id, description, unit_amount, quantity FROM payments.request_lines "
    "WHERE request_id = ANY($1::uuid[]) ORDER BY request_id, position"};
constexpr pg::Statement kAppliedOf{
    "payments_applied_of",
    "SELECT invoice_id, deposit_id, amount FROM payments.deposit_applications "
    "WHERE clinic_id = $1 AND invoice_id = ANY($2::uuid[]) ORDER BY invoice_id, create_time, deposit_id"};
constexpr pg::Statement kList{
    "payments_list",
    "SELECT " VL_PAYMENT_COLUMNS " FROM payments.requests WHERE clinic_id = $1 "
    "AND ($2 = '' OR client_id = NULLIF($2, '')::uuid) "
    "AND ($3::bigint IS NULL OR (create_time, id) < ('epoch'::timestamptz + $3::bigint * interval '1 microsecond', "
    "$4::uuid)) ORDER BY create_time DESC, id DESC LIMIT $5"};
constexpr pg::Statement kAvailableDeposits{
    "payments_available_deposits",
    "SELECT r.id, r.paid_amount - r.refunded_amount AS available FROM payments.requests r "
    "WHERE r.clinic_id = $1 AND r.client_id = $2 AND r.currency = $3 AND r.kind = 'deposit' "
    "AND r.status IN ('paid', 'partly_refunded') AND r.paid_amount > r.refunded_amount "
    "AND NOT EXISTS (SELECT 1 FROM payments.deposit_applications a WHERE a.deposit_id = r.id) "
    "ORDER BY r.paid_time, r.id FOR UPDATE OF r"};
constexpr pg::Statement kApplyDeposit{
    "payments_apply_deposit",
    "INSERT INTO payments.deposit_applications (deposit_id, invoice_id, clinic_id, amount) VALUES ($1, $2, $3, $4)"};
constexpr pg::Statement kSetDeposits{
    "payments_set_deposits",
    "UPDATE payments.requests SET deposits_applied = $3, amount = subtotal - $3, "
    "status = CASE WHEN subtotal - $3 = 0 THEN 'paid' ELSE status END, update_time = now() "
    "WHERE clinic_id = $1 AND id = $2"};
constexpr pg::Statement kReleaseDeposits{
    "payments_release_deposits",
    "DELETE FROM payments.deposit_applications WHERE clinic_id = $1 AND invoice_id = $2"};
constexpr pg::Statement kIsApplied{
    "payments_is_applied",
    "SELECT EXISTS (SELECT 1 FROM payments.deposit_applications WHERE clinic_id = $1 AND deposit_id = $2) AS applied"};
constexpr pg::Statement kSetCreated{
    "payments_set_created",
    "UPDATE payments.requests SET status = 'requested', session_id = $3, pay_url = $4, update_time = now() "
    "WHERE clinic_id = $1 AND id = $2"};
constexpr pg::Statement kSetStatus{
    "payments_set_status",
    "UPDATE payments.requests SET status = $3, update_time = now() WHERE clinic_id = $1 AND id = $2"};

// ---- ledger ----
constexpr pg::Statement kLedgerInsert{
    "payments_ledger_insert",
    "INSERT INTO payments.ledger (clinic_id, request_id, entry, stripe_object_id, amount, currency) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (clinic_id, entry, stripe_object_id) DO NOTHING RETURNING id"};
// The request's money is what its ledger rows say, never a running total of our own.
constexpr pg::Statement kRecompute{
    "payments_recompute",
    "UPDATE payments.requests r SET paid_amount = t.paid, refunded_amount = t.refunded, "
    "payment_intent_id = COALESCE(r.payment_intent_id, NULLIF($3, '')), "
    "paid_time = COALESCE(r.paid_time, CASE WHEN t.paid > 0 THEN now() END), update_time = now() "
    "FROM (SELECT COALESCE(sum(amount) FILTER (WHERE entry = 'charge'), 0) AS paid, "
    "COALESCE(-sum(amount) FILTER (WHERE entry = 'refund'), 0) AS refunded "
    "FROM payments.ledger WHERE clinic_id = $1 AND request_id = $2) t "
    "WHERE r.clinic_id = $1 AND r.id = $2 RETURNING r.paid_amount, r.refunded_amount, "
    "COALESCE(r.payment_intent_id, '') AS payment_intent_id, "
    "COALESCE((extract(epoch FROM r.paid_time) * 1000000)::bigint, 0) AS paid_us"};
constexpr pg::Statement kInsertEvent{
    "payments_insert_event",
    "INSERT INTO payments.events (clinic_id, event_id, type, created) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (clinic_id, event_id) DO NOTHING RETURNING event_id"};
constexpr pg::Statement kBalances{
    "payments_balances",
    "SELECT currency, COALESCE(sum(amount) FILTER (WHERE entry = 'charge'), 0) AS charged, "
    "COALESCE(-sum(amount) FILTER (WHERE entry = 'refund'), 0) AS refunded "
    "FROM payments.ledger WHERE clinic_id = $1 GROUP BY currency ORDER BY currency"};
constexpr pg::Statement kReport{
    "payments_report",
    "SELECT to_char(l.create_time AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, l.currency, r.kind, "
    "count(*) FILTER (WHERE l.entry = 'charge') AS charges, "
    "COALESCE(sum(l.amount) FILTER (WHERE l.entry = 'charge'), 0) AS charged, "
    "count(*) FILTER (WHERE l.entry = 'refund') AS refunds, "
    "COALESCE(-sum(l.amount) FILTER (WHERE l.entry = 'refund'), 0) AS refunded "
    "FROM payments.ledger l JOIN payments.requests r ON r.id = l.request_id AND r.clinic_id = l.clinic_id "
    "WHERE l.clinic_id = $1 AND l.create_time >= $2 AND l.create_time < $3 "
    "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"};

// ---- refunds ----
constexpr pg::Statement kRefundAskByClientId{
    "payments_refund_ask_by_client_id",
    "SELECT id, request_id, amount, COALESCE(refund_id, '') AS refund_id FROM payments.refund_requests "
    "WHERE clinic_id = $1 AND client_request_id = $2"};
constexpr pg::Statement kInsertRefundAsk{
    "payments_insert_refund_ask",
    "INSERT INTO payments.refund_requests (id, clinic_id, client_request_id, request_id, amount) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (clinic_id, client_request_id) DO NOTHING RETURNING id"};
constexpr pg::Statement kLockRefundAsk{
    "payments_lock_refund_ask",
    "SELECT COALESCE(refund_id, '') AS refund_id FROM payments.refund_requests "
    "WHERE clinic_id = $1 AND id = $2 FOR UPDATE"};
constexpr pg::Statement kSetRefundId{
    "payments_set_refund_id", "UPDATE payments.refund_requests SET refund_id = $3 WHERE clinic_id = $1 AND id = $2"};

// ---- reconciliation ----
constexpr pg::Statement kClaim{
    "payments_claim_reconciliation",
    "UPDATE payments.accounts SET reconcile_due = now() + $1::bigint * interval '1 microsecond' "
    "WHERE clinic_id = (SELECT clinic_id FROM payments.accounts WHERE working AND reconcile_due <= now() "
    "ORDER BY reconcile_due LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING " VL_ACCOUNT_COLUMNS};
constexpr pg::Statement kStaleCreating{
    "payments_stale_creating",
    "SELECT id FROM payments.requests WHERE clinic_id = $1 AND status = 'creating' "
    "AND create_time < now() - $2::bigint * interval '1 microsecond' ORDER BY create_time LIMIT 100"};
constexpr pg::Statement kEventsChecked{
    "payments_events_checked",
    "UPDATE payments.accounts SET events_checked_until = GREATEST(events_checked_until, $2) WHERE clinic_id = $1"};

std::string UuidArray(const std::vector<std::string>& ids) {  // our own uuids only
  std::string out = "{";
  for (size_t i = 0; i < ids.size(); ++i) absl::StrAppend(&out, i ? "," : "", ids[i]);
  return out + "}";
}

AccountRow AccountOf(const pg::Result& r, int i) {
  return AccountRow{.clinic_id = r.Text(i, "clinic_id"),
                    .secret_key_sealed = r.Text(i, "secret_key_sealed"),
                    .webhook_secret_sealed = r.Text(i, "webhook_secret_sealed"),
                    .secret_key_last4 = r.Text(i, "secret_key_last4"),
                    .webhook_secret_last4 = r.Text(i, "webhook_secret_last4"),
                    .livemode = r.Bool(i, "livemode"),
                    .working = r.Bool(i, "working"),
                    .verify_time = r.Time(i, "verify_time"),
                    .events_checked_until = r.Int(i, "events_checked_until")};
}

PaymentRecord RecordOf(const pg::Result& r, int i) {
  PaymentRecord p;
  p.id = r.Text(i, "id");
  p.clinic_id = r.Text(i, "clinic_id");
  p.client_request_id = r.Text(i, "client_request_id");
  p.kind = KindFromText(r.Text(i, "kind")).value_or(Kind::kDeposit);
  p.client_id = r.Text(i, "client_id");
  p.appointment_id = r.Text(i, "appointment_id");
  p.currency = FindCurrency(r.Text(i, "currency")).value_or(Currency{r.Text(i, "currency"), 2});
  p.description = r.Text(i, "description");
  p.subtotal = r.Int(i, "subtotal");
  p.deposits_applied = r.Int(i, "deposits_applied");
  p.amount = r.Int(i, "amount");
  p.status = StatusFromText(r.Text(i, "status")).value_or(Status::kRequested);
  p.session_id = r.Text(i, "session_id");
  p.pay_url = r.Text(i, "pay_url");
  p.payment_intent_id = r.Text(i, "payment_intent_id");
  p.paid_amount = r.Int(i, "paid_amount");
  p.refunded_amount = r.Int(i, "refunded_amount");
  p.fingerprint = r.Text(i, "fingerprint");
  p.create_unix_micros = r.Int(i, "create_us");
  p.paid_unix_micros = r.Int(i, "paid_us");
  return p;
}

absl::StatusOr<std::optional<PaymentRecord>> One(pg::Session& s, const pg::Statement& st, const pg::Params& params) {
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(st, params));
  if (r.rows() == 0) return std::optional<PaymentRecord>();
  return std::optional<PaymentRecord>(RecordOf(r, 0));
}

// Lines and applied deposits of `records`, two queries for any number of them.
absl::Status LoadDetails(pg::Session& s, const std::string& clinic_id, std::vector<PaymentRecord*> records) {
  if (records.empty()) return absl::OkStatus();
  std::vector<std::string> ids;
  std::map<std::string, PaymentRecord*> by_id;
  for (PaymentRecord* p : records) {
    ids.push_back(p->id);
    by_id[p->id] = p;
    p->lines.clear();
    p->applied.clear();
  }
  VL_ASSIGN_OR_RETURN(std::vector<pg::Result> rs,
                      s.ExecBatch({{kLines, {UuidArray(ids)}}, {kAppliedOf, {clinic_id, UuidArray(ids)}}}));
  for (int i = 0; i < rs[0].rows(); ++i) {
    by_id[rs[0].Text(i, "request_id")]->lines.push_back({.description = rs[0].Text(i, "description"),
                                                          .unit_amount = rs[0].Int(i, "unit_amount"),
                                                          .quantity = static_cast<int>(rs[0].Int(i, "quantity"))});
  }
  for (int i = 0; i < rs[1].rows(); ++i) {
    by_id[rs[1].Text(i, "invoice_id")]->applied.push_back(
        {.deposit_id = rs[1].Text(i, "deposit_id"), .amount = rs[1].Int(i, "amount")});
  }
  return absl::OkStatus();
}

absl::StatusOr<PaymentRecord> MustLock(pg::Session& s, const std::string& clinic_id, const std::string& id) {
  VL_ASSIGN_OR_RETURN(std::optional<PaymentRecord> p, One(s, kLockRequest, {clinic_id, id}));
  if (!p) return absl::NotFoundError("no such payment request in your clinic");
  return *p;
}

// What the request was before money arrived: a paid one that lost it all again is
// still "paid"-family, decided by StatusFor.
Status Unpaid(Status s) {
  switch (s) {
    case Status::kCreating:
    case Status::kRequested:
    case Status::kExpired:
    case Status::kCancelled:
      return s;
    default:
      return Status::kRequested;
  }
}

// The request's money again from its ledger rows; its status from that, and a notice when
// anything the client sees changed.
absl::Status Recompute(pg::Session& s, PaymentRecord& p, const std::string& intent, std::vector<std::string>& notices) {
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kRecompute, {p.clinic_id, p.id, intent}));
  if (r.rows() != 1) return absl::InternalError("payment request vanished");
  const int64_t paid = r.Int(0, "paid_amount"), refunded = r.Int(0, "refunded_amount");
  p.payment_intent_id = r.Text(0, "payment_intent_id");
  p.paid_unix_micros = r.Int(0, "paid_us");
  const Status status = p.status == Status::kPaid && p.amount == 0 ? Status::kPaid  // settled by deposits
                                                                   : StatusFor(Unpaid(p.status), paid, refunded);
  const bool changed = status != p.status || paid != p.paid_amount || refunded != p.refunded_amount;
  p.paid_amount = paid;
  p.refunded_amount = refunded;
  if (status != p.status) {
    VL_RETURN_IF_ERROR(s.Exec(kSetStatus, {p.clinic_id, p.id, std::string(StatusText(status))}).status());
    if (status == Status::kPaid && Unpaid(p.status) == Status::kCancelled) {
      log::Warn("a cancelled payment request was paid; it counts as paid", {{"request", p.id}});
    }
    p.status = status;
  }
  if (changed) notices.push_back(StatusChangedPayload(p));
  return absl::OkStatus();
}

absl::Status AddNotices(pg::Session& s, const outbox::Outbox& outbox, const std::vector<std::string>& requested,
                        const std::vector<std::string>& changed) {
  for (const std::string& n : requested) VL_RETURN_IF_ERROR(outbox.Add(s, "payment.requested", n));
  for (const std::string& n : changed) VL_RETURN_IF_ERROR(outbox.Add(s, "payment.status_changed", n));
  return absl::OkStatus();
}

// The request a Stripe fact is about, locked: our metadata id, else the PaymentIntent,
// else the Checkout Session.
absl::StatusOr<std::optional<PaymentRecord>> FindForFact(pg::Session& s, const std::string& clinic_id,
                                                         const StripeEvent& e) {
  if (IsUuid(e.request_id)) {
    VL_ASSIGN_OR_RETURN(auto p, One(s, kLockRequest, {clinic_id, e.request_id}));
    if (p) return p;
  }
  if (!e.payment_intent_id.empty()) {
    VL_ASSIGN_OR_RETURN(auto p, One(s, kLockByIntent, {clinic_id, e.payment_intent_id}));
    if (p) return p;
  }
  if (!e.session_id.empty()) return One(s, kLockBySession, {clinic_id, e.session_id});
  return std::optional<PaymentRecord>();
}

// A paid PaymentIntent as a ledger charge (once per intent).
absl::StatusOr<std::optional<PaymentRecord>> RecordCharge(pg::Session& s, const std::string& clinic_id,
                                                          const StripeEvent& e, std::vector<std::string>& notices) {
  VL_ASSIGN_OR_RETURN(std::optional<PaymentRecord> p, FindForFact(s, clinic_id, e));
  if (!p) return p;
  if (p->currency.code != e.currency) {
    log::Error("a Stripe charge in another currency than its request; not counted",
               {{"request", p->id}, {"intent", e.payment_intent_id}});
    return std::optional<PaymentRecord>();
  }
  if (!p->payment_intent_id.empty() && p->payment_intent_id != e.payment_intent_id) {
    log::Warn("a second PaymentIntent paid one request; both are counted",
              {{"request", p->id}, {"intent", e.payment_intent_id}});
  }
  VL_RETURN_IF_ERROR(s.Exec(kLedgerInsert, {clinic_id, p->id, "charge", e.payment_intent_id, e.amount, e.currency})
                         .status());
  VL_RETURN_IF_ERROR(Recompute(s, *p, e.payment_intent_id, notices));
  return p;
}

absl::Status RecordRefund(pg::Session& s, PaymentRecord& p, const std::string& refund_id, int64_t amount,
                          std::vector<std::string>& notices) {
  VL_RETURN_IF_ERROR(
      s.Exec(kLedgerInsert, {p.clinic_id, p.id, "refund", refund_id, -amount, p.currency.code}).status());
  return Recompute(s, p, "", notices);
}

}  // namespace

// ---- accounts ----

absl::Status PaymentsRepository::SaveAccount(const AccountRow& a, const std::string& user_id,
                                             absl::Duration reconcile_every) {
  return pool_->Exec(kSaveAccount, {a.clinic_id, a.secret_key_sealed, a.webhook_secret_sealed, a.secret_key_last4,
                                    a.webhook_secret_last4, a.livemode, a.working, user_id,
                                    absl::ToInt64Microseconds(reconcile_every)})
      .status();
}

absl::StatusOr<std::optional<AccountRow>> PaymentsRepository::Account(const std::string& clinic_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kAccount, {clinic_id}));
  if (r.rows() == 0) return std::optional<AccountRow>();
  return std::optional<AccountRow>(AccountOf(r, 0));
}

absl::Status PaymentsRepository::Reseal(const std::string& clinic_id, const std::string& old_key,
                                        const std::string& new_key, const std::string& old_webhook,
                                        const std::string& new_webhook) {
  return pool_->Exec(kReseal, {clinic_id, old_key, new_key, old_webhook, new_webhook}).status();
}

absl::Status PaymentsRepository::MarkNotWorking(const std::string& clinic_id) {
  return pool_->Exec(kNotWorking, {clinic_id}).status();
}

// ---- requests ----

absl::StatusOr<PaymentRecord> PaymentsRepository::BeginRequest(const std::string& clinic_id, const NewRequest& n) {
  PaymentRecord out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    const CheckedRequest& c = n.checked;
    VL_ASSIGN_OR_RETURN(pg::Result ins,
                        s.Exec(kInsertRequest, {n.id, clinic_id, c.client_request_id, std::string(KindText(c.kind)),
                                                n.client_id, n.appointment_id, c.currency.code, c.description,
                                                c.subtotal, n.fingerprint, n.created_by}));
    if (ins.rows() == 0) {  // a retry, or the id reused
      VL_ASSIGN_OR_RETURN(auto p, One(s, kByClientRequestId, {clinic_id, c.client_request_id}));
      if (!p) return absl::AbortedError("the payment request is being changed; try again");
      if (p->fingerprint != n.fingerprint) {
        return FieldError(absl::StatusCode::kAlreadyExists, "clientRequestId",
                          "this clientRequestId was already used for a different payment request");
      }
      out = *p;
      return LoadDetails(s, clinic_id, {&out});
    }
    nlohmann::json lines = nlohmann::json::array();
    for (const Line& l : c.lines) lines.push_back({l.description, std::to_string(l.unit_amount), std::to_string(l.quantity)});
    VL_RETURN_IF_ERROR(s.Exec(kInsertLines, {n.id, lines.dump()}).status());
    if (c.apply_deposits) {
      VL_ASSIGN_OR_RETURN(pg::Result d, s.Exec(kAvailableDeposits, {clinic_id, n.client_id, c.currency.code}));
      std::vector<AvailableDeposit> available;
      for (int i = 0; i < d.rows(); ++i) available.push_back({d.Text(i, "id"), d.Int(i, "available")});
      int64_t total = 0;
      for (const Applied& a : ApplyDeposits(c.subtotal, available)) {
        absl::Status st = s.Exec(kApplyDeposit, {a.deposit_id, n.id, clinic_id, a.amount}).status();
        if (absl::IsAlreadyExists(st)) {  // another invoice took it first: its constraint, our retry
          return absl::AbortedError("a deposit of this client was just applied elsewhere; try again");
        }
        VL_RETURN_IF_ERROR(st);
        total += a.amount;
      }
      if (total > 0) VL_RETURN_IF_ERROR(s.Exec(kSetDeposits, {clinic_id, n.id, total}).status());
    }
    VL_ASSIGN_OR_RETURN(auto p, One(s, kRequest, {clinic_id, n.id}));
    out = *p;
    VL_RETURN_IF_ERROR(LoadDetails(s, clinic_id, {&out}));
    if (out.status == Status::kPaid) {  // the deposits cover it all: nothing to ask Stripe
      return AddNotices(s, outbox_, {RequestedPayload(out)}, {});
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<PaymentRecord> PaymentsRepository::FinishRequest(
    const std::string& clinic_id, const std::string& id,
    const std::function<absl::StatusOr<CheckoutSession>(const PaymentRecord&)>& stripe) {
  PaymentRecord out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(out, MustLock(s, clinic_id, id));
    VL_RETURN_IF_ERROR(LoadDetails(s, clinic_id, {&out}));
    if (out.status != Status::kCreating) return absl::OkStatus();
    VL_ASSIGN_OR_RETURN(CheckoutSession session, stripe(out));
    VL_RETURN_IF_ERROR(s.Exec(kSetCreated, {clinic_id, id, session.id, session.url}).status());
    out.status = Status::kRequested;
    out.session_id = session.id;
    out.pay_url = session.url;
    return AddNotices(s, outbox_, {RequestedPayload(out)}, {});
  }));
  return out;
}

absl::StatusOr<PaymentRecord> PaymentsRepository::Get(const std::string& clinic_id, const std::string& id) {
  PaymentRecord out;
  VL_RETURN_IF_ERROR(pool_->WithSession([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(auto p, One(s, kRequest, {clinic_id, id}));
    if (!p) return NotFoundField("id", "no such payment request in your clinic");
    out = *p;
    return LoadDetails(s, clinic_id, {&out});
  }));
  return out;
}

absl::StatusOr<std::vector<PaymentRecord>> PaymentsRepository::List(
    const std::string& clinic_id, const std::string& client_id, std::optional<std::pair<int64_t, std::string>> after,
    int limit) {
  std::vector<PaymentRecord> out;
  VL_RETURN_IF_ERROR(pool_->WithSession([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(pg::Result r,
                        s.Exec(kList, {clinic_id, client_id, after ? pg::Param(after->first) : pg::Param(std::nullopt),
                                       after ? pg::Param(after->second) : pg::Param(std::nullopt), limit}));
    for (int i = 0; i < r.rows(); ++i) out.push_back(RecordOf(r, i));
    std::vector<PaymentRecord*> ptrs;
    for (PaymentRecord& p : out) ptrs.push_back(&p);
    return LoadDetails(s, clinic_id, ptrs);
  }));
  return out;
}

absl::StatusOr<PaymentRecord> PaymentsRepository::Cancel(const std::string& clinic_id, const std::string& id,
                                                         const std::function<absl::Status(const PaymentRecord&)>& stripe) {
  PaymentRecord out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(out, MustLock(s, clinic_id, id));
    if (out.status == Status::kCancelled) return LoadDetails(s, clinic_id, {&out});  // a retry
    if (out.status == Status::kCreating) {
      return absl::FailedPreconditionError("the pay link is still being made; try again in a moment");
    }
    if (out.status != Status::kRequested) {
      return absl::FailedPreconditionError(
          absl::StrCat("only an unpaid request can be cancelled; this one is ", std::string(StatusText(out.status))));
    }
    VL_RETURN_IF_ERROR(stripe(out));
    VL_RETURN_IF_ERROR(s.ExecBatch({{kSetStatus, {clinic_id, id, "cancelled"}}, {kReleaseDeposits, {clinic_id, id}}})
                           .status());
    out.status = Status::kCancelled;
    VL_RETURN_IF_ERROR(LoadDetails(s, clinic_id, {&out}));
    return AddNotices(s, outbox_, {}, {StatusChangedPayload(out)});
  }));
  return out;
}

// ---- refunds ----

absl::StatusOr<PaymentsRepository::RefundAsk> PaymentsRepository::BeginRefund(const std::string& clinic_id,
                                                                              const std::string& request_id,
                                                                              const std::string& client_request_id,
                                                                              int64_t amount) {
  RefundAsk out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(out.request, MustLock(s, clinic_id, request_id));
    VL_ASSIGN_OR_RETURN(pg::Result earlier, s.Exec(kRefundAskByClientId, {clinic_id, client_request_id}));
    if (earlier.rows() > 0) {
      if (earlier.Text(0, "request_id") != request_id || (amount != 0 && amount != earlier.Int(0, "amount"))) {
        return FieldError(absl::StatusCode::kAlreadyExists, "clientRequestId",
                          "this clientRequestId was already used for a different refund");
      }
      out.id = earlier.Text(0, "id");
      out.amount = earlier.Int(0, "amount");
      out.refund_id = earlier.Text(0, "refund_id");
      return absl::OkStatus();
    }
    if (out.request.kind == Kind::kDeposit) {
      VL_ASSIGN_OR_RETURN(pg::Result applied, s.Exec(kIsApplied, {clinic_id, request_id}));
      if (applied.Bool(0, "applied")) {
        return FieldError(absl::StatusCode::kFailedPrecondition, "paymentRequestId",
                          "this deposit was applied to an invoice; refund the invoice instead");
      }
    }
    VL_ASSIGN_OR_RETURN(out.amount, RefundAmount(amount, out.request.paid_amount, out.request.refunded_amount,
                                                 out.request.currency));
    out.id = NewUuid();
    VL_ASSIGN_OR_RETURN(pg::Result ins,
                        s.Exec(kInsertRefundAsk, {out.id, clinic_id, client_request_id, request_id, out.amount}));
    if (ins.rows() == 0) return absl::AbortedError("the same refund is being asked for; try again");
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<PaymentsRepository::RefundAsk> PaymentsRepository::FinishRefund(
    const std::string& clinic_id, const RefundAsk& ask,
    const std::function<absl::StatusOr<RefundFact>(const RefundAsk&)>& stripe) {
  RefundAsk out = ask;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(out.request, MustLock(s, clinic_id, ask.request.id));
    VL_ASSIGN_OR_RETURN(pg::Result row, s.Exec(kLockRefundAsk, {clinic_id, ask.id}));
    if (row.rows() == 0) return absl::InternalError("refund ask vanished");
    out.refund_id = row.Text(0, "refund_id");
    if (out.refund_id.empty()) {
      VL_ASSIGN_OR_RETURN(RefundFact fact, stripe(out));
      out.refund_id = fact.refund_id;
      std::vector<std::string> notices;
      VL_RETURN_IF_ERROR(s.Exec(kSetRefundId, {clinic_id, ask.id, fact.refund_id}).status());
      VL_RETURN_IF_ERROR(RecordRefund(s, out.request, fact.refund_id, fact.amount, notices));
      VL_RETURN_IF_ERROR(LoadDetails(s, clinic_id, {&out.request}));
      return AddNotices(s, outbox_, {}, notices);
    }
    return LoadDetails(s, clinic_id, {&out.request});
  }));
  return out;
}

// ---- Stripe's facts ----

absl::StatusOr<EventOutcome> PaymentsRepository::ApplyEvent(const std::string& clinic_id, const StripeEvent& e,
                                                            bool facts_fetched) {
  EventOutcome outcome = EventOutcome::kApplied;
  // A need for more facts rolls the transaction back (the event is not marked seen).
  const absl::Status kNeedMore = absl::CancelledError("payments: facts needed");
  absl::Status st = pool_->Transact([&](pg::Session& s) -> absl::Status {
    outcome = EventOutcome::kApplied;
    VL_ASSIGN_OR_RETURN(pg::Result ins, s.Exec(kInsertEvent, {clinic_id, e.id, e.type, e.created}));
    if (ins.rows() == 0) {
      outcome = EventOutcome::kDuplicate;
      return absl::OkStatus();
    }
    std::vector<std::string> notices;
    switch (e.what) {
      case StripeEvent::What::kOther:
        outcome = EventOutcome::kIgnored;
        break;
      case StripeEvent::What::kCharge: {
        VL_ASSIGN_OR_RETURN(auto p, RecordCharge(s, clinic_id, e, notices));
        if (!p) outcome = EventOutcome::kIgnored;
        break;
      }
      case StripeEvent::What::kChargeRefunded: {
        VL_ASSIGN_OR_RETURN(auto p, RecordCharge(s, clinic_id, e, notices));
        if (!p) {
          outcome = EventOutcome::kIgnored;
        } else if (p->refunded_amount < e.amount_refunded) {
          if (!facts_fetched) {
            outcome = EventOutcome::kNeedRefunds;
            return kNeedMore;
          }
          log::Warn("Stripe counts more refunded than its refunds showed", {{"request", p->id}});
        }
        break;
      }
      case StripeEvent::What::kSessionExpired: {
        VL_ASSIGN_OR_RETURN(auto p, One(s, kLockBySession, {clinic_id, e.session_id}));
        if (!p) {
          outcome = EventOutcome::kIgnored;
        } else if (p->status == Status::kRequested) {
          VL_RETURN_IF_ERROR(
              s.ExecBatch({{kSetStatus, {clinic_id, p->id, "expired"}}, {kReleaseDeposits, {clinic_id, p->id}}})
                  .status());
          p->status = Status::kExpired;
          notices.push_back(StatusChangedPayload(*p));
        }
        break;
      }
      case StripeEvent::What::kRefund: {
        VL_ASSIGN_OR_RETURN(auto p, FindForFact(s, clinic_id, e));
        if (!p || p->paid_amount == 0) {  // its charge not seen yet: ask Stripe for the intent first
          if (!facts_fetched) {
            outcome = EventOutcome::kNeedIntent;
            return kNeedMore;
          }
          outcome = EventOutcome::kIgnored;
          break;
        }
        VL_RETURN_IF_ERROR(RecordRefund(s, *p, e.refund_id, e.amount, notices));
        break;
      }
    }
    return AddNotices(s, outbox_, {}, notices);
  });
  if (absl::IsCancelled(st) && st.message() == kNeedMore.message()) return outcome;
  VL_RETURN_IF_ERROR(st);
  return outcome;
}

absl::Status PaymentsRepository::RecordFacts(const std::string& clinic_id, const StripeEvent& charge,
                                             const std::vector<StripeEvent>& refunds) {
  return pool_->Transact([&](pg::Session& s) -> absl::Status {
    std::vector<std::string> notices;
    VL_ASSIGN_OR_RETURN(auto p, RecordCharge(s, clinic_id, charge, notices));
    if (!p) return absl::OkStatus();
    for (const StripeEvent& r : refunds) VL_RETURN_IF_ERROR(RecordRefund(s, *p, r.refund_id, r.amount, notices));
    return AddNotices(s, outbox_, {}, notices);
  });
}

// ---- ledger ----

absl::StatusOr<std::vector<LedgerTotals>> PaymentsRepository::Balances(const std::string& clinic_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kBalances, {clinic_id}));
  std::vector<LedgerTotals> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({r.Text(i, "currency"), r.Int(i, "charged"), r.Int(i, "refunded")});
  }
  return out;
}

absl::StatusOr<std::vector<ReportLine>> PaymentsRepository::Report(const std::string& clinic_id, absl::Time from,
                                                                   absl::Time to) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kReport, {clinic_id, from, to}));
  std::vector<ReportLine> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({.day = r.Text(i, "day"), .currency = r.Text(i, "currency"),
                   .kind = KindFromText(r.Text(i, "kind")).value_or(Kind::kDeposit),
                   .charges = r.Int(i, "charges"), .charged = r.Int(i, "charged"), .refunds = r.Int(i, "refunds"),
                   .refunded = r.Int(i, "refunded")});
  }
  return out;
}

// ---- reconciliation ----

absl::StatusOr<std::optional<AccountRow>> PaymentsRepository::ClaimReconciliation(absl::Duration every) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kClaim, {absl::ToInt64Microseconds(every)}));
  if (r.rows() == 0) return std::optional<AccountRow>();
  return std::optional<AccountRow>(AccountOf(r, 0));
}

absl::StatusOr<std::vector<std::string>> PaymentsRepository::StaleCreating(const std::string& clinic_id,
                                                                           absl::Duration age) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kStaleCreating, {clinic_id, absl::ToInt64Microseconds(age)}));
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.Text(i, "id"));
  return out;
}

absl::Status PaymentsRepository::EventsCheckedUntil(const std::string& clinic_id, int64_t created) {
  return pool_->Exec(kEventsChecked, {clinic_id, created}).status();
}

}  // namespace vetline::payments
