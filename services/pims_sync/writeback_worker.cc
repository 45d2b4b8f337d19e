#include "services/pims_sync/writeback_worker.h"

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"
#include "nlohmann/json.hpp"

namespace vetline::pims_sync {
namespace {

bool Active(bv1::SyncAppointmentStatus s) {
  return s == bv1::SYNC_SCHEDULED || s == bv1::SYNC_CONFIRMED || s == bv1::SYNC_CHECKED_IN;
}

// What staff read when a Vetline service (not the PIMS) stopped the write.
std::string VetlineMessage(const std::string& step, const absl::Status& st, bool will_retry) {
  if (IsTransient(st.code())) {
    return absl::StrCat("Vetline could not prepare ", step, " right now; ",
                        will_retry ? "it keeps trying." : "retry later.");
  }
  if (st.code() == absl::StatusCode::kNotFound) return absl::StrCat("Vetline no longer has ", step, ".");
  if (st.code() == absl::StatusCode::kInvalidArgument) return std::string(st.message());  // ours, in clinic words
  return absl::StrCat("Vetline could not prepare ", step, " for the PIMS.");
}

}  // namespace

WritebackWorker::WritebackWorker(WritebackRepository& repo, std::shared_ptr<grpc::ChannelInterface> booking,
                                 std::shared_ptr<grpc::ChannelInterface> clients,
                                 const auth::PrincipalSigner& signer, WritebackSettings settings)
    : repo_(repo),
      booking_(booking::v1::BookingSyncService::NewStub(booking)),
      clients_(clients::v1::ClientSyncService::NewStub(clients)),
      signer_(signer),
      settings_(settings) {}

WritebackWorker::~WritebackWorker() { workers_.clear(); }

void WritebackWorker::Start() {
  for (int i = 0; i < settings_.workers; ++i) {
    workers_.push_back(std::make_unique<PeriodicWorker>(absl::StrCat("pims_sync.writeback.", i),
                                                        settings_.idle_pause, [this] { return Step(); }));
  }
}

void WritebackWorker::Wake() {
  for (auto& w : workers_) w->Wake();
}

PeriodicWorker::Next WritebackWorker::Step() {
  auto jobs = repo_.Claim(settings_.batch, settings_.lease);
  if (!jobs.ok()) {
    log::Warn("write-back: cannot claim rows", {{"error", jobs.status().ToString()}});
    return PeriodicWorker::Next::kPause;
  }
  for (const WritebackJob& j : *jobs) Process(j);
  return static_cast<int>(jobs->size()) == settings_.batch ? PeriodicWorker::Next::kAgain
                                                           : PeriodicWorker::Next::kPause;
}

void WritebackWorker::Authorize(grpc::ClientContext& ctx, const std::string& clinic_id) const {
  rpc::AttachPrincipal(ctx, rpc::ServiceForClinic(clinic_id), signer_);
  rpc::SetDeadline(ctx, settings_.call_deadline);
}

std::unique_ptr<pv1::PimsConnector::Stub> WritebackWorker::Connector(const std::string& address) {
  std::lock_guard<std::mutex> l(mu_);
  auto& ch = channels_[address];
  if (!ch) ch = rpc::Dial(address);
  return pv1::PimsConnector::NewStub(ch);
}

void WritebackWorker::Process(const WritebackJob& j) {
  absl::StatusOr<std::string> written = absl::FailedPreconditionError("the clinic has no PIMS connector");
  Where at;
  if (j.kind == "none") {
    (void)repo_.FinishFailed(j, "The clinic has no PIMS connector any more; set one, then retry.", std::nullopt);
    return;
  }
  written = j.what == "note" ? WriteNote(j, at) : WriteAppointment(j, at);
  absl::Status st;
  if (written.ok()) {
    st = repo_.FinishWritten(j, *written);
  } else {
    const bool retry = IsTransient(written.status().code()) && j.attempts < settings_.retry.max_attempts;
    std::string message = at.pims ? ClinicMessage(at.step, written.status(), retry)
                                  : VetlineMessage(at.step, written.status(), retry);
    log::Warn("write-back to the PIMS failed", {{"writeback", j.id}, {"clinic", j.clinic_id}, {"step", at.step},
                                                {"error", written.status().ToString()}, {"retry", retry}});
    st = repo_.FinishFailed(j, message, retry ? std::optional(Backoff(settings_.retry, j.attempts)) : std::nullopt);
  }
  // The lease runs out and another worker redoes it: the connector's idempotency keys and
  // state-setting updates make that harmless.
  if (!st.ok()) log::Warn("write-back: cannot store the outcome", {{"writeback", j.id}, {"error", st.ToString()}});
}

absl::StatusOr<std::string> WritebackWorker::EnsureInPims(const WritebackJob& j, pv1::PimsConnector::Stub& pims,
                                                          const std::string& what, const std::string& vetline_id,
                                                          const PimsFields& fields, Where& at) {
  at = {what == "client" ? "the new client" : "the new pet", false};
  VL_ASSIGN_OR_RETURN(ChildRow row, repo_.Child(j, what, vetline_id));
  if (!row.pims_id.empty()) return row.pims_id;  // written before; recording it failed
  at.pims = true;
  pv1::WriteRequest req;
  for (const auto& [k, v] : fields) (*req.mutable_fields())[k] = v;
  req.set_idempotency_key(row.id);  // the same row id every try: one PIMS record
  grpc::ClientContext ctx;
  rpc::SetDeadline(ctx, settings_.call_deadline);
  pv1::WriteResponse resp;
  grpc::Status gs = what == "client" ? pims.CreateClient(&ctx, req, &resp) : pims.CreatePatient(&ctx, req, &resp);
  if (!gs.ok()) {
    absl::Status st = rpc::FromGrpc(gs);
    (void)repo_.FinishChild(row.id, IsTransient(st.code()) ? "pending" : "failed", "",
                            ClinicMessage(at.step, st, IsTransient(st.code())));
    return st;
  }
  VL_RETURN_IF_ERROR(repo_.FinishChild(row.id, "written", resp.id(), ""));
  return resp.id();
}

absl::StatusOr<std::string> WritebackWorker::WriteAppointment(const WritebackJob& j, Where& at) {
  bv1::AppointmentForPims a;
  {
    bv1::GetForPimsRequest req;
    req.set_clinic_id(j.clinic_id);
    req.set_appointment_id(j.vetline_id);
    grpc::ClientContext ctx;
    Authorize(ctx, j.clinic_id);
    VL_RETURN_IF_ERROR(rpc::FromGrpc(booking_->GetForPims(&ctx, req, &a)));
  }
  const bv1::SyncAppointment& s = a.appointment();
  if (a.source() == "pims") return s.pims_id();  // the PIMS's own: nothing to write
  auto pims = Connector(j.address);
  auto call = [&](auto method, const auto& req) -> absl::StatusOr<std::string> {
    at.pims = true;
    grpc::ClientContext ctx;
    rpc::SetDeadline(ctx, settings_.call_deadline);
    pv1::WriteResponse resp;
    VL_RETURN_IF_ERROR(rpc::FromGrpc(((*pims).*method)(&ctx, req, &resp)));
    return resp.id();
  };

  if (!s.pims_id().empty()) {
    // The PIMS has it: bring it to where it stands in Vetline (both calls set a state).
    pv1::UpdateRequest req;
    req.set_id(s.pims_id());
    if (s.status() == bv1::SYNC_CANCELLED || s.status() == bv1::SYNC_NO_SHOW) {
      at.step = "the cancellation";
      VL_RETURN_IF_ERROR(call(&pv1::PimsConnector::Stub::CancelAppointment, req).status());
    } else if (Active(s.status())) {
      at.step = "the move";
      VL_ASSIGN_OR_RETURN(PimsFields fields, MoveFields(j.kind, s));
      for (const auto& [k, v] : fields) (*req.mutable_fields())[k] = v;
      VL_RETURN_IF_ERROR(call(&pv1::PimsConnector::Stub::UpdateAppointment, req).status());
    }
    return s.pims_id();
  }
  if (!Active(s.status())) return std::string();  // cancelled before it reached the PIMS

  // The client and pet first: the PIMS books only its own.
  at = {"the appointment's client", false};
  clients::v1::ClientForPims c;
  {
    clients::v1::GetForPimsRequest req;
    req.set_clinic_id(j.clinic_id);
    req.set_client_id(a.client_id());
    grpc::ClientContext ctx;
    Authorize(ctx, j.clinic_id);
    VL_RETURN_IF_ERROR(rpc::FromGrpc(clients_->GetForPims(&ctx, req, &c)));
  }
  const clients::v1::PetForPims* pet = nullptr;
  for (const auto& p : c.pets()) {
    if (p.id() == a.pet_id()) pet = &p;
  }
  if (pet == nullptr) {
    at.step = "the appointment's pet";
    return absl::NotFoundError("the pet is not the client's");
  }
  auto record = [&](const std::string& client_pims, const std::string& pet_id, const std::string& pet_pims) {
    at.pims = false;
    clients::v1::RecordPimsIdsRequest req;
    req.set_clinic_id(j.clinic_id);
    req.set_client_id(c.id());
    req.set_client_pims_id(client_pims);
    req.set_pet_id(pet_id);
    req.set_pet_pims_id(pet_pims);
    grpc::ClientContext ctx;
    Authorize(ctx, j.clinic_id);
    clients::v1::RecordPimsIdsResponse resp;
    return rpc::FromGrpc(clients_->RecordPimsIds(&ctx, req, &resp));
  };
  std::string client_pims = c.client().pims_id();
  if (client_pims.empty()) {
    VL_ASSIGN_OR_RETURN(client_pims, EnsureInPims(j, *pims, "client", c.id(), ClientFields(j.kind, c.client()), at));
    VL_RETURN_IF_ERROR(record(client_pims, "", ""));
  }
  std::string pet_pims = pet->pet().pims_id();
  if (pet_pims.empty()) {
    VL_ASSIGN_OR_RETURN(pet_pims, EnsureInPims(j, *pims, "pet", pet->id(),
                                               PatientFields(j.kind, pet->pet(), client_pims), at));
    VL_RETURN_IF_ERROR(record("", pet->id(), pet_pims));
  }

  at = {"the appointment", false};
  VL_ASSIGN_OR_RETURN(PimsFields fields, AppointmentFields(j.kind, s, client_pims, pet_pims,
                                                           WritebackDescription(j.new_client, s.description())));
  pv1::WriteRequest req;
  for (const auto& [k, v] : fields) (*req.mutable_fields())[k] = v;
  req.set_idempotency_key(j.id);  // the row's id, the same on every try
  VL_ASSIGN_OR_RETURN(std::string id, call(&pv1::PimsConnector::Stub::CreateAppointment, req));
  at.pims = false;
  bv1::RecordPimsIdRequest rec;
  rec.set_clinic_id(j.clinic_id);
  rec.set_appointment_id(a.id());
  rec.set_pims_id(id);
  grpc::ClientContext ctx;
  Authorize(ctx, j.clinic_id);
  bv1::RecordPimsIdResponse resp;
  VL_RETURN_IF_ERROR(rpc::FromGrpc(booking_->RecordPimsId(&ctx, rec, &resp)));
  return id;
}

absl::StatusOr<std::string> WritebackWorker::WriteNote(const WritebackJob& j, Where& at) {
  at = {"the conversation note", false};
  nlohmann::json p = nlohmann::json::parse(j.payload, nullptr, /*allow_exceptions=*/false);
  if (!p.is_object() || !p.value("clientId", nlohmann::json()).is_string() ||
      !p.value("text", nlohmann::json()).is_string() || !p.value("date", nlohmann::json()).is_string()) {
    return absl::InvalidArgumentError("The exported conversation could not be read; export it again.");
  }
  absl::CivilDay day;
  if (!absl::ParseCivilTime(p["date"].get<std::string>(), &day)) {
    return absl::InvalidArgumentError("The exported conversation has no date; export it again.");
  }
  clients::v1::ClientForPims c;
  {
    clients::v1::GetForPimsRequest req;
    req.set_clinic_id(j.clinic_id);
    req.set_client_id(p["clientId"].get<std::string>());
    grpc::ClientContext ctx;
    Authorize(ctx, j.clinic_id);
    VL_RETURN_IF_ERROR(rpc::FromGrpc(clients_->GetForPims(&ctx, req, &c)));
  }
  if (c.client().pims_id().empty()) {
    return absl::InvalidArgumentError("The client is not in the PIMS yet, so the note has nowhere to go.");
  }
  pv1::WriteRequest req;
  for (const auto& [k, v] : NoteFields(j.kind, c.client().pims_id(), day, p["text"].get<std::string>())) {
    (*req.mutable_fields())[k] = v;
  }
  req.set_idempotency_key(j.id);
  at.pims = true;
  grpc::ClientContext ctx;
  rpc::SetDeadline(ctx, settings_.call_deadline);
  pv1::WriteResponse resp;
  VL_RETURN_IF_ERROR(rpc::FromGrpc(Connector(j.address)->CreateNote(&ctx, req, &resp)));
  return resp.id();
}

}  // namespace vetline::pims_sync
