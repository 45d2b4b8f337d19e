// Canned responses: the variables a template may use and the renderer that fills them
// in. Pure: the edge gathers the values (clients service, identity) and passes them here.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace vetline::conversations {

// The variables templates may use, e.g. "client.first_name" (written {client.first_name}).
const std::vector<std::string>& TemplateVariables();

// The variables `body` uses, in order of first use. A `{` that does not open a
// `{name}` made of letters, digits, '_' and '.' is plain text.
std::vector<std::string> VariablesIn(std::string_view body);

// OK when every variable `body` uses is one of TemplateVariables(); otherwise
// InvalidArgument naming `field` and the first unknown variable.
absl::Status CheckTemplate(std::string_view body, std::string_view field);

// `body` with every variable replaced by its value. An unknown variable is
// InvalidArgument, a variable without a value (absent or empty: "this client has no
// first name") FailedPrecondition; both name `field` and the variable.
absl::StatusOr<std::string> RenderTemplate(std::string_view body,
                                           const std::map<std::string, std::string>& values,
                                           std::string_view field);

}  // namespace vetline::conversations
