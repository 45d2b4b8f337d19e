#include "services/conversations/conversations_service.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/ids.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/core/time.h"
#include "libs/core/validate.h"
#include "libs/core/validate_enum.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"
#include "services/conversations/client_view.h"
#include "services/conversations/file_types.h"
#include "services/conversations/inbox_rules.h"

namespace vetline::conversations {
namespace {

constexpr char kQueueList[] = "conversations.queue";
constexpr char kMessageList[] = "conversations.messages:";
constexpr char kSearchList[] = "conversations.search:";
constexpr char kDownloadPurpose[] = "conversation-file";
constexpr size_t kMaxFiles = 10;
constexpr size_t kMaxFilenameBytes = 1024;  // before sanitising (which keeps 200)
constexpr size_t kMaxQueryChars = 200;
constexpr size_t kMaxTokenBytes = 1024;
constexpr size_t kChunkBytes = 64 * 1024;

// Page tokens are bound to the viewer: a client's token cannot continue a staff list.
std::string Scope(const Viewer& v) {
  return v.client ? absl::StrCat(v.clinic_id, ":client:", v.client_id) : v.clinic_id;
}

std::vector<std::string> CursorParts(absl::Time t, const std::string& id) {
  return {std::to_string(absl::ToUnixMicros(t)), id};
}

absl::StatusOr<std::optional<Cursor>> ReadCursor(const PageTokens& tokens, const std::string& token,
                                                 const std::string& list, const Viewer& v) {
  if (token.empty()) return std::optional<Cursor>();
  VL_ASSIGN_OR_RETURN(auto parts, tokens.Decode("pageToken", token, list, Scope(v), 2));
  int64_t micros = 0;
  if (!absl::SimpleAtoi(parts[0], &micros) || !IsUuid(parts[1])) {
    return InvalidField("pageToken", "pageToken is not valid");
  }
  return std::optional<Cursor>(Cursor{absl::FromUnixMicros(micros), parts[1]});
}

absl::Status OptionalId(std::string_view field, const std::string& id) {
  return id.empty() ? absl::OkStatus() : validate::Id(field, id);
}

Viewer ViewerFrom(api::Principal p) {
  Viewer v;
  v.clinic_id = p.clinic_id();
  v.user_id = p.user_id();
  v.client = p.kind() == api::Principal::CLIENT;
  if (v.client) v.client_id = p.client_id();
  v.caller = std::move(p);
  return v;
}

}  // namespace

absl::StatusOr<Viewer> ViewerOf(const grpc::ServerContext& ctx,
                                const auth::PrincipalSigner& signer) {
  VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaffOrClient(ctx, signer));
  return ViewerFrom(std::move(p));
}

absl::StatusOr<Viewer> ConversationsService::StaffViewer(const grpc::ServerContext& ctx) const {
  VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(ctx, signer_));
  return ViewerFrom(std::move(p));
}

v1::Conversation ConversationsService::Present(const Viewer& v, ConversationRecord rec) const {
  if (!v.client) return std::move(rec.conversation);
  RedactForClient(rec.conversation);
  rec.conversation.set_last_message_preview(rec.client_preview);
  return std::move(rec.conversation);
}

void ConversationsService::SignDownload(const std::string& clinic_id,
                                        v1::FileAttachment& f) const {
  absl::Time expires = clock_.Now() + options_.download_ttl;
  std::string token = links_.Sign(kDownloadPurpose, absl::StrCat(clinic_id, "/", f.file_id()), expires);
  f.set_download_url(absl::StrCat(options_.public_url, "/v1/files/", f.file_id(), "?token=", token));
  *f.mutable_download_expire_time() = ToTimestamp(expires);
}

void ConversationsService::Present(const Viewer& v, v1::Message& m) const {
  for (v1::Attachment& a : *m.mutable_attachments()) {
    if (a.has_file()) SignDownload(v.clinic_id, *a.mutable_file());
  }
  if (v.client) RedactForClient(m);
}

void ConversationsService::Announce(const Events& events) {
  if (!events.empty()) announcer_.Announce(events);
}

absl::Status ConversationsService::LimitClientSend(const Viewer& v) {
  if (!v.client || limiter_ == nullptr) return absl::OkStatus();
  auto d = limiter_->Take(absl::StrCat("client-send:", v.clinic_id, ":", v.client_id),
                          {options_.client_send_burst, options_.client_sends_per_minute / 60.0});
  if (!d.ok()) {
    // A Redis outage must not silence clients; the limit comes back with Redis.
    log::Warn("client send limit skipped", {{"error", std::string(d.status().message())}});
    return absl::OkStatus();
  }
  if (d->allowed) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrCat("too many messages in a short time; try again in ",
                   std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(d->retry_after, absl::Seconds(1)))),
                   " s"));
}

absl::StatusOr<std::vector<rules::Target>> ConversationsService::DeliveriesFor(
    const api::Principal& caller, const v1::Conversation& c) {
  if (c.client_id().empty()) {
    // An unknown sender is answered where they wrote from.
    const std::string& a = c.sender_address();
    if (absl::StartsWith(a, "+")) return std::vector<rules::Target>{{rules::Channel::kText, a}};
    if (absl::StrContains(a, "@")) return std::vector<rules::Target>{{rules::Channel::kEmail, a}};
    return std::vector<rules::Target>{};
  }
  VL_ASSIGN_OR_RETURN(clients::v1::Client client, clients_.Get(caller, "conversationId", c.client_id()));
  rules::Contacts contacts;
  contacts.client_id = client.id();
  contacts.text_enabled = client.contact_options().text_enabled();
  contacts.email_enabled = client.contact_options().email_enabled();
  // A registered subscription is the browser's or app's own opt-in; only an explicit
  // "disabled" from the app switches push off.
  contacts.push_enabled = client.contact_options().push_status() != clients::v1::PUSH_DISABLED;
  if (contacts.push_enabled) {
    VL_ASSIGN_OR_RETURN(contacts.push_endpoints, repo_.PushEndpoints(c.clinic_id(), client.id()));
  }
  for (const auto& p : client.phones()) {
    contacts.phones.push_back({p.number(), p.texting_capable(), p.primary()});
  }
  for (const auto& e : client.emails()) contacts.emails.push_back({e.address(), e.primary()});
  return rules::ChooseDeliveries(contacts);
}

grpc::Status ConversationsService::ListConversations(grpc::ServerContext* ctx,
                                                     const v1::ListConversationsRequest* req,
                                                     v1::ListConversationsResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(Viewer v, ViewerOf(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(int size, validate::PageSize("pageSize", req->page_size()));
    VL_RETURN_IF_ERROR(OptionalId("statusId", req->status_id()));
    VL_RETURN_IF_ERROR(validate::OptionalEnum("assigneeFilter", req->assignee_filter()));
    VL_RETURN_IF_ERROR(OptionalId("assigneeId", req->assignee_id()));
    VL_RETURN_IF_ERROR(OptionalId("clientId", req->client_id()));
    VL_RETURN_IF_ERROR(OptionalId("petId", req->pet_id()));
    ConversationFilter f;
    f.status_id = req->status_id();
    f.unread_only = req->unread_only();
    f.archived = req->archived();
    f.client_id = req->client_id();
    f.pet_id = req->pet_id();
    const bool needs_id = req->assignee_filter() == v1::ASSIGNED_TO_USER ||
                          req->assignee_filter() == v1::ASSIGNED_TO_TEAM;
    if (v.client && req->assignee_filter() != v1::ASSIGNEE_FILTER_UNSPECIFIED) {
      return InvalidField("assigneeFilter", "assigneeFilter is for staff");
    }
    if (needs_id && req->assignee_id().empty()) {
      return InvalidField("assigneeId", "assigneeId is required with this assigneeFilter");
    }
    if (!needs_id && !req->assignee_id().empty()) {
      return InvalidField("assigneeId",
                          "assigneeId goes with assigneeFilter ASSIGNED_TO_USER or ASSIGNED_TO_TEAM");
    }
    if (!req->pet_id().empty() && req->client_id().empty()) {
      return InvalidField("petId", "filter by clientId together with petId");
    }
    switch (req->assignee_filter()) {
      case v1::ASSIGNED_TO_ME:
        f.assignee = ConversationFilter::Assignee::kUser;
        f.assignee_id = v.user_id;
        break;
      case v1::ASSIGNED_TO_USER:
        f.assignee = ConversationFilter::Assignee::kUser;
        f.assignee_id = req->assignee_id();
        break;
      case v1::ASSIGNED_TO_TEAM:
        f.assignee = ConversationFilter::Assignee::kTeam;
        f.assignee_id = req->assignee_id();
        break;
      case v1::UNASSIGNED: f.assignee = ConversationFilter::Assignee::kNobody; break;
      default: break;
    }
    VL_ASSIGN_OR_RETURN(std::optional<Cursor> after,
                        ReadCursor(page_tokens_, req->page_token(), kQueueList, v));
    // Every id a filter names resolves inside the clinic (a client's own, for clients).
    if (!v.client) {
      const api::Principal& caller = v.caller;
      if (!f.status_id.empty()) VL_RETURN_IF_ERROR(repo_.CheckStatus(v.clinic_id, f.status_id));
      if (req->assignee_filter() == v1::ASSIGNED_TO_USER) {
        VL_RETURN_IF_ERROR(staff_.CheckUser(caller, "assigneeId", f.assignee_id));
      }
      if (req->assignee_filter() == v1::ASSIGNED_TO_TEAM) {
        VL_RETURN_IF_ERROR(staff_.CheckTeam(caller, "assigneeId", f.assignee_id));
      }
      if (!f.client_id.empty()) {
        VL_ASSIGN_OR_RETURN(clients::v1::Client client, clients_.Get(caller, "clientId", f.client_id));
        bool has_pet = f.pet_id.empty();
        for (const auto& pet : client.pets()) has_pet |= pet.id() == f.pet_id;
        if (!has_pet) return NotFoundField("petId", "this client has no pet with this petId");
      }
    } else {
      if (!f.status_id.empty()) VL_RETURN_IF_ERROR(repo_.CheckStatus(v.clinic_id, f.status_id));
      if (!f.client_id.empty() && f.client_id != v.client_id) {
        return NotFoundField("clientId", "no client with this clientId");
      }
    }
    VL_ASSIGN_OR_RETURN(auto rows, repo_.ListConversations(v, f, after, size + 1));
    const bool more = static_cast<int>(rows.size()) > size;
    if (more) rows.pop_back();
    for (auto& r : rows) *resp->add_conversations() = Present(v, std::move(r));
    if (more) {
      const v1::Conversation& last = *resp->conversations().rbegin();
      resp->set_next_page_token(page_tokens_.Encode(
          kQueueList, Scope(v), CursorParts(FromTimestamp(last.last_activity_time()), last.id())));
    }
    return absl::OkStatus();
  }());
}

grpc::Status ConversationsService::StartConversation(grpc::ServerContext* ctx,
                                                     const v1::StartConversationRequest* req,
                                                     v1::Conversation* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(Viewer v, ViewerOf(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("clientId", req->client_id()));
    VL_RETURN_IF_ERROR(OptionalId("petId", req->pet_id()));
    if (v.client) {
      // The portal's own "start chat": only for oneself, and pets are chosen by staff.
      if (req->client_id() != v.client_id) {
        return NotFoundField("clientId", "no client with this clientId");
      }
      if (!req->pet_id().empty()) return InvalidField("petId", "petId is chosen by the clinic");
    } else {
      const api::Principal& caller = v.caller;
      VL_ASSIGN_OR_RETURN(clients::v1::Client client,
                          clients_.Get(caller, "clientId", req->client_id()));
      bool has_pet = req->pet_id().empty();
      for (const auto& pet : client.pets()) has_pet |= pet.id() == req->pet_id();
      if (!has_pet) return NotFoundField("petId", "this client has no pet with this petId");
    }
    Events events;
    VL_ASSIGN_OR_RETURN(ConversationRecord rec,
                        repo_.StartConversation(v.clinic_id, req->client_id(), req->pet_id(), &events));
    Announce(events);
    *out = Present(v, std::move(rec));
    return absl::OkStatus();
  }());
}

grpc::Status ConversationsService::GetConversation(grpc::ServerContext* ctx,
                                                   const v1::GetConversationRequest* req,
                                                   v1::Conversation* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(Viewer v, ViewerOf(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_ASSIGN_OR_RETURN(ConversationRecord rec, repo_.GetConversation(v, req->id()));
    *out = Present(v, std::move(rec));
    return absl::OkStatus();
  }());
}

grpc::Status ConversationsService::SetStatus(grpc::ServerContext* ctx,
                                             const v1::SetStatusRequest* req,
                                             v1::Conversation* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(Viewer v, StaffViewer(*ctx));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_RETURN_IF_ERROR(validate::Id("statusId", req->status_id()));
    Events events;
    VL_ASSIGN_OR_RETURN(ConversationRecord rec,
                        repo_.SetStatus(v.clinic_id, req->id(), req->status_id(), &events));
    Announce(events);
    *out = Present(v, std::move(rec));
    return absl::OkStatus();
  }());
}

grpc::Status ConversationsService::Assign(grpc::ServerContext* ctx, const v1::AssignRequest* req,
                                          v1::Conversation* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(Viewer v, StaffViewer(*ctx));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_RETURN_IF_ERROR(OptionalId("userId", req->user_id()));
    VL_RETURN_IF_ERROR(OptionalId("teamId", req->team_id()));
    // Every id named resolves first (a miss is 404 whatever else is wrong); then the
    // rule that only one assignee may be named.
    const api::Principal& caller = v.caller;
    if (!req->user_id().empty()) VL_RETURN_IF_ERROR(staff_.CheckUser(caller, "userId", req->user_id()));
    if (!req->team_id().empty()) VL_RETURN_IF_ERROR(staff_.CheckTeam(caller, "teamId", req->team_id()));
    VL_RETURN_IF_ERROR(repo_.GetConversation(v, req->id()).status());
    if (!req->user_id().empty() && !req->team_id().empty()) {
      return InvalidField("teamId", "assign to a user or a team, not both");
    }
    Events events;
    VL_ASSIGN_OR_RETURN(ConversationRecord rec, repo_.Assign(v.clinic_id, req->id(), req->user_id(),
                                                             req->team_id(), &events));
    Announce(events);
    *out = Present(v, std::move(rec));
    return absl::OkStatus();
  }());
}

grpc::Status ConversationsService::Archive(grpc::ServerContext* ctx, const v1::ArchiveRequest* req,
                                           v1::Conversation* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(Viewer v, StaffViewer(*ctx));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    Events events;
    VL_ASSIGN_OR_RETURN(ConversationRecord rec, repo_.SetArchived(v.clinic_id, req->id(), true, &events));
    Announce(events);
    *out = Present(v, std::move(rec));
    return absl::OkStatus();
  }());
}

grpc::Status ConversationsService::Unarchive(grpc::ServerContext* ctx,
                                             const v1::ArchiveRequest* req,
                                             v1::Conversation* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(Viewer v, StaffViewer(*ctx));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    Events events;
    VL_ASSIGN_OR_RETURN(ConversationRecord rec, repo_.SetArchived(v.clinic_id, req->id(), false, &events));
    Announce(events);
    *out = Present(v, std::move(rec));
    return absl::OkStatus();
  }());
}

grpc::Status ConversationsService::MarkRead(grpc::ServerContext* ctx, const v1::MarkReadRequest* req,
                                            v1::Conversation* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(Viewer v, ViewerOf(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    Events events;
    VL_ASSIGN_OR_RETURN(ConversationRecord rec, repo_.MarkRead(v, req->id(), &events));
    Announce(events);
    *out = Present(v, std::move(rec));
    return absl::OkStatus();
  }());
}

grpc::Status ConversationsService::LinkClient(grpc::ServerContext* ctx,
                                              const v1::LinkClientRequest* req,
                                              v1::Conversation* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(Viewer v, StaffViewer(*ctx));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_RETURN_IF_ERROR(validate::Id("clientId", req->client_id()));
    const api::Principal& caller = v.caller;
    VL_RETURN_IF_ERROR(clients_.Check(caller, "clientId", req->client_id()));
    Events events;
    VL_ASSIGN_OR_RETURN(ConversationRecord rec,
                        repo_.LinkClient(v.clinic_id, req->id(), req->client_id(), &events));
    Announce(events);
    *out = Present(v, std::move(rec));
    return absl::OkStatus();
  }());
}

grpc::Status ConversationsService::ListMessages(grpc::ServerContext* ctx,
                                                const v1::ListMessagesRequest* req,
                                                v1::ListMessagesResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(Viewer v, ViewerOf(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("conversationId", req->conversation_id()));
    VL_ASSIGN_OR_RETURN(int size, validate::PageSize("pageSize", req->page_size()));
    const std::string list = absl::StrCat(kMessageList, req->conversation_id());
    VL_ASSIGN_OR_RETURN(std::optional<Cursor> after, ReadCursor(page_tokens_, req->page_token(), list, v));
    VL_ASSIGN_OR_RETURN(auto messages, repo_.ListMessages(v, req->conversation_id(), after, size + 1));
    const bool more = static_cast<int>(messages.size()) > size;
    if (more) messages.pop_back();
    for (v1::Message& m : messages) {
      Present(v, m);
      *resp->add_messages() = std::move(m);
    }
    if (more) {
      const v1::Message& last = *resp->messages().rbegin();
      resp->set_next_page_token(page_tokens_.Encode(
          list, Scope(v), CursorParts(FromTimestamp(last.create_time()), last.id())));
    }
    return absl::OkStatus();
  }());
}

grpc::Status ConversationsService::SendMessage(grpc::ServerContext* ctx,
                                               const v1::SendMessageRequest* req,
                                               v1::Message* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(Viewer v, ViewerOf(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("conversationId", req->conversation_id()));
    if (req->file_ids_size() > static_cast<int>(kMaxFiles)) {
      return InvalidField("fileIds", "a message can carry at most 10 files");
    }
    for (const std::string& id : req->file_ids()) VL_RETURN_IF_ERROR(validate::Id("fileIds", id));
    VL_RETURN_IF_ERROR(rules::CheckMessage(req->text(), req->file_ids_size()));
    if (v.client && req->internal_note()) {
      return InvalidField("internalNote", "only staff write internal notes");
    }
    // Seeing the conversation first: a miss is 404 before anything is counted or sent.
    VL_ASSIGN_OR_RETURN(ConversationRecord conv, repo_.GetConversation(v, req->conversation_id()));
    NewMessage m;
    m.conversation_id = req->conversation_id();
    m.text = req->text();
    m.internal_note = req->internal_note();
    m.file_ids.assign(req->file_ids().begin(), req->file_ids().end());
    if (v.client) {
      VL_RETURN_IF_ERROR(LimitClientSend(v));
      m.author = v1::CLIENT;
      m.author_id = v.client_id;
      m.received_via = v1::PORTAL;
    } else {
      m.author = v1::STAFF;
      m.author_id = v.user_id;
      if (!m.internal_note) {
        const api::Principal& caller = v.caller;
        VL_ASSIGN_OR_RETURN(m.deliveries, DeliveriesFor(caller, conv.conversation));
      }
    }
    Events events;
    VL_ASSIGN_OR_RETURN(*out, repo_.SendMessage(v, m, &events));
    Announce(events);
    Present(v, *out);
    return absl::OkStatus();
  }());
}

grpc::Status ConversationsService::RetryDelivery(grpc::ServerContext* ctx,
                                                 const v1::RetryDeliveryRequest* req,
                                                 v1::Message* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(Viewer v, StaffViewer(*ctx));
    VL_RETURN_IF_ERROR(validate::Id("conversationId", req->conversation_id()));
    VL_RETURN_IF_ERROR(validate::Id("messageId", req->message_id()));
    VL_RETURN_IF_ERROR(validate::Enum("channel", req->channel()));
    rules::Channel channel;
    switch (req->channel()) {
      case v1::TEXT: channel = rules::Channel::kText; break;
      case v1::EMAIL: channel = rules::Channel::kEmail; break;
      case v1::PUSH: channel = rules::Channel::kPush; break;
      default: return InvalidField("channel", "the portal needs no delivery; choose TEXT, EMAIL or PUSH");
    }
    Events events;
    VL_ASSIGN_OR_RETURN(*out, repo_.RetryDelivery(v.clinic_id, req->conversation_id(),
                                                  req->message_id(), channel, &events));
    Announce(events);
    Present(v, *out);
    return absl::OkStatus();
  }());
}

grpc::Status ConversationsService::UploadFile(grpc::ServerContext* ctx,
                                              const v1::UploadFileRequest* req,
                                              v1::UploadFileResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(Viewer v, ViewerOf(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("conversationId", req->conversation_id()));
    if (req->filename().size() > kMaxFilenameBytes) {
      return InvalidField("filename", "filename is longer than 1024 bytes");
    }
    if (static_cast<int64_t>(req->content().size()) > options_.max_file_bytes) {
      return FieldError(absl::StatusCode::kOutOfRange, "content",
                        absl::StrCat("files may be at most ", options_.max_file_bytes >> 20,
                                     " MiB; this one is ", req->content().size() >> 20, " MiB"));
    }
    VL_ASSIGN_OR_RETURN(FileType type, SniffFileType(req->content(), "content"));
    VL_RETURN_IF_ERROR(repo_.GetConversation(v, req->conversation_id()).status());
    VL_RETURN_IF_ERROR(LimitClientSend(v));
    NewFile f;
    f.id = NewUuid();
    f.conversation_id = req->conversation_id();
    f.uploaded_by = v.Author();
    f.filename = SanitizeFilename(req->filename(), type);
    f.content_type = type.content_type;
    f.category = type.category;
    f.size_bytes = static_cast<int64_t>(req->content().size());
    f.blob_key = absl::StrCat("conversations/", v.clinic_id, "/", f.id);
    if (absl::Status put = blob::PutBytes(blobs_, f.blob_key, req->content()); !put.ok()) {
      log::Warn("blob put failed", {{"error", std::string(put.message())}});
      return absl::UnavailableError("the file could not be stored; try again");
    }
    VL_ASSIGN_OR_RETURN(*resp->mutable_file(), repo_.InsertFile(v, f));
    SignDownload(v.clinic_id, *resp->mutable_file());
    return absl::OkStatus();
  }());
}

grpc::Status ConversationsService::DownloadFile(grpc::ServerContext* ctx,
                                                const v1::DownloadFileRequest* req,
                                                grpc::ServerWriter<v1::FileChunk>* writer) {
  std::unique_ptr<std::istream> in;
  grpc::Status st = rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(validate::Id("fileId", req->file_id()));
    if (req->token().empty() || req->token().size() > kMaxTokenBytes) {
      return absl::PermissionDeniedError("this download link is invalid or expired");
    }
    // The signed link is the authority: it names the clinic and the file.
    auto subject = links_.Verify(req->token(), kDownloadPurpose, clock_.Now());
    if (!subject.ok()) return absl::PermissionDeniedError("this download link is invalid or expired");
    const size_t slash = subject->find('/');
    if (slash == std::string::npos || subject->substr(slash + 1) != req->file_id()) {
      return absl::PermissionDeniedError("this download link is for another file");
    }
    VL_ASSIGN_OR_RETURN(StoredFile f, repo_.GetFile(subject->substr(0, slash), req->file_id()));
    VL_ASSIGN_OR_RETURN(in, blobs_.Open(f.blob_key));
    return absl::OkStatus();
  }());
  if (!st.ok()) return st;
  std::string buffer(kChunkBytes, '\0');
  v1::FileChunk chunk;
  while (!ctx->IsCancelled() && in->read(buffer.data(), buffer.size()).gcount() > 0) {
    chunk.set_data(buffer.data(), in->gcount());
    if (!writer->Write(chunk)) break;
  }
  return grpc::Status::OK;
}

grpc::Status ConversationsService::SearchMessages(grpc::ServerContext* ctx,
                                                  const v1::SearchMessagesRequest* req,
                                                  v1::SearchMessagesResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(Viewer v, ViewerOf(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(std::string query, validate::Name("query", req->query(), kMaxQueryChars));
    VL_ASSIGN_OR_RETURN(int size, validate::PageSize("pageSize", req->page_size()));
    const std::string list = absl::StrCat(kSearchList, query);
    VL_ASSIGN_OR_RETURN(std::optional<Cursor> after, ReadCursor(page_tokens_, req->page_token(), list, v));
    VL_ASSIGN_OR_RETURN(auto hits, repo_.SearchMessages(v, query, after, size + 1));
    const bool more = static_cast<int>(hits.size()) > size;
    if (more) hits.pop_back();
    for (auto& h : hits) {
      Present(v, h.message);
      v1::MessageHit* out = resp->add_hits();
      *out->mutable_message() = std::move(h.message);
      out->set_headline(std::move(h.headline));
    }
    if (more) {
      const v1::Message& last = resp->hits().rbegin()->message();
      resp->set_next_page_token(page_tokens_.Encode(
          list, Scope(v), CursorParts(FromTimestamp(last.create_time()), last.id())));
    }
    return absl::OkStatus();
  }());
}

}  // namespace vetline::conversations
