// The pure text side of inbound email: HTML to text and trimming quoted history.
#include <algorithm>
#include <cstdint>
#include <string_view>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/core/validate.h"
#include "services/conversations/channels/inbound_email.h"

namespace vetline::conversations::channels {
namespace {

absl::string_view AV(absl::string_view s) { return s; }
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Windows-1252's 0x80–0x9F (the rest of its upper half is Latin-1); its five unassigned
// bytes stay their Latin-1 control characters.
constexpr uint16_t kCp1252High[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

// "&amp;" → "&" etc.; returns the characters consumed (0: not an entity).
size_t DecodeEntity(absl::string_view s, std::string& out) {
  const size_t semi = s.find(';');
  if (semi == absl::string_view::npos || semi > 10) return 0;
  absl::string_view name = s.substr(1, semi - 1);
  static const std::pair<const char*, uint32_t> kNamed[] = {
      {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}, {"nbsp", ' '},
      {"copy", 0xA9}, {"reg", 0xAE}, {"hellip", 0x2026}, {"mdash", 0x2014}, {"ndash", 0x2013},
      {"rsquo", 0x2019}, {"lsquo", 0x2018}, {"rdquo", 0x201D}, {"ldquo", 0x201C}, {"euro", 0x20AC}};
  for (const auto& [n, cp] : kNamed) {
    if (name == n) {
      AppendUtf8(out, cp);
      return semi + 1;
    }
  }
  if (name.size() >= 2 && name[0] == '#') {
    uint32_t cp = 0;
    const bool hex = name[1] == 'x' || name[1] == 'X';
    absl::string_view digits = name.substr(hex ? 2 : 1);
    if (digits.empty()) return 0;
    for (char c : digits) {
      int v = (c >= '0' && c <= '9') ? c - '0' : hex && (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                                : hex && (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
      if (v < 0 || cp > 0x10FFFF) return 0;
      cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
    }
    AppendUtf8(out, cp == 0xA0 ? ' ' : cp);
    return semi + 1;
  }
  return 0;
}

std::string TagName(absl::string_view tag) {
  size_t i = 0;
  if (i < tag.size() && tag[i] == '/') ++i;
  size_t start = i;
  while (i < tag.size() && (absl::ascii_isalnum(static_cast<unsigned char>(tag[i])))) ++i;
  return absl::AsciiStrToLower(AV(tag.substr(start, i - start)));
}

bool IsBlock(const std::string& name) {
  static const char* kBlocks[] = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                                  "ul", "ol", "table", "blockquote", "hr", "pre", "section", "article"};
  for (const char* b : kBlocks) {
    if (name == b) return true;
  }
  return false;
}

std::string StripTrailingBlankLines(std::vector<absl::string_view> lines) {
  while (!lines.empty() && absl::StripAsciiWhitespace(AV(lines.back())).empty()) lines.pop_back();
  size_t first = 0;
  while (first < lines.size() && absl::StripAsciiWhitespace(AV(lines[first])).empty()) ++first;
  std::vector<std::string> kept;
  for (size_t i = first; i < lines.size(); ++i) {
    kept.emplace_back(absl::StripTrailingAsciiWhitespace(AV(lines[i])));
  }
  return absl::StrJoin(kept, "\n");
}

bool IsQuoteLine(absl::string_view line) { return absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), ">"); }

// "On Tue, 1 Dec 2026 at 10:00, Clinic <a@b> wrote:" and its translations ("Am … schrieb
// Clinic <a@b>:"), possibly wrapped over up to three lines.
bool IsAttribution(const std::vector<absl::string_view>& lines, size_t i) {
  absl::string_view first = absl::StripAsciiWhitespace(AV(lines[i]));
  static const char* kStarts[] = {"On ", "Am ", "Le ", "El ", "Il ", "Op "};
  static const char* kVerbs[] = {" wrote", " schrieb", " écrit", " escribió", " scritto", " geschreven"};
  bool starts = false;
  for (const char* s : kStarts) starts = starts || absl::StartsWith(first, s);
  if (!starts) return false;
  std::string joined;
  for (size_t j = i; j < lines.size() && j < i + 3; ++j) {
    if (j > i) joined += " ";
    joined += std::string(absl::StripAsciiWhitespace(AV(lines[j])));
    if (!absl::EndsWith(joined, ":")) continue;
    for (const char* v : kVerbs) {
      if (joined.find(v) != std::string::npos) return true;
    }
    return false;
  }
  return false;
}

bool IsSeparator(const std::vector<absl::string_view>& lines, size_t i) {
  absl::string_view l = absl::StripAsciiWhitespace(AV(lines[i]));
  const std::string lower = absl::AsciiStrToLower(l);
  if (lower.find("original message") != std::string::npos && absl::StartsWith(l, "-")) return true;
  if (l == "-- " || l == "--" || AV(lines[i]) == "-- ") return true;  // signature
  if (absl::StartsWith(l, "Sent from my ") || absl::StartsWith(l, "Get Outlook for ")) return true;
  // Outlook: "From: …" then "Sent:"/"Date:" within the next lines; or a rule of underscores
  // right before it.
  auto outlook_block = [&](size_t from) {
    if (from >= lines.size()) return false;
    absl::string_view f = absl::StripAsciiWhitespace(AV(lines[from]));
    if (!absl::StartsWith(f, "From:") && !absl::StartsWith(f, "*From:*")) return false;
    for (size_t j = from + 1; j < lines.size() && j < from + 4; ++j) {
      absl::string_view n = absl::StripAsciiWhitespace(AV(lines[j]));
      if (absl::StartsWith(n, "Sent:") || absl::StartsWith(n, "Date:") || absl::StartsWith(n, "*Sent:*")) return true;
    }
    return false;
  };
  if (outlook_block(i)) return true;
  if (l.size() >= 10 && l.find_first_not_of('_') == absl::string_view::npos) {
    size_t next = i + 1;
    while (next < lines.size() && absl::StripAsciiWhitespace(AV(lines[next])).empty()) ++next;
    return outlook_block(next);
  }
  return false;
}

}  // namespace

std::string Cp1252ToUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 4);
  for (unsigned char c : bytes) {
    if (c == 0) continue;
    AppendUtf8(out, c >= 0x80 && c < 0xA0 ? kCp1252High[c - 0x80] : c);
  }
  return out;
}

std::string TextAsUtf8(std::string_view bytes) {
  if (!validate::IsUtf8(bytes)) return Cp1252ToUtf8(bytes);
  std::string out(bytes);
  out.erase(std::remove(out.begin(), out.end(), '\0'), out.end());
  return out;
}

std::string TrimQuotedReply(std::string_view text_in) {
  absl::string_view text = AV(text_in);
  std::vector<absl::string_view> lines = absl::StrSplit(AV(text), '\n');
  for (auto& l : lines) {
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    const bool quote = IsQuoteLine(AV(lines[i]));
    if (!quote && !IsAttribution(lines, i) && !IsSeparator(lines, i)) continue;
    std::string above = StripTrailingBlankLines({lines.begin(), lines.begin() + static_cast<long>(i)});
    if (!above.empty()) return above;
    // Written below the quote: drop quote and attribution lines, keep the rest up to a
    // signature.
    std::vector<absl::string_view> rest;
    for (size_t j = i; j < lines.size(); ++j) {
      if (IsQuoteLine(AV(lines[j]))) continue;
      if (IsAttribution(lines, j)) {
        while (j < lines.size() && !absl::EndsWith(absl::StripAsciiWhitespace(AV(lines[j])), ":")) ++j;
        continue;
      }
      if (IsSeparator(lines, j)) break;
      rest.push_back(lines[j]);
    }
    return StripTrailingBlankLines(rest);
  }
  return StripTrailingBlankLines(lines);
}

std::string HtmlToText(std::string_view html_in) {
  absl::string_view html = AV(html_in);
  std::string out;
  int quote_depth = 0;
  bool at_line_start = true, pending_space = false;
  // A block ends the line it is on; <br> always breaks (two make an empty line), but
  // never more than one empty line in a row.
  auto newline = [&](bool force) {
    const bool blank_already = out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n';
    if (!out.empty() && !blank_already && (force || !at_line_start)) out += '\n';
    at_line_start = true;
    pending_space = false;
  };
  auto emit = [&](absl::string_view s) {
    if (at_line_start) {
      for (int q = 0; q < quote_depth; ++q) out += "> ";
      at_line_start = false;
    } else if (pending_space) {
      out += ' ';
    }
    pending_space = false;
    out.append(s.data(), s.size());
  };
  size_t i = 0;
  std::string word;
  auto flush_word = [&] {
    if (!word.empty()) emit(word);
    word.clear();
  };
  while (i < html.size()) {
    char c = html[i];
    if (c == '<') {
      flush_word();
      if (html.substr(i, 4) == "<!--") {
        size_t end = html.find("-->", i + 4);
        i = end == absl::string_view::npos ? html.size() : end + 3;
        continue;
      }
      size_t end = html.find('>', i);
      if (end == absl::string_view::npos) break;
      absl::string_view tag = html.substr(i + 1, end - i - 1);
      const std::string name = TagName(tag);
      const bool closing = !tag.empty() && tag[0] == '/';
      i = end + 1;
      if (!closing && (name == "script" || name == "style" || name == "head" || name == "title")) {
        size_t close = std::string::npos;
        std::string lower = absl::AsciiStrToLower(AV(html.substr(i)));
        close = lower.find("</" + name);
        i = close == std::string::npos ? html.size() : i + lower.find('>', close) + 1;
        continue;
      }
      if (IsBlock(name)) {
        newline(name == "br");
        if (name == "blockquote") quote_depth = std::max(0, quote_depth + (closing ? -1 : 1));
      }
      continue;
    }
    if (c == '&') {
      std::string decoded;
      size_t used = DecodeEntity(html.substr(i), decoded);
      if (used > 0) {
        if (decoded == " ") {
          flush_word();
          pending_space = !at_line_start;
        } else {
          word += decoded;
        }
        i += used;
        continue;
      }
    }
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f') {
      flush_word();
      if (!at_line_start) pending_space = true;
      ++i;
      continue;
    }
    word.push_back(c);
    ++i;
  }
  flush_word();
  std::vector<absl::string_view> lines = absl::StrSplit(out, '\n');
  return StripTrailingBlankLines(lines);
}

}  // namespace vetline::conversations::channels
