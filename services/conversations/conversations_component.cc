#include "services/conversations/conversations_component.h"

#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/pg/migrations.h"
#include "libs/redis/redis.h"
#include "libs/refs/refs.h"
#include "nlohmann/json.hpp"
#include "services/conversations/call_records.h"
#include "services/conversations/conversations_service.h"
#include "services/conversations/feed_events.h"
#include "services/conversations/inbound_email_service.h"
#include "services/conversations/notice_service.h"
#include "services/conversations/pims_export_service.h"
#include "services/conversations/push_service.h"
#include "services/conversations/realtime.h"
#include "services/conversations/payment_notices.h"
#include "services/conversations/requested_conversations.h"
#include "services/conversations/settings_service.h"
#include "services/conversations/sms_inbound.h"
#include "services/conversations/sms_repository.h"
#include "services/conversations/twilio_webhooks_service.h"
#include "services/conversations/video_call_service.h"

namespace vetline::conversations {
namespace {

InboxOptions Inbox(const ConversationsOptions& o, const std::string& public_url) {
  InboxOptions i;
  i.public_url = public_url;
  i.max_file_bytes = int64_t{o.max_file_mib} << 20;
  i.download_ttl = o.download_ttl;
  i.client_send_burst = o.client_send_burst;
  i.client_sends_per_minute = o.client_sends_per_minute;
  return i;
}

InboundEmailOptions InboundEmail(const ConversationsOptions& o) {
  return {.secret = o.inbound_email_secret,
          .reply_domain = o.delivery.options.reply_domain,
          .max_file_bytes = int64_t{o.max_file_mib} << 20};
}

// Everything the service's parts share; built once per start.
struct Wiring {
  Wiring(const rpc::ServiceContext& ctx, std::shared_ptr<grpc::Channel> clients_channel,
         std::shared_ptr<grpc::Channel> identity_channel, std::shared_ptr<grpc::Channel> media_channel,
         std::shared_ptr<redis::Pool> redis, ConversationsOptions options,
         std::unique_ptr<Realtime> realtime, DeliveryChannels delivery_channels,
         std::unique_ptr<blob::BlobStore> store)
      : options(std::move(options)),
        realtime(std::move(realtime)),
        channels(std::move(delivery_channels)),
        signer(ctx.key()),
        links(ctx.key()),
        clients(clients_channel, signer),
        staff(std::move(identity_channel), signer),
        repo(ctx.pool()),
        blobs(std::move(store)),
        limiter(redis ? std::make_unique<redis::RateLimiter>(redis, "vetline:conversations:")
                      : nullptr),
        inbox(repo, signer, links, clients, staff, *blobs, this->realtime->announcer(), limiter.get(),
              PageTokens(ctx.env().platform.internal_secret), Inbox(this->options, ctx.env().platform.public_url),
              Clock::Real()),
        settings(repo, signer, clients, staff),
        inbound_repo(ctx.pool(), repo),
        inbound_email(inbound_repo, signer, clients, *blobs, this->realtime->announcer(),
                      PageTokens(ctx.env().platform.internal_secret), InboundEmail(this->options)),
        media(media_channel ? std::make_unique<GrpcMediaCalls>(std::move(media_channel), signer) : nullptr),
        video_calls(inbox, repo, signer, media.get()),
        push_repo(ctx.pool(), outbox),
        push(push_repo, signer,
             {.vapid_public_key = this->options.delivery.vapid_subject.empty()
                                      ? ""
                                      : this->options.delivery.vapid_public_key,
              .allow_loopback_endpoints = this->options.delivery.push_loopback_endpoints}),
        merge_events(this->realtime->announcer()),
        call_events(this->realtime->announcer()),
        deliveries(ctx.pool(), this->realtime->announcer()),
        sms(ctx.pool(), repo, deliveries, outbox, this->realtime->announcer()),
        phones(std::move(clients_channel), signer),
        sms_inbound(sms, phones, staff),
        twilio_webhooks(sms_inbound, {.public_url = ctx.env().platform.public_url,
                                      .account_sid = this->options.delivery.twilio_account_sid,
                                      .auth_token = this->options.delivery.twilio_auth_token}),
        requested(ctx.pool()),
        notices(requested, staff, channels.senders(), signer, this->options.delivery.options.email_from),
        requested_events(this->realtime->announcer()),
        payment_events(this->realtime->announcer()),
        exports_repo(ctx.pool(), repo, outbox),
        exports(exports_repo, signer, staff) {
    DeliveryOptions d = this->options.delivery.options;
    d.public_url = ctx.env().platform.public_url;
    for (int i = 0; i < this->options.delivery.workers; ++i) {
      delivery_workers.push_back(std::make_unique<DeliveryWorker>(deliveries, channels.senders(), d, links));
    }
  }
  ConversationsOptions options;
  std::unique_ptr<Realtime> realtime;  // events: announcer, hub, WatchEvents
  DeliveryChannels channels;
  auth::PrincipalSigner signer;
  auth::LinkSigner links;
  refs::GrpcClientRefs clients;  // client ids and profiles (pets, contact options)
  refs::GrpcStaffRefs staff;     // assignees and the clinic's name and phone
  ConversationsRepository repo;
  std::unique_ptr<blob::BlobStore> blobs;
  std::unique_ptr<redis::RateLimiter> limiter;
  ConversationsService inbox;
  SettingsService settings;
  InboundEmailRepository inbound_repo;
  InboundEmailService inbound_email;  // the mail provider's webhook for client replies
  std::unique_ptr<GrpcMediaCalls> media;  // null without a media service: no video calls
  VideoCallService video_calls;
  // sms.opted_out/opted_in, phone.not_texting_capable, push.subscribed/unsubscribed
  outbox::Outbox outbox{"conversations"};
  PushRepository push_repo;
  PushService push;
  ConsumerEvents merge_events, call_events;  // what the feed consumers announce after commit
  DeliveryRepository deliveries;
  SmsRepository sms;
  GrpcClientsByPhone phones;
  SmsInbound sms_inbound;
  TwilioWebhooksService twilio_webhooks;
  RequestedRepository requested;
  NoticeService notices;                // one-off notices (a booking's one-time code)
  ConsumerEvents requested_events;      // booking's conversation.requested records
  ConsumerEvents payment_events;        // payments' payment.requested / status_changed records
  PimsExportRepository exports_repo;
  PimsExportService exports;            // a conversation's record to the PIMS, as a note
  std::vector<std::unique_ptr<DeliveryWorker>> delivery_workers;
};

// The clients service's merges: the merged profile's conversations follow the survivor.
rpc::ConsumerSpec FollowMerges(ConversationsRepository& repo, ConsumerEvents& events) {
  return {.source = "clients",
          .topics = {"client.merged"},
          .handle = [&repo, &events](pg::Session& s, const std::string&, const std::string& payload) -> absl::Status {
            Events* logged = events.Begin();
            nlohmann::json e = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
            if (!e.is_object() || !e.value("clinicId", nlohmann::json()).is_string() ||
                !e.value("mergedId", nlohmann::json()).is_string() ||
                !e.value("survivorId", nlohmann::json()).is_string()) {
              log::Error("client.merged event without its ids; skipped", {{"payload", payload}});
              return absl::OkStatus();  // a malformed event must not hold the rest back
            }
            return repo.MoveMergedClient(s, e["clinicId"], e["mergedId"], e["survivorId"], logged).status();
          },
          .after_commit = [&events] { events.AfterCommit(); }};
}

absl::Status CheckOptions(const rpc::ServiceEnv& env, const ConversationsOptions& o) {
  if (env.platform.public_url.empty()) return absl::InvalidArgumentError("public-url is required");
  if (o.blob_dir.empty()) return absl::InvalidArgumentError("conversations-blob-dir is required");
  if (o.max_file_mib < 1 || o.max_file_mib > 100) {
    return absl::InvalidArgumentError("conversations-max-file-mib must be between 1 and 100");
  }
  if (!o.inbound_email_secret.empty() && o.inbound_email_secret.size() < 16) {
    return absl::InvalidArgumentError("inbound-email-secret must be at least 16 characters");
  }
  if (o.client_send_burst < 1 || o.client_sends_per_minute < 1) {
    return absl::InvalidArgumentError("client send limits must be at least 1");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env,
                                                           ConversationsOptions options) {
  VL_RETURN_IF_ERROR(CheckOptions(env, options));
  return rpc::StartService(env, {
      .name = "conversations",
      .migrations = pg::conversations_migrations(),
      .wire = [&](rpc::ServiceContext& ctx) -> absl::StatusOr<rpc::ServiceParts> {
        VL_ASSIGN_OR_RETURN(auto clients, ctx.Peer("clients"));
        VL_ASSIGN_OR_RETURN(auto identity, ctx.Peer("identity"));
        // Video calls need the media service; a deployment without one answers Unavailable.
        auto media = ctx.Peer("media");
        std::shared_ptr<grpc::Channel> media_channel = media.ok() ? *media : nullptr;
        std::shared_ptr<redis::Pool> redis;
        if (!ctx.env().platform.redis.empty()) {
          VL_ASSIGN_OR_RETURN(redis::Options ro, redis::ParseAddress(ctx.env().platform.redis));
          VL_ASSIGN_OR_RETURN(redis, redis::Pool::Create(ro));
        }
        VL_ASSIGN_OR_RETURN(auto realtime, Realtime::Start(ctx));
        VL_ASSIGN_OR_RETURN(DeliveryChannels channels, OpenDeliveryChannels(options.delivery));
        VL_ASSIGN_OR_RETURN(std::unique_ptr<blob::BlobStore> blobs,
                            blob::OpenStore(ctx.env().platform.blob, options.blob_dir));
        auto w = std::make_shared<Wiring>(ctx, std::move(clients), std::move(identity),
                                          media_channel, std::move(redis), options,
                                          std::move(realtime), std::move(channels), std::move(blobs));
        rpc::ServiceParts parts{
            .state = w,
            .services = {{&w->inbox, v1::ConversationsService::service_full_name()},
                         {&w->settings, v1::ConversationSettingsService::service_full_name()},
                         {&w->inbound_email, v1::InboundEmailService::service_full_name()},
                         {&w->video_calls, v1::VideoCallsService::service_full_name()},
                         {&w->push, v1::PushSubscriptionsService::service_full_name()},
                         {&w->twilio_webhooks, v1::TwilioWebhooksService::service_full_name()},
                         {&w->notices, v1::NoticesService::service_full_name()},
                         {&w->exports, v1::PimsExportService::service_full_name()},
                         w->realtime->served()},
            .outbox = &w->outbox,
            .consumers = {FollowMerges(w->repo, w->merge_events)}};
        if (media_channel) {
          parts.consumers.push_back(FollowCalls(w->repo, w->call_events, ctx.env().platform.public_url));
        }
        // A deployment without the booking service has no booking conversations to follow.
        if (ctx.Peer("booking").ok()) {
          parts.consumers.push_back(
              FollowBookingRequests(w->repo, w->requested, w->inbox, w->requested_events));
        }
        // Payment requests and their changes reach the client's conversation.
        if (ctx.Peer("payments").ok()) {
          parts.consumers.push_back(FollowPayments(w->repo, w->requested, w->inbox, w->payment_events));
        }
        for (auto& worker : w->delivery_workers) {
          parts.workers.push_back({"delivery", absl::Milliseconds(200),
                                   [d = worker.get()] { return d->Step(); }});
        }
        return parts;
      },
      // Uploads and inbound emails (up to kMaxInboundEmailMib) arrive whole in one message.
      .max_message_bytes = static_cast<size_t>(std::max(options.max_file_mib, kMaxInboundEmailMib) + 1) << 20});
}

rpc::ServiceDefinition Definition() {
  auto options = std::make_shared<ConversationsOptions>();
  return {
      .name = "conversations",
      .peers = {"clients", "identity", "media", "booking", "payments"},
      .register_flags =
          [options](ConfigParser& p) {
            p.String("conversations-blob-dir", &options->blob_dir,
                     "blob store directory for files sent in conversations", options->blob_dir);
            p.Int("conversations-max-file-mib", &options->max_file_mib,
                  "largest file a conversation takes (MiB)", 25, 1, 100);
            p.Duration("conversations-download-ttl", &options->download_ttl,
                       "how long a signed download link stays valid", absl::Hours(1));
            p.Int("conversations-client-send-burst", &options->client_send_burst,
                  "messages and uploads a client may send at once", 20, 1, 10000);
            p.Int("conversations-client-sends-per-minute", &options->client_sends_per_minute,
                  "sustained messages and uploads per client and minute", 30, 1, 10000);
            p.String("inbound-email-secret", &options->inbound_email_secret,
                     "shared secret the mail provider's inbound webhook sends (Authorization: "
                     "Bearer, or Basic with it as the password); empty: inbound email refused",
                     "");
            options->delivery.Register(p);
          },
      .start = [options](const rpc::ServiceEnv& env) { return Start(env, *options); },
  };
}

}  // namespace vetline::conversations
