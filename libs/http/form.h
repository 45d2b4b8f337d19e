// application/x-www-form-urlencoded, as Twilio and Stripe take API requests and Twilio sends webhooks.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vetline::http {

// Name/value pairs in the order they appear; a name may repeat (MediaUrl0, ...).
using FormParams = std::vector<std::pair<std::string, std::string>>;

std::string EncodeForm(const FormParams& params);
// Lenient like browsers and Twilio's SDKs: '+' is a space, a bad escape stays literal.
FormParams ParseForm(std::string_view body);
std::string PercentDecode(std::string_view s, bool plus_is_space = true);

// The first value of `name`, or "" when absent.
std::string FormValue(const FormParams& params, std::string_view name);

}  // namespace vetline::http
