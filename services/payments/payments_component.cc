#include "services/payments/payments_component.h"

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/pg/migrations.h"
#include "libs/refs/refs.h"
#include "services/payments/payments_service.h"

namespace vetline::payments {
namespace {

struct Wiring {
  Wiring(const rpc::ServiceContext& ctx, std::shared_ptr<grpc::Channel> clients_channel,
         std::shared_ptr<grpc::Channel> booking_channel, const PaymentsOptions& options,
         std::unique_ptr<auth::SecretKeyring> keyring)
      : signer(ctx.key()),
        repo(ctx.pool()),
        flow(repo, options, std::move(keyring)),
        clients(std::move(clients_channel), signer),
        appointments(std::move(booking_channel), signer),
        service(flow, clients, appointments, signer, PageTokens(ctx.env().platform.internal_secret)),
        webhooks(flow) {}
  auth::PrincipalSigner signer;
  PaymentsRepository repo;
  PaymentsFlow flow;
  refs::GrpcClientRefs clients;        // the client a request is for
  GrpcAppointmentRefs appointments;    // the appointment a deposit is for
  PaymentsService service;
  StripeWebhooksService webhooks;
};

}  // namespace

absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env, PaymentsOptions options) {
  std::unique_ptr<auth::SecretKeyring> keyring;
  if (!options.secret_keys.empty()) {
    absl::StatusOr<auth::SecretKeyring> k = auth::SecretKeyring::FromConfig(options.secret_keys);
    if (!k.ok()) return absl::InvalidArgumentError(absl::StrCat("payments-secret-keys: ", k.status().message()));
    keyring = std::make_unique<auth::SecretKeyring>(std::move(*k));
  } else {
    log::Warn("payments-secret-keys is not set: no clinic can connect a Stripe account");
  }
  options.public_url = env.platform.public_url;
  if (options.reconcile_every < absl::Seconds(1)) return absl::InvalidArgumentError("payments-reconcile-every: at least 1s");
  return rpc::StartService(env, {
      .name = "payments",
      .migrations = pg::payments_migrations(),
      .wire = [&](rpc::ServiceContext& ctx) -> absl::StatusOr<rpc::ServiceParts> {
        VL_ASSIGN_OR_RETURN(auto clients, ctx.Peer("clients"));
        // Deposits for appointments need booking; without it, requests name no appointment.
        auto booking = ctx.Peer("booking");
        auto w = std::make_shared<Wiring>(ctx, std::move(clients), booking.ok() ? *booking : nullptr, options,
                                          std::move(keyring));
        rpc::ServiceParts parts{
            .state = w,
            .services = {{&w->service, v1::PaymentsService::service_full_name()},
                         {&w->webhooks, v1::StripeWebhooksService::service_full_name()}},
            .outbox = &w->repo.events()};
        // One clinic per step; replicas claim different clinics (SKIP LOCKED lease).
        parts.workers.push_back({"payments-reconcile", absl::Seconds(1), [flow = &w->flow] {
                                   absl::StatusOr<bool> did = flow->ReconcileOne();
                                   if (!did.ok()) {
                                     log::Warn("payments reconciliation failed; next pass",
                                               {{"error", did.status().ToString()}});
                                     return PeriodicWorker::Next::kPause;
                                   }
                                   return *did ? PeriodicWorker::Next::kAgain : PeriodicWorker::Next::kPause;
                                 }});
        return parts;
      }});
}

rpc::ServiceDefinition Definition() {
  auto options = std::make_shared<PaymentsOptions>();
  return {
      .name = "payments",
      .peers = {"clients", "booking"},
      .register_flags =
          [options](ConfigParser& p) {
            p.String("stripe-api-base", &options->stripe_api_base, "Stripe's API (a stand-in's in tests)",
                     options->stripe_api_base);
            p.String("payments-secret-keys", &options->secret_keys,
                     "keys sealing clinics' Stripe secrets: id:secret[,id:secret...], the first current", "");
            p.Duration("payments-reconcile-every", &options->reconcile_every,
                       "how often each clinic's payments are checked against Stripe", options->reconcile_every);
          },
      .start = [options](const rpc::ServiceEnv& env) { return Start(env, *options); },
  };
}

}  // namespace vetline::payments
