// Backup and restore as docs/operations.md tells operators to do it: a `pg_dump` of a
// running stack's database, restored with `pg_restore` into a new database, brings the
// stack back with its conversations, messages, call records and recording links, and the
// recordings (in the blob directories, backed up on their own) still download.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "libs/testing/servers.h"
#include "libs/testing/wait.h"
#include "tests/support/http_client.h"
#include "tests/support/identity_stack.h"
#include "tests/support/vetline_serve.h"
#include "tests/support/webrtc_peer.h"

using namespace vetline;
using nlohmann::json;
using testing::Bearer;
using testing::HttpClient;

namespace {

const std::string kPgBin = "/usr/lib/postgresql/15/bin/";

json Must(const testing::HttpResponse& r) {
  INFO(r.status << " " << r.body);
  REQUIRE(r.status == 200);
  return r.json();
}

// WHIP over the gateway with a participant token (what a GStreamer peer signals with).
testing::Signal Whip(int port, const std::string& path, const std::string& token) {
  return [port, path, token](const std::string& offer) -> absl::StatusOr<std::string> {
    auto headers = Bearer(token);
    headers["Content-Type"] = "application/sdp";
    auto r = HttpClient(port).Post(path, offer, headers);
    if (r.status != 201) return absl::InvalidArgumentError(std::to_string(r.status) + " " + r.body);
    return r.body;
  };
}

// What staff see of a conversation: its messages with their call records.
json StaffMessages(HttpClient& c, const std::string& conversation, const std::string& token) {
  return Must(c.Get("/v1/conversations/" + conversation + "/messages", Bearer(token)))["messages"];
}

}  // namespace

TEST_CASE("restore: a pg_dump restored into a new database brings back conversations and recording links",
          "[e2e][restore]") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("vetline-restore-" + testing::UniqueRedisPrefix().substr(5, 16));
  std::filesystem::create_directories(dir);
  // The volumes (or bucket) a deployment keeps next to its database.
  const std::vector<std::string> volumes = {
      "VETLINE_MEDIA_DATA_DIR=" + (dir / "media-data").string(),
      "VETLINE_MEDIA_BLOB_DIR=" + (dir / "media-blobs").string(),
      "VETLINE_CONVERSATIONS_BLOB_DIR=" + (dir / "conversation-blobs").string(),
  };

  std::optional<testing::TestDatabase> original(std::in_place);
  std::string conversation, recording, staff;
  json before;
  {
    testing::VetlineServe stack(VETLINE_BINARY, original->conninfo(), false, volumes);
    REQUIRE(stack.ready());
    REQUIRE(stack.SeedDemo((dir / "demo.json").string()) == 0);
    json demo = json::parse(std::ifstream(dir / "demo.json"));
    const auto& admin = demo["clinics"][0]["admin"];
    HttpClient c = stack.Client();
    staff = Must(c.Post("/v1/auth/login", json{{"email", admin["email"]}, {"password", admin["password"]}}.dump()))
                ["token"];

    // A client, their conversation, a message, and a recorded video call from it.
    json client = Must(c.Post("/v1/clients",
                              R"({"firstName":"Pat","lastName":"Lee","phones":[{"number":"+1 312 555 0100",)"
                              R"("type":"MOBILE","textingCapable":true}]})",
                              Bearer(staff)));
    conversation = Must(c.Post("/v1/clients/" + client["id"].get<std::string>() + "/conversations", "{}",
                               Bearer(staff)))["id"];
    Must(c.Post("/v1/conversations/" + conversation + "/messages", R"({"text":"Bella's results are in."})",
                Bearer(staff)));
    json started = Must(c.Post("/v1/conversations/" + conversation + "/video-call",
                               R"({"text":"Let's talk them through."})", Bearer(staff)));
    const std::string call = started["callId"];
    const std::string join_url = started["message"]["attachments"][0]["videoCall"]["joinUrl"];
    const std::string invitation = join_url.substr(join_url.find("?invitation=") + 12);
    json joined = Must(c.Post("/v1/calls/" + call + "/join",
                              json{{"invitationToken", invitation}, {"displayName", "Pat"}}.dump()));
    json host = Must(c.Post("/v1/calls/" + call + "/host-join", R"({"displayName":"Dr Lee"})", Bearer(staff)));
    Must(c.Post("/v1/calls/" + call + "/participants/" + joined["participant"]["id"].get<std::string>() + "/admit",
                "", Bearer(staff)));
    auto clip = testing::EncodeClip(320, 180, 30, absl::Seconds(2), 300);
    REQUIRE(clip.ok());
    const std::string whip = "/v1/calls/" + call + "/whip/camera";
    auto host_cam = testing::Publisher::Start(
        {.clip = *clip, .signal = Whip(stack.http_port(), whip, host["participantToken"])});
    INFO(host_cam.status().ToString());
    REQUIRE(host_cam.ok());
    auto client_cam = testing::Publisher::Start(
        {.clip = *clip, .signal = Whip(stack.http_port(), whip, joined["participantToken"])});
    REQUIRE(client_cam.ok());
    Must(c.Post("/v1/calls/" + call + "/recording/start", "", Bearer(staff)));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    recording = Must(c.Post("/v1/calls/" + call + "/recording/stop", "", Bearer(staff)))["id"];
    Must(c.Post("/v1/calls/" + call + "/end", "", Bearer(staff)));

    // The call record (with its recording link) lands in the conversation; the recording
    // is composed into the blob store.
    REQUIRE(testing::WaitUntil([&] {
      before = StaffMessages(c, conversation, staff);
      for (const auto& m : before) {
        if (m["attachments"].size() == 1 && m["attachments"][0].contains("callRecord")) return true;
      }
      return false;
    }, absl::Seconds(30)));
    json rec;
    REQUIRE(testing::WaitUntil([&] {
      rec = Must(c.Get("/v1/recordings/" + recording, Bearer(staff)));
      return rec["state"] == "ready" || rec["state"] == "failed";
    }, absl::Seconds(90)));
    REQUIRE(rec["state"] == "ready");
    CHECK(stack.Terminate() == 0);
  }
  REQUIRE(before.size() == 3);  // the message, the invitation, the call record

  // Back up, lose the database, restore into a new one.
  const std::string dump = (dir / "vetline.dump").string();
  REQUIRE(std::system((kPgBin + "pg_dump --format=custom --file=" + dump + " '" + original->conninfo() + "'").c_str()) ==
          0);
  original.reset();  // the original database is dropped
  testing::TestDatabase restored;
  REQUIRE(std::system((kPgBin + "pg_restore --no-owner --exit-on-error --dbname='" + restored.conninfo() + "' " + dump)
                          .c_str()) == 0);

  testing::VetlineServe stack(VETLINE_BINARY, restored.conninfo(), false, volumes);
  REQUIRE(stack.ready());
  HttpClient c = stack.Client();
  // Staff sessions live in the database too: the same login still works.
  json after = StaffMessages(c, conversation, staff);
  REQUIRE(after.size() == before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    INFO(i);
    CHECK(after[i]["id"] == before[i]["id"]);
    CHECK(after[i]["text"] == before[i]["text"]);
    CHECK(after[i]["attachments"] == before[i]["attachments"]);
  }
  std::string recording_url;
  for (const auto& m : after) {
    if (m["attachments"].size() == 1 && m["attachments"][0].contains("callRecord")) {
      recording_url = m["attachments"][0]["callRecord"].value("recordingUrl", "");
    }
  }
  REQUIRE(recording_url.find("/v1/recordings/" + recording) != std::string::npos);
  json rec = Must(c.Get("/v1/recordings/" + recording, Bearer(staff)));
  CHECK(rec["state"] == "ready");
  auto download = c.Get(rec["downloadUrl"], Bearer(staff));
  CHECK(download.status == 200);
  CHECK(download.header("content-type") == "video/webm");
  CHECK(download.body.size() > 1000);
  CHECK(stack.Terminate() == 0);
  std::filesystem::remove_all(dir);
}
