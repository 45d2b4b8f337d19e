// The web front end in a real browser: every service and the gateway in this process
// (EdgeStack) serving web/dist, a clinic seeded through the API, then Node runs the
// Playwright steps (web/tests/*.mjs) in Debian's headless Chromium against it.
#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "libs/auth/auth.h"
#include "tests/support/edge_stack.h"
#include "tests/support/identity_stack.h"
#include "services/conversations/channels/web_push.h"
#include "tests/support/smtp_sink.h"
#include "tests/support/turn_relay_process.h"
#include "tests/support/webpush_receiver.h"

using namespace vetline;
using testing::Bearer;
using nlohmann::json;

namespace {

constexpr char kPassword[] = "correct horse battery";

json Must(const testing::HttpResponse& r, int want, const std::string& what) {
  if (r.status != want) FAIL(what << ": " << r.status << " " << r.body);
  return r.json();
}

// A clinic as a front desk meets it: a staff user, a client with a phone, an email and a
// pet, a conversation with one message, and the client's own portal session.
json Seed(testing::EdgeStack& stack) {
  auto clinic = stack.CreateClinic("Riverside Animal Clinic", "admin@riverside.vetline.test");
  auto c = stack.Client();
  auto admin = Bearer(clinic.token);
  Must(c.Post("/v1/staff",
              json{{"email", "frontdesk@riverside.vetline.test"}, {"name", "Dana Front Desk"},
                   {"role", "STAFF"}, {"password", kPassword}}.dump(), admin),
       200, "create staff");
  json client = Must(c.Post("/v1/clients",
                            json{{"firstName", "Maria"}, {"lastName", "Lopez"},
                                 {"phones", {{{"number", "+15552013344"}, {"type", "MOBILE"},
                                              {"textingCapable", true}, {"primary", true}}}},
                                 {"emails", {{{"address", "maria.lopez@example.test"}, {"primary", true}}}}}
                                .dump(), admin),
                     200, "create client");
  std::string client_id = client["id"];
  json pet = Must(c.Post("/v1/clients/" + client_id + "/pets",
                         json{{"name", "Bella"}, {"species", "Dog"}, {"breed", "Labrador"}}.dump(), admin),
                  200, "add pet");
  json conversation = Must(c.Post("/v1/clients/" + client_id + "/conversations",
                                  json{{"petId", pet["id"]}}.dump(), admin),
                           200, "start chat");
  std::string conversation_id = conversation["id"];
  std::string seeded = "Hi Maria, Bella's lab results are in and everything looks normal.";
  Must(c.Post("/v1/conversations/" + conversation_id + "/messages", json{{"text", seeded}}.dump(), admin),
       200, "seed message");

  // The clinic's own words: a status beside Open and Closed, and a canned response.
  Must(c.Post("/v1/conversation-statuses",
              json{{"name", "Telemedicine"}, {"color", "#7a4fb5"}, {"position", 2}}.dump(), admin),
       200, "create status");
  Must(c.Post("/v1/message-templates",
              json{{"name", "Lab results ready"},
                   {"body", "Hi {client.first_name}, {pet.name}'s lab results are ready."}}.dump(), admin),
       200, "create template");

  // Tomorrow's schedule (clinic time): one appointment for Bella and a block-off.
  json type = Must(c.Post("/v1/booking/appointment-types",
                          json{{"name", "Wellness exam"}, {"durationMinutes", 30}}.dump(), admin),
                   200, "create appointment type");
  json provider = Must(c.Post("/v1/booking/providers", json{{"name", "Dr. Priya Shah"}}.dump(), admin),
                       200, "create provider");
  json room = Must(c.Post("/v1/booking/rooms", json{{"name", "Exam 1"}}.dump(), admin), 200, "create room");
  json weekly = json::array();
  for (const char* day : {"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"}) {
    weekly.push_back({{"weekday", day}, {"ranges", {{{"open", "08:00"}, {"close", "18:00"}}}}});
  }
  Must(c.Send("PUT", "/v1/booking/hours", json{{"schedule", {{"weekly", weekly}}}}.dump(), admin), 200,
       "clinic hours");
  absl::TimeZone chicago;
  REQUIRE(absl::LoadTimeZone("America/Chicago", &chicago));
  absl::CivilDay tomorrow = absl::ToCivilDay(absl::Now(), chicago) + 1;
  auto at = [&](int hour) {
    return absl::FormatTime(absl::RFC3339_sec,
                            absl::FromCivil(absl::CivilMinute(tomorrow.year(), tomorrow.month(), tomorrow.day(), hour, 0), chicago),
                            absl::UTCTimeZone());
  };
  Must(c.Post("/v1/booking/appointments",
              json{{"clientId", client_id}, {"petId", pet["id"]}, {"appointmentTypeId", type["id"]},
                   {"providerId", provider["id"]}, {"roomId", room["id"]}, {"startTime", at(10)}}.dump(), admin),
       200, "create appointment");
  Must(c.Post("/v1/booking/block-offs",
              json{{"providerId", provider["id"]}, {"startTime", at(12)}, {"endTime", at(13)},
                   {"reason", "Staff meeting"}}.dump(), admin),
       200, "create block-off");

  json account = Must(c.Post("/v1/portal/signup",
                             json{{"clinicId", clinic.id}, {"email", "maria.lopez@example.test"},
                                  {"name", "Maria Lopez"}, {"password", kPassword}}.dump()),
                      200, "portal signup");
  Must(c.Post("/v1/prospects/" + account["id"].get<std::string>() + "/link",
              json{{"clientId", client_id}}.dump(), admin),
       200, "link prospect");
  json login = Must(c.Post("/v1/portal/login",
                           json{{"clinicId", clinic.id}, {"email", "maria.lopez@example.test"},
                                {"password", kPassword}}.dump()),
                    200, "portal login");
  return {
      {"baseUrl", "http://127.0.0.1:" + std::to_string(stack.http_port())},
      {"clinicId", clinic.id},
      {"staff", {{"email", "frontdesk@riverside.vetline.test"}, {"password", kPassword}}},
      {"client", {{"id", client_id}, {"name", "Maria Lopez"}, {"pet", "Bella"},
                  {"email", "maria.lopez@example.test"}, {"password", kPassword},
                  {"token", login["token"]}}},
      {"conversationId", conversation_id},
      {"staffToken", clinic.token},
      {"scheduleDay", absl::FormatCivilTime(tomorrow)},
      {"seededMessage", seeded},
  };
}

// What the schedule and payments steps add to Seed's clinic: a column of the appointments
// view, a request form with one request from the website, the admin's login (refunds are
// an admin's), the Stripe stand-in's account to connect, and the clinic-time instant the
// block-off the browser adds must start at.
json SeedScheduleAndPayments(testing::EdgeStack& stack, json cfg) {
  auto c = stack.Client();
  auto admin = Bearer(cfg["staffToken"].get<std::string>());
  json providers = Must(c.Get("/v1/booking/providers", admin), 200, "list providers");
  REQUIRE(providers["providers"].size() == 1);
  Must(c.Post("/v1/booking/appointments-view/columns",
              json{{"name", "Dr. Shah's day"}, {"providerIds", {providers["providers"][0]["id"]}}}.dump(), admin),
       200, "create view column");
  json form = Must(c.Post("/v1/booking/request-forms",
                          json{{"name", "Telemedicine appointment"},
                               {"description", "A video visit with one of our vets."},
                               {"active", true},
                               {"questions", {{{"label", "What is going on?"}, {"kind", "LONG_TEXT"}, {"required", true}}}}}
                              .dump(), admin),
                   200, "create request form");
  std::string clinic_id = cfg["clinicId"];
  Must(c.Post("/v1/public/clinics/" + clinic_id + "/request-forms/" + form["id"].get<std::string>() + "/requests",
              json{{"contact", "sam.carter@example.test"}, {"contactName", "Sam Carter"},
                   {"answers", {{{"questionId", form["questions"][0]["id"]}, {"value", "Milo keeps scratching his ear."}}}}}
                  .dump()),
       200, "submit form request");

  absl::TimeZone chicago;
  REQUIRE(absl::LoadTimeZone("America/Chicago", &chicago));
  absl::CivilDay tomorrow = absl::ToCivilDay(absl::Now(), chicago) + 1;
  REQUIRE(cfg["scheduleDay"] == absl::FormatCivilTime(tomorrow));
  cfg["blockOffStart"] = absl::FormatTime(
      absl::RFC3339_sec, absl::FromCivil(absl::CivilMinute(tomorrow.year(), tomorrow.month(), tomorrow.day(), 15, 0), chicago),
      absl::UTCTimeZone());
  cfg["admin"] = {{"email", "admin@riverside.vetline.test"}, {"password", kPassword}};
  cfg["stripe"] = {{"url", stack.stripe().Url()},
                   {"secretKey", testing::kStripeSimSecretKey},
                   {"webhookSigningSecret", testing::kStripeSimWebhookSecret}};
  return cfg;
}

// Runs one Playwright script with the seeded config; its output is the test's output.
int RunScript(const std::string& script, json cfg, const std::string& shots) {
  cfg["screenshotDir"] = shots;
  std::filesystem::path file = std::filesystem::temp_directory_path() /
                               ("vetline-web-" + std::to_string(::getpid()) + ".json");
  std::ofstream(file) << cfg.dump(2);
  std::string cmd = "cd '" VETLINE_WEB_DIR "' && node tests/" + script + " '" + file.string() + "' 2>&1";
  int rc = std::system(cmd.c_str());
  std::filesystem::remove(file);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

}  // namespace

TEST_CASE("web: the staff console in Chromium: sign in, inbox, live messages, profile", "[web]") {
  REQUIRE(std::filesystem::exists(VETLINE_WEB_DIR "/dist/index.html"));  // the web_build fixture
  testing::EdgeStack stack({.web_dir = VETLINE_WEB_DIR "/dist"});
  json cfg = Seed(stack);
  CHECK(RunScript("console.mjs", cfg, VETLINE_WEB_SCREENSHOTS "/console") == 0);
}

TEST_CASE("web: the client portal in Chromium at phone width: sign in, read, live, answer", "[web]") {
  REQUIRE(std::filesystem::exists(VETLINE_WEB_DIR "/dist/portal/index.html"));
  testing::EdgeStack stack({.web_dir = VETLINE_WEB_DIR "/dist"});
  json cfg = Seed(stack);
  CHECK(RunScript("portal.mjs", cfg, VETLINE_WEB_SCREENSHOTS "/portal") == 0);
}

TEST_CASE("web: a video call in Chromium from the waiting room to its recording in call history", "[web]") {
  REQUIRE(std::filesystem::exists(VETLINE_WEB_DIR "/dist/portal/index.html"));
  testing::EdgeStack stack({.web_dir = VETLINE_WEB_DIR "/dist"});
  json cfg = Seed(stack);
  CHECK(RunScript("call.mjs", cfg, VETLINE_WEB_SCREENSHOTS "/call") == 0);
}

TEST_CASE("web: a video call in Chromium where both browsers reach only the clinic's TURN relay", "[web]") {
  REQUIRE(std::filesystem::exists(VETLINE_WEB_DIR "/dist/portal/index.html"));
  // Debian's coturn on loopback with the TURN REST API's shared secret; media hands each
  // participant credentials derived from it and relays through it too.
  testing::TurnRelayProcess relay("riverside-turn-secret-for-tests");
  REQUIRE(relay.ready());
  testing::EdgeStackOptions options{.web_dir = VETLINE_WEB_DIR "/dist"};
  options.media_turn_urls = relay.Urls();
  options.media_turn_secret = relay.secret();
  testing::EdgeStack stack(options);
  json cfg = Seed(stack);
  // The call is the admin's (made with the admin's session), so the admin hosts it.
  cfg["admin"] = {{"email", "admin@riverside.vetline.test"}, {"password", kPassword}};
  cfg["turnUrl"] = relay.Urls();
  cfg["turnSecret"] = relay.secret();
  std::filesystem::path report = std::filesystem::temp_directory_path() /
                                 ("vetline-relay-" + std::to_string(::getpid()) + ".json");
  cfg["relayReport"] = report.string();
  CHECK(RunScript("call_relay.mjs", cfg, VETLINE_WEB_SCREENSHOTS "/call-relay") == 0);

  // coturn's own account: each browser's username allocated a relay and sent through it
  // (permissions or channels to the media service's peer), and so did the media service.
  std::ifstream in(report);
  json seen = json::parse(in, nullptr, false);
  std::filesystem::remove(report);
  REQUIRE(seen.is_object());
  std::string log = relay.Log();
  auto used = [&](const std::string& username, const std::string& what) {
    std::string user = "user <" + username + ">";
    size_t n = 0;
    for (size_t at = log.find(user); at != std::string::npos; at = log.find(user, at + 1)) {
      size_t eol = log.find('\n', at);
      std::string line = log.substr(at, eol == std::string::npos ? std::string::npos : eol - at);
      if (line.find(what) != std::string::npos && line.find("success") != std::string::npos) ++n;
    }
    return n;
  };
  for (const json& u : seen["usernames"]) {
    INFO("TURN username " << u.get<std::string>());
    CHECK(used(u, "ALLOCATE processed") > 0);
    CHECK(used(u, "CREATE_PERMISSION processed") + used(u, "CHANNEL_BIND processed") > 0);
  }
  CHECK(log.find(":media>: incoming packet ALLOCATE processed, success") != std::string::npos);
}

TEST_CASE("web: the schedule in Chromium: the day and its blocked time added and removed then request forms and PIMS sync runs", "[web]") {
  REQUIRE(std::filesystem::exists(VETLINE_WEB_DIR "/dist/index.html"));
  testing::EdgeStack stack({.web_dir = VETLINE_WEB_DIR "/dist"});
  json cfg = SeedScheduleAndPayments(stack, Seed(stack));
  CHECK(RunScript("schedule.mjs", cfg, VETLINE_WEB_SCREENSHOTS "/schedule") == 0);
}

TEST_CASE("web: a deposit in Chromium: asked from the profile and paid in the portal then partly refunded and invoiced", "[web]") {
  REQUIRE(std::filesystem::exists(VETLINE_WEB_DIR "/dist/portal/index.html"));
  testing::EdgeStack stack({.web_dir = VETLINE_WEB_DIR "/dist"});
  json cfg = SeedScheduleAndPayments(stack, Seed(stack));
  CHECK(RunScript("payments.mjs", cfg, VETLINE_WEB_SCREENSHOTS "/payments") == 0);
}

TEST_CASE("web: the portal booking widget and its links in Chromium: book as a new client then manage and arrive by a signed link", "[web]") {
  REQUIRE(std::filesystem::exists(VETLINE_WEB_DIR "/dist/portal/index.html"));
  // Booking sends its codes and confirmations by email through conversations, to a real
  // SMTP server whose stored messages the browser steps read the codes from.
  testing::SmtpSink sink(VETLINE_WEB_DIR "/..");
  REQUIRE(sink.ready());
  testing::EdgeStackOptions options{.web_dir = VETLINE_WEB_DIR "/dist"};
  options.delivery.smtp_url = sink.Url();
  options.delivery.workers = 1;
  options.delivery.options.email_from = "hello@riverside.vetline.test";
  options.booking_through_conversations = true;
  testing::EdgeStack stack(options);
  json cfg = Seed(stack);
  auto c = stack.Client();
  auto admin = Bearer(cfg["staffToken"].get<std::string>());

  // Online booking: a type new clients may book, new clients welcome, a short cut-off
  // (so today's slots can still be changed online) and a request form for when the clinic
  // takes existing clients only.
  json type = Must(c.Post("/v1/booking/appointment-types",
                          json{{"name", "New patient exam"}, {"durationMinutes", 30}}.dump(), admin),
                   200, "create online type");
  Must(c.Send("PATCH", "/v1/booking/appointment-types/" + type["id"].get<std::string>(),
              json{{"onlineBookable", true}, {"newClientAllowed", true}}.dump(), admin),
       200, "make the type bookable online");
  Must(c.Send("PATCH", "/v1/booking/settings",
              json{{"allowNewClients", true}, {"cancelCutoffMinutes", 60}, {"minimumNoticeMinutes", 120}}.dump(), admin),
       200, "online booking settings");
  Must(c.Post("/v1/booking/request-forms",
              json{{"name", "Appointment request"}, {"active", true},
                   {"questions", {{{"label", "What is the visit for?"}, {"kind", "SHORT_TEXT"}, {"required", true}}}}}
                  .dump(), admin),
       200, "create request form");

  // The link a message to Maria carries, as clients' SendPortalLink signs it.
  json link = Must(c.Post("/v1/clients/" + cfg["client"]["id"].get<std::string>() + "/portal-link", "{}", admin),
                   200, "portal link");
  cfg["portalLink"] = cfg["baseUrl"].get<std::string>() + "/portal/conversations/" +
                      cfg["conversationId"].get<std::string>() + "?link=" + link["link"].get<std::string>();
  // The same link signed to have expired an hour ago (the stack's services share the test secret).
  auth::LinkSigner links(auth::Key::FromSecret(testing::kTestInternalSecret).value());
  cfg["expiredPortalLink"] =
      cfg["baseUrl"].get<std::string>() + "/portal/conversations/" + cfg["conversationId"].get<std::string>() +
      "?link=" +
      links.Sign("portal", cfg["clinicId"].get<std::string>() + "/" + cfg["client"]["id"].get<std::string>(),
                 absl::Now() - absl::Hours(1));
  cfg["smtpDir"] = sink.dir();
  cfg["onlineType"] = "New patient exam";
  cfg["timeZone"] = "America/Chicago";
  CHECK(RunScript("booking.mjs", cfg, VETLINE_WEB_SCREENSHOTS "/booking") == 0);
}

TEST_CASE("web: the portal's push opt-in in Chromium: turned on and the next staff message arrives as a real Web Push then turned off", "[web]") {
  REQUIRE(std::filesystem::exists(VETLINE_WEB_DIR "/dist/portal/sw.js"));
  // The push service is the loopback receiver (python3-cryptography): it hands out a real
  // subscription (endpoint, P-256 key, auth secret) and decrypts what conversations sends.
  // Headless Chromium cannot reach a push service, so the page's PushManager answers with
  // this subscription; everything after (the portal's POST, the backend's checks and
  // storage, the delivery worker's Web Push) is the real code.
  testing::WebPushReceiver receiver(VETLINE_WEB_DIR "/..");
  REQUIRE(receiver.ready());
  auto keys = conversations::channels::GenerateVapidKeys();
  REQUIRE(keys.ok());
  testing::EdgeStackOptions options{.web_dir = VETLINE_WEB_DIR "/dist"};
  options.delivery.vapid_subject = "mailto:ops@vetline.example";
  options.delivery.vapid_public_key = keys->public_key;
  options.delivery.vapid_private_key = keys->private_key;
  options.delivery.push_loopback_endpoints = true;
  options.delivery.workers = 1;
  testing::EdgeStack stack(options);
  json cfg = Seed(stack);
  testing::HttpClient push_service(receiver.port());
  cfg["pushSubscription"] = Must(push_service.Post("/_subscribe", "{}"), 200, "receiver subscription");
  cfg["pushReceiverUrl"] = "http://127.0.0.1:" + std::to_string(receiver.port());
  cfg["vapidPublicKey"] = keys->public_key;
  CHECK(RunScript("push.mjs", cfg, VETLINE_WEB_SCREENSHOTS "/push") == 0);
}
