#include "libs/core/validate.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "libs/core/ids.h"
#include "libs/core/status.h"

namespace vetline::validate {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    int extra;  // continuation bytes that follow the lead byte
    if (c < 0x80) {
      extra = 0;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
    } else {
      return false;  // stray continuation byte, overlong 2-byte lead, or beyond U+10FFFF
    }
    if (i + extra >= s.size() && extra > 0) return false;  // truncated sequence
    for (int k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    if (extra >= 2) {
      unsigned char c1 = s[i + 1];
      if ((c == 0xE0 && c1 < 0xA0) ||  // overlong 3-byte
          (c == 0xED && c1 >= 0xA0) ||  // UTF-16 surrogates
          (c == 0xF0 && c1 < 0x90) ||   // overlong 4-byte
          (c == 0xF4 && c1 >= 0x90)) {  // beyond U+10FFFF
        return false;
      }
    }
    i += extra + 1;
  }
  return true;
}

absl::StatusOr<std::string> Name(std::string_view field, std::string_view value,
                                 size_t max_chars) {
  std::string_view v = Trim(value);
  if (v.empty()) return InvalidField(field, absl::StrCat(std::string(field), " is required"));
  if (!IsUtf8(v)) return InvalidField(field, absl::StrCat(std::string(field), " is not valid UTF-8"));
  size_t chars = 0;
  for (unsigned char c : v) {
    if (c < 0x20 || c == 0x7F) {
      return InvalidField(field, absl::StrCat(std::string(field), " contains control characters"));
    }
    if ((c & 0xC0) != 0x80) ++chars;
  }
  if (chars > max_chars) {
    return InvalidField(field, absl::StrCat(std::string(field), " is longer than ", max_chars,
                                            " characters"));
  }
  return std::string(v);
}

absl::StatusOr<std::string> Email(std::string_view field, std::string_view value) {
  std::string v = absl::AsciiStrToLower(std::string(Trim(value)));
  auto bad = [&] {
    return InvalidField(field, absl::StrCat(std::string(field), " is not a valid email address"));
  };
  if (v.empty()) return InvalidField(field, absl::StrCat(std::string(field), " is required"));
  if (v.size() > 254 || !IsUtf8(v)) return bad();
  size_t at = v.find('@');
  if (at == std::string::npos || at == 0 || v.find('@', at + 1) != std::string::npos) return bad();
  std::string_view domain = std::string_view(v).substr(at + 1);
  size_t dot = domain.find('.');
  if (dot == std::string_view::npos || dot == 0 || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos) {
    return bad();
  }
  for (unsigned char c : v) {
    if (c <= 0x20 || c == 0x7F || c == '<' || c == '>' || c == ',' || c == ';') return bad();
  }
  return v;
}

absl::StatusOr<std::string> Phone(std::string_view field, std::string_view value) {
  std::string digits;
  std::string_view v = Trim(value);
  bool plus = !v.empty() && v.front() == '+';
  for (size_t i = plus ? 1 : 0; i < v.size(); ++i) {
    char c = v[i];
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      digits.push_back(c);
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
      return InvalidField(field, absl::StrCat(std::string(field),
                                              " must be a phone number in E.164 form, e.g. +15551234567"));
    }
  }
  if (!plus || digits.size() < 7 || digits.size() > 15 || digits[0] == '0') {
    return InvalidField(field, absl::StrCat(std::string(field),
                                            " must be a phone number in E.164 form, e.g. +15551234567"));
  }
  return "+" + digits;
}

absl::Status TimeZone(std::string_view field, std::string_view value) {
  absl::TimeZone tz;
  if (value.empty() || !absl::LoadTimeZone(std::string(value), &tz)) {
    return InvalidField(field, absl::StrCat(std::string(field),
                                            " must be an IANA time zone such as America/Chicago"));
  }
  return absl::OkStatus();
}

absl::Status Id(std::string_view field, std::string_view value) {
  if (!IsUuid(value)) {
    return InvalidField(field, absl::StrCat(std::string(field), " is not a valid id"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> PageSize(std::string_view field, int value) {
  if (value == 0) return kDefaultPageSize;
  if (value < 1 || value > kMaxPageSize) {
    return InvalidField(field, absl::StrCat(std::string(field), " must be between 1 and ", kMaxPageSize));
  }
  return value;
}

}  // namespace vetline::validate
