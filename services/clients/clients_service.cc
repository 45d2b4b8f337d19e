#include "services/clients/clients_service.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/time.h"
#include "libs/core/validate.h"
#include "libs/core/validate_enum.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"
#include "services/clients/sync_records.h"

namespace vetline::clients {
namespace {

constexpr int kMaxErrorsReturned = 1000;
constexpr int kMaxPhonesOrEmails = 20;  // per new profile; more are added one by one

// `number_field` and `type_field` name the fields in errors ("phones" for both inside
// CreateClient's list, "number" and "type" in AddPhone). An absent type is OTHER.
absl::StatusOr<NewPhone> CheckPhone(std::string_view number_field, std::string_view type_field,
                                    const std::string& number, v1::PhoneType type, bool texting,
                                    bool primary) {
  NewPhone p;
  VL_ASSIGN_OR_RETURN(p.number, validate::Phone(number_field, number));
  VL_RETURN_IF_ERROR(validate::OptionalEnum(type_field, type));
  p.type = PhoneTypeText(type);
  p.texting_capable = texting;
  p.primary = primary;
  return p;
}

}  // namespace

grpc::Status ClientsService::SearchClients(grpc::ServerContext* ctx,
                                           const v1::SearchClientsRequest* req,
                                           v1::SearchClientsResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    // Also conversations' webhooks, acting for the clinic (who texted in).
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireClinicStaffOrService(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(int size, validate::PageSize("pageSize", req->page_size()));
    VL_ASSIGN_OR_RETURN(SearchQuery q, ParseSearchQuery(req->query()));
    VL_ASSIGN_OR_RETURN(auto found, repo_.Search(p.clinic_id(), q, size));
    for (auto& c : found) *resp->add_clients() = std::move(c);
    return absl::OkStatus();
  }());
}

grpc::Status ClientsService::CreateClient(grpc::ServerContext* ctx,
                                          const v1::CreateClientRequest* req, v1::Client* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    // Also booking, creating a new client who booked online (direct booking).
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireClinicStaffOrService(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(std::string first, validate::Name("firstName", req->first_name()));
    VL_ASSIGN_OR_RETURN(std::string last, validate::Name("lastName", req->last_name()));
    if (req->phones_size() > kMaxPhonesOrEmails) {
      return InvalidField("phones", "a new profile can have at most 20 phone numbers");
    }
    if (req->emails_size() > kMaxPhonesOrEmails) {
      return InvalidField("emails", "a new profile can have at most 20 email addresses");
    }
    std::vector<NewPhone> phones;
    int primaries = 0;
    for (const v1::Phone& ph : req->phones()) {
      VL_ASSIGN_OR_RETURN(NewPhone n, CheckPhone("phones", "phones", ph.number(), ph.type(),
                                                 ph.texting_capable(), ph.primary()));
      for (const NewPhone& earlier : phones) {
        if (earlier.number == n.number) {
          return AlreadyExistsField("phones", "the same number is listed twice");
        }
      }
      primaries += n.primary;
      phones.push_back(std::move(n));
    }
    if (primaries > 1) return InvalidField("phones", "only one phone number can be primary");
    std::vector<std::pair<std::string, bool>> emails;
    primaries = 0;
    for (const v1::Email& e : req->emails()) {
      VL_ASSIGN_OR_RETURN(std::string a, validate::Email("emails", e.address()));
      for (const auto& earlier : emails) {
        if (earlier.first == a) {
          return AlreadyExistsField("emails", "the same email address is listed twice");
        }
      }
      primaries += e.primary();
      emails.emplace_back(a, e.primary());
    }
    if (primaries > 1) return InvalidField("emails", "only one email address can be primary");
    VL_ASSIGN_OR_RETURN(*out, repo_.Create(p.clinic_id(), first, last, phones, emails, p.user_id()));
    return absl::OkStatus();
  }());
}

grpc::Status ClientsService::GetClient(grpc::ServerContext* ctx, const v1::GetClientRequest* req,
                                       v1::Client* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    // Also conversations' webhooks, acting for the clinic (whose reply this is).
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireClinicStaffOrService(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_ASSIGN_OR_RETURN(*out, repo_.Get(p.clinic_id(), req->id()));
    return absl::OkStatus();
  }());
}

grpc::Status ClientsService::BatchGetClients(grpc::ServerContext* ctx, const v1::BatchGetClientsRequest* req,
                                             v1::BatchGetClientsResponse* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireClinicStaffOrService(*ctx, signer_));
    if (req->ids().empty()) return InvalidField("ids", "name at least one client id");
    if (req->ids_size() > 100) return InvalidField("ids", "at most 100 client ids at once");
    std::vector<std::string> ids(req->ids().begin(), req->ids().end());
    for (size_t i = 0; i < ids.size(); ++i) {
      VL_RETURN_IF_ERROR(validate::Id(absl::StrCat("ids[", i, "]"), ids[i]));
    }
    VL_ASSIGN_OR_RETURN(std::vector<v1::Client> clients, repo_.Load(p.clinic_id(), ids, "ids"));
    for (v1::Client& c : clients) *out->add_clients() = std::move(c);
    return absl::OkStatus();
  }());
}

grpc::Status ClientsService::UpdateClient(grpc::ServerContext* ctx,
                                          const v1::UpdateClientRequest* req, v1::Client* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    std::optional<std::string> first, last;
    if (!req->first_name().empty()) {
      VL_ASSIGN_OR_RETURN(first, validate::Name("firstName", req->first_name()));
    }
    if (!req->last_name().empty()) {
      VL_ASSIGN_OR_RETURN(last, validate::Name("lastName", req->last_name()));
    }
    std::optional<bool> nps;
    if (req->set_nps_survey_enabled()) nps = req->nps_survey_enabled();
    VL_RETURN_IF_ERROR(repo_.Update(p.clinic_id(), req->id(), first, last, nps));
    VL_ASSIGN_OR_RETURN(*out, repo_.Get(p.clinic_id(), req->id()));
    return absl::OkStatus();
  }());
}

grpc::Status ClientsService::AddPhone(grpc::ServerContext* ctx, const v1::AddPhoneRequest* req,
                                      v1::Client* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("clientId", req->client_id()));
    VL_ASSIGN_OR_RETURN(NewPhone n, CheckPhone("number", "type", req->number(), req->type(),
                                               req->texting_capable(), req->primary()));
    VL_RETURN_IF_ERROR(repo_.AddPhone(p.clinic_id(), req->client_id(), n, p.user_id()));
    VL_ASSIGN_OR_RETURN(*out, repo_.Get(p.clinic_id(), req->client_id()));
    return absl::OkStatus();
  }());
}

grpc::Status ClientsService::UpdatePhone(grpc::ServerContext* ctx,
                                         const v1::UpdatePhoneRequest* req, v1::Client* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("clientId", req->client_id()));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_RETURN_IF_ERROR(validate::OptionalEnum("type", req->type()));
    std::optional<std::string> type;
    if (req->type() != v1::PHONE_TYPE_UNSPECIFIED) type = PhoneTypeText(req->type());
    VL_RETURN_IF_ERROR(repo_.UpdatePhone(p.clinic_id(), req->client_id(), req->id(), type,
                                         req->texting_capable()));
    VL_ASSIGN_OR_RETURN(*out, repo_.Get(p.clinic_id(), req->client_id()));
    return absl::OkStatus();
  }());
}

grpc::Status ClientsService::SetPrimaryPhone(grpc::ServerContext* ctx,
                                             const v1::SetPrimaryPhoneRequest* req,
                                             v1::Client* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("clientId", req->client_id()));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_RETURN_IF_ERROR(repo_.SetPrimaryPhone(p.clinic_id(), req->client_id(), req->id(), p.user_id()));
    VL_ASSIGN_OR_RETURN(*out, repo_.Get(p.clinic_id(), req->client_id()));
    return absl::OkStatus();
  }());
}

grpc::Status ClientsService::RemovePhone(grpc::ServerContext* ctx,
                                         const v1::RemovePhoneRequest* req, v1::Client* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("clientId", req->client_id()));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_RETURN_IF_ERROR(repo_.RemovePhone(p.clinic_id(), req->client_id(), req->id()));
    VL_ASSIGN_OR_RETURN(*out, repo_.Get(p.clinic_id(), req->client_id()));
    return absl::OkStatus();
  }());
}

grpc::Status ClientsService::AddEmail(grpc::ServerContext* ctx, const v1::AddEmailRequest* req,
                                      v1::Client* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("clientId", req->client_id()));
    VL_ASSIGN_OR_RETURN(std::string address, validate::Email("address", req->address()));
    VL_RETURN_IF_ERROR(repo_.AddEmail(p.clinic_id(), req->client_id(), address, req->primary()));
    VL_ASSIGN_OR_RETURN(*out, repo_.Get(p.clinic_id(), req->client_id()));
    return absl::OkStatus();
  }());
}

grpc::Status ClientsService::AddPet(grpc::ServerContext* ctx, const v1::AddPetRequest* req,
                                    v1::Pet* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireClinicStaffOrService(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("clientId", req->client_id()));
    v1::Pet pet;
    VL_ASSIGN_OR_RETURN(*pet.mutable_name(), validate::Name("name", req->name(), 100));
    for (auto [field, value, target] :
         {std::tuple{"species", &req->species(), pet.mutable_species()},
          std::tuple{"breed", &req->breed(), pet.mutable_breed()},
          std::tuple{"sex", &req->sex(), pet.mutable_sex()}}) {
      if (value->empty()) continue;
      VL_ASSIGN_OR_RETURN(*target, validate::Name(field, *value, 100));
    }
    if (!IsIsoDate(req->birth_date())) return InvalidField("birthDate", "birthDate must be YYYY-MM-DD");
    pet.set_birth_date(req->birth_date());
    VL_ASSIGN_OR_RETURN(*out, repo_.AddPet(p.clinic_id(), req->client_id(), pet));
    return absl::OkStatus();
  }());
}

grpc::Status ClientsService::UpdateContactOptions(grpc::ServerContext* ctx,
                                                  const v1::UpdateContactOptionsRequest* req,
                                                  v1::Client* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("clientId", req->client_id()));
    VL_RETURN_IF_ERROR(repo_.SetContactOptions(p.clinic_id(), req->client_id(), req->email_enabled(),
                                               req->text_enabled()));
    VL_ASSIGN_OR_RETURN(*out, repo_.Get(p.clinic_id(), req->client_id()));
    return absl::OkStatus();
  }());
}

grpc::Status ClientsService::MergeClients(grpc::ServerContext* ctx,
                                          const v1::MergeClientsRequest* req, v1::Client* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_RETURN_IF_ERROR(validate::Id("otherClientId", req->other_client_id()));
    VL_RETURN_IF_ERROR(repo_.Merge(p.clinic_id(), req->id(), req->other_client_id(), p.user_id()));
    VL_ASSIGN_OR_RETURN(*out, repo_.Get(p.clinic_id(), req->id()));
    return absl::OkStatus();
  }());
}

grpc::Status ClientsService::SendPortalLink(grpc::ServerContext* ctx,
                                            const v1::SendPortalLinkRequest* req,
                                            v1::SendPortalLinkResponse* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("clientId", req->client_id()));
    VL_ASSIGN_OR_RETURN(v1::Client c, repo_.Get(p.clinic_id(), req->client_id()));
    if (!c.merged_into_id().empty()) {
      return absl::FailedPreconditionError("this profile was merged; send the link from " +
                                           c.merged_into_id());
    }
    absl::Time expires = clock_.Now() + options_.portal_link_ttl;
    out->set_link(links_.Sign("portal", c.clinic_id() + "/" + c.id(), expires));
    *out->mutable_expires_at() = ToTimestamp(expires);
    return absl::OkStatus();
  }());
}

grpc::Status ClientSyncService::Upsert(grpc::ServerContext* ctx,
                                       grpc::ServerReader<v1::UpsertBatch>* reader,
                                       v1::UpsertSummary* summary) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal caller, rpc::RequireService(*ctx, signer_));
    std::string clinic_id;
    auto add = [](v1::EntityCounts* total, const v1::EntityCounts& c) {
      total->set_inserted(total->inserted() + c.inserted());
      total->set_updated(total->updated() + c.updated());
      total->set_unchanged(total->unchanged() + c.unchanged());
      total->set_failed(total->failed() + c.failed());
    };
    auto report = [&](v1::RecordError e) {
      if (summary->errors_size() < kMaxErrorsReturned) *summary->add_errors() = std::move(e);
    };
    v1::UpsertBatch batch;
    while (reader->Read(&batch)) {
      VL_RETURN_IF_ERROR(validate::Id("clinicId", batch.clinic_id()));
      if (clinic_id.empty()) clinic_id = batch.clinic_id();
      // A service principal scoped to a clinic may only write that clinic.
      if (batch.clinic_id() != clinic_id ||
          (!caller.clinic_id().empty() && caller.clinic_id() != clinic_id)) {
        return absl::PermissionDeniedError("every batch of a sync must be for the caller's clinic");
      }
      // Checked records only; the last copy of a repeated PIMS id wins.
      std::map<std::string, v1::SyncClient> clients;
      std::map<std::string, v1::SyncPet> pets;
      v1::EntityCounts failed_clients, failed_pets;
      for (v1::SyncClient& c : *batch.mutable_clients()) {
        if (auto e = CheckClient(c)) {
          failed_clients.set_failed(failed_clients.failed() + 1);
          report(std::move(*e));
        } else {
          clients[c.pims_id()] = std::move(c);
        }
      }
      for (v1::SyncPet& pet : *batch.mutable_pets()) {
        if (auto e = CheckPet(pet)) {
          failed_pets.set_failed(failed_pets.failed() + 1);
          report(std::move(*e));
        } else {
          pets[pet.pims_id()] = std::move(pet);
        }
      }
      std::vector<v1::SyncClient> cv;
      std::vector<v1::SyncPet> pv;
      for (auto& [id, c] : clients) cv.push_back(std::move(c));
      for (auto& [id, p] : pets) pv.push_back(std::move(p));
      VL_ASSIGN_OR_RETURN(SyncCounts counts, repo_.UpsertBatch(clinic_id, cv, pv));
      add(summary->mutable_clients(), counts.clients);
      add(summary->mutable_clients(), failed_clients);
      add(summary->mutable_pets(), counts.pets);
      add(summary->mutable_pets(), failed_pets);
      for (auto& e : counts.errors) report(std::move(e));
    }
    return absl::OkStatus();
  }());
}

grpc::Status ClientSyncService::ResolvePimsIds(grpc::ServerContext* ctx,
                                               const v1::ResolvePimsIdsRequest* req,
                                               v1::ResolvePimsIdsResponse* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal caller, rpc::RequireService(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("clinicId", req->clinic_id()));
    if (!caller.clinic_id().empty() && caller.clinic_id() != req->clinic_id()) {
      return absl::PermissionDeniedError("a service acting for a clinic may only resolve its ids");
    }
    constexpr int kMaxIds = 20000;  // a sync batch names far fewer
    if (req->client_pims_ids_size() > kMaxIds) return InvalidField("clientPimsIds", "at most 20000 ids");
    if (req->patient_pims_ids_size() > kMaxIds) return InvalidField("patientPimsIds", "at most 20000 ids");
    std::vector<std::string> clients(req->client_pims_ids().begin(), req->client_pims_ids().end());
    std::vector<std::string> pets(req->patient_pims_ids().begin(), req->patient_pims_ids().end());
    for (const auto* ids : {&clients, &pets}) {
      for (const std::string& id : *ids) {
        if (!validate::IsUtf8(id) || id.size() > 200 || id.find('\0') != std::string::npos) {
          return InvalidField(ids == &clients ? "clientPimsIds" : "patientPimsIds", "a PIMS id is not valid text");
        }
      }
    }
    VL_ASSIGN_OR_RETURN(*out, repo_.ResolvePimsIds(req->clinic_id(), clients, pets));
    return absl::OkStatus();
  }());
}

absl::Status ClientSyncService::RequireServiceFor(grpc::ServerContext& ctx, const std::string& clinic_id) const {
  VL_ASSIGN_OR_RETURN(api::Principal caller, rpc::RequireService(ctx, signer_));
  VL_RETURN_IF_ERROR(validate::Id("clinicId", clinic_id));
  if (!caller.clinic_id().empty() && caller.clinic_id() != clinic_id) {
    return absl::PermissionDeniedError("a service acting for a clinic may only reach its records");
  }
  return absl::OkStatus();
}

grpc::Status ClientSyncService::GetForPims(grpc::ServerContext* ctx, const v1::GetForPimsRequest* req,
                                           v1::ClientForPims* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(RequireServiceFor(*ctx, req->clinic_id()));
    VL_RETURN_IF_ERROR(validate::Id("clientId", req->client_id()));
    VL_ASSIGN_OR_RETURN(v1::Client c, repo_.Get(req->clinic_id(), req->client_id()));
    out->set_id(c.id());
    v1::SyncClient* sc = out->mutable_client();
    sc->set_pims_id(c.pims_id());
    sc->set_first_name(c.first_name());
    sc->set_last_name(c.last_name());
    sc->set_last_visit_date(c.last_visit_date());
    sc->set_active(c.pims_active());
    for (const v1::Phone& p : c.phones()) {
      v1::SyncPhone* sp = sc->add_phones();
      sp->set_number(p.number());
      sp->set_type(p.type());
      sp->set_texting_capable(p.texting_capable());
      sp->set_primary(p.primary());
    }
    for (const v1::Email& e : c.emails()) {
      v1::SyncEmail* se = sc->add_emails();
      se->set_address(e.address());
      se->set_primary(e.primary());
    }
    for (const v1::Pet& p : c.pets()) {
      v1::PetForPims* pf = out->add_pets();
      pf->set_id(p.id());
      v1::SyncPet* sp = pf->mutable_pet();
      sp->set_pims_id(p.pims_id());
      sp->set_client_pims_id(c.pims_id());
      sp->set_name(p.name());
      sp->set_species(p.species());
      sp->set_breed(p.breed());
      sp->set_sex(p.sex());
      sp->set_birth_date(p.birth_date());
      sp->set_active(p.active());
      sp->set_deceased(p.deceased());
    }
    return absl::OkStatus();
  }());
}

grpc::Status ClientSyncService::RecordPimsIds(grpc::ServerContext* ctx, const v1::RecordPimsIdsRequest* req,
                                              v1::RecordPimsIdsResponse*) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(RequireServiceFor(*ctx, req->clinic_id()));
    VL_RETURN_IF_ERROR(validate::Id("clientId", req->client_id()));
    if (!req->pet_id().empty()) VL_RETURN_IF_ERROR(validate::Id("petId", req->pet_id()));
    for (auto [name, id] : {std::pair{"clientPimsId", &req->client_pims_id()}, std::pair{"petPimsId", &req->pet_pims_id()}}) {
      if (!validate::IsUtf8(*id) || id->size() > 200 || id->find('\0') != std::string::npos) {
        return InvalidField(name, "a PIMS id is not valid text");
      }
    }
    return repo_.RecordPimsIds(req->clinic_id(), req->client_id(), req->client_pims_id(), req->pet_id(),
                               req->pet_pims_id());
  }());
}

}  // namespace vetline::clients
