// What an inbound text asks for, the way carriers and Twilio read it: the whole message
// (surrounding whitespace and a trailing '.' or '!' ignored, any case) must be one of the
// keywords. "Stop by tomorrow" is an ordinary message.
#pragma once

#include <string_view>

namespace vetline::conversations::channels {

enum class SmsKeyword {
  kNone,
  kOptOut,  // STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT
  kOptIn,   // START, YES, UNSTOP
  kHelp,    // HELP, INFO
};

SmsKeyword ClassifySmsKeyword(std::string_view body);

}  // namespace vetline::conversations::channels
