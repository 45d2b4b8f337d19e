#include "services/conversations/inbound_email_service.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/ids.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/core/time.h"
#include "libs/core/validate.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"
#include "services/conversations/channels/inbound_email.h"
#include "services/conversations/file_types.h"
#include "services/conversations/inbound_email_rules.h"
#include "services/conversations/inbox_rules.h"

namespace vetline::conversations {
namespace {

constexpr char kFailedList[] = "conversations.inbound-failed";
constexpr size_t kMaxFiles = 10;  // as a message sent through the API

// At most kMaxMessageChars characters (whole UTF-8 characters); a longer email is cut
// and says so (its whole text stays in the raw message).
std::string Capped(std::string text) {
  constexpr absl::string_view kCut = "\n[…]";
  size_t chars = 0, i = 0;
  const size_t keep = rules::kMaxMessageChars - 4;  // room for the marker's characters
  while (i < text.size() && chars < keep) {
    ++chars;
    ++i;
    while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
  }
  if (i >= text.size()) return text;
  text.resize(i);
  return absl::StrCat(text, kCut);
}

// The answer a failed item gets, the first time and on every retry of it.
absl::Status FailedAnswer(const StoredInboundItem& s) {
  std::string message = absl::StrCat(s.item.reason(), " (kept as failed inbound item ", s.item.id(), ")");
  if (s.field.empty()) return absl::Status(s.code, message);
  return FieldError(s.code, s.field, message);
}

v1::ReceiveEmailResponse AcceptedAnswer(const StoredInboundItem& s, bool duplicate) {
  v1::ReceiveEmailResponse out;
  out.set_inbound_item_id(s.item.id());
  out.set_conversation_id(s.item.conversation_id());
  out.set_message_id(s.item.message_id());
  out.set_duplicate(duplicate);
  *out.mutable_rejected_attachments() = s.item.rejected_attachments();
  return out;
}

absl::StatusOr<v1::ReceiveEmailResponse> Answer(const StoredInboundItem& s, bool duplicate) {
  if (s.item.state() == v1::INBOUND_FAILED) return FailedAnswer(s);
  return AcceptedAnswer(s, duplicate);
}

bool Transient(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) || absl::IsAborted(s);
}

v1::RejectedAttachment Rejected(const channels::Attachment& a, std::string reason) {
  v1::RejectedAttachment r;
  r.set_filename(a.filename);
  r.set_content_type(a.content_type);
  r.set_size_bytes(static_cast<int64_t>(a.bytes.size()));
  r.set_reason(std::move(reason));
  return r;
}

}  // namespace

absl::StatusOr<v1::ReceiveEmailResponse> InboundEmailService::Receive(const std::string& raw) {
  absl::StatusOr<channels::InboundEmail> email = channels::ParseInboundEmail(raw);
  NewInboundItem item;
  item.id = NewUuid();
  item.size_bytes = static_cast<int64_t>(raw.size());
  item.raw_blob_key = absl::StrCat("conversations/inbound/", item.id, ".eml");
  item.dedup_key = inbound::DedupKey(email.ok() ? email->message_id : "", raw);
  VL_ASSIGN_OR_RETURN(std::optional<StoredInboundItem> earlier, repo_.FindItem(item.dedup_key));
  if (earlier) return Answer(*earlier, /*duplicate=*/true);

  // Whatever the problem, the raw message is kept and the provider hears a 4xx (a 5xx
  // would make it retry what can never succeed).
  auto fail = [&](const absl::Status& problem) -> absl::StatusOr<v1::ReceiveEmailResponse> {
    item.reason = std::string(problem.message());
    item.code = problem.code();
    item.field = FieldOf(problem);
    VL_RETURN_IF_ERROR(blob::PutBytes(blobs_, item.raw_blob_key, raw));
    VL_ASSIGN_OR_RETURN(StoredInboundItem stored, repo_.RecordFailed(item));
    log::Warn("inbound email not placed", {{"item", stored.item.id()}, {"reason", stored.item.reason()},
                                           {"clinic", stored.clinic_id}});
    return Answer(stored, stored.item.id() != item.id);
  };

  std::vector<std::string> recipients;
  if (email.ok()) {
    item.email_message_id = email->message_id;
    item.from_address = email->from.address;
    item.subject = email->subject;
    recipients = email->delivered_to;
    for (const auto* list : {&email->to, &email->cc}) {
      for (const channels::Mailbox& m : *list) recipients.push_back(m.address);
    }
  } else {
    recipients = inbound::ScanReplyAddresses(raw);  // to file it under its clinic
  }
  absl::StatusOr<inbound::ReplyAddress> reply =
      inbound::FindReplyAddress(recipients, options_.reply_domain);
  std::optional<ConversationOwner> owner;
  if (reply.ok()) {
    item.recipient = reply->address;
    VL_ASSIGN_OR_RETURN(owner, repo_.FindConversation(reply->conversation_id));
    if (owner) {
      item.clinic_id = owner->clinic_id;
      item.conversation_id = reply->conversation_id;
    }
  }
  if (!email.ok()) return fail(email.status());
  if (!reply.ok()) return fail(reply.status());
  if (!owner) return fail(NotFoundField("raw", "no conversation has the email's reply address"));
  if (owner->client_id.empty()) {
    return fail(FieldError(absl::StatusCode::kFailedPrecondition, "raw",
                           "the email's conversation is not linked to a client yet"));
  }
  absl::StatusOr<clients::v1::Client> client =
      clients_.Get(rpc::ServiceForClinic(owner->clinic_id), "raw", owner->client_id);
  if (!client.ok() && Transient(client.status())) return client.status();  // the provider retries
  if (!client.ok()) {
    return fail(FieldError(absl::StatusCode::kFailedPrecondition, "raw",
                           "the email's conversation belongs to a client profile that is no longer available"));
  }
  bool known_sender = false;
  for (const auto& e : client->emails()) known_sender |= inbound::SameAddress(e.address(), email->from.address);
  if (!known_sender) {
    return fail(FieldError(absl::StatusCode::kFailedPrecondition, "raw",
                           absl::StrCat("the sender (From) ", email->from.address,
                                        " is not one of the client's email addresses")));
  }

  // Attachments: kept when conversations take them, otherwise listed with the reason.
  std::vector<NewFile> files;
  std::vector<const std::string*> file_bytes;
  for (const channels::Attachment& a : email->attachments) {
    if (a.bytes.empty()) {
      item.rejected.push_back(Rejected(a, "the attachment is empty"));
      continue;
    }
    if (static_cast<int64_t>(a.bytes.size()) > options_.max_file_bytes) {
      item.rejected.push_back(Rejected(a, absl::StrCat("files may be at most ", options_.max_file_bytes >> 20,
                                                       " MiB; this one is ", a.bytes.size() >> 20, " MiB")));
      continue;
    }
    absl::StatusOr<FileType> type = SniffFileType(a.bytes, "attachments");
    if (!type.ok()) {
      item.rejected.push_back(Rejected(a, std::string(type.status().message())));
      continue;
    }
    if (files.size() >= kMaxFiles) {
      item.rejected.push_back(Rejected(a, "a message carries at most 10 files"));
      continue;
    }
    NewFile f;
    f.id = NewUuid();
    f.conversation_id = item.conversation_id;
    f.uploaded_by = absl::StrCat("client:", owner->client_id);
    f.filename = SanitizeFilename(a.filename, *type);
    f.content_type = type->content_type;
    f.category = type->category;
    f.size_bytes = static_cast<int64_t>(a.bytes.size());
    f.blob_key = absl::StrCat("conversations/", owner->clinic_id, "/", f.id);
    files.push_back(std::move(f));
    file_bytes.push_back(&a.bytes);
  }
  std::string text = Capped(email->reply);
  if (text.empty() && files.empty()) {
    return fail(InvalidField("raw", "the email has no text of its own and no attachment conversations take"));
  }

  VL_RETURN_IF_ERROR(blob::PutBytes(blobs_, item.raw_blob_key, raw));
  for (size_t i = 0; i < files.size(); ++i) {
    VL_RETURN_IF_ERROR(blob::PutBytes(blobs_, files[i].blob_key, *file_bytes[i]));
  }
  Viewer as_client;
  as_client.clinic_id = owner->clinic_id;
  as_client.client = true;
  as_client.client_id = owner->client_id;
  NewMessage m;
  m.conversation_id = item.conversation_id;
  m.author = v1::CLIENT;
  m.author_id = owner->client_id;
  m.text = std::move(text);
  m.received_via = v1::EMAIL;
  Events events;
  VL_ASSIGN_OR_RETURN(InboundEmailRepository::Accepted accepted,
                      repo_.Accept(item, as_client, files, std::move(m), &events));
  if (!events.empty()) announcer_.Announce(events);  // after commit, as every inbox change
  return Answer(accepted.item, accepted.duplicate);
}

grpc::Status InboundEmailService::ReceiveEmail(grpc::ServerContext*, const v1::ReceiveEmailRequest* req,
                                               v1::ReceiveEmailResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    if (options_.secret.empty()) {
      return absl::PermissionDeniedError("inbound email is not configured here (--inbound-email-secret)");
    }
    if (!inbound::SecretMatches(req->authorization(), options_.secret)) {
      return absl::PermissionDeniedError("the inbound email secret is missing or wrong");
    }
    VL_ASSIGN_OR_RETURN(*resp, Receive(req->raw()));
    return absl::OkStatus();
  }());
}

grpc::Status InboundEmailService::ListFailedInboundEmails(grpc::ServerContext* ctx,
                                                          const v1::ListFailedInboundEmailsRequest* req,
                                                          v1::ListFailedInboundEmailsResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal admin, rpc::RequireAdmin(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(int size, validate::PageSize("pageSize", req->page_size()));
    std::optional<Cursor> after;
    if (!req->page_token().empty()) {
      VL_ASSIGN_OR_RETURN(auto parts, page_tokens_.Decode("pageToken", req->page_token(), kFailedList,
                                                          admin.clinic_id(), 2));
      int64_t micros = 0;
      if (!absl::SimpleAtoi(parts[0], &micros) || !IsUuid(parts[1])) {
        return InvalidField("pageToken", "pageToken is not valid");
      }
      after = Cursor{absl::FromUnixMicros(micros), parts[1]};
    }
    VL_ASSIGN_OR_RETURN(auto items, repo_.ListFailed(admin.clinic_id(), after, size + 1));
    const bool more = static_cast<int>(items.size()) > size;
    if (more) items.pop_back();
    for (auto& it : items) *resp->add_items() = std::move(it);
    if (more) {
      const v1::InboundItem& last = *resp->items().rbegin();
      resp->set_next_page_token(page_tokens_.Encode(
          kFailedList, admin.clinic_id(),
          {std::to_string(absl::ToUnixMicros(FromTimestamp(last.receive_time()))), last.id()}));
    }
    return absl::OkStatus();
  }());
}

}  // namespace vetline::conversations
