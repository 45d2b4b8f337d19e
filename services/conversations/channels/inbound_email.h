// Inbound email: a client's reply, as mail providers' inbound webhooks deliver it (the
// raw RFC 5322 message), parsed with GMime into what the conversation needs: who wrote
// to which reply address, the threading ids, the text (text/plain preferred, else the
// HTML as text), the attachments, and the reply with quoted history trimmed.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/conversations/channels/email.h"

namespace vetline::conversations::channels {

struct InboundEmail {
  Mailbox from;
  std::vector<Mailbox> to, cc;  // look for the conversation's reply address here
  std::vector<std::string> delivered_to;  // Delivered-To / X-Original-To, as the provider saw it
  std::string subject;
  std::string message_id;   // without <>
  std::string in_reply_to;  // without <>
  std::vector<std::string> references;  // without <>, oldest first
  std::optional<absl::Time> date;
  std::string text;   // the whole body as UTF-8 text, LF line ends
  std::string reply;  // `text` without quoted history and signature
  std::vector<Attachment> attachments;  // decoded bytes; attached messages as message/rfc822
};

// InvalidArgument (field "raw", our words only) when the input is not a message: empty,
// no header block, or no sender address.
absl::StatusOr<InboundEmail> ParseInboundEmail(std::string_view raw_rfc5322);

// Every string above is valid UTF-8 without NUL: encoded words (RFC 2047/2231) and
// declared charsets are decoded; bytes that are not what their label says (or have no
// label) are read as UTF-8 when they are valid UTF-8, else as Windows-1252.

// The new part of a reply: cut at the first quoted history ("> " lines, "On … wrote:",
// "-----Original Message-----", Outlook's "From: … Sent: …" block) or signature ("-- ",
// "Sent from my …"). When the reply is written below the quote, the quote is dropped and
// the rest kept.
std::string TrimQuotedReply(std::string_view text);

// HTML as readable text: blocks become lines, entities decoded, scripts and styles
// dropped, <blockquote> lines prefixed with "> " (so TrimQuotedReply sees the quote).
std::string HtmlToText(std::string_view html);

// `bytes` kept when they are valid UTF-8, else read as Windows-1252 (what unlabelled or
// mislabelled Western mail nearly always is); NUL characters dropped either way.
std::string TextAsUtf8(std::string_view bytes);
// Windows-1252 (a superset of ISO-8859-1's printable characters) to UTF-8, NULs dropped.
std::string Cp1252ToUtf8(std::string_view bytes);

}  // namespace vetline::conversations::channels
