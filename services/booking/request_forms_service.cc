#include "services/booking/request_forms_service.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/ids.h"
#include "libs/core/status.h"
#include "libs/core/time.h"
#include "libs/core/validate.h"
#include "libs/core/validate_enum.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"
#include "nlohmann/json.hpp"
#include "services/booking/request_forms_rules.h"

namespace vetline::booking {
namespace {

constexpr char kRequestList[] = "booking.form_requests";
constexpr size_t kMaxFormNameChars = 100;
constexpr size_t kMaxDescriptionBytes = 2000;
constexpr size_t kMaxContactNameChars = 100;

absl::Status Description(const std::string& value) {
  if (!validate::IsUtf8(value) || value.size() > kMaxDescriptionBytes || value.find('\0') != std::string::npos) {
    return InvalidField("description", absl::StrCat("description must be text of at most ", kMaxDescriptionBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status OptionalId(std::string_view field, const std::string& id) {
  return id.empty() ? absl::OkStatus() : validate::Id(field, id);
}

// A phone number (E.164 after clean-up) or an email address.
absl::StatusOr<std::string> Contact(const std::string& value) {
  if (absl::StrContains(value, "@")) return validate::Email("contact", value);
  auto phone = validate::Phone("contact", value);
  if (!phone.ok()) return InvalidField("contact", "contact must be a phone number or an email address");
  return phone;
}

v1::PublicRequestForm PublicOf(const v1::RequestForm& f) {
  v1::PublicRequestForm p;
  p.set_id(f.id());
  p.set_name(f.name());
  p.set_description(f.description());
  *p.mutable_questions() = f.questions();
  *p.mutable_rules() = f.rules();
  return p;
}

// What staff read in the conversation the request opens.
std::string StaffText(const v1::RequestForm& form, const v1::FormRequest& r, bool camera_confirmed) {
  std::string text = absl::StrCat("Request: ", form.name());
  for (const v1::FormRequestAnswer& a : r.answers()) absl::StrAppend(&text, "\n", a.label(), ": ", a.value());
  if (form.rules().requires_camera_and_microphone() && camera_confirmed) {
    absl::StrAppend(&text, "\nHas a camera and a microphone: confirmed");
  }
  if (!r.contact().empty()) {
    absl::StrAppend(&text, "\nContact: ", r.contact(), r.contact_verified() ? " (verified)" : " (not verified)");
  }
  return text;
}

}  // namespace

grpc::Status RequestFormsService::ListRequestForms(grpc::ServerContext* ctx, const v1::ListRequestFormsRequest*,
                                                   v1::ListRequestFormsResponse* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(auto forms, repo_.ListForms(p.clinic_id(), false));
    for (auto& f : forms) *out->add_request_forms() = std::move(f);
    return absl::OkStatus();
  }());
}

grpc::Status RequestFormsService::GetRequestForm(grpc::ServerContext* ctx, const v1::GetRequestFormRequest* req,
                                                 v1::RequestForm* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_ASSIGN_OR_RETURN(*out, repo_.GetForm(p.clinic_id(), req->id(), false, "id"));
    return absl::OkStatus();
  }());
}

grpc::Status RequestFormsService::CreateRequestForm(grpc::ServerContext* ctx,
                                                    const v1::CreateRequestFormRequest* req, v1::RequestForm* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    v1::RequestForm f;
    VL_ASSIGN_OR_RETURN(*f.mutable_name(), validate::Name("name", req->name(), kMaxFormNameChars));
    VL_RETURN_IF_ERROR(Description(req->description()));
    f.set_description(req->description());
    f.set_active(req->active());
    VL_ASSIGN_OR_RETURN(auto questions, CheckQuestions("questions", req->questions(), {}));
    for (auto& q : questions) *f.add_questions() = std::move(q);
    VL_RETURN_IF_ERROR(CheckRules(req->rules()));
    *f.mutable_rules() = req->rules();
    VL_ASSIGN_OR_RETURN(*out, repo_.CreateForm(p.clinic_id(), f));
    return absl::OkStatus();
  }());
}

grpc::Status RequestFormsService::UpdateRequestForm(grpc::ServerContext* ctx,
                                                    const v1::UpdateRequestFormRequest* req, v1::RequestForm* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    std::optional<std::string> name;
    if (req->has_name()) {
      VL_ASSIGN_OR_RETURN(name, validate::Name("name", req->name(), kMaxFormNameChars));
    }
    if (req->has_description()) {
      VL_RETURN_IF_ERROR(Description(req->description()));
    }
    if (req->has_rules()) {
      VL_RETURN_IF_ERROR(CheckRules(req->rules()));
    }
    VL_ASSIGN_OR_RETURN(*out, repo_.UpdateForm(p.clinic_id(), req->id(), [&](v1::RequestForm& f) -> absl::Status {
      if (req->has_questions()) {
        std::set<std::string> existing;
        for (const auto& q : f.questions()) existing.insert(q.id());
        VL_ASSIGN_OR_RETURN(auto questions, CheckQuestions("questions.questions", req->questions().questions(), existing));
        f.clear_questions();
        for (auto& q : questions) *f.add_questions() = std::move(q);
      }
      if (name) f.set_name(*name);
      if (req->has_description()) f.set_description(req->description());
      if (req->has_active()) f.set_active(req->active());
      if (req->has_rules()) *f.mutable_rules() = req->rules();
      return absl::OkStatus();
    }));
    return absl::OkStatus();
  }());
}

grpc::Status RequestFormsService::DeleteRequestForm(grpc::ServerContext* ctx,
                                                    const v1::DeleteRequestFormRequest* req,
                                                    v1::DeleteRequestFormResponse*) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    return repo_.DeleteForm(p.clinic_id(), req->id());
  }());
}

grpc::Status RequestFormsService::ListFormRequests(grpc::ServerContext* ctx, const v1::ListFormRequestsRequest* req,
                                                   v1::ListFormRequestsResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("formId", req->form_id()));
    VL_RETURN_IF_ERROR(validate::OptionalEnum("status", req->status()));
    VL_ASSIGN_OR_RETURN(int size, validate::PageSize("pageSize", req->page_size()));
    const std::string scope = absl::StrCat(p.clinic_id(), "/", req->form_id());
    std::optional<std::pair<absl::Time, std::string>> after;
    if (!req->page_token().empty()) {
      VL_ASSIGN_OR_RETURN(auto c, page_tokens_.Decode("pageToken", req->page_token(), kRequestList, scope, 2));
      absl::Time t;
      std::string err;
      if (!absl::ParseTime(absl::RFC3339_full, c[0], &t, &err)) return InvalidField("pageToken", "pageToken is not valid");
      after = {t, c[1]};
    }
    std::optional<std::string> status;
    if (req->status() != v1::FORM_REQUEST_STATUS_UNSPECIFIED) status = req->status() == v1::HANDLED ? "handled" : "new";
    VL_ASSIGN_OR_RETURN(auto rows, repo_.ListRequests(p.clinic_id(), req->form_id(), status, after, size + 1));
    const bool more = static_cast<int>(rows.size()) > size;
    if (more) rows.pop_back();
    for (auto& r : rows) *resp->add_requests() = std::move(r);
    if (more) {
      const v1::FormRequest& last = *resp->requests().rbegin();
      resp->set_next_page_token(page_tokens_.Encode(
          kRequestList, scope,
          {absl::FormatTime(absl::RFC3339_full, FromTimestamp(last.create_time()), absl::UTCTimeZone()), last.id()}));
    }
    return absl::OkStatus();
  }());
}

grpc::Status RequestFormsService::UpdateFormRequest(grpc::ServerContext* ctx, const v1::UpdateFormRequestRequest* req,
                                                    v1::FormRequest* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("formId", req->form_id()));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_RETURN_IF_ERROR(validate::Enum("status", req->status()));
    VL_ASSIGN_OR_RETURN(*out, repo_.SetRequestStatus(p.clinic_id(), req->form_id(), req->id(),
                                                     req->status() == v1::HANDLED ? "handled" : "new", p.user_id()));
    return absl::OkStatus();
  }());
}

grpc::Status RequestFormsService::ListPublicRequestForms(grpc::ServerContext*,
                                                         const v1::ListPublicRequestFormsRequest* req,
                                                         v1::ListPublicRequestFormsResponse* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(validate::Id("clinicId", req->clinic_id()));
    VL_ASSIGN_OR_RETURN(auto forms, repo_.ListForms(req->clinic_id(), true));
    for (const auto& f : forms) *out->add_request_forms() = PublicOf(f);
    return absl::OkStatus();
  }());
}

grpc::Status RequestFormsService::GetPublicRequestForm(grpc::ServerContext*,
                                                       const v1::GetPublicRequestFormRequest* req,
                                                       v1::PublicRequestForm* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(validate::Id("clinicId", req->clinic_id()));
    VL_RETURN_IF_ERROR(validate::Id("formId", req->form_id()));
    VL_ASSIGN_OR_RETURN(auto form, repo_.GetForm(req->clinic_id(), req->form_id(), true, "formId"));
    *out = PublicOf(form);
    return absl::OkStatus();
  }());
}

grpc::Status RequestFormsService::SubmitRequest(grpc::ServerContext*, const v1::SubmitFormRequestRequest* req,
                                                v1::SubmitFormRequestResponse* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(validate::Id("clinicId", req->clinic_id()));
    VL_RETURN_IF_ERROR(validate::Id("formId", req->form_id()));
    VL_RETURN_IF_ERROR(OptionalId("petId", req->pet_id()));
    Submitter who{.identity_field = "visitorToken"};
    if (!req->contact_name().empty() || req->visitor_token().empty()) {
      VL_ASSIGN_OR_RETURN(who.contact_name, validate::Name("contactName", req->contact_name(), kMaxContactNameChars));
    }
    if (!req->contact().empty() || req->visitor_token().empty()) {
      if (req->contact().empty()) return InvalidField("contact", "contact (a phone number or email) is required without a visitorToken");
      VL_ASSIGN_OR_RETURN(who.contact, Contact(req->contact()));
    }
    if (!req->visitor_token().empty()) {
      VL_ASSIGN_OR_RETURN(Visitor v, visitors_.Verify(req->visitor_token(), clock_.Now()));
      if (v.clinic_id != req->clinic_id()) {
        return FieldError(absl::StatusCode::kUnauthenticated, "visitorToken", "visitor token invalid");
      }
      if (!who.contact.empty() && who.contact != v.contact) {
        return InvalidField("contact", "contact must be the phone or email the visitor token proved (or empty)");
      }
      who.identified = true;
      who.client_id = v.client_id;
      who.contact = v.contact;
    }
    VL_ASSIGN_OR_RETURN(*out->mutable_request_id(), Submit(who, {.clinic_id = req->clinic_id(),
                                                              .form_id = req->form_id(),
                                                              .pet_id = req->pet_id(),
                                                              .answers = &req->answers(),
                                                              .confirms_camera_and_microphone =
                                                                  req->confirms_camera_and_microphone()}));
    return absl::OkStatus();
  }());
}

grpc::Status RequestFormsService::SubmitPortalRequest(grpc::ServerContext* ctx,
                                                      const v1::SubmitPortalFormRequestRequest* req,
                                                      v1::SubmitFormRequestResponse* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireClient(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("formId", req->form_id()));
    VL_RETURN_IF_ERROR(OptionalId("petId", req->pet_id()));
    Submitter who{.identified = true, .client_id = p.client_id()};
    VL_ASSIGN_OR_RETURN(*out->mutable_request_id(), Submit(who, {.clinic_id = p.clinic_id(),
                                                               .form_id = req->form_id(),
                                                               .pet_id = req->pet_id(),
                                                               .answers = &req->answers(),
                                                               .confirms_camera_and_microphone =
                                                                   req->confirms_camera_and_microphone()}));
    return absl::OkStatus();
  }());
}

// The checks every submission goes through, then the request and its event.
absl::StatusOr<std::string> RequestFormsService::Submit(Submitter who, const Submission& s) {
  VL_ASSIGN_OR_RETURN(v1::RequestForm form, repo_.GetForm(s.clinic_id, s.form_id, true, "formId"));
  VL_ASSIGN_OR_RETURN(auto clinic, settings_.Get(s.clinic_id));
  const absl::Time now = clock_.Now();
  // The client's last visit: the PIMS's last_visit_date on the profile, or the latest
  // appointment booking saw them come to, whichever is later.
  Applicant applicant{.identified = who.identified,
                      .confirms_camera_and_microphone = s.confirms_camera_and_microphone};
  std::optional<clients::v1::Client> client;
  if (!who.client_id.empty()) {
    auto c = clients_.Get(rpc::ServiceForClinic(s.clinic_id), who.identity_field.empty() ? "formId" : who.identity_field,
                          who.client_id);
    if (c.ok()) {
      client = std::move(*c);
    } else if (c.status().code() != absl::StatusCode::kNotFound &&
               c.status().code() != absl::StatusCode::kFailedPrecondition) {
      return c.status();  // a deleted or merged profile is "not a client" below
    }
  }
  if (client) {
    applicant.is_client = true;
    absl::CivilDay d;
    if (!client->last_visit_date().empty() && absl::ParseCivilTime(client->last_visit_date(), &d)) applicant.last_visit = d;
    VL_ASSIGN_OR_RETURN(auto seen, repo_.LastVisit(s.clinic_id, client->id(), now));
    if (seen) {
      const absl::CivilDay local = absl::ToCivilDay(*seen, clinic.zone);
      if (!applicant.last_visit || *applicant.last_visit < local) applicant.last_visit = local;
    }
    who.contact_name = absl::StrCat(client->first_name(), " ", client->last_name());
  }
  VL_RETURN_IF_ERROR(CheckEligibility(form.rules(), applicant, absl::ToCivilDay(now, clinic.zone), who.identity_field));
  VL_ASSIGN_OR_RETURN(auto answers, CheckAnswers({form.questions().begin(), form.questions().end()}, *s.answers));
  if (!s.pet_id.empty()) {
    bool theirs = false;
    if (client) {
      for (const auto& pet : client->pets()) theirs = theirs || pet.id() == s.pet_id;
    }
    if (!theirs) return NotFoundField("petId", "this pet is not one of the client's pets");
  }

  NewFormRequest n{.id = NewUuid()};
  v1::FormRequest& r = n.request;
  r.set_form_id(form.id());
  if (client) r.set_client_id(client->id());
  r.set_pet_id(s.pet_id);
  r.set_contact(who.contact);
  r.set_contact_name(who.contact_name);
  r.set_contact_verified(who.identified);
  for (auto& a : answers) *r.add_answers() = std::move(a);
  // The receipt goes to the visitor only when their contact was proved: an unproved one
  // could be anybody's number.
  const std::string client_text =
      who.identified ? absl::StrCat("We received your request \"", form.name(), "\". The clinic will get back to you.")
                     : "";
  n.event_payload = nlohmann::json{{"clinicId", s.clinic_id},
                                   {"clientId", r.client_id()},
                                   {"petId", r.pet_id()},
                                   {"contact", r.contact()},
                                   {"contactName", r.contact_name()},
                                   {"subject", form.name()},
                                   {"text", StaffText(form, r, s.confirms_camera_and_microphone)},
                                   {"clientText", client_text},
                                   {"requestId", n.id}}
                        .dump();
  VL_ASSIGN_OR_RETURN(v1::FormRequest stored, repo_.CreateRequest(s.clinic_id, n));
  return stored.id();
}

}  // namespace vetline::booking
