// The built web front end (web/dist), served by the gateway on the API's own origin: the
// staff console at `/` and the client portal at `/portal/`. Same origin means no CORS and
// a session cookie that only our pages can use.
//
//   /assets/<hashed name>   long-lived cache (the name changes with the content)
//   index.html, the rest    no-cache (a new deployment is picked up at once)
//   unknown page paths      the app's index.html (the app routes in the browser)
//   unknown file paths      404 (a missing script must not turn into HTML)
//   /v1/...                 never claimed: API paths answer JSON, never the app
//
// Every answer carries a strict Content-Security-Policy: scripts and connections only
// from this origin, nothing inline.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "services/gateway/exchange.h"

namespace vetline::gateway {

class StaticFiles final : public Endpoint {
 public:
  // `root` holds index.html and portal/index.html (a Vite build).
  StaticFiles(std::filesystem::path root, Answer answer);
  bool Claim(const ExchangePtr& x, const std::string& path) override;

  static constexpr char kContentSecurityPolicy[] =
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
      "media-src 'self' blob:; font-src 'self'; connect-src 'self'; object-src 'none'; "
      "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

  // The file a request path names inside `root`, or nullopt when the path is not one
  // (a `..`, a dot file, a NUL). Pure: tested alone.
  static std::optional<std::filesystem::path> Resolve(const std::filesystem::path& root,
                                                      const std::string& path);
  static std::string ContentType(const std::filesystem::path& file);

 private:
  void Serve(const ExchangePtr& x, const std::filesystem::path& file, bool hashed_asset);

  std::filesystem::path root_;
  Answer answer_;
};

}  // namespace vetline::gateway
