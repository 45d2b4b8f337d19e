// A small blocking HTTP/1.1 client for tests and benchmarks (Boost.Beast), talking to
// the gateway over a real loopback socket. One Client keeps one keep-alive connection.
#pragma once

#include <map>
#include <memory>
#include <string>

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

// {"Authorization": "Bearer <token>"}
std::map<std::string, std::string> Bearer(const std::string& token);

}  // namespace vetline::testing
