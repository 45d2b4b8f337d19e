// The gateway's HTTP figures, declared in one place on the registry passed in.
#pragma once

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace vetline::gateway {

struct HttpMetrics {
  explicit HttpMetrics(prometheus::Registry& r)
      : requests(prometheus::BuildCounter()
                     .Name("vetline_http_requests_total")
                     .Help("HTTP requests answered by the gateway, by route, method and status")
                     .Register(r)),
        latency(prometheus::BuildHistogram()
                    .Name("vetline_http_request_duration_seconds")
                    .Help("HTTP request latency at the gateway, by route and method")
                    .Register(r)),
        rate_limited(prometheus::BuildCounter()
                         .Name("vetline_http_rate_limited_total")
                         .Help("Requests refused by a rate limit")
                         .Register(r)
                         .Add({})),
        refused(prometheus::BuildCounter()
                    .Name("vetline_http_overload_refused_total")
                    .Help("Requests refused at once because the gateway was at capacity, by "
                          "what was full (backend_calls, login_queue, stopping)")
                    .Register(r)),
        refused_backend_calls(refused.Add({{"what", "backend_calls"}})),
        refused_login_queue(refused.Add({{"what", "login_queue"}})),
        refused_stopping(refused.Add({{"what", "stopping"}})) {}
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Histogram>& latency;
  prometheus::Counter& rate_limited;
  prometheus::Family<prometheus::Counter>& refused;
  prometheus::Counter& refused_backend_calls;
  prometheus::Counter& refused_login_queue;
  prometheus::Counter& refused_stopping;
};

}  // namespace vetline::gateway
