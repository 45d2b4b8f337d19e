// The Stripe stand-in: the parts of Stripe's REST API that Vetline's payments use —
// Checkout Sessions (create, retrieve, list, expire), the PaymentIntent and Charge a
// payment makes, Refunds, Events — shaped by Stripe's published objects
// (../shared/providers/stripe/fixtures3.json), with Stripe's idempotency semantics, its
// error object, a page that "pays" a session, and signed webhook delivery with retries.
// A /_sim/ control API lets tests inspect it and inject faults (see main.cc).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "libs/core/periodic_worker.h"
#include "libs/http/form.h"
#include "libs/http/stand_in_server.h"
#include "nlohmann/json.hpp"

namespace vetline::stripe_sim {

struct Options {
  std::string secret_key = "sk_test_vetline_stripe_sim";
  std::string webhook_url;                          // where events go; empty: kept, not sent
  std::string webhook_secret = "whsec_vetline_stripe_sim";
  std::string public_url;                           // base of the pay links
  absl::Duration retry_base = absl::Seconds(1);     // first webhook retry; doubles up to 1 hour
};

class StripeSim {
 public:
  explicit StripeSim(Options options);
  ~StripeSim();

  void set_public_url(std::string url);
  http::StandInAnswer Handle(const http::StandInRequest& request);

 private:
  struct Stored {  // an idempotent request's first answer
    std::string fingerprint;
    http::StandInAnswer answer;
  };
  struct Delivery {
    std::string event_id;
    int attempts = 0;
    absl::Time due;
  };

  // Under mu_ from here on, except CreateSession, PayPage and Pay, which take it.
  http::StandInAnswer Api(const http::StandInRequest& r, const std::string& path, const http::FormParams& params);
  http::StandInAnswer CreateSession(const http::FormParams& params);
  http::StandInAnswer ExpireSession(const std::string& id);
  http::StandInAnswer CreateRefund(const http::FormParams& params);
  http::StandInAnswer List(const std::string& kind, const http::FormParams& query);
  http::StandInAnswer PayPage(const std::string& id);
  http::StandInAnswer Pay(const std::string& id);
  http::StandInAnswer Control(const std::string& method, const std::string& path, const http::FormParams& query);
  void Emit(const std::string& type, const nlohmann::json& object);  // under mu_
  PeriodicWorker::Next DeliverDue();

  Options options_;
  std::mutex mu_;
  int64_t next_id_ = 1;
  std::map<std::string, nlohmann::json> sessions_, intents_, charges_, refunds_;  // as Stripe shows them
  std::map<std::string, nlohmann::json> intent_metadata_;  // by session: payment_intent_data[metadata]
  std::vector<nlohmann::json> events_;
  std::map<std::string, size_t> event_index_;
  std::map<std::string, Stored> idempotent_;
  std::deque<Delivery> deliveries_;
  std::vector<nlohmann::json> delivery_log_;
  // Faults: answer 500 for the next N POSTs after doing them; deliver each event twice;
  // deliver pending events newest first; answer every API call 503 until then.
  int fail_after_commit_ = 0;
  bool duplicate_ = false, reorder_ = false;
  absl::Time down_until_ = absl::InfinitePast();
  std::unique_ptr<PeriodicWorker> worker_;
};

}  // namespace vetline::stripe_sim
