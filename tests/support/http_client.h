// A small blocking HTTP/1.1 client for tests and benchmarks (Boost.Beast), talking to
// the gateway over a real loopback socket. One Client keeps one keep-alive connection.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

#include "nlohmann/json.hpp"

namespace vetline::testing {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  nlohmann::json json() const;  // parsed body (discarded value when not JSON)
  std::string header(const std::string& lower_name) const;
};

class HttpClient {
 public:
  explicit HttpClient(int port, std::string host = "127.0.0.1");
  ~HttpClient();

  HttpResponse Send(const std::string& method, const std::string& target,
                    const std::string& body = "",
                    const std::map<std::string, std::string>& headers = {});
  HttpResponse Get(const std::string& target, const std::map<std::string, std::string>& h = {}) {
    return Send("GET", target, "", h);
  }
  HttpResponse Post(const std::string& target, const std::string& body,
                    const std::map<std::string, std::string>& h = {}) {
    return Send("POST", target, body, h);
  }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether the gateway on `port` answers /readyz with 200 (every backend serving) within
// `limit_ms`; polls every 100 ms.
bool AwaitReadyz(int port, int limit_ms = 30'000);

// A Server-Sent Events stream (GET with `Accept: text/event-stream`) read as it arrives.
class EventStream {
 public:
  struct Event {
    std::string type;
    std::string id;  // the `id:` line (what a reconnect sends as Last-Event-ID)
    nlohmann::json data;
  };
  // Connects and sends the request; status() is the response status once headers came.
  EventStream(int port, const std::string& target, const std::map<std::string, std::string>& headers = {});
  ~EventStream();
  int status() const { return status_; }
  // The next event, or nullopt when none came within `timeout_ms` or the stream ended.
  std::optional<Event> Next(int timeout_ms);
  // Skips events until one of `type` arrives (or nullopt after `timeout_ms` overall).
  std::optional<Event> NextOf(const std::string& type, int timeout_ms);
  // Comment lines (`: keepalive` heartbeats) seen so far; Next() skips them.
  int comments() const { return comments_; }

 private:
  bool Fill(int timeout_ms);  // reads more decoded body; false on timeout or end
  int fd_ = -1;
  int status_ = 0;
  std::string raw_;   // undecoded bytes (chunked framing)
  std::string text_;  // decoded body not yet returned as events
  int comments_ = 0;
};

// `connections` connections opened at once, each sending `request` (raw HTTP/1.1, e.g.
// with `Connection: close`) and reading one answer, all driven by one thread and cut at
// `limit`. For load tests and benchmarks: far more connections than threads.
struct BurstAnswer {
  int status = 0;          // 0: no answer (refused, reset or cut at the limit)
  int64_t latency_us = 0;  // from the start of the burst
};
std::vector<BurstAnswer> HttpBurst(int port, int connections, const std::string& request,
                                   absl::Duration limit);

// {"Authorization": "Bearer <token>"}
std::map<std::string, std::string> Bearer(const std::string& token);

}  // namespace vetline::testing
