// tools/bench web: the console's weight and speed as a front desk meets it. Every service
// and the gateway in this process (EdgeStack) serving web/dist, a clinic loaded through
// the API (clients, each with a conversation and messages), then headless Chromium
// (web/tests/bench.mjs) measures the console's initial JavaScript (gzip) and the time
// from opening / to the inbox being usable. Targets (issue 12): initial JS <= 200 KB gzip,
// inbox usable <= 1 s on loopback.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "libs/core/config.h"
#include "libs/core/log.h"
#include "tests/support/edge_stack.h"

using namespace vetline;
using nlohmann::json;

namespace {

json Must(const testing::HttpResponse& r, const char* what) {
  if (r.status != 200) {
    std::fprintf(stderr, "%s: %d %s\n", what, r.status, r.body.c_str());
    std::exit(1);
  }
  return r.json();
}

}  // namespace

int main(int argc, char** argv) {
  int clients, runs;
  ConfigParser flags("bench_web");
  flags.Int("clients", &clients, "clients in the clinic, each with a conversation of 3 messages", 300, 1, 5000);
  flags.Int("runs", &runs, "page loads measured", 15, 1, 200);
  if (absl::Status st = flags.Parse(argc, argv); !st.ok()) {
    std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    return 2;
  }
  log::Init("bench", log::Level::kWarning);
  std::string web = VETLINE_WEB_DIR;
  if (std::system(("bash '" + web + "/scripts/build.sh'").c_str()) != 0) return 1;

  std::fprintf(stderr, "starting every service and the gateway, loading %d clients...\n", clients);
  testing::EdgeStack stack({.web_dir = web + "/dist"});
  auto clinic = stack.CreateClinic("Bench Animal Hospital", "admin@bench.vetline.test");
  auto c = stack.Client();
  auto admin = testing::Bearer(clinic.token);
  for (int i = 0; i < clients; ++i) {
    json client = Must(c.Post("/v1/clients",
                              json{{"firstName", "Client"}, {"lastName", "Number " + std::to_string(i)},
                                   {"phones", {{{"number", "+1555" + std::to_string(2000000 + i)},
                                                {"type", "MOBILE"}, {"textingCapable", true}, {"primary", true}}}}}
                                  .dump(), admin),
                       "create client");
    std::string id = client["id"];
    Must(c.Post("/v1/clients/" + id + "/pets", json{{"name", "Pet " + std::to_string(i)}}.dump(), admin), "add pet");
    json conv = Must(c.Post("/v1/clients/" + id + "/conversations", "{}", admin), "start chat");
    std::string cid = conv["id"];
    for (int m = 0; m < 3; ++m) {
      Must(c.Post("/v1/conversations/" + cid + "/messages",
                  json{{"text", "Message " + std::to_string(m) + " about the next visit."}}.dump(), admin),
           "send");
    }
  }
  json cfg = {{"baseUrl", "http://127.0.0.1:" + std::to_string(stack.http_port())},
              {"token", clinic.token}, {"runs", runs}, {"clients", clients},
              {"dist", web + "/dist"}};
  std::filesystem::path file = std::filesystem::temp_directory_path() /
                               ("vetline-web-bench-" + std::to_string(::getpid()) + ".json");
  std::ofstream(file) << cfg.dump();
  int rc = std::system(("cd '" + web + "' && node tests/bench.mjs '" + file.string() + "'").c_str());
  std::filesystem::remove(file);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 1;
}
