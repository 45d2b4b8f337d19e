// Inbound keywords and Twilio's statuses, as the conversations service relies on them.
#include "services/conversations/channels/sms_keywords.h"

#include <catch2/catch.hpp>

#include "libs/core/status.h"
#include "services/conversations/channels/fake_senders.h"
#include "services/conversations/channels/sms.h"
#include "services/conversations/channels/twilio_webhooks.h"

namespace ch = vetline::conversations::channels;
using ch::SmsKeyword;

TEST_CASE("channels: opt-out, opt-in and help keywords are whole messages in any case and spacing") {
  for (const char* s : {"STOP", "stop", " Stop\n", "STOPALL", "unsubscribe", "Cancel", "END",
                        "quit", "\tQUIT  ", "Stop.", "STOP!"}) {
    INFO(s);
    CHECK(ch::ClassifySmsKeyword(s) == SmsKeyword::kOptOut);
  }
  for (const char* s : {"START", "start", " Yes ", "UNSTOP", "unstop\r\n"}) {
    INFO(s);
    CHECK(ch::ClassifySmsKeyword(s) == SmsKeyword::kOptIn);
  }
  for (const char* s : {"HELP", "help", " Info "}) {
    INFO(s);
    CHECK(ch::ClassifySmsKeyword(s) == SmsKeyword::kHelp);
  }
}

TEST_CASE("channels: a keyword inside an ordinary message is not a keyword") {
  for (const char* s : {"", "   ", "Stop by tomorrow?", "please stop", "STOP STOP", "yes please",
                        "Can I cancel my appointment", "ENDS", "STOPP", "helpful", "S T O P",
                        "Thanks, Dr. Lee. See you at the end of the week"}) {
    INFO(s);
    CHECK(ch::ClassifySmsKeyword(s) == SmsKeyword::kNone);
  }
}

TEST_CASE("channels: Twilio message statuses map to our delivery states") {
  using S = ch::DeliveryState;
  CHECK(ch::StatusFromTwilio("queued") == S::kQueued);
  CHECK(ch::StatusFromTwilio("accepted") == S::kQueued);
  CHECK(ch::StatusFromTwilio("sending") == S::kQueued);
  CHECK(ch::StatusFromTwilio("sent") == S::kSent);
  CHECK(ch::StatusFromTwilio("delivered") == S::kDelivered);
  CHECK(ch::StatusFromTwilio("undelivered") == S::kFailed);
  CHECK(ch::StatusFromTwilio("failed") == S::kFailed);
  CHECK_FALSE(ch::StatusFromTwilio("received").has_value());
  CHECK_FALSE(ch::StatusFromTwilio("bogus").has_value());
  CHECK(ch::DeliveryStateName(S::kDelivered) == "delivered");
  // Callbacks may arrive out of order: a late "sent" never undoes "delivered".
  CHECK(ch::DeliveryStateAdvances(S::kQueued, S::kSent));
  CHECK(ch::DeliveryStateAdvances(S::kSent, S::kDelivered));
  CHECK(ch::DeliveryStateAdvances(S::kSent, S::kFailed));
  CHECK_FALSE(ch::DeliveryStateAdvances(S::kDelivered, S::kSent));
  CHECK_FALSE(ch::DeliveryStateAdvances(S::kFailed, S::kDelivered));
  CHECK_FALSE(ch::DeliveryStateAdvances(S::kSent, S::kSent));
}

TEST_CASE("channels: Twilio's landline and not-a-mobile codes mean the number cannot take texts") {
  CHECK(ch::TwilioCodeMeansNotTextingCapable(21614));
  CHECK(ch::TwilioCodeMeansNotTextingCapable(30006));
  CHECK(ch::TwilioCodeMeansNotTextingCapable(21635));
  CHECK_FALSE(ch::TwilioCodeMeansNotTextingCapable(21211));  // a malformed number
  CHECK_FALSE(ch::TwilioCodeMeansNotTextingCapable(30003));  // handset off: may work later
  CHECK_FALSE(ch::TwilioCodeMeansNotTextingCapable(0));
}

TEST_CASE("channels: Twilio settings are checked at start and name the bad one") {
  ch::TwilioConfig c{.base_url = "http://127.0.0.1:1", .account_sid = "AC0123456789abcdef0123456789abcdef",
                     .auth_token = "t"};
  CHECK(c.Validate().ok());
  ch::TwilioConfig bad = c;
  bad.account_sid = "AC123";
  CHECK(bad.Validate().message().find("account_sid") != std::string::npos);
  bad = c;
  bad.base_url = "ftp://x";
  CHECK(bad.Validate().message().find("base_url") != std::string::npos);
  bad = c;
  bad.auth_token = "";
  CHECK(bad.Validate().message().find("auth_token") != std::string::npos);
}

TEST_CASE("channels: Twilio webhook forms are read with their required fields named") {
  auto field = [](const absl::Status& s) {
    auto p = s.GetPayload(vetline::kFieldPayload);
    return p ? std::string(*p) : std::string();
  };
  auto ok = ch::ParseTwilioStatusCallback({{"MessageSid", "SM1"}, {"MessageStatus", "delivered"}});
  REQUIRE(ok.ok());
  CHECK(ok->state == ch::DeliveryState::kDelivered);
  CHECK(ok->error_code == 0);
  CHECK(field(ch::ParseTwilioStatusCallback({{"MessageStatus", "sent"}}).status()) == "MessageSid");
  CHECK(field(ch::ParseTwilioStatusCallback({{"MessageSid", "SM1"}, {"MessageStatus", "weird"}}).status()) ==
        "MessageStatus");
  CHECK(field(ch::ParseTwilioStatusCallback({{"MessageSid", "SM1"}, {"MessageStatus", "failed"}, {"ErrorCode", "x"}})
                  .status()) == "ErrorCode");
  auto mms = ch::ParseTwilioInboundText({{"MessageSid", "SM2"}, {"From", "+15551230001"}, {"To", "+15005550006"},
                                         {"Body", ""}, {"NumMedia", "1"}, {"MediaUrl0", "https://api.twilio.com/m/1"},
                                         {"MediaContentType0", "image/jpeg"}});
  REQUIRE(mms.ok());
  CHECK(mms->media_urls == std::vector<std::string>{"https://api.twilio.com/m/1"});
  CHECK(mms->media_types == std::vector<std::string>{"image/jpeg"});
  CHECK(field(ch::ParseTwilioInboundText({{"MessageSid", "SM2"}, {"To", "+1"}}).status()) == "From");
  CHECK(field(ch::ParseTwilioInboundText({{"MessageSid", "SM2"}, {"From", "+1"}, {"To", "+1"}, {"NumMedia", "2"},
                                          {"MediaUrl0", "u"}}).status()) == "MediaUrl1");
}

TEST_CASE("channels: the fake senders record sends and answer scripted outcomes") {
  ch::FakeSmsSender sms;
  sms.Script({ch::SendOutcome::Retry("Service Unavailable", 503)});
  CHECK(sms.Send({"+1", "+2", "a", ""}).kind == ch::SendOutcome::kRetry);
  CHECK(sms.Send({"+1", "+2", "b", ""}).kind == ch::SendOutcome::kSent);
  REQUIRE(sms.count() == 2);
  CHECK(sms.sent()[1].body == "b");
  ch::FakePushSender push;
  ch::SendOutcome gone = ch::SendOutcome::Failed("gone", 410);
  gone.subscription_gone = true;
  push.Script({gone});
  CHECK(push.Send({"https://p/x", "k", "a"}, "hi").subscription_gone);
  CHECK(push.sent()[0].payload == "hi");
}
