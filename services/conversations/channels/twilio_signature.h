// X-Twilio-Signature: how Twilio signs every webhook (status callbacks, inbound texts),
// and how we check one before trusting it. The signature is
// base64(HMAC-SHA1(auth token, full URL + each POST parameter's name and value, sorted
// by name)).
#pragma once

#include <string>
#include <string_view>

#include "libs/http/form.h"

namespace vetline::conversations::channels {

// `url` is the full URL Twilio requested (scheme, host, port if any, path, query).
std::string TwilioSignature(std::string_view auth_token, std::string_view url,
                            const http::FormParams& params);

// Constant-time check. Like Twilio's own SDKs, accepts the URL as given, without its
// port, or with the scheme's default port added (Twilio is not consistent about ports).
bool VerifyTwilioSignature(std::string_view auth_token, std::string_view url,
                           const http::FormParams& params, std::string_view signature);

}  // namespace vetline::conversations::channels
