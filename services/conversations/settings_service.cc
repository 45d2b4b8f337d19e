#include "services/conversations/settings_service.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"
#include "services/conversations/inbox_rules.h"
#include "services/conversations/message_templates.h"

namespace vetline::conversations {
namespace {

constexpr size_t kMaxStatusName = 60;
constexpr size_t kMaxTemplateName = 100;
constexpr int kMaxPosition = 1000;
constexpr char kDefaultColor[] = "#6b7280";

absl::Status CheckPosition(int position) {
  if (position < 0 || position > kMaxPosition) {
    return InvalidField("position", "position must be between 0 and 1000");
  }
  return absl::OkStatus();
}

// A template body: like a message's text, then only known variables.
absl::Status CheckBody(const std::string& body) {
  absl::Status text = rules::CheckMessage(body, 0);
  if (!text.ok()) return InvalidField("body", absl::StrReplaceAll(text.message(), {{"text", "body"}}));
  return CheckTemplate(body, "body");
}

// The clinic's texting number: E.164, "+" and 8 to 15 digits (separators dropped).
absl::StatusOr<std::string> SmsFromNumber(const std::string& value) {
  constexpr char kField[] = "smsFromNumber";
  VL_ASSIGN_OR_RETURN(std::string number, validate::Phone(kField, value));
  if (number.size() < 9) {
    return InvalidField(kField, "smsFromNumber must be + and 8 to 15 digits, e.g. +15551234567");
  }
  return number;
}

}  // namespace

grpc::Status SettingsService::ListStatuses(grpc::ServerContext* ctx, const v1::ListStatusesRequest*,
                                           v1::ListStatusesResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(auto statuses, repo_.ListStatuses(p.clinic_id()));
    for (auto& s : statuses) *resp->add_statuses() = std::move(s);
    return absl::OkStatus();
  }());
}

grpc::Status SettingsService::CreateStatus(grpc::ServerContext* ctx,
                                           const v1::CreateStatusRequest* req,
                                           v1::ConversationStatus* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    v1::ConversationStatus s;
    VL_ASSIGN_OR_RETURN(*s.mutable_name(), validate::Name("name", req->name(), kMaxStatusName));
    if (req->color().empty()) {
      s.set_color(kDefaultColor);
    } else {
      VL_RETURN_IF_ERROR(rules::CheckColor("color", req->color()));
      s.set_color(absl::AsciiStrToLower(req->color()));
    }
    VL_RETURN_IF_ERROR(CheckPosition(req->position()));
    s.set_position(req->position());
    s.set_closed(req->closed());
    VL_ASSIGN_OR_RETURN(*out, repo_.CreateStatus(p.clinic_id(), s));
    return absl::OkStatus();
  }());
}

grpc::Status SettingsService::UpdateStatus(grpc::ServerContext* ctx,
                                           const v1::UpdateStatusRequest* req,
                                           v1::ConversationStatus* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    StatusChange ch;
    if (!req->name().empty()) {
      VL_ASSIGN_OR_RETURN(ch.name, validate::Name("name", req->name(), kMaxStatusName));
    }
    if (!req->color().empty()) {
      VL_RETURN_IF_ERROR(rules::CheckColor("color", req->color()));
      ch.color = absl::AsciiStrToLower(req->color());
    }
    if (req->set_position()) {
      VL_RETURN_IF_ERROR(CheckPosition(req->position()));
      ch.position = req->position();
    } else if (req->position() != 0) {
      return InvalidField("setPosition", "set setPosition to true to change the position");
    }
    if (req->set_closed()) ch.closed = req->closed();
    if (req->set_retired()) ch.retired = req->retired();
    VL_ASSIGN_OR_RETURN(*out, repo_.UpdateStatus(p.clinic_id(), req->id(), ch));
    return absl::OkStatus();
  }());
}

grpc::Status SettingsService::DeleteStatus(grpc::ServerContext* ctx,
                                           const v1::DeleteStatusRequest* req,
                                           v1::DeleteStatusResponse*) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    return repo_.DeleteStatus(p.clinic_id(), req->id());
  }());
}

grpc::Status SettingsService::ListTemplates(grpc::ServerContext* ctx,
                                            const v1::ListTemplatesRequest*,
                                            v1::ListTemplatesResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(auto templates, repo_.ListTemplates(p.clinic_id()));
    for (auto& t : templates) *resp->add_templates() = std::move(t);
    return absl::OkStatus();
  }());
}

grpc::Status SettingsService::CreateTemplate(grpc::ServerContext* ctx,
                                             const v1::CreateTemplateRequest* req,
                                             v1::MessageTemplate* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(std::string name, validate::Name("name", req->name(), kMaxTemplateName));
    VL_RETURN_IF_ERROR(CheckBody(req->body()));
    VL_ASSIGN_OR_RETURN(*out, repo_.CreateTemplate(p.clinic_id(), name, req->body()));
    return absl::OkStatus();
  }());
}

grpc::Status SettingsService::UpdateTemplate(grpc::ServerContext* ctx,
                                             const v1::UpdateTemplateRequest* req,
                                             v1::MessageTemplate* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    std::optional<std::string> name, body;
    if (!req->name().empty()) {
      VL_ASSIGN_OR_RETURN(name, validate::Name("name", req->name(), kMaxTemplateName));
    }
    if (!req->body().empty()) {
      VL_RETURN_IF_ERROR(CheckBody(req->body()));
      body = req->body();
    }
    VL_ASSIGN_OR_RETURN(*out, repo_.UpdateTemplate(p.clinic_id(), req->id(), name, body));
    return absl::OkStatus();
  }());
}

grpc::Status SettingsService::DeleteTemplate(grpc::ServerContext* ctx,
                                             const v1::DeleteTemplateRequest* req,
                                             v1::DeleteTemplateResponse*) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    return repo_.DeleteTemplate(p.clinic_id(), req->id());
  }());
}

grpc::Status SettingsService::RenderTemplate(grpc::ServerContext* ctx,
                                             const v1::RenderTemplateRequest* req,
                                             v1::RenderTemplateResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("conversationId", req->conversation_id()));
    VL_RETURN_IF_ERROR(validate::Id("templateId", req->template_id()));
    VL_ASSIGN_OR_RETURN(v1::MessageTemplate t, repo_.GetTemplate(p.clinic_id(), req->template_id()));
    Viewer staff{.clinic_id = p.clinic_id(), .user_id = p.user_id()};
    VL_ASSIGN_OR_RETURN(ConversationRecord conv,
                        repo_.GetConversation(staff, req->conversation_id()));
    // Only the values the template uses are fetched.
    bool client_values = false, clinic_values = false;
    for (const std::string& v : VariablesIn(t.body())) {
      client_values |= absl::StartsWith(v, "client.") || absl::StartsWith(v, "pet.");
      clinic_values |= absl::StartsWith(v, "clinic.");
    }
    std::map<std::string, std::string> values;
    if (client_values && !conv.conversation.client_id().empty()) {
      VL_ASSIGN_OR_RETURN(clients::v1::Client c,
                          clients_.Get(p, "conversationId", conv.conversation.client_id()));
      values["client.first_name"] = c.first_name();
      values["client.last_name"] = c.last_name();
      for (const auto& pet : c.pets()) {
        if (pet.id() == conv.conversation.pet_id()) values["pet.name"] = pet.name();
      }
    }
    if (clinic_values) {
      VL_ASSIGN_OR_RETURN(identity::v1::Clinic clinic, staff_.Clinic(p));
      values["clinic.name"] = clinic.name();
      values["clinic.phone"] = clinic.phone();
    }
    VL_ASSIGN_OR_RETURN(*resp->mutable_text(), conversations::RenderTemplate(t.body(), values, "templateId"));
    return absl::OkStatus();
  }());
}

grpc::Status SettingsService::GetConversationSettings(grpc::ServerContext* ctx,
                                                      const v1::GetConversationSettingsRequest*,
                                                      v1::ConversationSettings* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(*out, repo_.GetSettings(p.clinic_id()));
    return absl::OkStatus();
  }());
}

grpc::Status SettingsService::UpdateConversationSettings(
    grpc::ServerContext* ctx, const v1::UpdateConversationSettingsRequest* req,
    v1::ConversationSettings* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    std::string number;  // empty: the clinic stops texting
    if (!req->sms_from_number().empty()) {
      VL_ASSIGN_OR_RETURN(number, SmsFromNumber(req->sms_from_number()));
    }
    VL_ASSIGN_OR_RETURN(*out, repo_.SetSmsFromNumber(p.clinic_id(), number));
    return absl::OkStatus();
  }());
}

}  // namespace vetline::conversations
