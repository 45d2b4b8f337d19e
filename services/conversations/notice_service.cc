#include "services/conversations/notice_service.h"

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"
#include "services/conversations/inbox_rules.h"

namespace vetline::conversations {
namespace {

// A provider's refusal or outage: the caller may try again; its text stays in our logs.
absl::Status NotSent(const channels::SendOutcome& o) {
  log::Warn("notice not sent", {{"reason", o.reason}});
  return absl::UnavailableError("the notice could not be sent right now; try again");
}

}  // namespace

grpc::Status NoticeService::SendNotice(grpc::ServerContext* ctx, const v1::SendNoticeRequest* req,
                                       v1::SendNoticeResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireService(*ctx, signer_));
    if (p.clinic_id().empty() || p.clinic_id() != req->clinic_id()) {
      return absl::PermissionDeniedError("a notice is sent for the caller's own clinic");
    }
    if (req->phone().empty() == req->email().empty()) {
      return InvalidField("phone", "exactly one of phone and email is required");
    }
    VL_RETURN_IF_ERROR(rules::CheckMessage(req->text(), 0));
    VL_ASSIGN_OR_RETURN(ClinicSenders from, repo_.Senders(p.clinic_id()));
    channels::SendOutcome outcome = channels::SendOutcome::Failed("");
    if (!req->phone().empty()) {
      VL_ASSIGN_OR_RETURN(std::string to, validate::Phone("phone", req->phone()));
      if (!senders_.sms || from.sms_from.empty()) {
        return absl::FailedPreconditionError("the clinic cannot send texts; use an email address");
      }
      outcome = senders_.sms->Send({.from = from.sms_from, .to = to, .body = req->text()});
      resp->set_channel("text");
    } else {
      VL_ASSIGN_OR_RETURN(std::string to, validate::Email("email", req->email()));
      const std::string address = from.email_from_address.empty() ? email_from_ : from.email_from_address;
      if (!senders_.email || address.empty()) {
        return absl::FailedPreconditionError("the clinic cannot send emails; use a phone number");
      }
      std::string name = from.email_from_name;
      if (name.empty()) {
        auto clinic = clinics_.Clinic(p);
        if (clinic.ok()) name = clinic->name();
      }
      channels::Email e;
      e.from = {.name = name, .address = address};
      e.to = {.name = "", .address = to};
      e.subject = req->subject().empty() ? "A message from your veterinary clinic" : req->subject();
      e.text = absl::StrCat(req->text(), "\n");
      outcome = senders_.email->Send(e);
      resp->set_channel("email");
    }
    if (outcome.kind != channels::SendOutcome::kSent) return NotSent(outcome);
    return absl::OkStatus();
  }());
}

}  // namespace vetline::conversations
