// Payments end to end over HTTP: the gateway and every service (tests/support
// edge_stack) with the Stripe stand-in. An admin connects the clinic's Stripe account,
// staff ask for a deposit for an appointment, the pay link reaches the client's
// conversation (the client reads it in the portal), the client pays on the stand-in's
// hosted page, Stripe's signed webhooks arrive at the gateway's
// /v1/webhooks/stripe/{clinicId}, and the conversation shows each change as a system
// message and on the payment attachment. Refunds are an admin's: staff are refused and
// nothing moves; an admin's partial refund is in the ledger, the balances and the report.
#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/testing/wait.h"
#include "tests/support/edge_stack.h"

using namespace vetline;
using nlohmann::json;
using testing::HttpResponse;

namespace {

constexpr char kPassword[] = "correct horse battery";

struct Api {
  testing::EdgeStack& s;
  HttpResponse Send(const std::string& verb, const std::string& path, const std::string& token,
                    const json& body = nullptr) {
    std::map<std::string, std::string> h;
    if (!token.empty()) h["Authorization"] = "Bearer " + token;
    if (!body.is_null()) h["Content-Type"] = "application/json";
    return s.Client().Send(verb, path, body.is_null() ? "" : body.dump(), h);
  }
  json Ok(const std::string& verb, const std::string& path, const std::string& token, const json& body = nullptr) {
    HttpResponse r = Send(verb, path, token, body);
    INFO(verb << " " << path << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == 200);
    return r.json();
  }
};

// The conversation's messages as `token` sees them, newest first.
json Messages(Api& api, const std::string& conv, const std::string& token) {
  return api.Ok("GET", "/v1/conversations/" + conv + "/messages", token)["messages"];
}

// The payment attachment's status on every message that carries `request_id`.
std::vector<std::string> AttachmentStatuses(const json& messages, const std::string& request_id) {
  std::vector<std::string> out;
  for (const json& m : messages) {
    for (const json& a : m.value("attachments", json::array())) {
      if (a.contains("paymentRequest") && a["paymentRequest"]["paymentRequestId"] == request_id) {
        out.push_back(a["paymentRequest"].value("status", ""));
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("payments e2e: a deposit asked for in a conversation is paid on Stripe's page and refunded by an admin",
          "[e2e][payments]") {
  testing::EdgeStack s;
  Api api{s};
  testing::EdgeStack::Clinic c = s.CreateClinic("Maple Vet", "admin@maple.example");
  const std::string admin = c.token;
  api.Ok("POST", "/v1/staff", admin,
         {{"email", "desk@maple.example"}, {"name", "Front Desk"}, {"role", "STAFF"}, {"password", kPassword}});
  const std::string staff =
      api.Ok("POST", "/v1/auth/login", "", {{"email", "desk@maple.example"}, {"password", kPassword}})["token"];

  // Pat, her dog Rex, his surgery, and Pat's portal account.
  const std::string client = api.Ok("POST", "/v1/clients", staff, {{"firstName", "Pat"}, {"lastName", "Lee"}})["id"];
  const std::string pet = api.Ok("POST", "/v1/clients/" + client + "/pets", staff, {{"name", "Rex"}})["id"];
  const std::string type =
      api.Ok("POST", "/v1/booking/appointment-types", admin, {{"name", "Surgery"}, {"durationMinutes", 60}})["id"];
  const std::string provider = api.Ok("POST", "/v1/booking/providers", admin, {{"name", "Dr. Rivera"}})["id"];
  const std::string appointment = api.Ok("POST", "/v1/booking/appointments", staff,
                                         {{"clientId", client},
                                          {"petId", pet},
                                          {"appointmentTypeId", type},
                                          {"providerId", provider},
                                          {"startTime", "2027-06-01T15:00:00Z"}})["id"];
  const std::string prospect = api.Ok("POST", "/v1/portal/signup", "",
                                      {{"clinicId", c.id},
                                       {"email", "pat@pets.example"},
                                       {"name", "Pat Lee"},
                                       {"password", kPassword}})["id"];
  api.Ok("POST", "/v1/prospects/" + prospect + "/link", admin, {{"clientId", client}});
  const std::string portal = api.Ok("POST", "/v1/portal/login", "",
                                    {{"clinicId", c.id}, {"email", "pat@pets.example"}, {"password", kPassword}})["token"];
  const std::string conv = api.Ok("POST", "/v1/clients/" + client + "/conversations", staff, json::object())["id"];

  const json deposit = {{"clientRequestId", "rex-surgery-deposit"},
                        {"kind", "DEPOSIT"},
                        {"clientId", client},
                        {"appointmentId", appointment},
                        {"currency", "usd"},
                        {"amount", 5000},
                        {"description", "Surgery deposit"}};

  // No account yet: a clear error, nothing asked of anyone.
  HttpResponse early = api.Send("POST", "/v1/payments/requests", staff, deposit);
  CHECK(early.status == 400);
  CHECK(absl::StrContains(early.json()["error"].value("message", ""), "Stripe account"));

  // The account is the admin's to connect; staff are refused.
  HttpResponse by_staff = api.Send("PUT", "/v1/payments/account", staff,
                                   {{"secretKey", testing::kStripeSimSecretKey},
                                    {"webhookSigningSecret", testing::kStripeSimWebhookSecret}});
  CHECK(by_staff.status == 403);
  s.ConnectStripe(c);
  HttpResponse account = api.Send("GET", "/v1/payments/account", staff);
  REQUIRE(account.status == 200);
  CHECK(account.json()["connected"] == true);
  CHECK(account.json()["working"] == true);
  CHECK(account.json()["webhookPath"] == "/v1/webhooks/stripe/" + c.id);
  CHECK_FALSE(absl::StrContains(account.body, testing::kStripeSimSecretKey));
  CHECK_FALSE(absl::StrContains(account.body, testing::kStripeSimWebhookSecret));

  // Staff ask for the deposit; a retry of the same ask is the same request and pay link.
  json r = api.Ok("POST", "/v1/payments/requests", staff, deposit);
  const std::string id = r["id"];
  CHECK(r["status"] == "REQUESTED");
  CHECK(r["amountText"] == "50.00 USD");
  CHECK(r["appointmentId"] == appointment);
  const std::string pay_url = r["payUrl"];
  REQUIRE(absl::StartsWith(pay_url, s.stripe().Url("/pay/cs_")));
  json again = api.Ok("POST", "/v1/payments/requests", staff, deposit);
  CHECK(again["id"] == id);
  CHECK(again["payUrl"] == pay_url);

  // The pay link reaches the conversation as a system message the client reads in the portal.
  json messages;
  REQUIRE(testing::WaitUntil(
      [&] {
        messages = Messages(api, conv, staff);
        return !messages.empty() && AttachmentStatuses(messages, id).size() == 1;
      },
      absl::Seconds(20)));
  CHECK(messages[0]["author"] == "SYSTEM");
  CHECK(absl::StrContains(messages[0]["text"].get<std::string>(), "50.00 USD"));
  CHECK(messages[0]["attachments"][0]["paymentRequest"]["portalUrl"] == pay_url);
  CHECK(AttachmentStatuses(messages, id) == std::vector<std::string>{"requested"});
  json seen = Messages(api, conv, portal);
  REQUIRE(seen.size() == 1);
  CHECK(absl::StrContains(seen[0]["text"].get<std::string>(), pay_url));

  // The client pays on the hosted page; Stripe's signed webhooks arrive at the gateway.
  const std::string session_path = pay_url.substr(s.stripe().Url().size());
  testing::HttpClient stripe = s.StripeClient();
  CHECK(stripe.Get(session_path).status == 200);  // the page
  REQUIRE(stripe.Post(session_path, "").status == 200);
  json paid;
  REQUIRE(testing::WaitUntil(
      [&] {
        paid = api.Ok("GET", "/v1/payments/requests/" + id, staff);
        return paid["status"] == "PAID";
      },
      absl::Seconds(20)));
  CHECK(paid["paidAmount"] == "5000");  // int64 in JSON: a string
  json deliveries = stripe.Get("/_sim/deliveries").json();
  CHECK(deliveries.size() >= 1);
  for (const json& d : deliveries) CHECK(d["status"] == 200);

  // The conversation shows the change: a system message, and every attachment of the request says paid.
  REQUIRE(testing::WaitUntil(
      [&] {
        messages = Messages(api, conv, staff);
        return AttachmentStatuses(messages, id).size() == 2;
      },
      absl::Seconds(20)));
  CHECK(messages[0]["author"] == "SYSTEM");
  CHECK(messages[0]["text"] == "Deposit of 50.00 USD paid. Thank you!");
  CHECK(AttachmentStatuses(messages, id) == std::vector<std::string>{"paid", "paid"});
  CHECK(AttachmentStatuses(Messages(api, conv, portal), id) == std::vector<std::string>{"paid", "paid"});

  // A refund is an admin's decision: staff are refused and nothing moves.
  HttpResponse refused = api.Send("POST", "/v1/payments/requests/" + id + "/refunds", staff,
                                  {{"clientRequestId", "refund-1"}, {"amount", 2000}});
  CHECK(refused.status == 403);
  CHECK(stripe.Get("/_sim/state").json()["refunds"].empty());
  CHECK(api.Ok("GET", "/v1/payments/requests/" + id, staff).value("refundedAmount", "0") == "0");

  // An admin refunds part of it.
  json refund = api.Ok("POST", "/v1/payments/requests/" + id + "/refunds", admin,
                       {{"clientRequestId", "refund-1"}, {"amount", 2000}, {"reason", "requested_by_customer"}});
  CHECK(refund["amount"] == "2000");
  CHECK(absl::StartsWith(refund["id"].get<std::string>(), "re_"));
  REQUIRE(testing::WaitUntil(
      [&] {
        messages = Messages(api, conv, staff);
        return AttachmentStatuses(messages, id).size() == 3;
      },
      absl::Seconds(20)));
  CHECK(messages[0]["text"] == "20.00 USD of the deposit of 50.00 USD refunded.");
  CHECK(AttachmentStatuses(messages, id) ==
        std::vector<std::string>{"partly_refunded", "partly_refunded", "partly_refunded"});
  json after = api.Ok("GET", "/v1/payments/requests/" + id, staff);
  CHECK(after["status"] == "PARTLY_REFUNDED");
  CHECK(after["refundedAmount"] == "2000");

  // The ledger's sums: balances and today's report, admins only.
  CHECK(api.Send("GET", "/v1/payments/balances", staff).status == 403);
  json balances = api.Ok("GET", "/v1/payments/balances", admin)["balances"];
  REQUIRE(balances.size() == 1);
  CHECK(balances[0]["currency"] == "usd");
  CHECK(balances[0]["charged"] == "5000");
  CHECK(balances[0]["refunded"] == "2000");
  CHECK(balances[0]["net"] == "3000");
  const std::string today = absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone());
  json report = api.Ok("GET", "/v1/payments/report?from=" + today + "&to=" + today, admin);
  REQUIRE(report["totals"].size() == 1);
  CHECK(report["totals"][0]["net"] == "3000");
  REQUIRE(report["rows"].size() == 1);
  CHECK(report["rows"][0]["kind"] == "DEPOSIT");
}
