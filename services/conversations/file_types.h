// What an uploaded file is, decided from its first bytes (magic numbers), never from
// the name the uploader gave it; and the name shown to people, made safe. Pure: no I/O.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace vetline::conversations {

struct FileType {
  std::string content_type;  // "image/png"
  std::string category;      // image | video | document
  std::string extension;     // "png": the one a sanitised filename ends with
};

// The type of `content` when it is one the inbox accepts: JPEG, PNG, GIF, WebP, HEIC,
// MP4, QuickTime, WebM, PDF, plain UTF-8 text, DOCX, XLSX. Anything else (or nothing)
// is InvalidArgument naming `field`.
absl::StatusOr<FileType> SniffFileType(std::string_view content,
                                       std::string_view field = "content");

// The uploader's name without directories, control or shell-special characters, at most
// 200 bytes (whole UTF-8 characters), ending in `type`'s extension (added when the name
// says otherwise, so "invoice.exe" holding a PDF is offered as "invoice.exe.pdf").
std::string SanitizeFilename(std::string_view name, const FileType& type);

}  // namespace vetline::conversations
