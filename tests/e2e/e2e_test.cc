// End to end through the real binaries: `vetline serve` (every service + the gateway)
// on the run's PostgreSQL and Redis, seeded by `vetline seed-demo`, driven over HTTP
// exactly as a web front end would.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "libs/rpc/rpc.h"
#include "libs/rpc/service.h"
#include "libs/testing/servers.h"
#include "tests/support/http_client.h"
#include "tests/support/identity_stack.h"
#include "tests/support/vetline_serve.h"

using namespace vetline;
using testing::Bearer;
using testing::HttpClient;

namespace {

// `vetline serve` on this test's own database, seeded by `vetline seed-demo`.
class Stack {
 public:
  Stack() : serve_(VETLINE_BINARY, db_.conninfo()) { REQUIRE(serve_.ready()); }

  int Terminate() { return serve_.Terminate(); }

  nlohmann::json SeedDemo(const std::string& out) {
    REQUIRE(serve_.SeedDemo(out) == 0);
    std::ifstream f(out);
    return nlohmann::json::parse(f);
  }

  HttpClient Client() { return serve_.Client(); }
  int http_port() const { return serve_.http_port(); }

 private:
  testing::TestDatabase db_;
  testing::VetlineServe serve_;
};

std::string Login(HttpClient& c, const nlohmann::json& account) {
  auto r = c.Post("/v1/auth/login", nlohmann::json{{"email", account["email"]},
                                                   {"password", account["password"]}}
                                        .dump());
  REQUIRE(r.status == 200);
  return r.json()["token"];
}

}  // namespace

TEST_CASE("e2e: demo clinics over HTTP, tenant isolation, graceful stop", "[e2e]") {
  Stack stack;
  std::string dir = "/tmp/vetline-e2e-" + testing::UniqueRedisPrefix().substr(5, 16);
  std::filesystem::create_directories(dir);
  nlohmann::json demo = stack.SeedDemo(dir + "/demo.json");

  REQUIRE(demo["clinics"].size() == 2);
  CHECK(demo["base_url"] == "http://127.0.0.1:" + std::to_string(stack.http_port()));
  // Every service in demo.json answers the standard health check on its port.
  for (auto& [name, address] : demo["services"].items()) {
    INFO(name);
    CHECK(rpc::CheckHealth(*rpc::Dial(address.get<std::string>())).value_or(false));
  }

  HttpClient c = stack.Client();
  const auto& a = demo["clinics"][0];
  const auto& b = demo["clinics"][1];
  std::string admin_a = Login(c, a["admin"]);
  std::string staff_a = Login(c, a["staff"][0]);
  std::string admin_b = Login(c, b["admin"]);

  auto me = c.Get("/v1/me", Bearer(admin_a));
  REQUIRE(me.status == 200);
  CHECK(me.json()["clinic"]["id"] == a["id"]);
  CHECK(me.json()["staff"]["role"] == "ADMIN");
  CHECK(c.Get("/v1/clinics/" + a["id"].get<std::string>(), Bearer(admin_a)).status == 200);

  // Clinic A sees nothing of clinic B: 404, as if it did not exist.
  auto other = c.Get("/v1/clinics/" + b["id"].get<std::string>(), Bearer(admin_a));
  CHECK(other.status == 404);
  CHECK(other.json()["error"]["code"] == "NOT_FOUND");
  auto b_staff = c.Get("/v1/staff", Bearer(admin_b)).json()["staff"];
  REQUIRE(b_staff.size() == 2);
  for (const auto& u : b_staff) {
    CHECK(c.Get("/v1/staff/" + u["id"].get<std::string>(), Bearer(admin_a)).status == 404);
  }
  CHECK(c.Get("/v1/staff", Bearer(admin_a)).json()["staff"].size() == 2);

  // Staff (not admin) cannot add staff; the admin can, with field-named validation.
  auto add = [&](const std::string& token, const std::string& email) {
    return c.Post("/v1/staff",
                  nlohmann::json{{"email", email}, {"name", "Dr. Rowan"}, {"role", "PROVIDER"},
                                 {"password", "a long enough password"}}
                      .dump(),
                  Bearer(token));
  };
  CHECK(add(staff_a, "vet@maple.vetline.test").status == 403);
  auto bad = add(admin_a, "not-an-email");
  CHECK(bad.status == 400);
  CHECK(bad.json()["error"]["field"] == "email");
  auto ok = add(admin_a, "vet@maple.vetline.test");
  REQUIRE(ok.status == 200);
  CHECK(ok.json()["role"] == "PROVIDER");
  CHECK(add(admin_a, "vet@maple.vetline.test").status == 409);

  // Client profiles through the gateway: create, find by phone, invisible to clinic B.
  auto created = c.Post("/v1/clients",
                        R"({"firstName":"Pat","lastName":"Lee","phones":[{"number":"+1 312 555 0100",)"
                        R"("type":"MOBILE","textingCapable":true}],"emails":[{"address":"pat@lee.example"}]})",
                        Bearer(staff_a));
  REQUIRE(created.status == 200);
  std::string client_id = created.json()["id"];
  CHECK(created.json()["phones"][0]["number"] == "+13125550100");
  CHECK(created.json()["phones"][0]["primary"] == true);
  auto found = c.Get("/v1/clients?query=312-555-0100", Bearer(staff_a));
  REQUIRE(found.status == 200);
  REQUIRE(found.json()["clients"].size() == 1);
  CHECK(found.json()["clients"][0]["id"] == client_id);
  CHECK(c.Get("/v1/clients/" + client_id, Bearer(admin_b)).status == 404);
  CHECK(c.Get("/v1/clients?query=pat", Bearer(admin_b)).json()["clients"].empty());
  auto bad_client = c.Post("/v1/clients", R"({"firstName":"Pat","lastName":"","phones":[]})", Bearer(staff_a));
  CHECK(bad_client.status == 400);
  CHECK(bad_client.json()["error"]["field"] == "lastName");
  // No PIMS sync ran yet: an empty report list, not an error.
  auto runs = c.Get("/v1/pims-sync/runs", Bearer(admin_a));
  CHECK(runs.status == 200);
  CHECK(runs.json()["runs"].empty());

  // A second seeding keeps the working demo.
  nlohmann::json again = stack.SeedDemo(dir + "/demo.json");
  CHECK(again["clinics"][0]["admin"]["password"] == a["admin"]["password"]);

  CHECK(c.Post("/v1/auth/logout", "{}", Bearer(admin_a)).status == 200);
  CHECK(c.Get("/v1/me", Bearer(admin_a)).status == 401);

  CHECK(stack.Terminate() == 0);  // SIGTERM: drains and exits cleanly
  std::filesystem::remove_all(dir);
}
