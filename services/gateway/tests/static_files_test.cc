// The web front end served by the gateway over a real socket: the files of a Vite build,
// their cache headers and CSP, the apps' fallbacks, and API paths that never fall back.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "services/gateway/gateway.h"
#include "services/gateway/static_files.h"
#include "tests/support/http_client.h"
#include "tests/support/identity_stack.h"

using namespace vetline;
namespace fs = std::filesystem;

namespace {

void Write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

// A gateway without backends over a directory laid out like web/dist.
struct WebHarness {
  WebHarness() {
    root = fs::temp_directory_path() / ("vetline-web-" + std::to_string(::getpid()));
    fs::remove_all(root);
    Write(root / "index.html", "<!doctype html><title>console</title>");
    Write(root / "portal" / "index.html", "<!doctype html><title>portal</title>");
    Write(root / "assets" / "console-3f2a1b.js", "export const x = 1;");
    Write(root / "assets" / "style-9a8b7c.css", "body{}");
    Write(root / "favicon.svg", "<svg/>");
    Write(root / ".env", "SECRET=1");
    Write(root.parent_path() / ("vetline-web-outside-" + std::to_string(::getpid())), "outside");
    gateway::GatewayOptions o;
    o.http_address = "127.0.0.1:0";
    o.internal_secret = testing::kTestInternalSecret;
    o.registry = std::make_shared<prometheus::Registry>();
    o.web_dir = root.string();
    gw = gateway::Gateway::Start(o).value();
  }
  ~WebHarness() {
    gw.reset();
    fs::remove_all(root);
    fs::remove(root.parent_path() / ("vetline-web-outside-" + std::to_string(::getpid())));
  }
  testing::HttpClient Client() const { return testing::HttpClient(gw->port()); }

  fs::path root;
  std::unique_ptr<gateway::Gateway> gw;
};

}  // namespace

TEST_CASE("static files: the console at / and the portal at /portal/ with a strict CSP", "[static]") {
  WebHarness h;
  auto c = h.Client();
  auto console = c.Get("/");
  CHECK(console.status == 200);
  CHECK(console.body.find("console") != std::string::npos);
  CHECK(console.header("content-type") == "text/html; charset=utf-8");
  CHECK(console.header("cache-control") == "no-cache");  // a new deployment shows at once
  std::string csp = console.header("content-security-policy");
  CHECK(csp.find("script-src 'self'") != std::string::npos);
  CHECK(csp.find("connect-src 'self'") != std::string::npos);
  CHECK(csp.find("unsafe-inline") == std::string::npos);
  CHECK(console.header("x-content-type-options") == "nosniff");

  auto portal = c.Get("/portal/");
  CHECK(portal.status == 200);
  CHECK(portal.body.find("portal") != std::string::npos);
  CHECK(!portal.header("content-security-policy").empty());
}

TEST_CASE("static files: hashed assets are cached for a year and typed by extension", "[static]") {
  WebHarness h;
  auto c = h.Client();
  auto js = c.Get("/assets/console-3f2a1b.js");
  CHECK(js.status == 200);
  CHECK(js.body == "export const x = 1;");
  CHECK(js.header("content-type") == "text/javascript; charset=utf-8");
  CHECK(js.header("cache-control") == "public, max-age=31536000, immutable");
  auto css = c.Get("/assets/style-9a8b7c.css");
  CHECK(css.header("content-type") == "text/css; charset=utf-8");
  auto svg = c.Get("/favicon.svg");  // not hashed: revalidated like index.html
  CHECK(svg.status == 200);
  CHECK(svg.header("cache-control") == "no-cache");
}

TEST_CASE("static files: app paths fall back to their index and missing files are 404", "[static]") {
  WebHarness h;
  auto c = h.Client();
  auto deep = c.Get("/inbox/c-123?tab=notes");
  CHECK(deep.status == 200);
  CHECK(deep.body.find("console") != std::string::npos);
  auto portal_deep = c.Get("/portal/conversations/c-9");
  CHECK(portal_deep.status == 200);
  CHECK(portal_deep.body.find("portal") != std::string::npos);
  // A missing script must not be answered with HTML (the browser would run nothing and
  // say nothing useful).
  CHECK(c.Get("/assets/gone-000000.js").status == 404);
  CHECK(c.Get("/portal/missing.png").status == 404);
}

TEST_CASE("static files: API paths never fall back to the app", "[static]") {
  WebHarness h;
  auto c = h.Client();
  auto me = c.Get("/v1/me");
  CHECK(me.status == 401);
  CHECK(me.header("content-type") == "application/json");
  CHECK(me.json()["error"]["code"].is_string());
  auto unknown = c.Get("/v1/no-such-route");
  CHECK(unknown.status == 404);
  CHECK(unknown.header("content-type") == "application/json");
  // The gateway's own endpoints come first.
  CHECK(c.Get("/openapi.json").json()["openapi"].is_string());
  CHECK(c.Get("/healthz").status == 200);
  // Only GET: a POST to a page path is not the app.
  CHECK(c.Post("/inbox", "{}").header("content-type") == "application/json");
}

TEST_CASE("static files: no way out of the directory and no dot files", "[static]") {
  WebHarness h;
  auto c = h.Client();
  CHECK(c.Get("/.env").status == 404);
  CHECK(c.Get("/../vetline-web-outside-" + std::to_string(::getpid())).status == 404);
  CHECK(c.Get("/assets/../../vetline-web-outside-" + std::to_string(::getpid())).status == 404);
  CHECK(c.Get("/assets/%2e%2e/index.html").status == 404);
  CHECK(!gateway::StaticFiles::Resolve("/srv/web", "/a/../b").has_value());
  CHECK(gateway::StaticFiles::Resolve("/srv/web", "/portal/x")->string() == "/srv/web/portal/x");
}

TEST_CASE("static files: a web directory that does not exist stops the gateway at start", "[static]") {
  gateway::GatewayOptions o;
  o.http_address = "127.0.0.1:0";
  o.internal_secret = testing::kTestInternalSecret;
  o.registry = std::make_shared<prometheus::Registry>();
  o.web_dir = "/nonexistent/vetline-web";
  auto gw = gateway::Gateway::Start(o);
  REQUIRE(!gw.ok());
  CHECK(gw.status().message().find("web-dir") != std::string_view::npos);
}
