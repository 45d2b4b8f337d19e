// Online booking end to end over HTTP: the gateway and every service (tests/support
// edge_stack), booking sending its one-time code and its confirmation through
// conversations to a real SMTP server. A visitor on the website widget's public routes
// proves their email with the code from the email, lists open slots, holds one and
// confirms; staff see the conversation on top of their queue and the appointment in the
// schedule; the link in the confirmation email cancels it and frees the slot. Booking runs
// on a fake clock so a hold's expiry is walked through without waiting.
#include <catch2/catch.hpp>

#include <regex>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"
#include "libs/testing/wait.h"
#include "tests/support/edge_stack.h"
#include "tests/support/smtp_sink.h"

using namespace vetline;
using testing::Bearer;
using testing::HttpResponse;
using nlohmann::json;

namespace {

// Monday 2026-06-01, 07:00 in Chicago (the stack's clinics); the visitor books Wednesday.
const absl::Time kStart = absl::FromCivil(absl::CivilSecond(2026, 6, 1, 12, 0, 0), absl::UTCTimeZone());
constexpr char kDay[] = "2026-06-03";

testing::EdgeStackOptions Options(const testing::SmtpSink& sink, const Clock& clock) {
  testing::EdgeStackOptions o;
  o.delivery.smtp_url = sink.Url();
  o.delivery.workers = 1;
  o.delivery.options.email_from = "hello@maple.example";
  o.booking_through_conversations = true;
  o.booking_clock = &clock;
  return o;
}

std::string Query(const std::string& value) {
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += absl::StrCat("%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

// An email's body as text: quoted-printable soft breaks and =XX escapes undone (the
// confirmation's long link is wrapped that way), or base64 decoded.
std::string BodyText(const std::string& message) {
  const size_t split = message.find("\r\n\r\n");
  const std::string head = message.substr(0, split), body = split == std::string::npos ? "" : message.substr(split + 4);
  std::string lower = head;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (absl::StrContains(lower, "content-transfer-encoding: base64")) {
    std::string decoded;
    if (absl::Base64Unescape(body, &decoded)) return decoded;
  }
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '=' || i + 2 >= body.size()) {
      out += body[i];
      continue;
    }
    if (body.compare(i, 3, "=\r\n") == 0) {
      i += 2;
    } else if (std::isxdigit(static_cast<unsigned char>(body[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(body[i + 2]))) {
      out += static_cast<char>(std::stoi(body.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += body[i];
    }
  }
  return out;
}

struct Booking {
  FakeClock clock{kStart};
  testing::SmtpSink sink{VETLINE_SOURCE_DIR};
  testing::EdgeStack stack{Options(sink, clock)};
  testing::HttpClient http = stack.Client();
  testing::EdgeStack::Clinic clinic = stack.CreateClinic("Maple Vets", "admin@maple.example");
  std::string type_id, provider_id;

  Booking() {
    REQUIRE(sink.ready());
    type_id = Staff("POST", "/v1/booking/appointment-types", {{"name", "Wellness exam"}, {"durationMinutes", 30}})["id"].get<std::string>();
    Staff("PATCH", "/v1/booking/appointment-types/" + type_id, {{"onlineBookable", true}});
    provider_id = Staff("POST", "/v1/booking/providers", {{"name", "Dr Lee"}})["id"].get<std::string>();
    json weekly = json::array();
    for (const char* d : {"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"}) {
      weekly.push_back({{"weekday", d}, {"ranges", json::array({{{"open", "09:00"}, {"close", "12:00"}}})}});
    }
    Staff("PUT", "/v1/booking/hours", {{"schedule", {{"weekly", weekly}}}});
  }

  // A staff call that must succeed (the clinic's admin).
  json Staff(const std::string& method, const std::string& target, const json& body = nullptr) {
    HttpResponse r = http.Send(method, target, body.is_null() ? "" : body.dump(), Bearer(clinic.token));
    INFO(method << " " << target << ": " << r.body);
    REQUIRE(r.status == 200);
    return r.json();
  }
  HttpResponse Public(const std::string& method, const std::string& path, const json& body = nullptr) {
    return http.Send(method, "/v1/public/clinics/" + clinic.id + "/booking" + path,
                     body.is_null() ? "" : body.dump());
  }
  // Open slot starts on kDay, as the widget shows them.
  std::vector<std::string> Slots(const std::string& visitor_token) {
    HttpResponse r = Public("GET", "/slots?visitorToken=" + Query(visitor_token) + "&appointmentTypeId=" + type_id +
                                       "&from=" + kDay + "&to=" + kDay);
    INFO(r.body);
    REQUIRE(r.status == 200);
    std::vector<std::string> starts;
    const json answer = r.json();
    for (const json& s : answer["slots"]) starts.push_back(s["startTime"].get<std::string>());
    return starts;
  }
  // The text of every email the SMTP server took for `to` (decoded), in arrival order.
  std::vector<std::string> EmailsTo(const std::string& to) {
    std::vector<std::string> out;
    for (const std::string& path : sink.Messages()) {
      const std::string m = testing::SmtpSink::Read(path);
      if (absl::StrContains(m, "To: " + to)) out.push_back(BodyText(m));
    }
    return out;
  }
  std::string CodeSentTo(const std::string& to) {
    std::string code;
    REQUIRE(testing::WaitUntil(
        [&] {
          for (const std::string& text : EmailsTo(to)) {
            std::smatch m;
            if (std::regex_search(text, m, std::regex("code is ([0-9]{6})"))) code = m[1].str();
          }
          return !code.empty();
        },
        absl::Seconds(20)));
    return code;
  }
};

bool Has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

}  // namespace

TEST_CASE("booking e2e: a client books online over HTTP and cancels with the emailed link", "[e2e][booking]") {
  Booking b;
  // Ann is a client with an email and a dog; Bo already wrote to the clinic.
  const json ann = b.Staff("POST", "/v1/clients",
                           {{"firstName", "Ann"}, {"lastName", "Lee"}, {"emails", json::array({{{"address", "ann@example.com"}}})}});
  const std::string ann_id = ann["id"];
  const std::string rex_id = b.Staff("POST", "/v1/clients/" + ann_id + "/pets", {{"name", "Rex"}, {"species", "dog"}})["id"];
  const std::string bo_id = b.Staff("POST", "/v1/clients", {{"firstName", "Bo"}, {"lastName", "Kim"}})["id"];
  const std::string bo_chat = b.Staff("POST", "/v1/clients/" + bo_id + "/conversations", json::object())["id"];
  b.Staff("POST", "/v1/conversations/" + bo_chat + "/messages", {{"text", "Rex's vaccines are due"}, {"internalNote", true}});

  // The widget: the clinic's online types, then a code by email.
  HttpResponse r = b.Public("GET", "");
  REQUIRE(r.status == 200);
  REQUIRE(r.json()["appointmentTypes"].size() == 1);
  CHECK(r.json()["appointmentTypes"][0]["id"] == b.type_id);
  CHECK(r.json()["timeZone"] == "America/Chicago");  // the widget shows days and times in it
  r = b.Public("POST", "/codes", {{"contact", "Ann@Example.com"}});
  INFO(r.body);
  REQUIRE(r.status == 200);
  const std::string code = b.CodeSentTo("ann@example.com");

  // A wrong code is refused naming the field; the right one proves the email.
  r = b.Public("POST", "/codes/verify", {{"contact", "ann@example.com"}, {"code", code == "123456" ? "654321" : "123456"}});
  CHECK(r.status == 400);
  CHECK(r.json()["error"]["field"] == "code");
  r = b.Public("POST", "/codes/verify", {{"contact", "ann@example.com"}, {"code", code}});
  INFO(r.body);
  REQUIRE(r.status == 200);
  const std::string token = r.json()["visitorToken"];
  CHECK(r.json()["existingClient"] == true);
  REQUIRE(r.json()["pets"].size() == 1);
  CHECK(r.json()["pets"][0]["id"] == rex_id);

  // Wednesday 09:00-12:00 in 15-minute steps of a 30-minute exam: 11 starts.
  const std::vector<std::string> open = b.Slots(token);
  REQUIRE(open.size() == 11);
  const std::string first = open[0], second = open[1];
  auto hold = [&](const std::string& start) {
    return b.Public("POST", "/holds",
                    {{"visitorToken", token}, {"appointmentTypeId", b.type_id}, {"petId", rex_id}, {"startTime", start}});
  };

  // A hold left to expire: the slot is open again at once (its row still there), and
  // confirming it is a clear error on holdId. So is a hold that does not exist.
  r = hold(second);
  INFO(r.body);
  REQUIRE(r.status == 200);
  const std::string stale_hold = r.json()["holdId"];
  CHECK_FALSE(Has(b.Slots(token), second));
  b.clock.Advance(absl::Minutes(6));
  CHECK(Has(b.Slots(token), second));
  r = b.Public("POST", "/holds/" + stale_hold + "/confirm", {{"visitorToken", token}});
  CHECK(r.status == 400);
  CHECK(r.json()["error"]["field"] == "holdId");
  CHECK(absl::StrContains(r.json()["error"]["message"].get<std::string>(), "expired"));
  r = b.Public("POST", "/holds/00000000-0000-4000-8000-000000000001/confirm", {{"visitorToken", token}});
  CHECK(r.status == 404);
  CHECK(r.json()["error"]["field"] == "holdId");

  // Hold the first slot and confirm it.
  r = hold(first);
  INFO(r.body);
  REQUIRE(r.status == 200);
  const std::string hold_id = r.json()["holdId"];
  CHECK_FALSE(Has(b.Slots(token), first));
  r = b.Public("POST", "/holds/" + hold_id + "/confirm", {{"visitorToken", token}});
  INFO(r.body);
  REQUIRE(r.status == 200);
  const json booked = r.json();
  const std::string appointment_id = booked["appointmentId"];
  CHECK(booked["status"] == "scheduled");
  CHECK(booked["petName"] == "Rex (dog)");
  const std::string manage_url = booked["manageUrl"];
  CHECK(absl::StartsWith(manage_url, "http://127.0.0.1:" + std::to_string(b.stack.http_port()) +
                                         "/portal/appointments/" + appointment_id + "?t="));

  // Staff: Ann's conversation is on top of the queue, unread, above Bo's older one.
  json queue;
  REQUIRE(testing::WaitUntil(
      [&] {
        queue = b.Staff("GET", "/v1/conversations");
        return queue["conversations"].size() == 2 && queue["conversations"][0]["clientId"] == ann_id;
      },
      absl::Seconds(20)));
  CHECK(queue["conversations"][0]["staffUnread"].get<int>() >= 1);
  CHECK(queue["conversations"][1]["id"] == bo_chat);
  // And the appointment is in the schedule, a direct booking for Rex with Dr Lee.
  json day = b.Staff("GET", std::string("/v1/booking/appointments?from=") + kDay + "&to=" + kDay);
  REQUIRE(day["appointments"].size() == 1);
  CHECK(day["appointments"][0]["id"] == appointment_id);
  CHECK(day["appointments"][0]["petId"] == rex_id);
  CHECK(day["appointments"][0]["providerId"] == b.provider_id);
  CHECK(day["appointments"][0]["status"] == "SCHEDULED");
  CHECK(day["appointments"][0]["source"] == "DIRECT_BOOKING");
  CHECK(day["appointments"][0]["startTime"] == first);

  // The confirmation email carries the link; the link's token cancels the appointment.
  std::string link;
  REQUIRE(testing::WaitUntil(
      [&] {
        for (const std::string& text : b.EmailsTo("ann@example.com")) {
          std::smatch m;
          if (absl::StrContains(text, "Your appointment is booked") &&
              std::regex_search(text, m, std::regex("http://\\S+/portal/appointments/\\S+"))) {
            link = m[0].str();
          }
        }
        return !link.empty();
      },
      absl::Seconds(20)));
  CHECK(link == manage_url);
  const std::string manage_token = link.substr(link.find("?t=") + 3);
  r = b.Public("GET", "/appointments/" + appointment_id + "?manageToken=" + Query(manage_token));
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.json()["status"] == "scheduled");
  r = b.Public("POST", "/appointments/" + appointment_id + "/cancel", {{"manageToken", manage_token + "x"}});
  CHECK(r.status == 403);
  CHECK(r.json()["error"]["field"] == "manageToken");
  r = b.Public("POST", "/appointments/" + appointment_id + "/cancel", {{"manageToken", manage_token}});
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.json()["status"] == "cancelled");
  // The slot is open again, and the schedule shows the appointment cancelled.
  CHECK(Has(b.Slots(token), first));
  day = b.Staff("GET", std::string("/v1/booking/appointments?from=") + kDay + "&to=" + kDay);
  REQUIRE(day["appointments"].size() == 1);
  CHECK(day["appointments"][0]["status"] == "CANCELLED");
}
