// The inbound email webhook's gRPC edge (InboundEmailService): the mail provider posts a
// client's reply as the raw RFC 5322 message; a reply from one of the client's addresses
// to the conversation's reply address becomes a client message there (quoted history
// trimmed, attachments in the blob store). Every email past the secret is kept: placed,
// or stored as a failed inbound item (raw message in the blob store) that the clinic's
// admins can list.
#pragma once

#include <string>

#include "libs/auth/auth.h"
#include "libs/blob/blob.h"
#include "libs/core/page_token.h"
#include "libs/refs/refs.h"
#include "services/conversations/event_log.h"
#include "services/conversations/inbound_email_repository.h"
#include "vetline/conversations/v1/inbound_email.grpc.pb.h"

namespace vetline::conversations {

struct InboundEmailOptions {
  std::string secret;        // the provider sends it (Authorization); empty: refuse all
  std::string reply_domain;  // reply+<conversation>@<reply_domain>
  int64_t max_file_bytes = int64_t{25} << 20;
};

class InboundEmailService final : public v1::InboundEmailService::Service {
 public:
  InboundEmailService(InboundEmailRepository& repo, const auth::PrincipalSigner& signer,
                      const refs::ClientProfiles& clients, blob::BlobStore& blobs,
                      EventAnnouncer& announcer, PageTokens page_tokens, InboundEmailOptions options)
      : repo_(repo),
        signer_(signer),
        clients_(clients),
        blobs_(blobs),
        announcer_(announcer),
        page_tokens_(std::move(page_tokens)),
        options_(std::move(options)) {}

  grpc::Status ReceiveEmail(grpc::ServerContext*, const v1::ReceiveEmailRequest*,
                            v1::ReceiveEmailResponse*) override;
  grpc::Status ListFailedInboundEmails(grpc::ServerContext*, const v1::ListFailedInboundEmailsRequest*,
                                       v1::ListFailedInboundEmailsResponse*) override;

 private:
  absl::StatusOr<v1::ReceiveEmailResponse> Receive(const std::string& raw);

  InboundEmailRepository& repo_;
  const auth::PrincipalSigner& signer_;
  const refs::ClientProfiles& clients_;
  blob::BlobStore& blobs_;
  EventAnnouncer& announcer_;
  PageTokens page_tokens_;
  InboundEmailOptions options_;
};

}  // namespace vetline::conversations
