#include "services/conversations/message_templates.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace vetline::conversations {
namespace {

bool NameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
}

// Calls `on_text` and `on_variable` for the pieces of `body`, left to right.
template <typename Text, typename Var>
void Walk(std::string_view body, Text on_text, Var on_variable) {
  size_t i = 0;
  while (i < body.size()) {
    size_t open = body.find('{', i);
    if (open == std::string_view::npos) break;
    size_t end = open + 1;
    while (end < body.size() && NameChar(body[end])) ++end;
    if (end < body.size() && body[end] == '}' && end > open + 1) {
      on_text(body.substr(i, open - i));
      on_variable(body.substr(open + 1, end - open - 1));
      i = end + 1;
    } else {
      on_text(body.substr(i, open + 1 - i));
      i = open + 1;
    }
  }
  on_text(body.substr(std::min(i, body.size())));
}

bool Known(std::string_view name) {
  const auto& known = TemplateVariables();
  return std::find(known.begin(), known.end(), name) != known.end();
}

absl::Status Unknown(std::string_view field, std::string_view name) {
  return InvalidField(field, absl::StrCat("unknown variable {", std::string(name), "}; templates may use ",
                                          "{client.first_name}, {client.last_name}, {pet.name}, ",
                                          "{clinic.name} and {clinic.phone}"));
}

}  // namespace

const std::vector<std::string>& TemplateVariables() {
  static const std::vector<std::string> kVariables = {
      "client.first_name", "client.last_name", "pet.name", "clinic.name", "clinic.phone"};
  return kVariables;
}

std::vector<std::string> VariablesIn(std::string_view body) {
  std::vector<std::string> out;
  Walk(
      body, [](std::string_view) {},
      [&](std::string_view name) {
        if (std::find(out.begin(), out.end(), name) == out.end()) out.emplace_back(name);
      });
  return out;
}

absl::Status CheckTemplate(std::string_view body, std::string_view field) {
  for (const std::string& name : VariablesIn(body)) {
    if (!Known(name)) return Unknown(field, name);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RenderTemplate(std::string_view body,
                                           const std::map<std::string, std::string>& values,
                                           std::string_view field) {
  VL_RETURN_IF_ERROR(CheckTemplate(body, field));
  std::string out;
  absl::Status missing;
  Walk(
      body, [&](std::string_view text) { out.append(text); },
      [&](std::string_view name) {
        auto it = values.find(std::string(name));
        if (it == values.end() || it->second.empty()) {
          if (missing.ok()) {
            missing = FieldError(absl::StatusCode::kFailedPrecondition, field,
                                 absl::StrCat("{", std::string(name), "} has no value for this conversation",
                                              name == "pet.name" ? " (no pet is chosen)" : ""));
          }
          return;
        }
        out.append(it->second);
      });
  if (!missing.ok()) return missing;
  return out;
}

}  // namespace vetline::conversations
