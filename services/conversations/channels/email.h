// Email out: the EmailSender interface the delivery worker calls (a fake in unit tests)
// and SmtpEmail, which builds the MIME message with GMime 3 (multipart/alternative text +
// HTML, multipart/mixed with attachments, RFC 2047 headers, quoted-printable/base64
// bodies, Date, Message-ID) and sends it with libcurl's SMTP client.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/conversations/channels/send_outcome.h"

namespace vetline::conversations::channels {

struct Mailbox {
  std::string name;     // display name, any UTF-8 ("" for none)
  std::string address;  // local@domain
};

struct Attachment {
  std::string filename;      // UTF-8
  std::string content_type;  // type/subtype, e.g. application/pdf
  std::string bytes;
};

struct Email {
  Mailbox from;             // the clinic
  Mailbox to;               // the client's primary email
  Mailbox reply_to;         // the conversation's reply address (address "" for none)
  std::string subject;
  std::string text;         // text/plain part (one of text/html is required)
  std::string html;         // text/html part
  std::string message_id;   // without <>; generated at the from domain when empty
  std::string in_reply_to;  // without <>; also sent as References
  std::vector<Attachment> attachments;
};

class EmailSender {
 public:
  virtual ~EmailSender() = default;
  // Thread-safe; never throws. kSent carries the Message-ID (without <>).
  virtual SendOutcome Send(const Email& email) = 0;
};

struct SmtpConfig {
  std::string url;  // smtp://host:port (STARTTLS when offered) or smtps://host:port
  std::string user, password;  // optional AUTH
  bool require_tls = false;    // refuse to send over plain text
  absl::Duration timeout = absl::Seconds(30);

  absl::Status Validate() const;  // names the bad setting
};

class SmtpEmail final : public EmailSender {
 public:
  explicit SmtpEmail(SmtpConfig config);
  // SMTP 4xx replies and network errors → kRetry; 5xx → kFailed with the reply text;
  // a message that cannot be built (bad address, no body) → kFailed.
  SendOutcome Send(const Email& email) override;

 private:
  SmtpConfig config_;
};

// The RFC 5322 message SmtpEmail sends (CRLF line ends), with `message_id` filled in
// when it was empty. InvalidArgument naming the field for bad input.
struct BuiltEmail {
  std::string message_id;
  std::string wire;
};
absl::StatusOr<BuiltEmail> BuildMimeMessage(const Email& email, absl::Time date = absl::Now());

}  // namespace vetline::conversations::channels
