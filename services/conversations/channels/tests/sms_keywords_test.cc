// Inbound keywords and Twilio's statuses, as the conversations service relies on them.
#include "services/conversations/channels/sms_keywords.h"

#include <catch2/catch.hpp>

#include "services/conversations/channels/sms.h"

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
