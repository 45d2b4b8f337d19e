#include "services/conversations/channels/inbound_email.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_replace.h"
#include "libs/core/status.h"
#include "services/conversations/channels/gmime_support.h"

namespace vetline::conversations::channels {
namespace {

using internal::GPtr;

std::string Owned(char* s) {
  std::string out = s ? s : "";
  g_free(s);
  return out;
}

void AddMailboxes(InternetAddressList* list, std::vector<Mailbox>& out) {
  if (list == nullptr) return;
  for (int i = 0; i < internet_address_list_length(list); ++i) {
    InternetAddress* a = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_GROUP(a)) {
      AddMailboxes(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)), out);
    } else if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
      const char* name = internet_address_get_name(a);
      const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
      if (addr && *addr) out.push_back({TextAsUtf8(name ? name : ""), TextAsUtf8(addr)});
    }
  }
}

std::string DecodedBytes(GMimePart* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (content == nullptr) return "";
  GPtr<GMimeStream> mem(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(content, mem.get());  // undoes base64/QP
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
  return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

std::string Lf(std::string s) { return absl::StrReplaceAll(s, {{"\r\n", "\n"}}); }

// The part's text as UTF-8: converted from its declared charset when the bytes really
// are in it (Latin-1 labels read as Windows-1252, as browsers do); no label, an unknown
// one, or bytes that do not fit it: TextAsUtf8.
std::string PartText(GMimePart* part) {
  const std::string bytes = DecodedBytes(part);
  const char* declared = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
  const std::string charset = declared ? absl::AsciiStrToLower(g_mime_charset_canon_name(declared)) : "";
  if (charset.empty() || charset == "utf-8" || charset == "us-ascii") return TextAsUtf8(bytes);
  if (charset == "iso-8859-1" || charset == "windows-1252" || charset == "cp1252") return Cp1252ToUtf8(bytes);
  gsize read = 0, written = 0;
  GError* error = nullptr;
  char* converted = g_convert(bytes.data(), static_cast<gssize>(bytes.size()), "UTF-8",
                              g_mime_charset_iconv_name(charset.c_str()), &read, &written, &error);
  if (converted == nullptr) {
    g_clear_error(&error);
    return TextAsUtf8(bytes);
  }
  std::string out(converted, written);
  g_free(converted);
  return TextAsUtf8(out);
}

// Delivered-To and X-Original-To (each may repeat): where the provider delivered it.
std::vector<std::string> DeliveredTo(GMimeObject* root) {
  std::vector<std::string> out;
  GMimeHeaderList* headers = g_mime_object_get_header_list(root);
  for (int i = 0; i < g_mime_header_list_get_count(headers); ++i) {
    GMimeHeader* h = g_mime_header_list_get_header_at(headers, i);
    const char* name = g_mime_header_get_name(h);
    if (!name || (g_ascii_strcasecmp(name, "Delivered-To") != 0 && g_ascii_strcasecmp(name, "X-Original-To") != 0)) {
      continue;
    }
    const char* value = g_mime_header_get_value(h);
    if (!value) continue;
    InternetAddressList* list = internet_address_list_parse(nullptr, value);
    if (!list) continue;
    std::vector<Mailbox> boxes;
    AddMailboxes(list, boxes);
    g_object_unref(list);
    for (Mailbox& b : boxes) out.push_back(std::move(b.address));
  }
  return out;
}

struct Walk {
  std::string plain, html;
  bool have_plain = false, have_html = false;
  std::vector<Attachment> attachments;
};

void WalkPart(GMimeObject* obj, Walk& w) {
  if (GMIME_IS_MULTIPART(obj)) {
    GMimeMultipart* mp = GMIME_MULTIPART(obj);
    for (int i = 0; i < g_mime_multipart_get_count(mp); ++i) WalkPart(g_mime_multipart_get_part(mp, i), w);
    return;
  }
  GMimeContentType* ct = g_mime_object_get_content_type(obj);
  std::string mime_type = ct ? Owned(g_mime_content_type_get_mime_type(ct)) : "application/octet-stream";
  if (GMIME_IS_MESSAGE_PART(obj)) {
    // A forwarded message travels whole, as an attachment.
    GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
    if (inner == nullptr) return;
    const char* subject = g_mime_message_get_subject(inner);
    w.attachments.push_back({TextAsUtf8(subject && *subject ? subject : "message") + ".eml", "message/rfc822",
                             Owned(g_mime_object_to_string(GMIME_OBJECT(inner), nullptr))});
    return;
  }
  if (!GMIME_IS_PART(obj)) return;
  GMimePart* part = GMIME_PART(obj);
  const bool attachment = g_mime_part_is_attachment(part);
  if (!attachment && GMIME_IS_TEXT_PART(obj) && (mime_type == "text/plain" || mime_type == "text/html")) {
    std::string text = PartText(part);
    if (mime_type == "text/plain" && !w.have_plain) {
      w.plain = Lf(std::move(text));
      w.have_plain = true;
    } else if (mime_type == "text/html" && !w.have_html) {
      w.html = std::move(text);
      w.have_html = true;
    }
    return;
  }
  const char* filename = g_mime_part_get_filename(part);
  w.attachments.push_back({TextAsUtf8(filename && *filename ? filename : "attachment"), TextAsUtf8(mime_type),
                           DecodedBytes(part)});
}

// A header block starts the message: "Name: value" with a printable field name.
bool StartsWithHeader(std::string_view raw) {
  size_t i = 0;
  while (i < raw.size() && raw[i] != ':') {
    const unsigned char c = static_cast<unsigned char>(raw[i]);
    if (c <= 32 || c >= 127) return false;
    ++i;
  }
  return i > 0 && i < raw.size();
}

}  // namespace

absl::StatusOr<InboundEmail> ParseInboundEmail(std::string_view raw) {
  if (absl::StripAsciiWhitespace(absl::string_view(raw.data(), raw.size())).empty()) {
    return InvalidField("raw", "the email is empty");
  }
  // mbox "From " lines, as some providers keep them.
  if (raw.substr(0, 5) == "From ") raw = raw.substr(std::min(raw.size(), raw.find('\n') + 1));
  if (!StartsWithHeader(raw)) return InvalidField("raw", "the email does not start with a header block");
  internal::EnsureGMimeInitialised();
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  GPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), nullptr));
  if (!message) return InvalidField("raw", "the email could not be read as an RFC 5322 message");

  InboundEmail out;
  std::vector<Mailbox> from;
  AddMailboxes(g_mime_message_get_from(message.get()), from);
  if (from.empty()) AddMailboxes(g_mime_message_get_sender(message.get()), from);
  if (from.empty()) return InvalidField("raw", "the email has no sender address (From)");
  out.from = from.front();
  AddMailboxes(g_mime_message_get_to(message.get()), out.to);
  AddMailboxes(g_mime_message_get_cc(message.get()), out.cc);
  if (const char* s = g_mime_message_get_subject(message.get())) out.subject = TextAsUtf8(s);
  if (const char* id = g_mime_message_get_message_id(message.get())) out.message_id = TextAsUtf8(id);
  GMimeObject* root = GMIME_OBJECT(message.get());
  out.delivered_to = DeliveredTo(root);
  if (const char* irt = g_mime_object_get_header(root, "In-Reply-To")) {
    out.in_reply_to = TextAsUtf8(Owned(g_mime_utils_decode_message_id(irt)));
  }
  if (const char* refs = g_mime_object_get_header(root, "References")) {
    GMimeReferences* list = g_mime_references_parse(nullptr, refs);
    if (list) {
      for (int i = 0; i < g_mime_references_length(list); ++i) {
        out.references.push_back(TextAsUtf8(g_mime_references_get_message_id(list, i)));
      }
      g_mime_references_free(list);
    }
  }
  if (GDateTime* d = g_mime_message_get_date(message.get())) out.date = absl::FromUnixSeconds(g_date_time_to_unix(d));

  Walk w;
  if (GMimeObject* body = g_mime_message_get_mime_part(message.get())) WalkPart(body, w);
  out.text = w.have_plain ? w.plain : w.have_html ? HtmlToText(w.html) : "";
  // A plain part that only says "see the HTML" is worse than the HTML itself.
  if (w.have_plain && absl::StripAsciiWhitespace(out.text).empty() && w.have_html) out.text = HtmlToText(w.html);
  out.reply = TrimQuotedReply(out.text);
  out.attachments = std::move(w.attachments);
  return out;
}

}  // namespace vetline::conversations::channels
