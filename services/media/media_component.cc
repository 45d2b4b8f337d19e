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

// Takes this replica out of placement when it stops: destroyed after the engine, so the
// recordings it finished are on disk before another replica ends its calls as lost.
struct Registration {
  ~Registration() {
    if (const std::string id = replica.id(); !id.empty()) (void)repo.Deregister(id);
  }
  MediaRepository& repo;
  const Replica& replica;
};

// Everything one media replica holds, built once.
struct Wiring {
  Wiring(const rpc::ServiceContext& ctx, std::shared_ptr<grpc::Channel> clients_channel,
         std::shared_ptr<grpc::Channel> conversations_channel, std::unique_ptr<blob::BlobStore> store,
         const MediaOptions& options, std::string volume, const Clock& clock)
      : signer(ctx.key()),
        links(ctx.key()),
        clients(std::move(clients_channel), signer),
        conversations(std::move(conversations_channel), signer),
        repo(ctx.pool()),
        replica(std::move(volume), options.replica_ttl),
        registration{repo, replica},
        engine(EngineOptions(options)),
        blobs(std::move(store)),
        service(repo, engine, events, *blobs, signer, links, clock, options, clients, conversations, replica),
        worker(repo, engine, events, *blobs, clock, options.data_dir, replica, &ctx.registry()) {}
  auth::PrincipalSigner signer;
  auth::LinkSigner links;
  refs::GrpcClientRefs clients;
  refs::GrpcConversationRefs conversations;  // conversation ids a call names
  MediaRepository repo;
  Replica replica;
  Registration registration;
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
        VL_ASSIGN_OR_RETURN(std::string volume, ReadVolumeId(options.data_dir));
        auto w = std::make_shared<Wiring>(ctx, std::move(clients), std::move(conversations),
                                          std::move(blobs), options, std::move(volume), clock);
        Wiring* m = w.get();
        rpc::ServiceContext* c = &ctx;
        return rpc::ServiceParts{
            .state = w,
            .services = {{&w->service, v1::MediaService::service_full_name()}},
            .outbox = &w->repo.events(),
            // This replica's id is its address. A process that had the same id before
            // held calls whose media died with it: they end as lost, and their
            // recordings cut short are composed from the volume. Then it registers.
            .before_serving =
                [m, c, advertise = options.advertise_address]() -> absl::Status {
              m->replica.SetId(AdvertiseAddress(advertise, c->env().grpc_address, c->port()));
              VL_ASSIGN_OR_RETURN(int lost, m->repo.LoseReplica(m->replica.id(), absl::ZeroDuration()));
              if (lost > 0) log::Warn("calls lost in a restart", {{"count", lost}});
              VL_RETURN_IF_ERROR(m->worker.Beat());
              log::Info("media replica registered", {{"id", m->replica.id()}, {"volume", m->replica.volume()}});
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
            p.String("media-advertise-address", &o->advertise_address,
                     "host:port other processes dial to reach this replica, its id (default: the "
                     "grpc-address host, loopback for 0.0.0.0, and its port)",
                     "");
            p.Duration("media-replica-ttl", &o->replica_ttl,
                       "a replica whose heartbeat is older is dead: its calls end as lost", o->replica_ttl);
            p.Duration("media-invitation-ttl", &o->invitation_ttl,
                       "how long join links stay valid after the scheduled start", o->invitation_ttl);
          },
      .start = [o](const rpc::ServiceEnv& env) { return Start(env, *o); },
  };
}

}  // namespace vetline::media
