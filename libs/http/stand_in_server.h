// The HTTP/1.1 server of the provider stand-ins (tools/twilio_sim, tools/stripe_sim):
// Boost.Beast, one thread per keep-alive connection (tests and benchmarks open a
// handful), loopback by default. Prints `port=N` as its first line, then serves until
// SIGINT/SIGTERM and ends the process at once (a stand-in keeps nothing worth flushing).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace vetline::http {

struct StandInRequest {
  std::string method;
  std::string target;                         // path and query, as received
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

struct StandInAnswer {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra response headers
};

// Never returns normally; the exit status is 1 when it cannot listen.
int ServeStandIn(const std::string& name, const std::string& host, int port,
                 std::function<StandInAnswer(const StandInRequest&)> handle);

}  // namespace vetline::http
