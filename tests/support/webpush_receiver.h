// Test support: a Web Push receiver (tests/support/webpush_receiver.py, python3-
// cryptography: an implementation independent of ours) on a free loopback port. It hands
// out subscriptions, checks VAPID, decrypts aes128gcm and records what arrived.
#pragma once

#include <string>

#include "tests/support/loopback_process.h"

namespace vetline::testing {

class WebPushReceiver : public LoopbackProcess {
 public:
  WebPushReceiver(const std::string& source_dir, const std::string& python = "/usr/bin/python3")
      : LoopbackProcess({python, source_dir + "/tests/support/webpush_receiver.py"}) {}
};

}  // namespace vetline::testing
