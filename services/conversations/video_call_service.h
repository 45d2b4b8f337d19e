// Video chat inside conversations (S5), the edge of VideoCallsService: a staff user starts
// a call from an open conversation or from a client profile; the call is created in the
// media service as that staff user (its host), and a staff message carrying the
// invitation (the client's personal join link, also in the text so texts and emails carry
// it) is sent and delivered like any message. The media service is called with no
// database transaction open: its CreateCall checks the conversation id by calling back.
#pragma once

#include <memory>

#include "libs/auth/auth.h"
#include "services/conversations/conversations_service.h"
#include "vetline/conversations/v1/conversations.grpc.pb.h"
#include "vetline/media/v1/media.grpc.pb.h"

namespace vetline::conversations {

// Creating calls in the media service on behalf of a staff caller.
class MediaCalls {
 public:
  virtual ~MediaCalls() = default;
  // Unavailable ("nothing was sent") when media cannot answer; media's own field errors
  // (clientId, conversationId, scheduledStart) otherwise.
  virtual absl::StatusOr<media::v1::CreateCallResponse> Create(
      const api::Principal& caller, const media::v1::CreateCallRequest& req) const = 0;
};

// MediaService.CreateCall over a shared channel, the caller's principal re-signed (media
// makes the principal's user the host), with a deadline.
class GrpcMediaCalls final : public MediaCalls {
 public:
  GrpcMediaCalls(std::shared_ptr<grpc::ChannelInterface> media, auth::PrincipalSigner signer,
                 absl::Duration deadline = absl::Seconds(5));
  absl::StatusOr<media::v1::CreateCallResponse> Create(
      const api::Principal& caller, const media::v1::CreateCallRequest& req) const override;

 private:
  std::unique_ptr<media::v1::MediaService::Stub> stub_;
  auth::PrincipalSigner signer_;
  absl::Duration deadline_;
};

class VideoCallService final : public v1::VideoCallsService::Service {
 public:
  // `media` may be null (no media service configured): starting a call is then Unavailable.
  VideoCallService(ConversationsService& inbox, ConversationsRepository& repo,
                   const auth::PrincipalSigner& signer, const MediaCalls* media)
      : inbox_(inbox), repo_(repo), signer_(signer), media_(media) {}

  grpc::Status StartVideoCall(grpc::ServerContext*, const v1::StartVideoCallRequest*,
                              v1::VideoCallStarted*) override;
  grpc::Status StartClientVideoCall(grpc::ServerContext*, const v1::StartClientVideoCallRequest*,
                                    v1::VideoCallStarted*) override;

 private:
  absl::Status Start(const api::Principal& caller, const std::string& conversation_id,
                     const google::protobuf::Timestamp* scheduled_start, const std::string& text,
                     v1::VideoCallStarted* out);

  ConversationsService& inbox_;
  ConversationsRepository& repo_;
  const auth::PrincipalSigner& signer_;
  const MediaCalls* media_;
};

}  // namespace vetline::conversations
