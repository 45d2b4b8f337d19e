#include "services/booking/direct_booking_peers.h"

#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/refs/refs.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"

namespace vetline::booking {
namespace {

// A peer that could not do its part: logged; the caller may try again.
absl::Status PeerFailed(const char* what, const grpc::Status& st) {
  log::Warn(what, {{"code", rpc::CodeName(st.error_code())}, {"detail", st.error_message()}});
  return absl::UnavailableError("booking cannot reach a service it needs right now; try again");
}

void Act(grpc::ClientContext& ctx, const std::string& clinic_id, const auth::PrincipalSigner& signer) {
  rpc::AttachPrincipal(ctx, rpc::ServiceForClinic(clinic_id), signer);
  rpc::SetDeadline(ctx, refs::kDefaultDeadline);
}

}  // namespace

absl::StatusOr<std::optional<clients::v1::Client>> GrpcClientDirectory::Find(const std::string& clinic_id,
                                                                              const Contact& contact) const {
  grpc::ClientContext ctx;
  Act(ctx, clinic_id, signer_);
  clients::v1::SearchClientsRequest req;
  req.set_query(contact.value);
  req.set_page_size(50);
  clients::v1::SearchClientsResponse resp;
  if (grpc::Status st = stub_->SearchClients(&ctx, req, &resp); !st.ok()) {
    return PeerFailed("client lookup by contact failed", st);
  }
  std::optional<clients::v1::Client> any;
  for (const clients::v1::Client& c : resp.clients()) {
    bool has = false, primary = false;
    if (contact.phone) {
      for (const auto& p : c.phones()) {
        if (p.number() == contact.value) has = true, primary = primary || p.primary();
      }
    } else {
      for (const auto& e : c.emails()) {
        if (e.address() == contact.value) has = true, primary = primary || e.primary();
      }
    }
    if (primary) return std::optional<clients::v1::Client>(c);
    if (has && !any) any = c;
  }
  return any;
}

absl::StatusOr<clients::v1::Client> GrpcClientDirectory::Get(const std::string& clinic_id,
                                                             const std::string& client_id) const {
  grpc::ClientContext ctx;
  Act(ctx, clinic_id, signer_);
  clients::v1::GetClientRequest req;
  req.set_id(client_id);
  clients::v1::Client out;
  if (grpc::Status st = stub_->GetClient(&ctx, req, &out); !st.ok()) {
    if (st.error_code() == grpc::StatusCode::NOT_FOUND) return absl::NotFoundError("no such client");
    return PeerFailed("client read failed", st);
  }
  return out;
}

absl::StatusOr<clients::v1::Pet> GrpcClientDirectory::Create(const std::string& clinic_id,
                                                             const std::string& first_name,
                                                             const std::string& last_name, const Contact& contact,
                                                             const std::string& pet_name,
                                                             const std::string& species) const {
  clients::v1::CreateClientRequest req;
  req.set_first_name(first_name);
  req.set_last_name(last_name);
  if (contact.phone) {
    auto* p = req.add_phones();
    p->set_number(contact.value);
    p->set_type(clients::v1::MOBILE);
    p->set_texting_capable(true);  // the code reached it by text
    p->set_primary(true);
  } else {
    auto* e = req.add_emails();
    e->set_address(contact.value);
    e->set_primary(true);
  }
  clients::v1::Client client;
  {
    grpc::ClientContext ctx;
    Act(ctx, clinic_id, signer_);
    if (grpc::Status st = stub_->CreateClient(&ctx, req, &client); !st.ok()) {
      return PeerFailed("creating the new client failed", st);
    }
  }
  clients::v1::AddPetRequest pet_req;
  pet_req.set_client_id(client.id());
  pet_req.set_name(pet_name);
  pet_req.set_species(species);
  clients::v1::Pet pet;
  grpc::ClientContext ctx;
  Act(ctx, clinic_id, signer_);
  if (grpc::Status st = stub_->AddPet(&ctx, pet_req, &pet); !st.ok()) {
    return PeerFailed("adding the new client's pet failed", st);
  }
  return pet;
}

absl::Status GrpcCodeSender::Send(const std::string& clinic_id, const Contact& to, const std::string& text) const {
  grpc::ClientContext ctx;
  Act(ctx, clinic_id, signer_);
  conversations::v1::SendNoticeRequest req;
  req.set_clinic_id(clinic_id);
  (to.phone ? *req.mutable_phone() : *req.mutable_email()) = to.value;
  req.set_subject("Your booking code");
  req.set_text(text);
  conversations::v1::SendNoticeResponse resp;
  grpc::Status st = stub_->SendNotice(&ctx, req, &resp);
  if (st.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    // The clinic cannot use this channel: the visitor may try the other one.
    return FieldError(absl::StatusCode::kFailedPrecondition, "contact", st.error_message());
  }
  if (!st.ok()) return PeerFailed("sending the code failed", st);
  return absl::OkStatus();
}

}  // namespace vetline::booking
