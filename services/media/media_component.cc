#include "services/media/media_component.h"

#include "absl/strings/str_split.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/pg/migrations.h"
#include "libs/refs/refs.h"
#include "services/media/recording_worker.h"

namespace vetline::media {
namespace {

CallEngine::Options EngineOptions(const MediaOptions& o) {
  CallEngine::Options e;
  for (absl::string_view a : absl::StrSplit(o.ice_addresses, ',', absl::SkipEmpty())) {
    e.ice.local_addresses.emplace_back(a);
  }
  e.ice.stun_server = o.stun_server;
  e.ice.turn = o.turn;
  return e;
}

// Everything one media replica holds, built once.
struct Wiring {
  Wiring(const rpc::ServiceContext& ctx, std::shared_ptr<grpc::Channel> clients_channel,
         std::shared_ptr<grpc::Channel> conversations_channel, std::unique_ptr<blob::BlobStore> store,
         const MediaOptions& options, const Clock& clock)
      : signer(ctx.key()),
        links(ctx.key()),
        clients(std::move(clients_channel), signer),
        conversations(std::move(conversations_channel), signer),
        repo(ctx.pool()),
        engine(EngineOptions(options)),
        blobs(std::move(store)),
        service(repo, engine, events, *blobs, signer, links, clock, options, clients, conversations),
        worker(repo, engine, events, *blobs, clock, options.data_dir, &ctx.registry()) {}
  auth::PrincipalSigner signer;
  auth::LinkSigner links;
  refs::GrpcClientRefs clients;
  refs::GrpcConversationRefs conversations;  // conversation ids a call names
  MediaRepository repo;
  CallEngine engine;
  EventHub events;
  std::unique_ptr<blob::BlobStore> blobs;
  MediaService service;
  RecordingWorker worker;
};

}  // namespace

absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env, MediaOptions options,
                                                           const Clock& clock) {
  VL_ASSIGN_OR_RETURN(options.turn, webrtc::TurnRelay::Parse(options.turn_urls, options.turn_secret));
  return rpc::StartService(env, {
      .name = "media",
      .migrations = pg::media_migrations(),
      .wire = [&](rpc::ServiceContext& ctx) -> absl::StatusOr<rpc::ServiceParts> {
        VL_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> clients, ctx.Peer("clients"));
        VL_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> conversations, ctx.Peer("conversations"));
        VL_ASSIGN_OR_RETURN(std::unique_ptr<blob::BlobStore> blobs,
                            blob::OpenStore(ctx.env().platform.blob, options.blob_dir));
        auto w = std::make_shared<Wiring>(ctx, std::move(clients), std::move(conversations),
                                          std::move(blobs), options, clock);
        Wiring* m = w.get();
        return rpc::ServiceParts{
            .state = w,
            .services = {{&w->service, v1::MediaService::service_full_name()}},
            .outbox = &w->repo.events(),
            // This replica owns every call's media: whatever was live when it last
            // stopped is gone, and recordings cut short are composed from the disk.
            .before_serving =
                [m]() -> absl::Status {
              VL_ASSIGN_OR_RETURN(int recovered, m->repo.RecoverAfterRestart());
              if (recovered > 0) log::Warn("recordings recovered after a restart", {{"count", recovered}});
              return absl::OkStatus();
            },
            // The composer works through stopped recordings one at a time, off the calls'
            // pipelines; the keeper ends sessions whose peer vanished and refreshes the
            // gauges (a long compose job does not hold it up, nor does a negotiation).
            .workers = {{"composer", options.compose_poll,
                         [m] {
                           return m->worker.ComposeNext() ? PeriodicWorker::Next::kAgain
                                                          : PeriodicWorker::Next::kPause;
                         }},
                        {"keeper", options.compose_poll, [m] {
                           m->worker.Keep();
                           return PeriodicWorker::Next::kPause;
                         }}}};
      }});
}

rpc::ServiceDefinition Definition() {
  auto o = std::make_shared<MediaOptions>();
  return {
      .name = "media",
      .peers = {"clients", "conversations"},  // client and conversation ids a call names
      .register_flags =
          [o](ConfigParser& p) {
            p.String("media-web-url", &o->web_url, "web front end base URL used in join links",
                     o->web_url);
            p.String("media-data-dir", &o->data_dir, "directory for live recording tracks", o->data_dir);
            p.String("media-blob-dir", &o->blob_dir, "blob store directory for composed recordings",
                     o->blob_dir);
            p.String("media-ice-addresses", &o->ice_addresses,
                     "local addresses offered as ICE host candidates (comma-separated)", o->ice_addresses);
            p.String("media-stun-server", &o->stun_server, "stun://host:port, for clients behind NAT", "");
            p.String("media-turn-urls", &o->turn_urls,
                     "the clinic's TURN relay for browsers and media, comma-separated "
                     "(turn:host:3478?transport=udp,turn:host:3478?transport=tcp,turns:host:5349?transport=tcp)",
                     "");
            p.String("media-turn-secret", &o->turn_secret,
                     "the TURN relay's shared secret (coturn static-auth-secret), required with media-turn-urls",
                     "");
            p.Duration("media-invitation-ttl", &o->invitation_ttl,
                       "how long join links stay valid after the scheduled start", o->invitation_ttl);
          },
      .start = [o](const rpc::ServiceEnv& env) { return Start(env, *o); },
  };
}

}  // namespace vetline::media
