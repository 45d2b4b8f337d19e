#include <curl/curl.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/conversations/channels/email.h"
#include "services/conversations/channels/gmime_support.h"
#include "libs/http/http_post.h"
#include "libs/core/status.h"

namespace vetline::conversations::channels {
namespace {

using internal::GPtr;

bool HasLineBreak(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos || s.find('\0') != std::string::npos; }

bool LooksLikeAddress(const std::string& a) {
  const size_t at = a.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 >= a.size() || a.size() > 254) return false;
  for (unsigned char c : a) {
    if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' || c == ';' ||
        c == '"' || c == '\\') {
      return false;
    }
  }
  return a.find('.', at) != std::string::npos;
}

absl::Status CheckMailbox(const Mailbox& m, const char* field, bool required) {
  if (m.address.empty() && !required) return absl::OkStatus();
  if (!LooksLikeAddress(m.address)) return InvalidField(absl::StrCat(field, ".address"), "must be an email address");
  if (HasLineBreak(m.name)) return InvalidField(absl::StrCat(field, ".name"), "must not contain line breaks");
  return absl::OkStatus();
}

// A text part whose transfer encoding fits its content: 7bit for short ASCII lines,
// quoted-printable otherwise (GMime picks the best within 7-bit transport).
GMimeObject* TextPart(const char* subtype, const std::string& text) {
  // The bytes as given, labelled UTF-8 (set_text would transcode to a narrower charset).
  GMimeTextPart* part = g_mime_text_part_new_with_subtype(subtype);
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(text.data(), text.size()));
  GPtr<GMimeDataWrapper> content(g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  GMimePart* p = GMIME_PART(part);
  g_mime_part_set_content(p, content.get());
  g_mime_text_part_set_charset(part, "utf-8");
  GMimeContentEncoding best = g_mime_part_get_best_content_encoding(p, GMIME_ENCODING_CONSTRAINT_7BIT);
  g_mime_part_set_content_encoding(p, best == GMIME_CONTENT_ENCODING_BASE64 ? GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE : best);
  return GMIME_OBJECT(part);
}

GMimeObject* AttachmentPart(const Attachment& a) {
  const size_t slash = a.content_type.find('/');
  const std::string type = a.content_type.substr(0, slash), subtype = a.content_type.substr(slash + 1);
  GMimePart* part = g_mime_part_new_with_type(type.c_str(), subtype.c_str());
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(a.bytes.data(), a.bytes.size()));
  GPtr<GMimeDataWrapper> content(g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(part, content.get());
  g_mime_part_set_filename(part, a.filename.c_str());  // Content-Disposition: attachment; RFC 2231 for UTF-8
  g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
  return GMIME_OBJECT(part);
}

std::string Bracketed(const std::string& id) { return absl::StrCat("<", id, ">"); }

struct Upload {
  const std::string* data;
  size_t offset = 0;
};

size_t ReadUpload(char* out, size_t size, size_t n, void* arg) {
  auto* u = static_cast<Upload*>(arg);
  const size_t len = std::min(size * n, u->data->size() - u->offset);
  std::memcpy(out, u->data->data() + u->offset, len);
  u->offset += len;
  return len;
}

int ReplyCode(const std::string& reply) {
  if (reply.size() < 3) return 0;
  int code = 0;
  for (int i = 0; i < 3; ++i) {
    if (reply[i] < '0' || reply[i] > '9') return 0;
    code = code * 10 + (reply[i] - '0');
  }
  return code;
}

// libcurl shows SMTP server replies only to its debug callback; keep the first refusal
// (4xx/5xx), not the "221 Bye" of the QUIT that follows it.
int ReadReply(CURL*, curl_infotype type, char* data, size_t size, void* arg) {
  auto* refusal = static_cast<std::string*>(arg);
  if (type != CURLINFO_HEADER_IN || !refusal->empty()) return 0;
  std::string line(data, size);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (ReplyCode(line) >= 400) *refusal = line;
  return 0;
}

}  // namespace

absl::Status SmtpConfig::Validate() const {
  if (!absl::StartsWith(url, "smtp://") && !absl::StartsWith(url, "smtps://")) {
    return absl::InvalidArgumentError("smtp url must be smtp://host:port or smtps://host:port");
  }
  if (!password.empty() && user.empty()) return absl::InvalidArgumentError("smtp user is required with a password");
  if (timeout <= absl::ZeroDuration()) return absl::InvalidArgumentError("smtp timeout must be positive");
  return absl::OkStatus();
}

absl::StatusOr<BuiltEmail> BuildMimeMessage(const Email& email, absl::Time date) {
  VL_RETURN_IF_ERROR(CheckMailbox(email.from, "from", true));
  VL_RETURN_IF_ERROR(CheckMailbox(email.to, "to", true));
  VL_RETURN_IF_ERROR(CheckMailbox(email.reply_to, "replyTo", false));
  if (HasLineBreak(email.subject)) return InvalidField("subject", "must not contain line breaks");
  if (email.text.empty() && email.html.empty()) return InvalidField("text", "a text or HTML body is required");
  for (const std::string* id : {&email.message_id, &email.in_reply_to}) {
    if (!id->empty() && (!LooksLikeAddress(*id) || HasLineBreak(*id))) {
      return InvalidField(id == &email.message_id ? "messageId" : "inReplyTo", "must look like local@domain");
    }
  }
  for (size_t i = 0; i < email.attachments.size(); ++i) {
    const Attachment& a = email.attachments[i];
    const size_t slash = a.content_type.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == a.content_type.size() ||
        HasLineBreak(a.content_type) || a.content_type.find_first_of(" ;\"") != std::string::npos) {
      return InvalidField(absl::StrCat("attachments[", i, "].contentType"), "must be type/subtype");
    }
    if (a.filename.empty() || HasLineBreak(a.filename)) {
      return InvalidField(absl::StrCat("attachments[", i, "].filename"), "must be a name without line breaks");
    }
  }
  internal::EnsureGMimeInitialised();

  GPtr<GMimeMessage> message(g_mime_message_new(TRUE));
  g_mime_message_add_mailbox(message.get(), GMIME_ADDRESS_TYPE_FROM, email.from.name.c_str(), email.from.address.c_str());
  g_mime_message_add_mailbox(message.get(), GMIME_ADDRESS_TYPE_TO, email.to.name.c_str(), email.to.address.c_str());
  if (!email.reply_to.address.empty()) {
    g_mime_message_add_mailbox(message.get(), GMIME_ADDRESS_TYPE_REPLY_TO, email.reply_to.name.c_str(),
                               email.reply_to.address.c_str());
  }
  g_mime_message_set_subject(message.get(), email.subject.c_str(), "utf-8");
  GDateTime* when = g_date_time_new_from_unix_utc(absl::ToUnixSeconds(date));
  g_mime_message_set_date(message.get(), when);
  g_date_time_unref(when);
  BuiltEmail built;
  built.message_id = email.message_id;
  if (built.message_id.empty()) {
    char* id = g_mime_utils_generate_message_id(email.from.address.substr(email.from.address.rfind('@') + 1).c_str());
    built.message_id = id;
    g_free(id);
  }
  g_mime_message_set_message_id(message.get(), built.message_id.c_str());
  if (!email.in_reply_to.empty()) {
    g_mime_object_set_header(GMIME_OBJECT(message.get()), "In-Reply-To", Bracketed(email.in_reply_to).c_str(), nullptr);
    g_mime_object_set_header(GMIME_OBJECT(message.get()), "References", Bracketed(email.in_reply_to).c_str(), nullptr);
  }

  // text and HTML as alternatives of one another; attachments beside them.
  GPtr<GMimeObject> body;
  if (!email.text.empty() && !email.html.empty()) {
    GMimeMultipart* alt = g_mime_multipart_new_with_subtype("alternative");
    GPtr<GMimeObject> text(TextPart("plain", email.text)), html(TextPart("html", email.html));
    g_mime_multipart_add(alt, text.get());
    g_mime_multipart_add(alt, html.get());
    body.reset(GMIME_OBJECT(alt));
  } else {
    body.reset(email.text.empty() ? TextPart("html", email.html) : TextPart("plain", email.text));
  }
  if (!email.attachments.empty()) {
    GMimeMultipart* mixed = g_mime_multipart_new_with_subtype("mixed");
    g_mime_multipart_add(mixed, body.get());
    for (const Attachment& a : email.attachments) {
      GPtr<GMimeObject> part(AttachmentPart(a));
      g_mime_multipart_add(mixed, part.get());
    }
    body.reset(GMIME_OBJECT(mixed));
  }
  g_mime_message_set_mime_part(message.get(), body.get());

  GMimeFormatOptions* options = g_mime_format_options_new();
  g_mime_format_options_set_newline_format(options, GMIME_NEWLINE_FORMAT_DOS);
  char* wire = g_mime_object_to_string(GMIME_OBJECT(message.get()), options);
  g_mime_format_options_free(options);
  built.wire = wire;
  g_free(wire);
  return built;
}

SmtpEmail::SmtpEmail(SmtpConfig config) : config_(std::move(config)) {}

SendOutcome SmtpEmail::Send(const Email& email) {
  try {
    absl::StatusOr<BuiltEmail> built = BuildMimeMessage(email);
    if (!built.ok()) return SendOutcome::Failed(std::string(built.status().message()));
    CURL* c = static_cast<CURL*>(http::ThreadCurlHandle());
    if (c == nullptr) return SendOutcome::Retry("cannot create an SMTP client handle");
    const std::string from = Bracketed(email.from.address), to = Bracketed(email.to.address);
    curl_slist* rcpt = curl_slist_append(nullptr, to.c_str());
    Upload upload{&built->wire};
    std::string reply;
    char error[CURL_ERROR_SIZE] = {0};
    const long timeout_ms = std::max<long>(1, absl::ToInt64Milliseconds(config_.timeout));
    curl_easy_setopt(c, CURLOPT_URL, config_.url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadUpload);
    curl_easy_setopt(c, CURLOPT_READDATA, &upload);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(built->wire.size()));
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, ReadReply);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, &reply);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min<long>(timeout_ms, 5000));
    curl_easy_setopt(c, CURLOPT_USE_SSL, config_.require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY);
    if (!config_.user.empty()) {
      curl_easy_setopt(c, CURLOPT_USERNAME, config_.user.c_str());
      curl_easy_setopt(c, CURLOPT_PASSWORD, config_.password.c_str());
    }
    const CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(rcpt);
    if (rc == CURLE_OK) return SendOutcome::Sent(built->message_id);
    // The server's own words when it refused (e.g. "550 5.1.1 mailbox unavailable").
    const int code = ReplyCode(reply);
    if (code >= 500 && code < 600) return SendOutcome::Failed(reply, code);
    // 421: the server is closing the channel for everyone; other 4xx (a greylisted or full
    // mailbox) are about this recipient.
    if (code == 421) return SendOutcome::Unavailable(reply, code);
    if (code >= 400 && code < 500) return SendOutcome::Retry(reply, code);
    return SendOutcome::Unavailable(absl::StrCat("SMTP server unreachable: ", error[0] ? error : curl_easy_strerror(rc)));
  } catch (const std::exception& ex) {
    return SendOutcome::Retry(absl::StrCat("sending the email failed: ", ex.what()));
  }
}

}  // namespace vetline::conversations::channels
