#include "services/payments/payments_flow.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "services/payments/stripe/stripe_signature.h"

namespace vetline::payments {
namespace {

std::string Last4(const std::string& s) { return s.size() <= 4 ? s : s.substr(s.size() - 4); }

bool KeyRefused(const absl::Status& st) {
  return absl::IsFailedPrecondition(st) && absl::StrContains(st.message(), "secret key does not work");
}

std::string Str(const nlohmann::json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

PaymentsFlow::PaymentsFlow(PaymentsRepository& repo, PaymentsOptions options,
                           std::unique_ptr<auth::SecretKeyring> keyring)
    : repo_(repo), options_(std::move(options)), keyring_(std::move(keyring)), stripe_(options_.stripe_timeout) {}

absl::StatusOr<AccountRow> PaymentsFlow::Connect(const std::string& clinic_id, const std::string& user_id,
                                                 const std::string& secret_key, const std::string& webhook_secret) {
  if (!keyring_) {
    return absl::FailedPreconditionError(
        "payments cannot keep Stripe keys on this deployment: payments-secret-keys is not configured");
  }
  // A cheap authenticated GET: Stripe answers 401 for a key that does not work.
  const stripe::Account account{options_.stripe_api_base, secret_key};
  absl::StatusOr<nlohmann::json> check = stripe_.Get(account, "/v1/checkout/sessions", {{"limit", "1"}});
  if (KeyRefused(check.status())) return InvalidField("secretKey", "Stripe refused this secret key");
  VL_RETURN_IF_ERROR(check.status());
  AccountRow a{.clinic_id = clinic_id,
               .secret_key_sealed = keyring_->Seal(secret_key),
               .webhook_secret_sealed = keyring_->Seal(webhook_secret),
               .secret_key_last4 = Last4(secret_key),
               .webhook_secret_last4 = Last4(webhook_secret),
               .livemode = absl::StartsWith(secret_key, "sk_live_") || absl::StartsWith(secret_key, "rk_live_"),
               .working = true,
               .verify_time = absl::Now()};
  VL_RETURN_IF_ERROR(repo_.SaveAccount(a, user_id, options_.reconcile_every));
  log::Info("stripe account connected", {{"clinic", clinic_id}, {"key_last4", a.secret_key_last4}});
  return a;
}

absl::StatusOr<std::pair<std::string, std::string>> PaymentsFlow::Open(const AccountRow& a) {
  if (!keyring_) return absl::FailedPreconditionError("payments-secret-keys is not configured");
  absl::StatusOr<std::string> key = keyring_->Open(a.secret_key_sealed);
  absl::StatusOr<std::string> webhook = keyring_->Open(a.webhook_secret_sealed);
  if (!key.ok() || !webhook.ok()) {
    log::Error("a clinic's Stripe secrets cannot be opened with the configured keys", {{"clinic", a.clinic_id}});
    return absl::FailedPreconditionError(
        "this clinic's Stripe account must be connected again (its keys cannot be read)");
  }
  // Key rotation: sealed under an older key, sealed again under the current one.
  if (!keyring_->IsCurrent(a.secret_key_sealed) || !keyring_->IsCurrent(a.webhook_secret_sealed)) {
    absl::Status st = repo_.Reseal(a.clinic_id, a.secret_key_sealed, keyring_->Seal(*key), a.webhook_secret_sealed,
                                   keyring_->Seal(*webhook));
    if (!st.ok()) log::Warn("resealing a clinic's Stripe secrets failed; next time", {{"clinic", a.clinic_id}});
  }
  return std::make_pair(*key, *webhook);
}

absl::StatusOr<stripe::Account> PaymentsFlow::StripeAccountFor(const std::string& clinic_id) {
  VL_ASSIGN_OR_RETURN(std::optional<AccountRow> a, repo_.Account(clinic_id));
  if (!a) {
    return absl::FailedPreconditionError(
        "this clinic has not connected a Stripe account; an admin connects one in the payment settings");
  }
  if (!a->working) {
    return absl::FailedPreconditionError(
        "this clinic's Stripe account does not work (Stripe refused its key); an admin must connect it again");
  }
  VL_ASSIGN_OR_RETURN(auto secrets, Open(*a));
  return stripe::Account{options_.stripe_api_base, secrets.first};
}

absl::StatusOr<PaymentRecord> PaymentsFlow::Create(const std::string& clinic_id, const NewRequest& request) {
  VL_RETURN_IF_ERROR(StripeAccountFor(clinic_id).status());  // before anything is stored
  VL_ASSIGN_OR_RETURN(PaymentRecord p, repo_.BeginRequest(clinic_id, request));
  if (p.status != Status::kCreating) return p;
  return Finish(clinic_id, p.id);
}

absl::StatusOr<PaymentRecord> PaymentsFlow::Finish(const std::string& clinic_id, const std::string& id) {
  VL_ASSIGN_OR_RETURN(stripe::Account account, StripeAccountFor(clinic_id));
  absl::StatusOr<PaymentRecord> out =
      repo_.FinishRequest(clinic_id, id, [&](const PaymentRecord& p) -> absl::StatusOr<CheckoutSession> {
        nlohmann::ordered_json params;
        params["mode"] = "payment";
        params["success_url"] = absl::StrCat(options_.public_url, "/portal/payments/", p.id, "?paid=1");
        params["cancel_url"] = absl::StrCat(options_.public_url, "/portal/payments/", p.id);
        params["client_reference_id"] = p.id;
        params["metadata"]["payment_request_id"] = p.id;
        params["metadata"]["clinic_id"] = clinic_id;
        params["payment_intent_data"]["metadata"]["payment_request_id"] = p.id;
        params["payment_intent_data"]["metadata"]["clinic_id"] = clinic_id;
        if (p.deposits_applied > 0) {  // Stripe has no negative lines: one line of what is left
          auto& item = params["line_items"][0];
          item["price_data"]["currency"] = p.currency.code;
          item["price_data"]["unit_amount"] = p.amount;
          item["price_data"]["product_data"]["name"] =
              absl::StrCat(p.description.empty() ? "Invoice" : p.description, ": ",
                           FormatAmount(p.subtotal, p.currency), " minus ",
                           FormatAmount(p.deposits_applied, p.currency), " deposit");
          item["quantity"] = 1;
        } else {
          for (size_t i = 0; i < p.lines.size(); ++i) {
            auto& item = params["line_items"][i];
            item["price_data"]["currency"] = p.currency.code;
            item["price_data"]["unit_amount"] = p.lines[i].unit_amount;
            item["price_data"]["product_data"]["name"] = p.lines[i].description;
            item["quantity"] = p.lines[i].quantity;
          }
        }
        VL_ASSIGN_OR_RETURN(nlohmann::json s, stripe_.Post(account, "/v1/checkout/sessions", params,
                                                           stripe::IdempotencyKey("checkout", p.id)));
        CheckoutSession session{Str(s, "id"), Str(s, "url")};
        if (session.id.empty() || session.url.empty()) {
          return absl::UnavailableError("the payment provider gave an unreadable answer; try again");
        }
        return session;
      });
  if (KeyRefused(out.status())) VL_RETURN_IF_ERROR(repo_.MarkNotWorking(clinic_id));
  return out;
}

absl::StatusOr<PaymentRecord> PaymentsFlow::Cancel(const std::string& clinic_id, const std::string& id) {
  VL_ASSIGN_OR_RETURN(stripe::Account account, StripeAccountFor(clinic_id));
  return repo_.Cancel(clinic_id, id, [&](const PaymentRecord& p) -> absl::Status {
    absl::StatusOr<nlohmann::json> s = stripe_.Post(
        account, absl::StrCat("/v1/checkout/sessions/", p.session_id, "/expire"), nlohmann::ordered_json::object(),
        stripe::IdempotencyKey("expire", p.id));
    if (s.ok()) return absl::OkStatus();
    if (absl::IsInvalidArgument(s.status())) {
      // Stripe expires only open sessions: this one was paid (or expired) meanwhile.
      return absl::FailedPreconditionError("the client has just paid or the link expired; it cannot be cancelled");
    }
    return s.status();
  });
}

absl::StatusOr<PaymentsRepository::RefundAsk> PaymentsFlow::Refund(const std::string& clinic_id,
                                                                   const std::string& request_id,
                                                                   const std::string& client_request_id,
                                                                   int64_t amount, const std::string& reason) {
  VL_ASSIGN_OR_RETURN(stripe::Account account, StripeAccountFor(clinic_id));
  VL_ASSIGN_OR_RETURN(PaymentsRepository::RefundAsk ask,
                      repo_.BeginRefund(clinic_id, request_id, client_request_id, amount));
  if (!ask.refund_id.empty()) return ask;
  return repo_.FinishRefund(clinic_id, ask, [&](const PaymentsRepository::RefundAsk& a) -> absl::StatusOr<RefundFact> {
    if (a.request.payment_intent_id.empty()) return absl::FailedPreconditionError("nothing was paid yet");
    nlohmann::ordered_json params;
    params["payment_intent"] = a.request.payment_intent_id;
    params["amount"] = a.amount;
    if (!reason.empty()) params["reason"] = reason;
    params["metadata"]["payment_request_id"] = a.request.id;
    params["metadata"]["refund_request_id"] = a.id;
    VL_ASSIGN_OR_RETURN(nlohmann::json r,
                        stripe_.Post(account, "/v1/refunds", params, stripe::IdempotencyKey("refund", a.id)));
    RefundFact fact{Str(r, "id"), r.value("amount", int64_t{0})};
    if (fact.refund_id.empty() || fact.amount <= 0) {
      return absl::UnavailableError("the payment provider gave an unreadable answer; try again");
    }
    return fact;
  });
}

absl::Status PaymentsFlow::Webhook(const std::string& clinic_id, const std::string& payload,
                                   const std::string& signature) {
  // Nothing of the body is read before its signature is checked with this clinic's secret.
  VL_ASSIGN_OR_RETURN(std::optional<AccountRow> a, repo_.Account(clinic_id));
  if (!a) return InvalidField("Stripe-Signature", "no Stripe account is connected for this endpoint");
  VL_ASSIGN_OR_RETURN(auto secrets, Open(*a));
  VL_RETURN_IF_ERROR(stripe::VerifySignature(payload, signature, {secrets.second}, absl::Now()));
  nlohmann::json j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  VL_ASSIGN_OR_RETURN(StripeEvent e, ParseEvent(j));
  return Apply(clinic_id, stripe::Account{options_.stripe_api_base, secrets.first}, e).status();
}

absl::Status PaymentsFlow::FetchFacts(const std::string& clinic_id, const stripe::Account& account,
                                      const StripeEvent& e, EventOutcome need) {
  if (e.payment_intent_id.empty()) return absl::OkStatus();
  VL_ASSIGN_OR_RETURN(nlohmann::json intent, stripe_.Get(account, "/v1/payment_intents/" + e.payment_intent_id));
  VL_ASSIGN_OR_RETURN(StripeEvent charge,
                      ParseEvent({{"id", "fetched"}, {"type", "payment_intent.succeeded"},
                                  {"data", {{"object", intent}}}}));
  if (Str(intent, "status") != "succeeded") return absl::OkStatus();
  std::vector<StripeEvent> refunds;
  if (need == EventOutcome::kNeedRefunds || need == EventOutcome::kNeedIntent) {
    VL_ASSIGN_OR_RETURN(nlohmann::json list,
                        stripe_.Get(account, "/v1/refunds", {{"payment_intent", e.payment_intent_id}, {"limit", "100"}}));
    for (const nlohmann::json& r : list.value("data", nlohmann::json::array())) {
      absl::StatusOr<StripeEvent> refund =
          ParseEvent({{"id", "fetched"}, {"type", "refund.created"}, {"data", {{"object", r}}}});
      if (refund.ok() && refund->what == StripeEvent::What::kRefund) refunds.push_back(*refund);
    }
  }
  return repo_.RecordFacts(clinic_id, charge, refunds);
}

absl::StatusOr<EventOutcome> PaymentsFlow::Apply(const std::string& clinic_id, const stripe::Account& account,
                                                 const StripeEvent& event) {
  VL_ASSIGN_OR_RETURN(EventOutcome outcome, repo_.ApplyEvent(clinic_id, event, false));
  if (outcome != EventOutcome::kNeedIntent && outcome != EventOutcome::kNeedRefunds) return outcome;
  // Out of order (a refund before its payment): what Stripe knows now, then the event.
  VL_RETURN_IF_ERROR(FetchFacts(clinic_id, account, event, outcome));
  return repo_.ApplyEvent(clinic_id, event, true);
}

absl::StatusOr<bool> PaymentsFlow::ReconcileOne() {
  VL_ASSIGN_OR_RETURN(std::optional<AccountRow> a, repo_.ClaimReconciliation(options_.reconcile_every));
  if (!a) return false;
  absl::StatusOr<std::pair<std::string, std::string>> secrets = Open(*a);
  if (!secrets.ok()) return true;
  const stripe::Account account{options_.stripe_api_base, secrets->first};
  // 1. Requests a crash left between Stripe's answer and our commit: the same key again
  //    gets Stripe's stored Checkout Session.
  VL_ASSIGN_OR_RETURN(std::vector<std::string> stale, repo_.StaleCreating(a->clinic_id, absl::Seconds(10)));
  for (const std::string& id : stale) {
    absl::Status st = Finish(a->clinic_id, id).status();
    if (!st.ok()) log::Warn("reconciliation: finishing a request failed", {{"request", id}, {"error", st.ToString()}});
  }
  // 2. Events a lost webhook or a crash left unapplied: Stripe's list since the last pass
  //    (with an hour's overlap: events are applied once, by id), oldest first.
  const int64_t since = std::max<int64_t>(0, a->events_checked_until - 3600);
  std::vector<nlohmann::json> events;
  std::string after;
  for (int page = 0; page < 100; ++page) {  // at most 10,000 events a pass
    http::FormParams q = {{"created[gte]", std::to_string(since)}, {"limit", "100"}};
    if (!after.empty()) q.push_back({"starting_after", after});
    absl::StatusOr<nlohmann::json> list = stripe_.Get(account, "/v1/events", q);
    if (KeyRefused(list.status())) return repo_.MarkNotWorking(a->clinic_id).ok();
    VL_RETURN_IF_ERROR(list.status());
    const nlohmann::json data = list->value("data", nlohmann::json::array());
    for (const nlohmann::json& e : data) events.push_back(e);
    if (!list->value("has_more", false) || data.empty()) break;
    after = Str(data.back(), "id");
  }
  int64_t newest = a->events_checked_until;
  for (auto it = events.rbegin(); it != events.rend(); ++it) {  // Stripe lists newest first
    absl::StatusOr<StripeEvent> e = ParseEvent(*it);
    if (!e.ok()) continue;
    VL_RETURN_IF_ERROR(Apply(a->clinic_id, account, *e).status());
    newest = std::max(newest, e->created);
  }
  VL_RETURN_IF_ERROR(repo_.EventsCheckedUntil(a->clinic_id, newest));
  return true;
}

}  // namespace vetline::payments
