// RequestFormsService (request_forms.proto): admins edit a clinic's request forms, staff
// read the requests; the website widget lists, fetches and submits forms on anonymous
// routes, the visitor proving who they are with a visitor token (or the portal sign-in).
// A submitted request is stored with the conversation.requested event that opens a
// conversation for the clinic's staff, in one transaction.
#pragma once

#include "libs/auth/auth.h"
#include "libs/core/clock.h"
#include "libs/core/page_token.h"
#include "libs/refs/refs.h"
#include "services/booking/clinic_settings.h"
#include "services/booking/request_forms_repository.h"
#include "services/booking/visitor_token.h"
#include "vetline/booking/v1/request_forms.grpc.pb.h"

namespace vetline::booking {

class RequestFormsService final : public v1::RequestFormsService::Service {
 public:
  RequestFormsService(RequestFormsRepository& repo, const ClinicSettingsSource& settings,
                      const refs::ClientProfiles& clients, const auth::PrincipalSigner& signer,
                      const VisitorTokens& visitors, PageTokens page_tokens, const Clock& clock)
      : repo_(repo), settings_(settings), clients_(clients), signer_(signer), visitors_(visitors),
        page_tokens_(std::move(page_tokens)), clock_(clock) {}

  grpc::Status ListRequestForms(grpc::ServerContext*, const v1::ListRequestFormsRequest*,
                                v1::ListRequestFormsResponse*) override;
  grpc::Status GetRequestForm(grpc::ServerContext*, const v1::GetRequestFormRequest*, v1::RequestForm*) override;
  grpc::Status CreateRequestForm(grpc::ServerContext*, const v1::CreateRequestFormRequest*, v1::RequestForm*) override;
  grpc::Status UpdateRequestForm(grpc::ServerContext*, const v1::UpdateRequestFormRequest*, v1::RequestForm*) override;
  grpc::Status DeleteRequestForm(grpc::ServerContext*, const v1::DeleteRequestFormRequest*,
                                 v1::DeleteRequestFormResponse*) override;
  grpc::Status ListFormRequests(grpc::ServerContext*, const v1::ListFormRequestsRequest*,
                                v1::ListFormRequestsResponse*) override;
  grpc::Status UpdateFormRequest(grpc::ServerContext*, const v1::UpdateFormRequestRequest*, v1::FormRequest*) override;
  grpc::Status ListPublicRequestForms(grpc::ServerContext*, const v1::ListPublicRequestFormsRequest*,
                                      v1::ListPublicRequestFormsResponse*) override;
  grpc::Status GetPublicRequestForm(grpc::ServerContext*, const v1::GetPublicRequestFormRequest*,
                                    v1::PublicRequestForm*) override;
  grpc::Status SubmitRequest(grpc::ServerContext*, const v1::SubmitFormRequestRequest*,
                             v1::SubmitFormRequestResponse*) override;
  grpc::Status SubmitPortalRequest(grpc::ServerContext*, const v1::SubmitPortalFormRequestRequest*,
                                   v1::SubmitFormRequestResponse*) override;

  // Who submits: proved (visitor token, portal) or only claimed (contact typed in).
  struct Submitter {
    bool identified = false;
    std::string client_id;  // empty: not a client
    std::string contact, contact_name;
    std::string identity_field;  // the request field naming who it is ("" on the portal)
  };
  struct Submission {
    std::string clinic_id, form_id, pet_id;
    const google::protobuf::RepeatedPtrField<v1::FormAnswer>* answers = nullptr;
    bool confirms_camera_and_microphone = false;
  };

 private:
  absl::StatusOr<std::string> Submit(Submitter who, const Submission& s);

  RequestFormsRepository& repo_;
  const ClinicSettingsSource& settings_;
  const refs::ClientProfiles& clients_;
  const auth::PrincipalSigner& signer_;
  const VisitorTokens& visitors_;
  PageTokens page_tokens_;
  const Clock& clock_;
};

}  // namespace vetline::booking
