// The dashboards (deploy/grafana) and the Prometheus rules (deploy/prometheus) name only
// series a running stack really exports: `vetline serve` with its own /metrics port, a
// little traffic through the gateway and one PIMS sync run, then every /metrics endpoint
// scraped and every vetline_* name of every PromQL expression looked up in it.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "libs/testing/servers.h"
#include "tests/support/http_client.h"
#include "tests/support/identity_stack.h"
#include "tests/support/loopback_process.h"
#include "tests/support/vetline_serve.h"

using namespace vetline;
using testing::Bearer;
using testing::HttpClient;

namespace {

const std::string kSource = VETLINE_SOURCE_DIR;

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Metric names (vetline_...) and recorded series (vetline:...) named in a PromQL text.
std::set<std::string> NamesIn(const std::string& promql) {
  static const std::regex name(R"(\bvetline[_:][A-Za-z0-9_:]*)");
  std::set<std::string> out;
  for (std::sregex_iterator it(promql.begin(), promql.end(), name), end; it != end; ++it) {
    out.insert(it->str());
  }
  return out;
}

// Every PromQL expression of a Grafana dashboard: panel targets (rows nest panels) and
// query variables.
void Expressions(const nlohmann::json& node, std::vector<std::string>& out) {
  if (node.is_object()) {
    for (auto& [key, value] : node.items()) {
      if ((key == "expr" || key == "query") && value.is_string()) out.push_back(value);
      else Expressions(value, out);
    }
  } else if (node.is_array()) {
    for (const auto& v : node) Expressions(v, out);
  }
}

struct Rules {
  std::set<std::string> recorded;  // `record:` names
  std::set<std::string> used;      // every name in the rules' expressions
};

// deploy/prometheus/vetline-rules.yml read line by line: comments dropped, `record:`
// lines give the recorded series, everything else (the expressions) the names used.
Rules ReadRules(const std::string& path) {
  Rules r;
  std::istringstream in(ReadFile(path));
  static const std::regex record(R"(^\s*-?\s*record:\s*(\S+))");
  for (std::string line; std::getline(in, line);) {
    auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    std::smatch m;
    if (std::regex_search(line, m, record)) {
      r.recorded.insert(m[1]);
      continue;
    }
    for (const std::string& n : NamesIn(line)) r.used.insert(n);
  }
  return r;
}

// Names with at least one sample in a text exposition (histograms as their _bucket,
// _sum and _count series, exactly what PromQL sees).
std::set<std::string> Exported(const std::string& exposition) {
  std::set<std::string> out;
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    out.insert(line.substr(0, line.find_first_of("{ ")));
  }
  return out;
}

// Every `name{label="value"}` pair a sample of the exposition carries.
std::set<std::string> ExportedLabels(const std::string& exposition) {
  static const std::regex pair(R"re(([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)")re");
  std::set<std::string> out;
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    auto brace = line.find('{');
    if (line.empty() || line[0] == '#' || brace == std::string::npos) continue;
    const std::string name = line.substr(0, brace);
    const std::string labels = line.substr(brace, line.find('}') - brace);
    for (std::sregex_iterator it(labels.begin(), labels.end(), pair), end; it != end; ++it) {
      out.insert(name + "{" + (*it)[1].str() + "=\"" + (*it)[2].str() + "\"}");
    }
  }
  return out;
}

// The exact-match selectors (`vetline_x{label="value"}`) of a PromQL text, one pair each:
// a dashboard filtering on a label value nobody exports shows nothing, like a wrong name.
std::set<std::string> EqualMatchers(const std::string& promql) {
  static const std::regex selector(R"((\bvetline_[A-Za-z0-9_]*)\{([^}]*)\})");
  static const std::regex matcher(R"re(([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)")re");
  std::set<std::string> out;
  for (std::sregex_iterator it(promql.begin(), promql.end(), selector), end; it != end; ++it) {
    const std::string name = (*it)[1].str(), body = (*it)[2].str();
    // `label="v"` only: in `!=` and `=~` the `=` is not between the name and the quote.
    for (std::sregex_iterator m(body.begin(), body.end(), matcher); m != end; ++m) {
      out.insert(name + "{" + (*m)[1].str() + "=\"" + (*m)[2].str() + "\"}");
    }
  }
  return out;
}

// The names that resolve neither to an exported series nor to a recording rule.
std::set<std::string> Unresolved(const std::set<std::string>& used, const std::set<std::string>& exported,
                                 const Rules& rules) {
  std::set<std::string> missing;
  for (const std::string& n : used) {
    bool recorded = n.find(':') != std::string::npos;
    if (recorded ? !rules.recorded.count(n) : !exported.count(n)) missing.insert(n);
  }
  return missing;
}

std::string Login(HttpClient& c, const nlohmann::json& account) {
  auto r = c.Post("/v1/auth/login",
                  nlohmann::json{{"email", account["email"]}, {"password", account["password"]}}.dump());
  REQUIRE(r.status == 200);
  return r.json()["token"];
}

std::string Join(const std::set<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : " ") + n;
  return out;
}

}  // namespace

TEST_CASE("observability: every metric the dashboards and rules name is exported by a running stack",
          "[e2e][observability]") {
  // What the dashboards and the rules name.
  std::set<std::string> used, matchers;
  int dashboards = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kSource + "/deploy/grafana")) {
    if (entry.path().extension() != ".json") continue;
    INFO(entry.path().string());
    nlohmann::json board = nlohmann::json::parse(ReadFile(entry.path()));
    std::vector<std::string> exprs;
    Expressions(board, exprs);
    CHECK(!exprs.empty());
    for (const std::string& e : exprs) {
      for (const std::string& n : NamesIn(e)) used.insert(n);
      for (const std::string& m : EqualMatchers(e)) matchers.insert(m);
    }
    ++dashboards;
  }
  CHECK(dashboards >= 9);  // the overview, the gateway and one per service
  Rules rules = ReadRules(kSource + "/deploy/prometheus/vetline-rules.yml");
  REQUIRE(rules.recorded.size() >= 5);
  used.insert(rules.used.begin(), rules.used.end());
  REQUIRE(used.size() > 20);

  // A running stack with traffic: seeded clinics, logins, answers of every kind, a sync.
  testing::TestDatabase db;
  testing::VetlineServe stack(VETLINE_BINARY, db.conninfo(), /*metrics=*/true);
  REQUIRE(stack.ready());
  std::string dir = "/tmp/vetline-obs-" + testing::UniqueRedisPrefix().substr(5, 16);
  std::filesystem::create_directories(dir);
  REQUIRE(stack.SeedDemo(dir + "/demo.json") == 0);
  nlohmann::json demo = nlohmann::json::parse(ReadFile(dir + "/demo.json"));
  const auto& clinic = demo["clinics"][0];
  HttpClient c = stack.Client();
  std::string admin = Login(c, clinic["admin"]);
  CHECK(c.Get("/v1/me", Bearer(admin)).status == 200);
  CHECK(c.Get("/v1/clients?query=pat", Bearer(admin)).status == 200);
  CHECK(c.Get("/v1/clients/no-such-client", Bearer(admin)).status >= 400);
  CHECK(c.Get("/v1/me").status == 401);

  testing::LoopbackProcess pims({PIMS_SIM_BINARY, "--kind=cornerstone", "--clients=20", "--seed=7"});
  REQUIRE(pims.ready());
  std::string env = "VETLINE_PG_DSN='" + db.conninfo() + "' VETLINE_INTERNAL_SECRET=" +
                    testing::kTestInternalSecret + " ";
  std::string clinic_flag = " --clinic=" + clinic["id"].get<std::string>();
  std::string quiet = " > " + dir + "/pims.log 2>&1";
  REQUIRE(std::system((env + VETLINE_BINARY + " pims-sync set-connector" + clinic_flag +
                       " --kind=cornerstone --address=127.0.0.1:" + std::to_string(pims.port()) + quiet)
                          .c_str()) == 0);
  REQUIRE(std::system((env + VETLINE_BINARY + " pims-sync run --full" + clinic_flag + " --clients-address=" +
                       stack.Address("clients") + " --booking-address=" + stack.Address("booking") + quiet)
                          .c_str()) == 0);

  // Scrape both endpoints: the gateway's /metrics and the process's metrics port. The
  // sync figures are refreshed every 15 s: wait (bounded) until nothing is missing.
  std::set<std::string> exported, labels, missing, missing_labels;
  for (int i = 0; i < 40; ++i) {
    auto gateway = HttpClient(stack.http_port()).Get("/metrics");
    auto port = HttpClient(stack.metrics_port()).Get("/metrics");
    REQUIRE(gateway.status == 200);
    REQUIRE(port.status == 200);
    exported = Exported(gateway.body);
    for (const std::string& n : Exported(port.body)) exported.insert(n);
    labels = ExportedLabels(gateway.body + port.body);
    missing = Unresolved(used, exported, rules);
    missing_labels.clear();
    for (const std::string& m : matchers) {
      if (!labels.count(m)) missing_labels.insert(m);
    }
    if (missing.empty() && missing_labels.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(750));
  }
  INFO("named by a dashboard or rule but exported by nobody: " << Join(missing));
  CHECK(missing.empty());
  INFO("label values a dashboard selects that no series carries: " << Join(missing_labels));
  CHECK(matchers.size() > 10);
  CHECK(missing_labels.empty());

  // The check itself catches a dashboard naming a metric nobody exports, or a recorded
  // series no rule records.
  CHECK(Unresolved(NamesIn("sum(rate(vetline_no_such_metric_total[5m])) / vetline:no_such:ratio"),
                   exported, rules) ==
        std::set<std::string>{"vetline:no_such:ratio", "vetline_no_such_metric_total"});
  CHECK(Unresolved(NamesIn("sum(rate(vetline_rpc_server_handled_total[5m]))"), exported, rules).empty());
  CHECK(EqualMatchers(R"(rate(vetline_rpc_server_handled_total{service="clients", code=~"5..", method!="x"}[5m]))") ==
        std::set<std::string>{R"(vetline_rpc_server_handled_total{service="clients"})"});
  CHECK(labels.count(R"(vetline_pg_pool_in_use{pool="clients"})"));
  CHECK_FALSE(labels.count(R"(vetline_pg_pool_in_use{pool="no-such-pool"})"));

  CHECK(stack.Terminate() == 0);
  std::filesystem::remove_all(dir);
}
