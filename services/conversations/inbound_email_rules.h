// The inbound email webhook's pure decisions, apart from GMime, SQL and gRPC: is the
// caller the configured mail provider, which conversation does a reply address name,
// is the sender one of the client's addresses, and what makes two posts the same email.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace vetline::conversations::inbound {

// True when `authorization` (the request's Authorization header) carries `secret`:
// "Bearer <secret>", or "Basic base64(<any user>:<secret>)" for providers that only take
// a URL with credentials. Constant time in the secret; an empty secret matches nothing.
bool SecretMatches(std::string_view authorization, std::string_view secret);

// The conversation's reply address, reply+<conversation id>@<reply_domain>: what outbound
// emails carry as Reply-To and FindReplyAddress reads back.
std::string ReplyAddressFor(std::string_view conversation_id, std::string_view reply_domain);

// A reply address found among the recipients.
struct ReplyAddress {
  std::string address;          // as written
  std::string conversation_id;  // lower-case uuid
};

// The first of `recipients` (Delivered-To first, then To, then Cc: the caller's order)
// that is reply+<conversation uuid>@<reply_domain>, domain compared case-insensitively.
// NotFound naming `raw` (the request's field) when none is: "for another domain" when a reply+ address of some
// other domain was there, otherwise "no reply address".
absl::StatusOr<ReplyAddress> FindReplyAddress(const std::vector<std::string>& recipients,
                                              std::string_view reply_domain);

// Addresses that look like reply addresses in the header block of a message GMime could
// not read (so a failed item can still be filed under its conversation's clinic).
std::vector<std::string> ScanReplyAddresses(std::string_view raw);

// Email addresses compared as mail systems treat them in practice: case-insensitively,
// surrounding spaces ignored.
bool SameAddress(std::string_view a, std::string_view b);

// What identifies an email across a provider's retries: its Message-ID, else a hash of
// the bytes.
std::string DedupKey(std::string_view message_id, std::string_view raw);

}  // namespace vetline::conversations::inbound
