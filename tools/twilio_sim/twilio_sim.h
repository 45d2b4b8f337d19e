// The Twilio Programmable Messaging stand-in: the parts of Twilio's 2010-04-01 REST API
// Vetline uses (create and fetch a Message), shaped by Twilio's published OpenAPI
// description (../shared/providers/twilio), plus what Twilio does afterwards: signed
// status callbacks (queued → sent → delivered, or undelivered with ErrorCode 30006 for
// landlines) and signed inbound-text webhooks. A /_sim/ control API lets tests inspect
// and steer it (see README in main.cc).
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

namespace vetline::twilio_sim {

struct Options {
  std::string account_sid = "AC00000000000000000000000000000000";
  std::string auth_token = "twilio-sim-auth-token";
  std::string inbound_url;          // where injected inbound texts go (unless a request names one)
  std::vector<std::string> landlines;  // numbers whose texts end undelivered with 30006
  int callback_threads = 2;
  absl::Duration callback_delay = absl::ZeroDuration();  // between one message's callbacks
};

class TwilioSim {
 public:
  explicit TwilioSim(Options options);
  ~TwilioSim();

  // One HTTP request: method, target (path + query), the Authorization header, body.
  http::StandInAnswer Handle(const std::string& method, const std::string& target,
                    const std::string& authorization, const std::string& body);

 private:
  struct Message {
    std::string sid, from, to, body, status_callback, status;
    int error_code = 0;
    int num_segments = 1;
    absl::Time created;
  };
  struct Callback {
    std::string sid, status, url;
    int http_status = 0;  // 0: not answered
  };
  enum class NumberKind { kMobile, kLandline, kNotMobile, kUnsubscribed };

  http::StandInAnswer CreateMessage(const std::string& account, const std::string& authorization,
                           const std::string& body);
  http::StandInAnswer FetchMessage(const std::string& account, const std::string& sid,
                          const std::string& authorization);
  http::StandInAnswer Inbound(const std::string& body);
  http::StandInAnswer Control(const std::string& method, const std::string& path,
                     const http::FormParams& query);
  bool Authorised(const std::string& authorization) const;
  std::string MessageJson(const Message& m) const;
  PeriodicWorker::Next DeliverOneCallbackBatch();
  void PostCallback(const Message& m, const std::string& status, int error_code);

  const Options options_;
  mutable std::mutex mu_;
  std::vector<Message> messages_;
  std::map<std::string, size_t> by_sid_;
  std::vector<Callback> callbacks_;
  std::map<std::string, NumberKind> numbers_;
  absl::Time down_until_ = absl::InfinitePast();
  std::deque<std::string> pending_;  // sids whose callbacks are still to send
  int64_t refused_while_down_ = 0;
  absl::Duration answer_delay_ = absl::ZeroDuration();  // a slow Twilio
  std::vector<std::unique_ptr<PeriodicWorker>> workers_;
};

}  // namespace vetline::twilio_sim
