// The inbox's rules as plain functions: which channels a staff or system message goes
// out on (the client's contact options, S2), what a preview shows, what a message and a
// status colour may look like. No gRPC, no SQL: unit-tested alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace vetline::conversations::rules {

inline constexpr size_t kMaxMessageChars = 10000;
inline constexpr size_t kPreviewChars = 140;

enum class Channel { kText, kEmail, kPush };
std::string_view ToText(Channel c);  // "text" | "email" | "push", as stored

// What the clients service knows about how to reach a client.
struct ContactPhone {
  std::string number;  // E.164
  bool texting_capable = false;
  bool primary = false;
};
struct ContactEmail {
  std::string address;
  bool primary = false;
};
struct Contacts {
  std::string client_id;
  bool text_enabled = false;
  bool email_enabled = false;
  bool push_enabled = false;          // push is not switched off for this client
  std::vector<std::string> push_endpoints;  // the client's registered subscriptions
  std::vector<ContactPhone> phones;
  std::vector<ContactEmail> emails;
};

struct Target {
  Channel channel;
  std::string destination;  // number, address, or a push subscription's endpoint
  bool operator==(const Target&) const = default;
};

// Text only to the primary number, and only when it can take texts and texting is on;
// email to the primary address when email is on; push to each registered subscription
// when push is not switched off. Never a second number or address. The portal is not a target: every
// message is there anyway.
std::vector<Target> ChooseDeliveries(const Contacts& contacts);

// The first kPreviewChars characters of `text` on one line (whole UTF-8 characters);
// for a message without text, the first attachment's name ("📎 xray.png").
std::string Preview(std::string_view text, std::string_view first_file_name);

// A message needs text or files; text is at most kMaxMessageChars characters of UTF-8.
// InvalidArgument naming "text".
absl::Status CheckMessage(std::string_view text, int file_count);

// A call's length as people read it: "45 s", "12 min 5 s", "1 h 3 min".
std::string CallDuration(int64_t seconds);

// "#rrggbb" (lower-cased on the way in); InvalidArgument naming `field`.
absl::Status CheckColor(std::string_view field, std::string_view color);

}  // namespace vetline::conversations::rules
