// The multi-replica topology as processes on one machine (tests/support/topology.h): two
// gateways, two replicas of every service, one database, Redis and blob store. What a
// clinic does through one gateway is seen through the other, shared work is done once,
// and a replica killed with -9 in the middle costs at most the requests it held.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_join.h"
#include "libs/testing/servers.h"
#include "libs/testing/wait.h"
#include "tests/support/child_process.h"
#include "tests/support/delivery_queue.h"
#include "tests/support/http_client.h"
#include "tests/support/identity_stack.h"
#include "tests/support/loopback_process.h"
#include "tests/support/smtp_sink.h"
#include "tests/support/topology.h"

using namespace vetline;
using nlohmann::json;
using testing::Bearer;
using testing::HttpClient;
using testing::HttpResponse;

namespace {

constexpr char kPassword[] = "correct horse battery";

testing::Topology::Clinic CreateClinic(const testing::Topology& t, const std::string& email) {
  auto clinic = t.CreateClinic("Maple Vets", email, kPassword);
  INFO(clinic.status().ToString());
  REQUIRE(clinic.ok());
  return *clinic;
}

// A call that must succeed, through gateway `g`.
json Ok(const testing::Topology& t, int g, const std::string& method, const std::string& target,
        const std::string& token, const json& body = nullptr) {
  HttpResponse r = t.Gateway(g).Send(method, target, body.is_null() ? "" : body.dump(), Bearer(token));
  INFO(method << " " << target << " via gateway " << g << ": " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  return r.json();
}

}  // namespace

TEST_CASE("topology: two gateways and two replicas of each service serve one clinic as one system", "[e2e][topology]") {
  testing::TestDatabase db;
  testing::Topology t(db.conninfo(), testing::BuiltServiceBinaries(), VETLINE_GATEWAY_BINARY);
  REQUIRE(t.ready());
  const testing::Topology::Clinic c = CreateClinic(t, "admin@maple.example");

  // A session made through gateway 0 works through gateway 1.
  CHECK(Ok(t, 1, "GET", "/v1/me", c.token)["clinic"]["id"] == c.id);

  // Staff watching through gateway 1 see a message sent through gateway 0, whichever
  // conversations replica took the send and whichever one feeds the stream.
  testing::EventStream events(t.gateway_port(1), "/v1/events", Bearer(c.token));
  REQUIRE(events.status() == 200);
  REQUIRE(events.NextOf("snapshot", 10000));
  const std::string client = Ok(t, 0, "POST", "/v1/clients", c.token, {{"firstName", "Ann"}, {"lastName", "Lee"}})["id"];
  const std::string chat = Ok(t, 0, "POST", "/v1/clients/" + client + "/conversations", c.token, json::object())["id"];
  for (int i = 0; i < 6; ++i) {  // several, so both replicas take some
    Ok(t, i % 2, "POST", "/v1/conversations/" + chat + "/messages", c.token,
       {{"text", "Rex's results " + std::to_string(i)}, {"internalNote", true}});
  }
  std::set<std::string> seen;
  while (seen.size() < 6) {
    auto e = events.NextOf("message.created", 10000);
    REQUIRE(e);
    seen.insert(e->data["message"]["text"].get<std::string>());
  }
  CHECK(seen.count("Rex's results 5") == 1);

  // One slot, booked through both gateways at the same moment: exactly one gets it.
  const std::string pet = Ok(t, 0, "POST", "/v1/clients/" + client + "/pets", c.token, {{"name", "Rex"}})["id"];
  const std::string type =
      Ok(t, 0, "POST", "/v1/booking/appointment-types", c.token, {{"name", "Surgery"}, {"durationMinutes", 60}})["id"];
  const std::string provider = Ok(t, 1, "POST", "/v1/booking/providers", c.token, {{"name", "Dr. Rivera"}})["id"];
  const json booking = {{"clientId", client}, {"petId", pet}, {"appointmentTypeId", type},
                        {"providerId", provider}, {"startTime", "2027-06-01T15:00:00Z"}};
  for (int round = 0; round < 3; ++round) {
    json slot = booking;
    slot["startTime"] = "2027-06-0" + std::to_string(round + 1) + "T15:00:00Z";
    std::atomic<int> booked{0}, refused{0};
    std::mutex answers_mu;
    std::vector<std::string> answers;  // the refusals, to show when this fails
    std::vector<std::thread> clerks;
    for (int g = 0; g < 4; ++g) {
      clerks.emplace_back([&, g] {
        HttpResponse r = t.Gateway(g % 2).Post("/v1/booking/appointments", slot.dump(), Bearer(c.token));
        if (r.status == 200) ++booked;
        if (r.status == 400 && r.json()["error"]["field"] == "startTime" &&
            r.json()["error"]["message"] == "slot no longer available") {
          ++refused;
        }
        if (r.status != 200) {
          std::lock_guard<std::mutex> lock(answers_mu);
          answers.push_back(std::to_string(r.status) + " " + r.body);
        }
      });
    }
    for (auto& th : clerks) th.join();
    INFO(absl::StrJoin(answers, "\n"));
    CHECK(booked == 1);
    CHECK(refused == 3);
  }
  json listed = Ok(t, 1, "GET", "/v1/booking/appointments?from=2027-06-01&to=2027-06-03", c.token);
  CHECK(listed["appointments"].size() == 3);

  // A video call made through gateway 0 and joined through gateway 1 reaches the media
  // replica that owns it.
  const std::string call = Ok(t, 0, "POST", "/v1/calls", c.token, json::object())["call"]["id"];
  json joined = Ok(t, 1, "POST", "/v1/calls/" + call + "/host-join", c.token, {{"displayName", "Dr. Rivera"}});
  CHECK(!joined["participantToken"].get<std::string>().empty());
  json got = Ok(t, 0, "GET", "/v1/calls/" + call, c.token);
  CHECK(got["id"] == call);
}

TEST_CASE("topology: replicas killed with -9 while clinics work lose nothing and send nothing twice", "[e2e][topology]") {
  testing::TestDatabase db;
  testing::SmtpSink smtp(VETLINE_SOURCE_DIR, "/usr/bin/python3", 2);
  REQUIRE(smtp.ready());
  testing::Topology t(db.conninfo(), testing::BuiltServiceBinaries(), VETLINE_GATEWAY_BINARY,
                      {{"conversations",
                        {"VETLINE_SMTP_URL=" + smtp.Url(), "VETLINE_EMAIL_FROM=hello@maple.example",
                         "VETLINE_DELIVERY_LEASE=3s"}}});
  REQUIRE(t.ready());
  const testing::Topology::Clinic c = CreateClinic(t, "admin@maple.example");

  // Two desks add clients through both gateways; a clients replica dies part way.
  constexpr int kPerDesk = 60;
  std::atomic<int> added{0}, failed{0};
  std::vector<std::pair<std::string, std::string>> clients[2];  // (id, email) of each desk's clients
  std::vector<std::thread> desks;
  for (int d = 0; d < 2; ++d) {
    desks.emplace_back([&, d] {
      for (int i = 0; i < kPerDesk; ++i) {
        const std::string n = std::to_string(d * kPerDesk + i), address = "client" + n + "@example.com";
        HttpResponse r = t.Gateway(d).Post(
            "/v1/clients",
            json{{"firstName", "Client" + n}, {"lastName", "Lee"}, {"emails", json::array({{{"address", address}}})}}.dump(),
            Bearer(c.token));
        if (r.status == 200) {
          clients[d].emplace_back(r.json()["id"], address);
          ++added;
        } else {
          ++failed;
        }
      }
    });
  }
  REQUIRE(testing::WaitUntil([&] { return added >= 30; }, absl::Seconds(60)));
  t.Kill("clients", 0);
  for (auto& th : desks) th.join();
  WARN("clients replica killed after " << 30 << "+ of " << 2 * kPerDesk << " adds: " << failed << " failed");
  // At most the request each desk had in flight at the kill.
  CHECK(failed <= 2);
  CHECK(added + failed == 2 * kPerDesk);
  // Every client that was confirmed is there, read through the other gateway.
  for (int d = 0; d < 2; ++d) {
    for (const auto& [id, address] : clients[d]) {
      REQUIRE(t.Gateway(1 - d).Get("/v1/clients/" + id, Bearer(c.token)).status == 200);
    }
  }
  CHECK(t.Gateway(0).Get("/readyz").status == 200);  // one replica left is enough

  // Both desks send each of their clients a message, which goes out by email; a
  // conversations replica dies while they are at it. The one left takes the sends, and
  // its delivery workers finish what the dead one had claimed once its leases end.
  std::atomic<int> posted{0}, post_failed{0};
  std::vector<std::string> confirmed[2];  // addresses whose message the clinic was told went
  desks.clear();
  for (int d = 0; d < 2; ++d) {
    desks.emplace_back([&, d] {
      for (const auto& [id, address] : clients[d]) {
        HttpResponse chat = t.Gateway(d).Post("/v1/clients/" + id + "/conversations", "{}", Bearer(c.token));
        HttpResponse sent = chat.status != 200 ? chat
                                               : t.Gateway(d).Post("/v1/conversations/" + chat.json()["id"].get<std::string>() + "/messages",
                                                                   json{{"text", "Your pet's reminder"}}.dump(), Bearer(c.token));
        if (sent.status == 200) {
          confirmed[d].push_back(address);
          ++posted;
        } else {
          ++post_failed;
        }
      }
    });
  }
  REQUIRE(testing::WaitUntil([&] { return posted >= 30; }, absl::Seconds(60)));
  t.Kill("conversations", 0);
  for (auto& th : desks) th.join();
  WARN("conversations replica killed after 30+ of " << added << " messages: " << post_failed << " failed");
  CHECK(post_failed <= 2);
  std::set<std::string> expected(confirmed[0].begin(), confirmed[0].end());
  expected.insert(confirmed[1].begin(), confirmed[1].end());
  REQUIRE(expected.size() == static_cast<size_t>(posted));
  auto recipients = [&] {  // from the envelopes the SMTP server stored beside each message
    std::set<std::string> to;
    for (std::string path : smtp.Messages()) {
      path.replace(path.size() - 4, 4, ".json");
      const json envelope = json::parse(testing::SmtpSink::Read(path), nullptr, false);
      if (envelope.is_object()) {
        for (const auto& r : envelope["rcpt_tos"]) to.insert(r.get<std::string>());
      }
    }
    return to;
  };

  // Every confirmed message reached its client.
  const bool all_arrived = testing::WaitUntil(
      [&] {
        const std::set<std::string> to = recipients();
        return std::includes(to.begin(), to.end(), expected.begin(), expected.end());
      },
      absl::Seconds(90));
  if (!all_arrived) {
    const std::set<std::string> to = recipients();
    std::vector<std::string> missing;
    std::set_difference(expected.begin(), expected.end(), to.begin(), to.end(), std::back_inserter(missing));
    pg::Result states = testing::RunSql(*pg::Pool::Create({.conninfo = db.conninfo(), .size = 1, .name = "check"}).value(),
                                        "SELECT destination, state, attempts, reason FROM conversations.deliveries "
                                        "WHERE state <> 'sent' ORDER BY destination LIMIT 5");
    std::string rows;
    for (int i = 0; i < states.rows(); ++i) {
      rows += states.Text(i, "destination") + " " + states.Text(i, "state") + " " + states.Text(i, "reason") + "\n";
    }
    FAIL_CHECK(missing.size() << " of " << expected.size() << " never arrived, e.g. "
                              << (missing.empty() ? "" : missing[0]) << "; " << to.size() << " recipients seen;\n"
                              << rows);
  }
  REQUIRE(all_arrived);
  std::vector<std::string> got = smtp.MessageIds();
  const std::set<std::string> unique(got.begin(), got.end());
  // Beyond those, only a send cut off by the kill (committed, its answer lost).
  CHECK(unique.size() <= expected.size() + post_failed);
  // Sent twice: at most what the dead replica's workers held when it died.
  WARN(got.size() - unique.size() << " emails went out twice after the kill");
  CHECK(got.size() - unique.size() <= 4 * 32);  // 4 workers x a batch of 32
}

namespace {

int64_t Number(const json& v) { return v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>(); }
// Records a run has read so far: inserted, updated, unchanged or failed.
int64_t Read(const json& counts) {
  return Number(counts["inserted"]) + Number(counts["updated"]) + Number(counts["unchanged"]) + Number(counts["failed"]);
}

// A full sync of one clinic, in batches of 25 (so a run is caught in the middle).
std::unique_ptr<testing::ChildProcess> SyncJob(const testing::Topology& t, const std::string& clinic,
                                               const std::filesystem::path& log) {
  return t.PimsSyncRun({"--full", "--clinic=" + clinic, "--batch-size=25"}, log.string());
}

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("topology: two PIMS sync jobs of one clinic at once sync it once, and a job killed with -9 is resumed",
          "[e2e][topology][pims]") {
  testing::TestDatabase db;
  testing::Topology t(db.conninfo(), testing::BuiltServiceBinaries(), VETLINE_GATEWAY_BINARY);
  REQUIRE(t.ready());
  const testing::Topology::Clinic c = CreateClinic(t, "admin@maple.example");
  // A practice slow enough (40 ms a batch of 25) that a run is caught in the middle.
  testing::LoopbackProcess pims({PIMS_SIM_BINARY, "--kind=cornerstone", "--clients=200", "--seed=7", "--slow-ms=40"});
  REQUIRE(pims.ready());
  Ok(t, 0, "PUT", "/v1/pims-sync/connector", c.token,
     {{"kind", "cornerstone"}, {"address", "127.0.0.1:" + std::to_string(pims.port())}});
  auto runs = [&](int g) { return Ok(t, g, "GET", "/v1/pims-sync/runs", c.token)["runs"]; };
  // Waits until the newest run is running and has stored a batch of clients.
  auto under_way = [&] {
    return testing::WaitUntil(
        [&] {
          json r = runs(1);
          return !r.empty() && r[0]["state"] == "running" && Read(r[0]["clients"]) > 0;
        },
        absl::Seconds(60));
  };
  auto clients_stored = [&] {
    return testing::RunSql(*pg::Pool::Create({.conninfo = db.conninfo(), .size = 1, .name = "check"}).value(),
                           "SELECT count(*) AS n FROM clients.clients WHERE clinic_id = '" + c.id + "'")
        .Int(0, "n");
  };

  // The nightly job and a second one (an operator's manual run, or a CronJob retried on
  // another node) at the same time: the second is refused while the first holds the clinic.
  const std::filesystem::path first_log = t.dir() / "sync-first.log", second_log = t.dir() / "sync-second.log";
  auto first = SyncJob(t, c.id, first_log);
  REQUIRE(under_way());
  auto second = SyncJob(t, c.id, second_log);
  CHECK(second->Wait(30'000) == 1);
  CHECK(ReadAll(second_log).find("a sync of this clinic is already running") != std::string::npos);
  INFO(ReadAll(first_log));
  REQUIRE(first->Wait(120'000) == 0);
  json after = runs(0);
  REQUIRE(after.size() == 1);  // the refused job left no run behind
  CHECK(after[0]["state"] == "succeeded");
  CHECK(Read(after[0]["clients"]) == 200);
  CHECK(Number(after[0]["pets"]["inserted"]) > 200);
  const int64_t stored = Number(after[0]["clients"]["inserted"]);  // the practice has a few it refuses
  CHECK(stored >= 195);
  CHECK(clients_stored() == stored);

  // A job killed with -9 in the middle (a pod evicted): the next job resumes that run
  // from its checkpoint instead of starting another, and nothing is stored twice.
  auto killed = SyncJob(t, c.id, t.dir() / "sync-killed.log");
  REQUIRE(under_way());
  killed->Kill();
  auto resumed = SyncJob(t, c.id, t.dir() / "sync-resumed.log");
  INFO(ReadAll(t.dir() / "sync-resumed.log"));
  REQUIRE(resumed->Wait(120'000) == 0);
  json last = runs(1);
  REQUIRE(last.size() == 2);
  CHECK(last[0]["state"] == "succeeded");
  CHECK(Number(last[0]["attempts"]) == 2);
  CHECK(Read(last[0]["clients"]) == 200);
  CHECK(Number(last[0]["clients"]["inserted"]) == 0);  // all there from the first run
  CHECK(clients_stored() == stored);
}
