// The inbox's settings edge (ConversationSettingsService): the clinic's conversation
// statuses (admins change them), message templates (staff), rendering a template for one
// conversation with values from the clients service and identity, and the clinic's texting
// number (admins).
#pragma once

#include "libs/auth/auth.h"
#include "libs/refs/refs.h"
#include "services/conversations/conversations_repository.h"
#include "vetline/conversations/v1/conversations.grpc.pb.h"

namespace vetline::conversations {

class SettingsService final : public v1::ConversationSettingsService::Service {
 public:
  SettingsService(ConversationsRepository& repo, const auth::PrincipalSigner& signer,
                  const refs::ClientProfiles& clients, const refs::StaffRefs& staff)
      : repo_(repo), signer_(signer), clients_(clients), staff_(staff) {}

  grpc::Status ListStatuses(grpc::ServerContext*, const v1::ListStatusesRequest*,
                            v1::ListStatusesResponse*) override;
  grpc::Status CreateStatus(grpc::ServerContext*, const v1::CreateStatusRequest*,
                            v1::ConversationStatus*) override;
  grpc::Status UpdateStatus(grpc::ServerContext*, const v1::UpdateStatusRequest*,
                            v1::ConversationStatus*) override;
  grpc::Status DeleteStatus(grpc::ServerContext*, const v1::DeleteStatusRequest*,
                            v1::DeleteStatusResponse*) override;
  grpc::Status ListTemplates(grpc::ServerContext*, const v1::ListTemplatesRequest*,
                             v1::ListTemplatesResponse*) override;
  grpc::Status CreateTemplate(grpc::ServerContext*, const v1::CreateTemplateRequest*,
                              v1::MessageTemplate*) override;
  grpc::Status UpdateTemplate(grpc::ServerContext*, const v1::UpdateTemplateRequest*,
                              v1::MessageTemplate*) override;
  grpc::Status DeleteTemplate(grpc::ServerContext*, const v1::DeleteTemplateRequest*,
                              v1::DeleteTemplateResponse*) override;
  grpc::Status RenderTemplate(grpc::ServerContext*, const v1::RenderTemplateRequest*,
                              v1::RenderTemplateResponse*) override;
  grpc::Status GetConversationSettings(grpc::ServerContext*,
                                       const v1::GetConversationSettingsRequest*,
                                       v1::ConversationSettings*) override;
  grpc::Status UpdateConversationSettings(grpc::ServerContext*,
                                          const v1::UpdateConversationSettingsRequest*,
                                          v1::ConversationSettings*) override;

 private:
  ConversationsRepository& repo_;
  const auth::PrincipalSigner& signer_;
  const refs::ClientProfiles& clients_;
  const refs::StaffRefs& staff_;
};

}  // namespace vetline::conversations
