// The inbox's gRPC edge (ConversationsService): who is asking (a clinic's staff or a
// client of the clinic), input checks naming JSON fields, ids looked up inside the
// caller's clinic, and what each side may see. The same RPCs serve the staff console and
// the client portal; a client reaches only their own conversations, never internal notes,
// deliveries or staff-only fields.
#pragma once

#include <memory>

#include "libs/auth/auth.h"
#include "libs/blob/blob.h"
#include "libs/core/clock.h"
#include "libs/core/page_token.h"
#include "libs/redis/redis.h"
#include "libs/refs/refs.h"
#include "services/conversations/conversations_repository.h"
#include "services/conversations/event_log.h"
#include "vetline/conversations/v1/conversations.grpc.pb.h"

namespace vetline::conversations {

struct InboxOptions {
  // Base of the links messages carry (signed downloads), e.g. https://vet.example.
  std::string public_url = "http://127.0.0.1:8080";
  int64_t max_file_bytes = int64_t{25} << 20;
  absl::Duration download_ttl = absl::Hours(1);
  // Client sends (messages and uploads) per client, shared by every replica (Redis).
  double client_send_burst = 20;
  double client_sends_per_minute = 30;
};

// The caller as the repository scopes it: staff of a clinic, or a client principal.
// Service principals and bad signatures are refused.
absl::StatusOr<Viewer> ViewerOf(const grpc::ServerContext& ctx, const auth::PrincipalSigner& signer);

class ConversationsService final : public v1::ConversationsService::Service {
 public:
  // `limiter` may be null (no Redis configured): client sends are then not limited.
  ConversationsService(ConversationsRepository& repo, const auth::PrincipalSigner& signer,
                       const auth::LinkSigner& links, const refs::ClientProfiles& clients,
                       const refs::StaffRefs& staff, blob::BlobStore& blobs,
                       EventAnnouncer& announcer, redis::RateLimiter* limiter,
                       PageTokens page_tokens, InboxOptions options, const Clock& clock)
      : repo_(repo),
        signer_(signer),
        links_(links),
        clients_(clients),
        staff_(staff),
        blobs_(blobs),
        announcer_(announcer),
        limiter_(limiter),
        page_tokens_(std::move(page_tokens)),
        options_(std::move(options)),
        clock_(clock) {}

  grpc::Status ListConversations(grpc::ServerContext*, const v1::ListConversationsRequest*,
                                 v1::ListConversationsResponse*) override;
  grpc::Status StartConversation(grpc::ServerContext*, const v1::StartConversationRequest*,
                                 v1::Conversation*) override;
  grpc::Status GetConversation(grpc::ServerContext*, const v1::GetConversationRequest*,
                               v1::Conversation*) override;
  grpc::Status SetStatus(grpc::ServerContext*, const v1::SetStatusRequest*,
                         v1::Conversation*) override;
  grpc::Status Assign(grpc::ServerContext*, const v1::AssignRequest*, v1::Conversation*) override;
  grpc::Status Archive(grpc::ServerContext*, const v1::ArchiveRequest*, v1::Conversation*) override;
  grpc::Status Unarchive(grpc::ServerContext*, const v1::ArchiveRequest*,
                         v1::Conversation*) override;
  grpc::Status MarkRead(grpc::ServerContext*, const v1::MarkReadRequest*,
                        v1::Conversation*) override;
  grpc::Status LinkClient(grpc::ServerContext*, const v1::LinkClientRequest*,
                          v1::Conversation*) override;
  grpc::Status ListMessages(grpc::ServerContext*, const v1::ListMessagesRequest*,
                            v1::ListMessagesResponse*) override;
  grpc::Status SendMessage(grpc::ServerContext*, const v1::SendMessageRequest*,
                           v1::Message*) override;
  grpc::Status RetryDelivery(grpc::ServerContext*, const v1::RetryDeliveryRequest*,
                             v1::Message*) override;
  grpc::Status UploadFile(grpc::ServerContext*, const v1::UploadFileRequest*,
                          v1::UploadFileResponse*) override;
  grpc::Status DownloadFile(grpc::ServerContext*, const v1::DownloadFileRequest*,
                            grpc::ServerWriter<v1::FileChunk>*) override;
  grpc::Status SearchMessages(grpc::ServerContext*, const v1::SearchMessagesRequest*,
                              v1::SearchMessagesResponse*) override;

  // Shared with the other edges of the inbox (video calls) that send messages.
  // The conversation as `v` may see it (client: redacted, the client's own preview).
  v1::Conversation Present(const Viewer& v, ConversationRecord rec) const;
  // The message as `v` may see it, with signed download links.
  void Present(const Viewer& v, v1::Message& m) const;
  void Announce(const Events& events);
  // The channels a staff message to this conversation goes out on.
  absl::StatusOr<std::vector<rules::Target>> DeliveriesFor(const api::Principal& caller,
                                                           const v1::Conversation& c);

 private:
  void SignDownload(const std::string& clinic_id, v1::FileAttachment& f) const;
  absl::StatusOr<Viewer> StaffViewer(const grpc::ServerContext& ctx) const;
  absl::Status LimitClientSend(const Viewer& v);

  ConversationsRepository& repo_;
  const auth::PrincipalSigner& signer_;
  const auth::LinkSigner& links_;
  const refs::ClientProfiles& clients_;
  const refs::StaffRefs& staff_;
  blob::BlobStore& blobs_;
  EventAnnouncer& announcer_;
  redis::RateLimiter* limiter_;
  PageTokens page_tokens_;
  InboxOptions options_;
  const Clock& clock_;
};

}  // namespace vetline::conversations
