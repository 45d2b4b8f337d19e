#include "services/gateway/static_files.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace vetline::gateway {
namespace fs = std::filesystem;

namespace {

constexpr char kPortalPrefix[] = "/portal";

bool IsApiPath(const std::string& path) { return path == "/v1" || absl::StartsWith(path, "/v1/"); }

// The last segment names a file (has an extension): a miss is a 404, not the app.
bool LooksLikeFile(const std::string& path) {
  size_t slash = path.rfind('/');
  return path.find('.', slash == std::string::npos ? 0 : slash) != std::string::npos;
}

Response TextResponse(int status, std::string body) {
  Response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

}  // namespace

StaticFiles::StaticFiles(fs::path root, Answer answer) : root_(std::move(root)), answer_(std::move(answer)) {}

std::optional<fs::path> StaticFiles::Resolve(const fs::path& root, const std::string& path) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  fs::path out = root;
  for (absl::string_view seg : absl::StrSplit(path.substr(1), '/', absl::SkipEmpty())) {
    // No way out of the root and no hidden files; percent-escapes are not decoded, so
    // "%2e%2e" is just a name that does not exist.
    if (seg.front() == '.' || seg.find('\0') != absl::string_view::npos ||
        seg.find('\\') != absl::string_view::npos) {
      return std::nullopt;
    }
    out /= std::string(seg);
  }
  return out;
}

std::string StaticFiles::ContentType(const fs::path& file) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},  {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},          {".map", "application/json"},
      {".svg", "image/svg+xml"},              {".png", "image/png"},
      {".jpg", "image/jpeg"},                 {".ico", "image/x-icon"},
      {".webp", "image/webp"},                {".woff2", "font/woff2"},
      {".webmanifest", "application/manifest+json"}, {".txt", "text/plain; charset=utf-8"},
  };
  std::string ext = file.extension().string();
  for (const auto& [e, type] : kTypes) {
    if (ext == e) return type;
  }
  return "application/octet-stream";
}

bool StaticFiles::Claim(const ExchangePtr& x, const std::string& path) {
  if (x->req.method() != http::verb::get || IsApiPath(path)) return false;
  x->route_label = "static";
  auto file = Resolve(root_, path);
  if (!file) {
    answer_(x, TextResponse(404, "not found\n"));
    return true;
  }
  std::error_code ec;
  if (fs::is_directory(*file, ec)) *file /= "index.html";
  if (fs::is_regular_file(*file, ec)) {
    Serve(x, *file, absl::StartsWith(path, "/assets/"));
    return true;
  }
  if (LooksLikeFile(path)) {
    answer_(x, TextResponse(404, "not found\n"));
    return true;
  }
  // A page of one of the apps: it routes in the browser.
  bool portal = path == kPortalPrefix || absl::StartsWith(path, std::string(kPortalPrefix) + "/");
  fs::path index = portal ? root_ / "portal" / "index.html" : root_ / "index.html";
  if (!fs::is_regular_file(index, ec)) {
    answer_(x, TextResponse(404, "the web front end is not built (tools/vetline build)\n"));
    return true;
  }
  Serve(x, index, false);
  return true;
}

void StaticFiles::Serve(const ExchangePtr& x, const fs::path& file, bool hashed_asset) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream body;
  body << in.rdbuf();
  if (!in) {
    answer_(x, TextResponse(404, "not found\n"));
    return;
  }
  Response res{http::status::ok, 11};
  res.set(http::field::content_type, ContentType(file));
  res.set(http::field::cache_control, hashed_asset ? "public, max-age=31536000, immutable" : "no-cache");
  res.set("Content-Security-Policy", kContentSecurityPolicy);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  // Portal links carry signed tokens in their query: never send them to another site.
  res.set("Referrer-Policy", "no-referrer");
  res.body() = std::move(body).str();
  answer_(x, std::move(res));
}

}  // namespace vetline::gateway
