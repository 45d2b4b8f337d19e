// Wiring of the conversations service (the inbox, delivery, events). Used by its own
// binary, by `vetline serve` and by tests.
#pragma once

#include "libs/rpc/service.h"
#include "services/conversations/delivery_setup.h"

namespace vetline::conversations {

// The largest raw email the inbound webhook takes (its route's max_body_kib).
inline constexpr int kMaxInboundEmailMib = 25;

// Links in messages (portal, signed downloads) start with the platform's public URL.
struct ConversationsOptions {
  // Uploaded files (the blob store's directory; a shared volume with several replicas).
  std::string blob_dir = "/var/lib/vetline/conversations";
  int max_file_mib = 25;
  absl::Duration download_ttl = absl::Hours(1);
  // Client sends (messages and uploads) per client: burst and sustained rate.
  int client_send_burst = 20;
  int client_sends_per_minute = 30;
  // The mail provider's inbound webhook proves itself with this (empty: refused).
  std::string inbound_email_secret;
  DeliverySettings delivery;  // providers and workers
};

rpc::ServiceDefinition Definition();

absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env,
                                                           ConversationsOptions options);

}  // namespace vetline::conversations
