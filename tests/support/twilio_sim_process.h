// Test support: tools/twilio_sim as a child process on a free loopback port, with the
// account it accepts. Tests talk Twilio's API to Url() and steer it through /_sim/.
#pragma once

#include <string>
#include <vector>

#include "tests/support/loopback_process.h"

namespace vetline::testing {

inline constexpr char kTwilioSimAccountSid[] = "AC0123456789abcdef0123456789abcdef";
inline constexpr char kTwilioSimAuthToken[] = "sim-auth-token-5b1f";

class TwilioSimProcess : public LoopbackProcess {
 public:
  // `binary` is the built twilio-sim; `extra` more flags (--landlines=..., --inbound-url=...).
  explicit TwilioSimProcess(const std::string& binary, std::vector<std::string> extra = {})
      : LoopbackProcess(Args(binary, std::move(extra))) {}

 private:
  static std::vector<std::string> Args(const std::string& binary, std::vector<std::string> extra) {
    std::vector<std::string> a = {binary, "--port=0", std::string("--account-sid=") + kTwilioSimAccountSid,
                                  std::string("--auth-token=") + kTwilioSimAuthToken};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
};

}  // namespace vetline::testing
