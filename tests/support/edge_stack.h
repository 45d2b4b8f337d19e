// Test support: every service (identity, clients, pims_sync, conversations, media, booking,
// payments) and the gateway in one process, each on its own loopback port, sharing one
// fresh database of the run's PostgreSQL, with the Stripe stand-in (tools/stripe_sim, a
// child process) that payments talks to: the running stack as a front end sees it, for
// tests that walk every route.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "libs/core/clock.h"
#include "libs/rpc/service.h"
#include "libs/testing/servers.h"
#include "services/conversations/delivery_setup.h"
#include "services/gateway/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/stripe_sim_process.h"
#include "vetline/identity/v1/identity.grpc.pb.h"

namespace vetline::testing {

struct EdgeStackOptions {
  // Conversations' providers (Twilio, SMTP, Web Push) and workers; none by default.
  conversations::DeliverySettings delivery;
  // The gateway's rate limits of login-style routes (rate_limit_field): off unless set.
  bool rate_limits = false;
  double login_ip_burst = 20, login_ip_per_minute = 20;
  // Booking sends its one-time codes through conversations, and conversations follow
  // booking's conversation.requested (the queue and the confirmation); off: no codes.
  bool booking_through_conversations = false;
  // Booking's clock (codes, holds, notice, the cut-off); null: the real one. Outlives the stack.
  const Clock* booking_clock = nullptr;
  // The built web front end the gateway serves (web/dist); empty: none.
  std::string web_dir;
  // Media's TURN relay (media-turn-urls, media-turn-secret); empty: none.
  std::string media_turn_urls, media_turn_secret;
};

class EdgeStack {
 public:
  explicit EdgeStack(EdgeStackOptions options = {});
  ~EdgeStack();

  int http_port() const;
  std::string conninfo() const { return db_.conninfo(); }
  // Conversations again (a restart: its feed cursors and everything else are in the database).
  void RestartConversations();
  HttpClient Client() const { return HttpClient(http_port()); }
  // The Stripe stand-in: one Stripe account (kStripeSimSecretKey, kStripeSimWebhookSecret);
  // pay a session with POST /pay/{id}, steer it through /_sim/.
  const StripeSimProcess& stripe() const { return *stripe_; }
  HttpClient StripeClient() const { return HttpClient(stripe_->port()); }
  identity::v1::IdentityService::Stub& identity() { return *identity_; }

  struct Clinic {
    std::string id;
    std::string admin_id;
    std::string token;  // the admin's session
  };
  // A clinic with an admin, signed in through the gateway.
  Clinic CreateClinic(const std::string& name, const std::string& admin_email);
  // Connects the stand-in's account to `clinic` through the gateway (PUT
  // /v1/payments/account as its admin) and sends the stand-in's signed webhooks to that
  // clinic's /v1/webhooks/stripe/{clinicId} on the gateway, as a clinic configures Stripe.
  // One account: the last clinic connected gets the webhooks.
  void ConnectStripe(const Clinic& clinic);

 private:
  TestDatabase db_;
  EdgeStackOptions options_;
  std::unique_ptr<StripeSimProcess> stripe_;
  // Chosen first: they call each other.
  std::string media_address_, conversations_address_, booking_address_, payments_address_;
  int http_port_ = 0;
  std::filesystem::path media_dir_;
  std::unique_ptr<rpc::RunningService> clients_, identity_service_, pims_sync_, conversations_,
      media_, booking_, payments_;
  std::unique_ptr<gateway::Gateway> gateway_;
  std::unique_ptr<identity::v1::IdentityService::Stub> identity_;
};

}  // namespace vetline::testing
