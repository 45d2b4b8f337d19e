// One blocking HTTP POST over libcurl, for the adapters that speak HTTP (Twilio, Stripe, Web
// Push). Each thread keeps its own curl handle, so connections to a provider stay open
// between sends and many threads can send at once without sharing a lock.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace vetline::http {

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  std::string basic_user, basic_password;  // HTTP basic auth when basic_user is set
  absl::Duration timeout = absl::Seconds(10);
};

struct HttpResult {
  int status = 0;               // 0: no HTTP answer (see transport_error)
  std::string body;
  std::string location;         // the Location header, if any
  std::string transport_error;  // connect/timeout/reset, when status is 0
};

HttpResult HttpPost(const HttpRequest& request);

// curl_global_init, once per process (thread-safe).
void EnsureCurlInitialised();

// This thread's curl handle, options reset but its open connections kept (HTTP and SMTP
// alike); nullptr if curl could not make one. Owned by the thread.
void* ThreadCurlHandle();

}  // namespace vetline::http
