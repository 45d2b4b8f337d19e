#include "services/conversations/file_types.h"

#include <cstdint>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"

namespace vetline::conversations {
namespace {

constexpr size_t kMaxFilenameBytes = 200;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

uint32_t Le32(std::string_view s, size_t at) {
  return static_cast<uint32_t>(static_cast<unsigned char>(s[at])) |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 1])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 2])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 3])) << 24;
}
uint16_t Le16(std::string_view s, size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(s[at]) |
                               static_cast<unsigned char>(s[at + 1]) << 8);
}

// ISO base media files (MP4, QuickTime, HEIC) start with an `ftyp` box whose major brand
// says which one it is.
std::optional<FileType> IsoMedia(std::string_view c) {
  if (c.size() < 12 || c.substr(4, 4) != "ftyp") return std::nullopt;
  std::string brand(c.substr(8, 4));
  static const std::set<std::string> kHeic = {"heic", "heix", "hevc", "hevx", "heim",
                                              "heis", "mif1", "msf1"};
  static const std::set<std::string> kMp4 = {"isom", "iso2", "iso4", "iso5", "iso6", "mp41",
                                             "mp42", "avc1", "M4V ", "dash", "MSNV", "3gp4",
                                             "3gp5", "3g2a"};
  if (kHeic.count(brand)) return FileType{"image/heic", "image", "heic"};
  if (brand == "qt  ") return FileType{"video/quicktime", "video", "mov"};
  if (kMp4.count(brand)) return FileType{"video/mp4", "video", "mp4"};
  return std::nullopt;
}

// WebM is Matroska (EBML header) with DocType "webm" inside the header.
std::optional<FileType> WebM(std::string_view c) {
  if (!StartsWith(c, "\x1A\x45\xDF\xA3")) return std::nullopt;
  std::string_view head = c.substr(0, 64);
  // DocType element id 0x4282, a one-byte size 0x84, then the text.
  if (head.find(std::string_view("\x42\x82\x84webm", 7)) == std::string_view::npos) {
    return std::nullopt;
  }
  return FileType{"video/webm", "video", "webm"};
}

// Office Open XML: a zip whose central directory lists [Content_Types].xml, with word/
// (DOCX) or xl/ (XLSX) parts. The directory is read from the end-of-central-directory
// record, bounds-checked at every step: a truncated or crafted zip is just "not allowed".
std::optional<FileType> OfficeOpenXml(std::string_view c) {
  if (!StartsWith(c, "PK\x03\x04") || c.size() < 22) return std::nullopt;
  const size_t lowest = c.size() > 22 + 65535 ? c.size() - 22 - 65535 : 0;
  size_t eocd = std::string_view::npos;
  for (size_t i = c.size() - 22 + 1; i-- > lowest;) {
    if (Le32(c, i) == 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd == std::string_view::npos) return std::nullopt;
  const uint16_t entries = Le16(c, eocd + 10);
  size_t at = Le32(c, eocd + 16);
  bool content_types = false, word = false, xl = false;
  for (uint16_t n = 0; n < entries; ++n) {
    if (at + 46 > c.size() || Le32(c, at) != 0x02014b50) return std::nullopt;
    const size_t name_len = Le16(c, at + 28), extra = Le16(c, at + 30), comment = Le16(c, at + 32);
    if (at + 46 + name_len > c.size()) return std::nullopt;
    std::string_view name = c.substr(at + 46, name_len);
    content_types |= name == "[Content_Types].xml";
    word |= StartsWith(name, "word/");
    xl |= StartsWith(name, "xl/");
    at += 46 + name_len + extra + comment;
  }
  if (!content_types) return std::nullopt;
  if (word) {
    return FileType{"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    "document", "docx"};
  }
  if (xl) {
    return FileType{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    "document", "xlsx"};
  }
  return std::nullopt;
}

// UTF-8 text without NULs or control characters other than tab, newlines and form feed.
bool PlainText(std::string_view c) {
  if (!validate::IsUtf8(c)) return false;
  for (unsigned char ch : c) {
    if ((ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r' && ch != '\f') || ch == 0x7F) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<FileType> SniffFileType(std::string_view c, std::string_view field) {
  if (c.empty()) return InvalidField(field, absl::StrCat(std::string(field), " is empty"));
  if (StartsWith(c, "\xFF\xD8\xFF")) return FileType{"image/jpeg", "image", "jpg"};
  if (StartsWith(c, "\x89PNG\r\n\x1A\n")) return FileType{"image/png", "image", "png"};
  if (StartsWith(c, "GIF87a") || StartsWith(c, "GIF89a")) {
    return FileType{"image/gif", "image", "gif"};
  }
  if (c.size() >= 12 && StartsWith(c, "RIFF") && c.substr(8, 4) == "WEBP") {
    return FileType{"image/webp", "image", "webp"};
  }
  if (auto t = IsoMedia(c)) return *t;
  if (auto t = WebM(c)) return *t;
  if (StartsWith(c, "%PDF-")) return FileType{"application/pdf", "document", "pdf"};
  if (auto t = OfficeOpenXml(c)) return *t;
  if (PlainText(c)) return FileType{"text/plain", "document", "txt"};
  return InvalidField(field,
                      "this kind of file is not allowed: send an image (JPEG, PNG, GIF, WebP, "
                      "HEIC), a video (MP4, MOV, WebM) or a document (PDF, text, DOCX, XLSX)");
}

std::string SanitizeFilename(std::string_view name, const FileType& type) {
  // Only the last path component: uploaders' paths ("C:\\Users\\...") mean nothing here.
  if (size_t slash = name.find_last_of("/\\"); slash != std::string_view::npos) {
    name.remove_prefix(slash + 1);
  }
  std::string out;
  size_t i = 0;
  while (i < name.size()) {
    unsigned char c = name[i];
    size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    std::string_view ch = name.substr(i, len);
    if (!validate::IsUtf8(ch)) {  // a broken lead byte is dropped, what follows is kept
      ++i;
      continue;
    }
    i += len;
    if (len == 1 && (c < 0x20 || c == 0x7F || std::string_view("<>:\"|?*;`$").find(c) !=
                                                   std::string_view::npos)) {
      out.push_back('_');
      continue;
    }
    if (out.size() + len > kMaxFilenameBytes - type.extension.size() - 1) break;
    out.append(ch);
  }
  // No leading/trailing dots or spaces ("..", " .bashrc"), never empty.
  while (!out.empty() && (out.front() == '.' || out.front() == ' ')) out.erase(0, 1);
  while (!out.empty() && (out.back() == '.' || out.back() == ' ')) out.pop_back();
  if (out.empty()) out = "file";
  std::string lower = absl::AsciiStrToLower(out);
  bool has_extension = absl::EndsWith(lower, "." + type.extension) ||
                       (type.extension == "jpg" && absl::EndsWith(lower, ".jpeg")) ||
                       (type.extension == "txt" && absl::EndsWith(lower, ".text"));
  if (!has_extension) absl::StrAppend(&out, ".", type.extension);
  return out;
}

}  // namespace vetline::conversations
