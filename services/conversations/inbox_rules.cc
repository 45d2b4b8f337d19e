#include "services/conversations/inbox_rules.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"

namespace vetline::conversations::rules {
namespace {

size_t CharLength(unsigned char lead) {
  return lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

size_t CountChars(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

std::string_view ToText(Channel c) {
  switch (c) {
    case Channel::kText: return "text";
    case Channel::kEmail: return "email";
    case Channel::kPush: return "push";
  }
  return "text";
}

std::vector<Target> ChooseDeliveries(const Contacts& c) {
  std::vector<Target> out;
  if (c.text_enabled) {
    for (const ContactPhone& p : c.phones) {
      if (p.primary && p.texting_capable && !p.number.empty()) {
        out.push_back({Channel::kText, p.number});
      }
    }
  }
  if (c.email_enabled) {
    for (const ContactEmail& e : c.emails) {
      if (e.primary && !e.address.empty()) out.push_back({Channel::kEmail, e.address});
    }
  }
  if (c.push_enabled) {
    for (const std::string& endpoint : c.push_endpoints) out.push_back({Channel::kPush, endpoint});
  }
  return out;
}

std::string Preview(std::string_view text, std::string_view first_file_name) {
  if (Trim(text).empty()) {
    return first_file_name.empty() ? "" : absl::StrCat("\xF0\x9F\x93\x8E ", std::string(first_file_name));
  }
  text = Trim(text);
  std::string out;
  size_t chars = 0, i = 0;
  while (i < text.size() && chars < kPreviewChars) {
    size_t len = CharLength(static_cast<unsigned char>(text[i]));
    if (i + len > text.size()) break;
    char c = text[i];
    if (len == 1 && (c == '\n' || c == '\r' || c == '\t')) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.append(text.substr(i, len));
    }
    i += len;
    ++chars;
  }
  if (i < text.size()) out.append("\xE2\x80\xA6");  // …
  return out;
}

absl::Status CheckMessage(std::string_view text, int file_count) {
  if (!validate::IsUtf8(text)) return InvalidField("text", "text is not valid UTF-8");
  if (text.find('\0') != std::string_view::npos) {
    return InvalidField("text", "text may not contain NUL characters");
  }
  if (CountChars(text) > kMaxMessageChars) {
    return InvalidField("text", absl::StrCat("text is longer than ", kMaxMessageChars,
                                             " characters"));
  }
  if (Trim(text).empty() && file_count == 0) {
    return InvalidField("text", "a message needs text or a file");
  }
  return absl::OkStatus();
}

absl::Status CheckColor(std::string_view field, std::string_view color) {
  bool ok = color.size() == 7 && color[0] == '#';
  for (size_t i = 1; ok && i < color.size(); ++i) {
    ok = absl::ascii_isxdigit(static_cast<unsigned char>(color[i]));
  }
  if (!ok) {
    return InvalidField(field, absl::StrCat(std::string(field), " must look like #1a2b3c"));
  }
  return absl::OkStatus();
}

std::string CallDuration(int64_t seconds) {
  if (seconds < 60) return absl::StrCat(seconds, " s");
  if (seconds < 3600) return absl::StrCat(seconds / 60, " min ", seconds % 60, " s");
  return absl::StrCat(seconds / 3600, " h ", (seconds % 3600) / 60, " min");
}

}  // namespace vetline::conversations::rules
