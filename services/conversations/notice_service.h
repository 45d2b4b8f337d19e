// NoticesService (notices.proto): a one-off text or email to a phone or address with the
// clinic's channels, outside any conversation (a booking's one-time code). Service
// principals only; sent before the call answers, through the same adapters the delivery
// worker uses.
#pragma once

#include "libs/auth/auth.h"
#include "libs/refs/refs.h"
#include "services/conversations/delivery_worker.h"
#include "services/conversations/requested_repository.h"
#include "vetline/conversations/v1/notices.grpc.pb.h"

namespace vetline::conversations {

class NoticeService final : public v1::NoticesService::Service {
 public:
  NoticeService(RequestedRepository& repo, const refs::StaffRefs& clinics, DeliverySenders senders,
                auth::PrincipalSigner signer, std::string email_from)
      : repo_(repo), clinics_(clinics), senders_(senders), signer_(signer),
        email_from_(std::move(email_from)) {}

  grpc::Status SendNotice(grpc::ServerContext* ctx, const v1::SendNoticeRequest* req,
                          v1::SendNoticeResponse* resp) override;

 private:
  RequestedRepository& repo_;
  const refs::StaffRefs& clinics_;
  DeliverySenders senders_;
  auth::PrincipalSigner signer_;
  std::string email_from_;  // when the clinic set no sender address
};

}  // namespace vetline::conversations
