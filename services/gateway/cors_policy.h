// Cross-origin use of the API by a front end served from another origin (the Fetch
// standard's CORS protocol). Only configured origins are allowed (none by default).
// Credentials (the session cookie) are allowed for them, so an answer names the origin
// itself, never `*`, with `Vary: Origin`; other origins get no CORS headers at all.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/gateway/http_transport.h"

namespace vetline::gateway {

class CorsPolicy {
 public:
  // Origins as browsers send them: "https://app.example" or "http://localhost:5173".
  // InvalidArgument (naming the setting) for "*", paths or anything else.
  static absl::StatusOr<CorsPolicy> Create(const std::vector<std::string>& origins);
  CorsPolicy() = default;

  // The request's Origin when it is allowed, else "".
  std::string AllowedOrigin(const Request& req) const;
  // OPTIONS with Origin and Access-Control-Request-Method.
  static bool IsPreflight(const Request& req);
  // The answer to a preflight for a path whose routes take `methods`: 204 with the
  // Access-Control-Allow-* headers for an allowed origin, 403 without them otherwise.
  Response Preflight(const Request& req, const std::vector<std::string>& methods) const;
  // The headers an answer to an allowed origin carries.
  static void Decorate(Response& res, const std::string& origin);

 private:
  std::set<std::string> origins_;
};

}  // namespace vetline::gateway
