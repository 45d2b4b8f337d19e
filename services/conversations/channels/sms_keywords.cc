#include "services/conversations/channels/sms_keywords.h"

#include <string>

#include "absl/strings/ascii.h"

namespace vetline::conversations::channels {

SmsKeyword ClassifySmsKeyword(std::string_view body) {
  absl::string_view s = absl::StripAsciiWhitespace(absl::string_view(body.data(), body.size()));
  while (!s.empty() && (s.back() == '.' || s.back() == '!')) s.remove_suffix(1);
  s = absl::StripAsciiWhitespace(s);
  if (s.size() > 16) return SmsKeyword::kNone;
  const std::string word = absl::AsciiStrToUpper(s);
  for (const char* k : {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}) {
    if (word == k) return SmsKeyword::kOptOut;
  }
  for (const char* k : {"START", "YES", "UNSTOP"}) {
    if (word == k) return SmsKeyword::kOptIn;
  }
  for (const char* k : {"HELP", "INFO"}) {
    if (word == k) return SmsKeyword::kHelp;
  }
  return SmsKeyword::kNone;
}

}  // namespace vetline::conversations::channels
