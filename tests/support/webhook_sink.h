// Test support: an HTTP server on a free loopback port that records every request (the
// webhooks a provider stand-in sends: Twilio status callbacks and inbound texts) and
// answers a chosen status. Thread-safe; Boost.Beast, one thread per connection.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace vetline::testing {

struct RecordedRequest {
  std::string method, target, body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

class WebhookSink {
 public:
  WebhookSink();
  ~WebhookSink();
  int port() const;
  std::string Url(const std::string& path) const;  // http://127.0.0.1:PORT<path>
  // Requests whose target starts with `path_prefix`, in arrival order.
  std::vector<RecordedRequest> Requests(const std::string& path_prefix = "/") const;
  // Answer `status` to requests whose path is exactly `path` (default 200).
  void SetStatus(const std::string& path, int status);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vetline::testing
