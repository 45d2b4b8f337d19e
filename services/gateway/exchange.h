// What one HTTP request carries through the gateway's asynchronous steps, and the
// interface of the handlers that claim requests before the generated routes.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "libs/core/trace_context.h"
#include "services/gateway/http_transport.h"
#include "services/gateway/in_flight.h"

namespace vetline::gateway {

struct Exchange {
  Request req;
  std::string peer;  // the client's address (from X-Forwarded-For only via a trusted proxy)
  std::string request_id, route_label = "unmatched", clinic_id;
  trace::Context trace;  // the browser's trace continued (or a new one): the gateway's span
  std::string cors_origin;  // an allowed Origin the answer echoes; empty: no CORS headers
  absl::Time start = absl::Now();
  ReplyPtr reply;
  InFlight::Token in_flight;  // stopping the gateway waits until every exchange is gone
};
using ExchangePtr = std::shared_ptr<Exchange>;

// The pipeline's way to answer (request id, CORS, metrics, access log), for every step.
using Answer = std::function<void(const ExchangePtr&, Response)>;

// A handler that takes requests by path ahead of the generated routes: the probes today;
// webhooks, static files and event streams each add one, in a file of their own.
class Endpoint {
 public:
  virtual ~Endpoint() = default;
  // True when this endpoint took the request (it answers through its Answer).
  virtual bool Claim(const ExchangePtr& x, const std::string& path) = 0;
};

}  // namespace vetline::gateway
