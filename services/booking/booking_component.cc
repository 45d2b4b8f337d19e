#include "services/booking/booking_component.h"

#include "libs/core/status.h"
#include "libs/pg/migrations.h"
#include "libs/refs/refs.h"
#include "services/booking/booking_sync_service.h"

namespace vetline::booking {
namespace {

struct Wiring {
  Wiring(const rpc::ServiceContext& ctx, std::shared_ptr<grpc::Channel> clients_channel,
         std::shared_ptr<grpc::Channel> identity_channel)
      : signer(ctx.key()),
        repo(ctx.pool()),
        identity(std::move(identity_channel), signer),
        settings(repo, identity),
        sync(repo, settings, std::move(clients_channel), signer) {}
  auth::PrincipalSigner signer;
  BookingRepository repo;
  refs::GrpcStaffRefs identity;     // the clinic's time zone for its first settings
  ClinicSettingsSource settings;
  BookingSyncService sync;
};

}  // namespace

absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env, const Clock& clock) {
  (void)clock;  // the staff API's (next)
  return rpc::StartService(env, {
      .name = "booking",
      .migrations = pg::booking_migrations(),
      .wire = [&](rpc::ServiceContext& ctx) -> absl::StatusOr<rpc::ServiceParts> {
        VL_ASSIGN_OR_RETURN(auto clients, ctx.Peer("clients"));
        VL_ASSIGN_OR_RETURN(auto identity, ctx.Peer("identity"));
        auto w = std::make_shared<Wiring>(ctx, std::move(clients), std::move(identity));
        return rpc::ServiceParts{
            .state = w,
            .services = {{&w->sync, v1::BookingSyncService::service_full_name()}},
            .outbox = &w->repo.events()};
      }});
}

rpc::ServiceDefinition Definition() {
  return {
      .name = "booking",
      // clients: PIMS ids of synced appointments, and the client and pet a booking names;
      // identity: the clinic's time zone.
      .peers = {"clients", "identity"},
      .start = [](const rpc::ServiceEnv& env) { return Start(env); },
  };
}

}  // namespace vetline::booking
