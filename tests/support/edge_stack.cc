#include "tests/support/edge_stack.h"

#include <stdexcept>

#include "libs/rpc/rpc.h"
#include "services/booking/booking_component.h"
#include "services/clients/clients_component.h"
#include "services/conversations/conversations_component.h"
#include "services/identity/identity_component.h"
#include "services/media/media_component.h"
#include "services/payments/payments_component.h"
#include "services/pims_sync/pims_sync_component.h"
#include "tests/support/http_client.h"
#include "tests/support/identity_stack.h"

namespace vetline::testing {
namespace {

template <typename T>
T Must(absl::StatusOr<T> v, const char* what) {
  if (!v.ok()) throw std::runtime_error(std::string(what) + ": " + v.status().ToString());
  return std::move(*v);
}

std::string Address(const rpc::RunningService& s) {
  return "127.0.0.1:" + std::to_string(const_cast<rpc::RunningService&>(s).server().port());
}

constexpr char kPassword[] = "correct horse battery";

}  // namespace

EdgeStack::EdgeStack(EdgeStackOptions options) : options_(std::move(options)) {
  // Chosen first: conversations, clients and media call or follow each other, and
  // links and webhooks (Twilio's callbacks) point at the gateway.
  media_address_ = "127.0.0.1:" + std::to_string(FreePort());
  conversations_address_ = "127.0.0.1:" + std::to_string(FreePort());
  booking_address_ = "127.0.0.1:" + std::to_string(FreePort());
  payments_address_ = "127.0.0.1:" + std::to_string(FreePort());
  http_port_ = FreePort();
  media_dir_ =
      std::filesystem::temp_directory_path() / ("vetline-edge-" + std::to_string(::getpid()) + "-" +
                                                std::to_string(reinterpret_cast<uintptr_t>(this)));
  std::filesystem::create_directories(media_dir_);
  rpc::ServiceEnv clients_env = TestServiceEnv(db_.conninfo());
  clients_env.peers["conversations"] = conversations_address_;  // its texting events
  clients_ = Must(clients::Start(clients_env, {}), "clients");
  rpc::ServiceEnv identity_env = TestServiceEnv(db_.conninfo());
  identity_env.peers["clients"] = Address(*clients_);
  identity_service_ = Must(identity::Start(identity_env, {}), "identity");
  pims_sync_ = Must(pims_sync::Definition().start(TestServiceEnv(db_.conninfo())), "pims_sync");
  RestartConversations();
  media::MediaOptions mo;
  mo.data_dir = (media_dir_ / "data").string();
  mo.blob_dir = (media_dir_ / "blobs").string();
  mo.turn_urls = options_.media_turn_urls;
  mo.turn_secret = options_.media_turn_secret;
  rpc::ServiceEnv media_env = TestServiceEnv(db_.conninfo());
  media_env.grpc_address = media_address_;
  media_env.peers["clients"] = Address(*clients_);  // media checks clientId there
  media_env.peers["conversations"] = conversations_address_;  // and conversationId
  media_ = Must(media::Start(media_env, mo), "media");
  rpc::ServiceEnv booking_env = TestServiceEnv(db_.conninfo());
  booking_env.grpc_address = booking_address_;
  booking_env.peers["clients"] = Address(*clients_);            // PIMS ids, clientId and petId
  booking_env.peers["identity"] = Address(*identity_service_);  // the clinic's time zone
  if (options_.booking_through_conversations) booking_env.peers["conversations"] = conversations_address_;
  booking_env.platform.public_url = "http://127.0.0.1:" + std::to_string(http_port_);
  booking_ = Must(booking::Start(booking_env, options_.booking_clock ? *options_.booking_clock : Clock::Real()),
                  "booking");
  // Events are kept, not sent, until ConnectStripe names the clinic they are for.
  stripe_ = std::make_unique<StripeSimProcess>(STRIPE_SIM_BINARY, std::vector<std::string>{"--retry-base=1s"});
  if (!stripe_->ready()) throw std::runtime_error("stripe-sim did not start (" STRIPE_SIM_BINARY ")");
  rpc::ServiceEnv payments_env = TestServiceEnv(db_.conninfo());
  payments_env.grpc_address = payments_address_;
  payments_env.peers["clients"] = Address(*clients_);  // the client a request is for
  payments_env.peers["booking"] = booking_address_;    // the appointment a deposit is for
  payments_env.platform.public_url = "http://127.0.0.1:" + std::to_string(http_port_);
  payments_ = Must(payments::Start(payments_env, {.stripe_api_base = stripe_->base(),
                                                  .secret_keys = "k1:edge-stack-payments-seal-key"}),
                   "payments");

  gateway::GatewayOptions g;
  g.http_address = "127.0.0.1:" + std::to_string(http_port_);
  g.backends = {{"identity", Address(*identity_service_)},
                {"clients", Address(*clients_)},
                {"pims_sync", Address(*pims_sync_)},
                {"media", Address(*media_)},
                {"conversations", conversations_address_},
                {"booking", booking_address_},
                {"payments", payments_address_}};
  g.internal_secret = kTestInternalSecret;
  g.registry = std::make_shared<prometheus::Registry>();
  g.web_dir = options_.web_dir;
  if (options_.rate_limits) {
    g.redis = SharedRedis().address();
    g.rate_limit_prefix = UniqueRedisPrefix();  // buckets of this stack only
    g.login_ip_burst = options_.login_ip_burst;
    g.login_ip_per_minute = options_.login_ip_per_minute;
  }
  gateway_ = Must(gateway::Gateway::Start(g), "gateway");
  identity_ = identity::v1::IdentityService::NewStub(rpc::Dial(Address(*identity_service_)));
  // A service that started after another tried it leaves that channel backing off (up to
  // 2 s, channels share connections in one process): the first call of a test would fail.
  if (!AwaitReadyz(http_port_, 15'000)) throw std::runtime_error("the edge stack's gateway never became ready");
}

EdgeStack::~EdgeStack() {
  gateway_.reset();
  payments_.reset();
  booking_.reset();
  media_.reset();
  conversations_.reset();
  pims_sync_.reset();
  identity_service_.reset();
  clients_.reset();
  stripe_.reset();
  std::error_code ec;
  std::filesystem::remove_all(media_dir_, ec);
}

int EdgeStack::http_port() const { return gateway_->port(); }

void EdgeStack::RestartConversations() {
  conversations_.reset();
  conversations::ConversationsOptions co;
  co.blob_dir = (media_dir_ / "conversation-files").string();
  co.delivery = options_.delivery;
  rpc::ServiceEnv env = TestServiceEnv(db_.conninfo());
  env.platform.public_url = "http://127.0.0.1:" + std::to_string(http_port_);
  env.grpc_address = conversations_address_;  // the same address: the others keep calling it
  env.peers["clients"] = Address(*clients_);
  env.peers["identity"] = Address(*identity_service_);
  env.peers["media"] = media_address_;  // video calls, and its call.ended feed
  if (options_.booking_through_conversations) env.peers["booking"] = booking_address_;  // conversation.requested
  env.peers["payments"] = payments_address_;  // payment requests and their changes, as system messages
  conversations_ = Must(conversations::Start(env, co), "conversations");
}

EdgeStack::Clinic EdgeStack::CreateClinic(const std::string& name, const std::string& admin_email) {
  identity::v1::CreateClinicRequest req;
  req.set_name(name);
  req.set_time_zone("America/Chicago");
  req.set_phone("+15551230000");
  req.set_pims_kind(identity::v1::CORNERSTONE);
  req.set_admin_email(admin_email);
  req.set_admin_name("Admin of " + name);
  req.set_admin_password(kPassword);
  identity::v1::CreateClinicResponse resp;
  grpc::ClientContext ctx;
  rpc::SetDeadline(ctx);
  api::Principal platform = IdentityStack::Platform();
  rpc::AttachPrincipal(ctx, platform,
                       auth::PrincipalSigner(auth::Key::FromSecret(kTestInternalSecret).value()));
  grpc::Status st = identity_->CreateClinic(&ctx, req, &resp);
  if (!st.ok()) throw std::runtime_error("CreateClinic: " + st.error_message());
  HttpResponse login = Client().Post(
      "/v1/auth/login", nlohmann::json{{"email", admin_email}, {"password", kPassword}}.dump());
  if (login.status != 200) throw std::runtime_error("login: " + login.body);
  return {resp.clinic().id(), resp.admin().id(), login.json()["token"]};
}

void EdgeStack::ConnectStripe(const Clinic& clinic) {
  HttpResponse put = Client().Send("PUT", "/v1/payments/account",
                                   nlohmann::json{{"secretKey", kStripeSimSecretKey},
                                                  {"webhookSigningSecret", kStripeSimWebhookSecret}}
                                       .dump(),
                                   {{"Authorization", "Bearer " + clinic.token}, {"Content-Type", "application/json"}});
  if (put.status != 200) throw std::runtime_error("connecting Stripe: " + put.body);
  const std::string url = "http://127.0.0.1:" + std::to_string(http_port()) + put.json()["webhookPath"].get<std::string>();
  HttpResponse route = StripeClient().Post("/_sim/webhooks?url=" + url, "");
  if (route.status != 200) throw std::runtime_error("stripe-sim webhooks: " + route.body);
}

}  // namespace vetline::testing
