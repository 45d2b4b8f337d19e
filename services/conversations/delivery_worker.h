// Hands queued deliveries to the providers: claims a batch (DeliveryRepository), sends
// each through its channel's adapter, and records what happened — sent, failed with the
// provider's reason, or queued again with backoff until the retry policy gives up. Runs
// as one or more of the service's workers; any number of replicas may run it.
#pragma once

#include <functional>
#include <string>

#include "libs/auth/auth.h"
#include "libs/core/periodic_worker.h"
#include "services/conversations/channels/email.h"
#include "services/conversations/channels/sms.h"
#include "services/conversations/channels/web_push.h"
#include "services/conversations/delivery_repository.h"
#include "services/conversations/delivery_rules.h"

namespace vetline::conversations {

// A channel without a sender (not configured in this deployment) fails its deliveries
// with a reason staff can read; they can be retried once it is configured.
struct DeliverySenders {
  channels::SmsSender* sms = nullptr;
  channels::EmailSender* email = nullptr;
  channels::PushSender* push = nullptr;
};

struct DeliveryOptions {
  RetryPolicy retry;
  absl::Duration lease = absl::Minutes(2);  // longer than any one send may take
  int batch = 32;
  std::string public_url = "http://127.0.0.1:8080";  // links and webhooks
  std::string email_from = "";         // used when the clinic set no sender address
  std::string reply_domain = "";       // reply+<conversation>@<domain>; "" for no reply address
  absl::Duration portal_link_ttl = absl::Hours(24 * 7);
};

class DeliveryWorker {
 public:
  DeliveryWorker(DeliveryRepository& repo, DeliverySenders senders, DeliveryOptions options,
                 auth::LinkSigner links, std::function<double()> jitter = nullptr);

  // One batch: kAgain when the batch was full (more may be due), else kPause.
  PeriodicWorker::Next Step();

 private:
  // Builds the provider's message and sends it (no database).
  channels::SendOutcome Send(const DueDelivery& d);
  DeliveryResult Result(const DueDelivery& d, const channels::SendOutcome& outcome);
  // Queued again after the backoff, or failed once the retry policy gives up.
  DeliveryResult Later(const DueDelivery& d, const std::string& reason);
  std::string PortalLink(const DueDelivery& d) const;

  DeliveryRepository& repo_;
  DeliverySenders senders_;
  DeliveryOptions options_;
  auth::LinkSigner links_;
  std::function<double()> jitter_;
};

}  // namespace vetline::conversations
