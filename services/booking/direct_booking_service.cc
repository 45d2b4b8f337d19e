#include "services/booking/direct_booking_service.h"

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/time.h"
#include "libs/core/validate.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"
#include "nlohmann/json.hpp"

namespace vetline::booking {
namespace {

absl::Status OptionalId(std::string_view field, const std::string& id) {
  return id.empty() ? absl::OkStatus() : validate::Id(field, id);
}

std::string When(absl::Time t, absl::TimeZone zone) { return absl::FormatTime("%a %e %b %Y %H:%M", t, zone); }

// The widget sends a new client to the request form on this answer.
absl::Status ExistingClientsOnly() {
  return FieldError(absl::StatusCode::kFailedPrecondition, "visitorToken",
                    "this clinic books existing clients only online; please use the appointment request form");
}

bool Booked(const std::string& status) { return status == "scheduled" || status == "confirmed"; }

// The contract's conversation.requested record (booking → conversations).
std::string ConversationRequest(const std::string& clinic_id, const std::string& client_id,
                                const std::string& pet_id, const std::string& contact,
                                const std::string& contact_name, const std::string& subject,
                                const std::string& text, const std::string& client_text,
                                const std::string& request_id) {
  return nlohmann::json{{"clinicId", clinic_id}, {"clientId", client_id},       {"petId", pet_id},
                        {"contact", contact},    {"contactName", contact_name}, {"subject", subject},
                        {"text", text},          {"clientText", client_text},   {"requestId", request_id}}
      .dump();
}

std::string PetName(const clients::v1::Client& c, const std::string& pet_id) {
  for (const auto& p : c.pets()) {
    if (p.id() == pet_id) return p.species().empty() ? p.name() : absl::StrCat(p.name(), " (", p.species(), ")");
  }
  return "";
}

}  // namespace

DirectBookingService::DirectBookingService(BookingRepository& schedule, DirectBookingRepository& repo,
                                           const ClinicSettingsSource& settings, const ClientDirectory& clients,
                                           const CodeSender* sender, const VisitorTokens& visitors, auth::Key key,
                                           DirectBookingOptions options, const Clock& clock)
    : schedule_(schedule), repo_(repo), settings_(settings), clients_(clients), sender_(sender), key_(key),
      signer_(key), links_(key), visitors_(visitors), options_(std::move(options)), clock_(clock) {}

absl::StatusOr<ClinicSettingsSource::Loaded> DirectBookingService::Clinic(const std::string& clinic_id) const {
  auto clinic = settings_.Get(clinic_id);
  if (absl::IsNotFound(clinic.status())) return NotFoundField("clinicId", "no clinic with this clinicId");
  return clinic;
}

absl::StatusOr<DirectBookingService::Caller> DirectBookingService::CallerOf(grpc::ServerContext& ctx,
                                                                            const std::string& clinic_id,
                                                                            const std::string& visitor_token) const {
  if (!visitor_token.empty()) {
    VL_ASSIGN_OR_RETURN(Visitor v, visitors_.Verify(visitor_token, clock_.Now()));
    if (v.clinic_id != clinic_id) {
      return FieldError(absl::StatusCode::kUnauthenticated, "visitorToken", "visitor token is for another clinic");
    }
    return Caller{.visitor = v, .owner = "contact:" + v.contact};
  }
  // A signed-in portal client takes the same steps without a code.
  auto client = rpc::RequireClient(ctx, signer_);
  if (!client.ok() || client->clinic_id() != clinic_id || client->client_id().empty()) {
    return FieldError(absl::StatusCode::kUnauthenticated, "visitorToken",
                      "visitorToken is required (prove a phone or email with a code first)");
  }
  return Caller{.visitor = {.clinic_id = clinic_id, .client_id = client->client_id()},
                .owner = "client:" + client->client_id()};
}

absl::StatusOr<Slot> DirectBookingService::OpenSlotAt(const std::string& clinic_id,
                                                      const ClinicSettingsSource::Loaded& clinic,
                                                      const std::string& type_id, const std::string& provider_id,
                                                      absl::Time start) const {
  const absl::CivilDay day = absl::ToCivilDay(start, clinic.zone);
  VL_ASSIGN_OR_RETURN(std::vector<Slot> slots, FindOpenSlots(schedule_, settings_, clinic_id, type_id, provider_id,
                                                             {day, day}, clock_.Now()));
  for (const Slot& s : slots) {
    if (s.when.start == start && (provider_id.empty() || s.provider_id == provider_id)) return s;
  }
  return FieldError(absl::StatusCode::kFailedPrecondition, "startTime",
                    "slot no longer available: no open slot of this appointment type starts at startTime "
                    "(taken, outside the clinic's hours, too soon or beyond the booking horizon)");
}

std::string DirectBookingService::ManageUrl(const std::string& clinic_id, const std::string& appointment_id,
                                            absl::Time start) const {
  // Valid until a day after the appointment: a client may look at it afterwards.
  const std::string token = links_.Sign(kManagePurpose, ManageSubject(clinic_id, appointment_id), start + absl::Hours(24));
  return absl::StrCat(options_.public_url, "/portal/appointments/", appointment_id, "?t=", token);
}

void DirectBookingService::Present(const DirectAppointment& a, const std::string& pet_name, int cutoff_minutes,
                                   v1::BookedAppointment* out) const {
  out->set_appointment_id(a.id);
  out->set_appointment_type_name(a.type_name);
  *out->mutable_start_time() = ToTimestamp(a.start);
  *out->mutable_end_time() = ToTimestamp(a.end);
  out->set_pet_name(pet_name);
  out->set_status(a.status);
  *out->mutable_change_deadline() = ToTimestamp(ChangeDeadline(a.start, cutoff_minutes));
}

grpc::Status DirectBookingService::GetOnlineBooking(grpc::ServerContext*, const v1::GetOnlineBookingRequest* req,
                                                    v1::OnlineBooking* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(validate::Id("clinicId", req->clinic_id()));
    VL_ASSIGN_OR_RETURN(auto clinic, Clinic(req->clinic_id()));
    VL_ASSIGN_OR_RETURN(auto types, repo_.OnlineTypes(req->clinic_id()));
    for (const OnlineTypeRow& t : types) {
      v1::OnlineType* o = out->add_appointment_types();
      o->set_id(t.id);
      o->set_name(t.name);
      o->set_duration_minutes(t.duration_minutes);
      o->set_new_client_allowed(clinic.settings.allow_new_clients && t.new_client_allowed);
      o->set_telemedicine(t.telemedicine);
    }
    out->set_allow_new_clients(clinic.settings.allow_new_clients);
    out->set_time_zone(clinic.settings.time_zone);
    return absl::OkStatus();
  }());
}

grpc::Status DirectBookingService::RequestCode(grpc::ServerContext*, const v1::RequestCodeRequest* req,
                                               v1::RequestCodeResponse* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(validate::Id("clinicId", req->clinic_id()));
    VL_ASSIGN_OR_RETURN(Contact contact, ParseContact("contact", req->contact()));
    VL_RETURN_IF_ERROR(Clinic(req->clinic_id()).status());
    if (!sender_) return absl::UnavailableError("codes cannot be sent right now; try again later");
    // Nobody is looked up here: the answer is the same for a client and a stranger.
    const std::string code = NewCode();
    const absl::Time expires = clock_.Now() + options_.code_ttl;
    VL_RETURN_IF_ERROR(repo_.AddCode(req->clinic_id(), contact.value,
                                     CodeHash(key_, req->clinic_id(), contact.value, code), expires));
    VL_RETURN_IF_ERROR(sender_->Send(
        req->clinic_id(), contact,
        absl::StrCat("Your booking code is ", code, ". It expires in ", absl::ToInt64Minutes(options_.code_ttl),
                     " minutes. If you did not ask for it, ignore this message.")));
    *out->mutable_expires_at() = ToTimestamp(expires);
    return absl::OkStatus();
  }());
}

grpc::Status DirectBookingService::VerifyCode(grpc::ServerContext*, const v1::VerifyCodeRequest* req,
                                              v1::VerifyCodeResponse* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(validate::Id("clinicId", req->clinic_id()));
    VL_ASSIGN_OR_RETURN(Contact contact, ParseContact("contact", req->contact()));
    VL_RETURN_IF_ERROR(CheckCodeFormat(req->code()));
    VL_ASSIGN_OR_RETURN(auto clinic, Clinic(req->clinic_id()));
    const absl::Time now = clock_.Now();
    const std::string given = CodeHash(key_, req->clinic_id(), contact.value, req->code());
    VL_ASSIGN_OR_RETURN(CodeVerdict verdict,
                        repo_.UseCode(req->clinic_id(), contact.value,
                                      [&](const StoredCode& s) { return JudgeCode(s, given, now); }, now));
    VL_RETURN_IF_ERROR(CodeError(verdict));
    VL_ASSIGN_OR_RETURN(auto client, clients_.Find(req->clinic_id(), contact));
    Visitor v{.clinic_id = req->clinic_id(), .client_id = client ? client->id() : "", .contact = contact.value};
    out->set_visitor_token(visitors_.Issue(v, now));
    out->set_existing_client(client.has_value());
    if (client) {
      for (const auto& p : client->pets()) {
        if (!p.active() || p.deceased()) continue;
        v1::PetChoice* c = out->add_pets();
        c->set_id(p.id());
        c->set_name(p.name());
      }
    }
    out->set_new_client_allowed(clinic.settings.allow_new_clients);
    return absl::OkStatus();
  }());
}

grpc::Status DirectBookingService::ListOpenSlots(grpc::ServerContext* ctx, const v1::ListOpenSlotsRequest* req,
                                                 v1::ListOpenSlotsResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(validate::Id("clinicId", req->clinic_id()));
    std::string type_id = req->appointment_type_id();
    if (req->manage_token().empty() || !type_id.empty()) {
      VL_RETURN_IF_ERROR(validate::Id("appointmentTypeId", type_id));
    }
    VL_RETURN_IF_ERROR(OptionalId("providerId", req->provider_id()));
    VL_ASSIGN_OR_RETURN(DayRange days, Days(req->from(), req->to()));
    if (!req->manage_token().empty()) {
      // Rescheduling with the confirmation link: the slots of its appointment's type.
      VL_ASSIGN_OR_RETURN(DirectAppointment a, Managed(req->clinic_id(), req->appointment_id(), req->manage_token()));
      if (!type_id.empty() && type_id != a.type_id) {
        return InvalidField("appointmentTypeId", "appointmentTypeId must be the linked appointment's type (or empty)");
      }
      type_id = a.type_id;
    } else {
      VL_RETURN_IF_ERROR(CallerOf(*ctx, req->clinic_id(), req->visitor_token()).status());
    }
    // The slots' read answers an unknown clinic (clinicId) or type first.
    VL_ASSIGN_OR_RETURN(std::vector<Slot> slots,
                        FindOpenSlots(schedule_, settings_, req->clinic_id(), type_id,
                                      req->provider_id(), days, clock_.Now()));
    VL_RETURN_IF_ERROR(repo_.OnlineType(req->clinic_id(), type_id).status());
    SlotsOut(slots, resp->mutable_slots());
    return absl::OkStatus();
  }());
}

grpc::Status DirectBookingService::HoldSlot(grpc::ServerContext* ctx, const v1::HoldSlotRequest* req, v1::Hold* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(validate::Id("clinicId", req->clinic_id()));
    VL_RETURN_IF_ERROR(validate::Id("appointmentTypeId", req->appointment_type_id()));
    VL_RETURN_IF_ERROR(OptionalId("petId", req->pet_id()));
    VL_RETURN_IF_ERROR(OptionalId("providerId", req->provider_id()));
    VL_RETURN_IF_ERROR(OptionalId("roomId", req->room_id()));
    VL_ASSIGN_OR_RETURN(absl::Time start, Instant("startTime", req->has_start_time(), req->start_time()));
    VL_ASSIGN_OR_RETURN(Caller caller, CallerOf(*ctx, req->clinic_id(), req->visitor_token()));
    VL_ASSIGN_OR_RETURN(auto clinic, Clinic(req->clinic_id()));
    VL_ASSIGN_OR_RETURN(OnlineTypeRow type, repo_.OnlineType(req->clinic_id(), req->appointment_type_id()));
    const Visitor& v = caller.visitor;
    if (v.client_id.empty()) {
      if (!clinic.settings.allow_new_clients) {
        return ExistingClientsOnly();
      }
      if (!type.new_client_allowed) {
        return FieldError(absl::StatusCode::kFailedPrecondition, "appointmentTypeId",
                          "new clients cannot book this appointment type online; pick another or use the request form");
      }
      if (!req->pet_id().empty()) return InvalidField("petId", "a new client enters their pet when confirming");
    } else {
      if (req->pet_id().empty()) return InvalidField("petId", "petId is required: which pet is the appointment for?");
      VL_ASSIGN_OR_RETURN(clients::v1::Client client, clients_.Get(req->clinic_id(), v.client_id));
      if (PetName(client, req->pet_id()).empty()) return NotFoundField("petId", "this pet is not one of your pets");
    }
    VL_ASSIGN_OR_RETURN(Slot slot, OpenSlotAt(req->clinic_id(), clinic, type.id, req->provider_id(), start));
    const absl::Time now = clock_.Now();
    NewHold h{.type_id = type.id, .provider_id = slot.provider_id, .room_id = slot.room_id, .start = slot.when.start,
              .end = slot.when.end, .client_id = v.client_id, .pet_id = req->pet_id(), .owner = caller.owner,
              .expires_at = now + options_.hold_ttl, .now = now};
    VL_ASSIGN_OR_RETURN(std::string id, repo_.Hold(req->clinic_id(), h));
    out->set_hold_id(id);
    *out->mutable_expires_at() = ToTimestamp(h.expires_at);
    *out->mutable_start_time() = ToTimestamp(h.start);
    *out->mutable_end_time() = ToTimestamp(h.end);
    return absl::OkStatus();
  }());
}

grpc::Status DirectBookingService::ConfirmBooking(grpc::ServerContext* ctx, const v1::ConfirmBookingRequest* req,
                                                  v1::BookedAppointment* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(validate::Id("clinicId", req->clinic_id()));
    VL_RETURN_IF_ERROR(validate::Id("holdId", req->hold_id()));
    VL_ASSIGN_OR_RETURN(Caller caller, CallerOf(*ctx, req->clinic_id(), req->visitor_token()));
    VL_ASSIGN_OR_RETURN(auto clinic, Clinic(req->clinic_id()));
    const Visitor& v = caller.visitor;
    const bool new_client = v.client_id.empty();
    std::string first, last, pet_name, species;
    if (new_client) {
      const v1::NewClientDetails& n = req->new_client();
      VL_ASSIGN_OR_RETURN(first, validate::Name("newClient.firstName", n.first_name(), 100));
      VL_ASSIGN_OR_RETURN(last, validate::Name("newClient.lastName", n.last_name(), 100));
      VL_ASSIGN_OR_RETURN(pet_name, validate::Name("newClient.petName", n.pet_name(), 100));
      if (!n.pet_species().empty()) {
        VL_ASSIGN_OR_RETURN(species, validate::Name("newClient.petSpecies", n.pet_species(), 100));
      }
      if (!clinic.settings.allow_new_clients) {
        return ExistingClientsOnly();
      }
    }
    // Checked before a new client is created, and again under the row lock.
    VL_ASSIGN_OR_RETURN(DirectAppointment hold, repo_.GetHold(req->clinic_id(), req->hold_id(), caller.owner,
                                                              clock_.Now()));
    std::string client_id = v.client_id, pet_id = hold.pet_id, who, pet_label;
    if (new_client) {
      VL_ASSIGN_OR_RETURN(Contact contact, ParseContact("visitorToken", v.contact));
      VL_ASSIGN_OR_RETURN(clients::v1::Pet pet,
                          clients_.Create(req->clinic_id(), first, last, contact, pet_name, species));
      client_id = pet.client_id();
      pet_id = pet.id();
      who = absl::StrCat(first, " ", last);
      pet_label = species.empty() ? pet_name : absl::StrCat(pet_name, " (", species, ")");
    } else {
      VL_ASSIGN_OR_RETURN(clients::v1::Client client, clients_.Get(req->clinic_id(), client_id));
      who = absl::StrCat(client.first_name(), " ", client.last_name());
      pet_label = PetName(client, pet_id);
    }
    const std::string contact = v.contact;
    const std::string when = When(hold.start, clinic.zone);
    const std::string url = ManageUrl(req->clinic_id(), hold.id, hold.start);
    const int cutoff = clinic.settings.cancel_cutoff_minutes;
    const std::string staff_text = absl::StrCat(
        new_client ? "New client booked online: " : "Booked online: ", hold.type_name, " for ", pet_label, " on ",
        when, " (", clinic.settings.time_zone, "). Client: ", who, contact.empty() ? "" : ", ", contact, ".");
    const std::string client_text = absl::StrCat(
        "Your appointment is booked: ", hold.type_name, " for ", pet_label, " on ", when, ". To cancel or reschedule (up to ",
        cutoff / 60, " h before): ", url);
    Confirmation c{.client_id = client_id, .pet_id = pet_id, .description = DirectDescription(new_client),
                   .new_client = new_client,
                   .conversation_payload = ConversationRequest(req->clinic_id(), client_id, pet_id, contact, who,
                                                               "Online booking", staff_text, client_text,
                                                               "direct-booking:" + hold.id)};
    VL_ASSIGN_OR_RETURN(DirectAppointment booked,
                        repo_.Confirm(req->clinic_id(), req->hold_id(), caller.owner, clock_.Now(), c));
    Present(booked, pet_label, cutoff, out);
    out->set_manage_url(url);
    return absl::OkStatus();
  }());
}

absl::StatusOr<DirectAppointment> DirectBookingService::Managed(const std::string& clinic_id, const std::string& id,
                                                                const std::string& token) const {
  VL_RETURN_IF_ERROR(validate::Id("clinicId", clinic_id));
  VL_RETURN_IF_ERROR(validate::Id("appointmentId", id));
  if (token.empty()) return InvalidField("manageToken", "manageToken is required (the t of the confirmation link)");
  auto subject = links_.Verify(token, kManagePurpose, clock_.Now());
  if (!subject.ok() || *subject != ManageSubject(clinic_id, id)) {
    return FieldError(absl::StatusCode::kPermissionDenied, "manageToken",
                      "this link is not valid for this appointment (or expired)");
  }
  return repo_.Get(clinic_id, id);
}

grpc::Status DirectBookingService::GetManagedAppointment(grpc::ServerContext*,
                                                         const v1::ManagedAppointmentRequest* req,
                                                         v1::BookedAppointment* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(DirectAppointment a, Managed(req->clinic_id(), req->appointment_id(), req->manage_token()));
    VL_ASSIGN_OR_RETURN(auto clinic, Clinic(req->clinic_id()));
    std::string pet;
    if (auto c = clients_.Get(req->clinic_id(), a.client_id); c.ok()) pet = PetName(*c, a.pet_id);
    Present(a, pet, clinic.settings.cancel_cutoff_minutes, out);
    return absl::OkStatus();
  }());
}

grpc::Status DirectBookingService::CancelManagedAppointment(grpc::ServerContext*,
                                                            const v1::ManagedAppointmentRequest* req,
                                                            v1::BookedAppointment* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(DirectAppointment a, Managed(req->clinic_id(), req->appointment_id(), req->manage_token()));
    VL_ASSIGN_OR_RETURN(auto clinic, Clinic(req->clinic_id()));
    if (!Booked(a.status)) {
      return FieldError(absl::StatusCode::kFailedPrecondition, "appointmentId", "the appointment is not booked any more");
    }
    const int cutoff = clinic.settings.cancel_cutoff_minutes;
    VL_RETURN_IF_ERROR(CheckChangeAllowed(a.start, cutoff, clock_.Now(), "appointmentId"));
    VL_RETURN_IF_ERROR(schedule_.CancelAppointment(req->clinic_id(), a.id).status());
    VL_RETURN_IF_ERROR(repo_.RequestConversation(ConversationRequest(
        req->clinic_id(), a.client_id, a.pet_id, "", "", "Online booking",
        absl::StrCat("Cancelled online by the client: ", a.type_name, " on ", When(a.start, clinic.zone), "."), "",
        absl::StrCat("direct-cancel:", a.id))));
    VL_ASSIGN_OR_RETURN(a, repo_.Get(req->clinic_id(), a.id));
    Present(a, "", cutoff, out);
    return absl::OkStatus();
  }());
}

grpc::Status DirectBookingService::RescheduleManagedAppointment(grpc::ServerContext*,
                                                                const v1::RescheduleAppointmentRequest* req,
                                                                v1::BookedAppointment* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(DirectAppointment a, Managed(req->clinic_id(), req->appointment_id(), req->manage_token()));
    VL_RETURN_IF_ERROR(OptionalId("providerId", req->provider_id()));
    VL_ASSIGN_OR_RETURN(absl::Time start, Instant("startTime", req->has_start_time(), req->start_time()));
    VL_ASSIGN_OR_RETURN(auto clinic, Clinic(req->clinic_id()));
    if (!Booked(a.status)) {
      return FieldError(absl::StatusCode::kFailedPrecondition, "appointmentId", "the appointment is not booked any more");
    }
    const int cutoff = clinic.settings.cancel_cutoff_minutes;
    VL_RETURN_IF_ERROR(CheckChangeAllowed(a.start, cutoff, clock_.Now(), "appointmentId"));
    VL_RETURN_IF_ERROR(repo_.OnlineType(req->clinic_id(), a.type_id).status());
    const std::string provider = req->provider_id().empty() ? a.provider_id : req->provider_id();
    VL_ASSIGN_OR_RETURN(Slot slot, OpenSlotAt(req->clinic_id(), clinic, a.type_id, provider, start));
    auto moved = schedule_.MoveAppointment(req->clinic_id(), {.id = a.id, .start = slot.when.start,
                                                              .provider_id = slot.provider_id,
                                                              .room_id = slot.room_id, .version = a.version});
    if (absl::IsAborted(moved.status())) {
      return FieldError(absl::StatusCode::kAborted, "appointmentId", "the appointment changed meanwhile; reload it");
    }
    VL_RETURN_IF_ERROR(moved.status());
    VL_RETURN_IF_ERROR(repo_.RequestConversation(ConversationRequest(
        req->clinic_id(), a.client_id, a.pet_id, "", "", "Online booking",
        absl::StrCat("Rescheduled online by the client: ", a.type_name, " from ", When(a.start, clinic.zone), " to ",
                     When(slot.when.start, clinic.zone), "."),
        "", absl::StrCat("direct-move:", a.id, ":", moved->version()))));
    VL_ASSIGN_OR_RETURN(a, repo_.Get(req->clinic_id(), a.id));
    Present(a, "", cutoff, out);
    out->set_manage_url(ManageUrl(req->clinic_id(), a.id, a.start));
    return absl::OkStatus();
  }());
}

}  // namespace vetline::booking
