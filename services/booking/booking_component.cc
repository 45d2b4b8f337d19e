#include "services/booking/booking_component.h"

#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/pg/migrations.h"
#include "libs/refs/refs.h"
#include "services/booking/booking_service.h"
#include "services/booking/booking_sync_service.h"
#include "services/booking/appointments_view_service.h"
#include "services/booking/request_forms_service.h"
#include "services/booking/direct_booking_service.h"

namespace vetline::booking {
namespace {

// How long a visitor token, issued for a verified code, proves a phone or email.
constexpr absl::Duration kVisitorTokenTtl = absl::Hours(2);
// Expired holds stop counting at once (availability ignores them); their rows go an hour
// later, so a client confirming late still hears "expired" rather than "not found".
constexpr absl::Duration kHoldSweepPause = absl::Minutes(5), kHoldKeptAfterExpiry = absl::Hours(1);
constexpr int kHoldSweepBatch = 500;

struct Wiring {
  Wiring(const rpc::ServiceContext& ctx, std::shared_ptr<grpc::Channel> clients_channel,
         std::shared_ptr<grpc::Channel> identity_channel, std::shared_ptr<grpc::Channel> conversations_channel,
         const Clock& clock)
      : signer(ctx.key()),
        repo(ctx.pool()),
        identity(std::move(identity_channel), signer),
        clients(clients_channel, signer),
        settings(repo, identity),
        service(repo, settings, clients, signer, PageTokens(ctx.env().platform.internal_secret), clock),
        sync(repo, settings, clients_channel, signer),
        forms_repo(ctx.pool(), repo.events()),
        visitors(auth::LinkSigner(ctx.key()), kVisitorTokenTtl),
        view(forms_repo, repo, settings, clients, signer),
        forms(forms_repo, settings, clients, signer, visitors, PageTokens(ctx.env().platform.internal_secret), clock),
        direct_repo(ctx.pool()),
        directory(std::move(clients_channel), signer),
        codes(conversations_channel ? std::make_unique<GrpcCodeSender>(std::move(conversations_channel), signer)
                                    : nullptr),
        direct(repo, direct_repo, settings, directory, codes.get(), visitors, ctx.key(),
               {.public_url = ctx.env().platform.public_url}, clock) {}
  auth::PrincipalSigner signer;
  BookingRepository repo;
  refs::GrpcStaffRefs identity;     // the clinic's time zone for its first settings
  refs::GrpcClientRefs clients;     // the client and pet a booking names
  ClinicSettingsSource settings;
  BookingService service;
  BookingSyncService sync;
  // Request forms and the appointments view (request_forms.proto).
  RequestFormsRepository forms_repo;
  VisitorTokens visitors;           // one for both: direct booking issues, request forms verify
  AppointmentsViewService view;
  RequestFormsService forms;
  DirectBookingRepository direct_repo;
  GrpcClientDirectory directory;            // who has a phone or email; new clients
  std::unique_ptr<GrpcCodeSender> codes;    // null without conversations: no codes sent
  DirectBookingService direct;              // the public steps (website widget, portal)
};

}  // namespace

absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env, const Clock& clock) {
  return rpc::StartService(env, {
      .name = "booking",
      .migrations = pg::booking_migrations(),
      .wire = [&](rpc::ServiceContext& ctx) -> absl::StatusOr<rpc::ServiceParts> {
        VL_ASSIGN_OR_RETURN(auto clients, ctx.Peer("clients"));
        VL_ASSIGN_OR_RETURN(auto identity, ctx.Peer("identity"));
        // One-time codes go out through conversations; a deployment without it sends none.
        auto conversations = ctx.Peer("conversations");
        auto w = std::make_shared<Wiring>(ctx, std::move(clients), std::move(identity),
                                          conversations.ok() ? *conversations : nullptr, clock);
        return rpc::ServiceParts{
            .state = w,
            .services = {{&w->service, v1::BookingService::service_full_name()},
                         {&w->sync, v1::BookingSyncService::service_full_name()},
                         {&w->view, v1::AppointmentsViewService::service_full_name()},
                         {&w->forms, v1::RequestFormsService::service_full_name()},
                         {&w->direct, v1::DirectBookingService::service_full_name()}},
            .outbox = &w->repo.events(),
            .workers = {{"hold-sweep", kHoldSweepPause, [w, &clock] {
                           auto n = w->repo.SweepExpiredHolds(clock.Now() - kHoldKeptAfterExpiry, kHoldSweepBatch);
                           if (!n.ok()) log::Warn("expired holds not swept", {{"detail", n.status().ToString()}});
                           return n.ok() && *n == kHoldSweepBatch ? PeriodicWorker::Next::kAgain
                                                                  : PeriodicWorker::Next::kPause;
                         }}}};
      }});
}

rpc::ServiceDefinition Definition() {
  return {
      .name = "booking",
      // clients: PIMS ids of synced appointments, and the client and pet a booking names;
      // identity: the clinic's time zone.
      // conversations: one-time codes of direct booking.
      .peers = {"clients", "identity", "conversations"},
      .start = [](const rpc::ServiceEnv& env) { return Start(env, Clock::Real()); },
  };
}

}  // namespace vetline::booking
