#include "services/booking/booking_sync_service.h"

#include <map>
#include <set>

#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"
#include "services/booking/schedule_records.h"

namespace vetline::booking {
namespace {

constexpr int kMaxErrorsReturned = 1000;
constexpr absl::Duration kResolveDeadline = absl::Seconds(10);

void Add(v1::BookingEntityCounts* total, const v1::BookingEntityCounts& c) {
  total->set_inserted(total->inserted() + c.inserted());
  total->set_updated(total->updated() + c.updated());
  total->set_unchanged(total->unchanged() + c.unchanged());
  total->set_failed(total->failed() + c.failed());
}

// Checked named records (types, providers, rooms) into `out`, digests beside them; the
// last copy of a repeated PIMS id wins.
template <typename Record, typename Check>
void TakeNamed(google::protobuf::RepeatedPtrField<Record>* records, Check check, std::vector<Record>* out,
               std::vector<std::string>* digests, v1::BookingEntityCounts* failed,
               const std::function<void(v1::BookingRecordError)>& report) {
  std::map<std::string, Record> by_id;
  for (Record& r : *records) {
    if (auto e = check(r)) {
      failed->set_failed(failed->failed() + 1);
      report(std::move(*e));
    } else {
      by_id[r.pims_id()] = std::move(r);
    }
  }
  for (auto& [id, r] : by_id) {
    digests->push_back(Digest(r));
    out->push_back(std::move(r));
  }
}

}  // namespace

absl::Status BookingSyncService::Resolve(const std::string& clinic_id, std::vector<SyncAppointmentRow>& rows) const {
  clients::v1::ResolvePimsIdsRequest req;
  req.set_clinic_id(clinic_id);
  std::set<std::string> clients, patients;
  for (const SyncAppointmentRow& r : rows) {
    if (!r.record.client_pims_id().empty()) clients.insert(r.record.client_pims_id());
    if (!r.record.patient_pims_id().empty()) patients.insert(r.record.patient_pims_id());
  }
  if (clients.empty() && patients.empty()) return absl::OkStatus();
  for (const std::string& id : clients) req.add_client_pims_ids(id);
  for (const std::string& id : patients) req.add_patient_pims_ids(id);
  grpc::ClientContext ctx;
  rpc::AttachPrincipal(ctx, rpc::ServiceForClinic(clinic_id), signer_);
  rpc::SetDeadline(ctx, kResolveDeadline);
  clients::v1::ResolvePimsIdsResponse resp;
  grpc::Status st = clients_->ResolvePimsIds(&ctx, req, &resp);
  if (!st.ok()) {
    log::Warn("resolving PIMS ids failed", {{"code", rpc::CodeName(st.error_code())}, {"detail", st.error_message()}});
    return absl::UnavailableError("the clients service cannot resolve PIMS ids right now; try again");
  }
  std::map<std::string, std::string> client_ids, pet_ids;
  for (const auto& c : resp.clients()) client_ids[c.pims_id()] = c.id();
  for (const auto& p : resp.patients()) pet_ids[p.pims_id()] = p.id();
  for (SyncAppointmentRow& r : rows) {
    if (auto it = client_ids.find(r.record.client_pims_id()); it != client_ids.end()) r.client_id = it->second;
    if (auto it = pet_ids.find(r.record.patient_pims_id()); it != pet_ids.end()) r.pet_id = it->second;
  }
  return absl::OkStatus();
}

grpc::Status BookingSyncService::Upsert(grpc::ServerContext* ctx, grpc::ServerReader<v1::BookingSyncBatch>* reader,
                                        v1::BookingSyncSummary* summary) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal caller, rpc::RequireService(*ctx, signer_));
    std::string clinic_id;
    std::optional<ClinicSettingsSource::Loaded> clinic;
    std::function<void(v1::BookingRecordError)> report = [&](v1::BookingRecordError e) {
      if (summary->errors_size() < kMaxErrorsReturned) *summary->add_errors() = std::move(e);
    };
    v1::BookingSyncBatch batch;
    while (reader->Read(&batch)) {
      VL_RETURN_IF_ERROR(validate::Id("clinicId", batch.clinic_id()));
      if (clinic_id.empty()) clinic_id = batch.clinic_id();
      // A service principal scoped to a clinic may only write that clinic.
      if (batch.clinic_id() != clinic_id || (!caller.clinic_id().empty() && caller.clinic_id() != clinic_id)) {
        return absl::PermissionDeniedError("every batch of a sync must be for the caller's clinic");
      }
      if (!clinic) {
        VL_ASSIGN_OR_RETURN(clinic, settings_.Get(clinic_id));
      }
      // Wall-clock times become instants in this zone, so it is part of every digest.
      const std::string zone_name = clinic->settings.time_zone;

      SyncInput in;
      v1::BookingEntityCounts failed_types, failed_providers, failed_rooms, failed_blocks, failed_appointments;
      TakeNamed(batch.mutable_appointment_types(), CheckType, &in.types, &in.type_digests, &failed_types, report);
      TakeNamed(batch.mutable_providers(), CheckProvider, &in.providers, &in.provider_digests, &failed_providers,
                report);
      TakeNamed(batch.mutable_rooms(), CheckRoom, &in.rooms, &in.room_digests, &failed_rooms, report);

      std::map<std::string, SyncBlockOffRow> blocks;
      for (v1::SyncBlockOff& b : *batch.mutable_block_offs()) {
        v1::BookingRecordError e;
        auto when = CheckBlockOff(b, clinic->zone, &e);
        if (!when.ok()) {
          failed_blocks.set_failed(failed_blocks.failed() + 1);
          report(std::move(e));
          continue;
        }
        std::string id = b.pims_id(), digest = Digest(b, zone_name);
        blocks[id] = {std::move(b), when->start, when->end, std::move(digest)};
      }
      for (auto& [id, b] : blocks) in.block_offs.push_back(std::move(b));

      std::map<std::string, SyncAppointmentRow> appointments;
      for (v1::SyncAppointment& a : *batch.mutable_appointments()) {
        v1::BookingRecordError e;
        auto when = CheckAppointment(a, clinic->zone, &e);
        if (!when.ok()) {
          failed_appointments.set_failed(failed_appointments.failed() + 1);
          report(std::move(e));
          continue;
        }
        std::string id = a.pims_id();  // before the record moves
        appointments[id] = {.record = std::move(a), .start = when->start, .end = when->end};
      }
      for (auto& [id, a] : appointments) in.appointments.push_back(std::move(a));
      VL_RETURN_IF_ERROR(Resolve(clinic_id, in.appointments));
      // The resolved ids are part of the stored row: a client synced later changes it.
      for (SyncAppointmentRow& a : in.appointments) {
        a.digest = Digest(a.record, zone_name + "|" + a.client_id.value_or("") + "|" + a.pet_id.value_or(""));
      }

      if (batch.has_settings()) {
        if (auto e = CheckSettings(batch.settings())) {
          report(std::move(*e));
        } else {
          in.settings = batch.settings();
        }
      }

      VL_ASSIGN_OR_RETURN(SyncCounts counts, repo_.ApplySync(clinic_id, in));
      Add(summary->mutable_appointment_types(), counts.types);
      Add(summary->mutable_appointment_types(), failed_types);
      Add(summary->mutable_providers(), counts.providers);
      Add(summary->mutable_providers(), failed_providers);
      Add(summary->mutable_rooms(), counts.rooms);
      Add(summary->mutable_rooms(), failed_rooms);
      Add(summary->mutable_block_offs(), counts.block_offs);
      Add(summary->mutable_block_offs(), failed_blocks);
      Add(summary->mutable_appointments(), counts.appointments);
      Add(summary->mutable_appointments(), failed_appointments);
      for (auto& e : counts.errors) report(std::move(e));
    }
    return absl::OkStatus();
  }());
}

absl::Status BookingSyncService::RequireServiceFor(grpc::ServerContext& ctx, const std::string& clinic_id) const {
  VL_ASSIGN_OR_RETURN(api::Principal caller, rpc::RequireService(ctx, signer_));
  VL_RETURN_IF_ERROR(validate::Id("clinicId", clinic_id));
  if (!caller.clinic_id().empty() && caller.clinic_id() != clinic_id) {
    return absl::PermissionDeniedError("a service acting for a clinic may only reach its appointments");
  }
  return absl::OkStatus();
}

grpc::Status BookingSyncService::GetForPims(grpc::ServerContext* ctx, const v1::GetForPimsRequest* req,
                                            v1::AppointmentForPims* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(RequireServiceFor(*ctx, req->clinic_id()));
    VL_RETURN_IF_ERROR(validate::Id("appointmentId", req->appointment_id()));
    VL_ASSIGN_OR_RETURN(BookingRepository::ForPims a, repo_.GetForPims(req->clinic_id(), req->appointment_id()));
    VL_ASSIGN_OR_RETURN(ClinicSettingsSource::Loaded clinic, settings_.Get(req->clinic_id()));
    // The PIMS keeps the clinic's wall clock, as the sync reads it (booking_sync.proto).
    constexpr char kWallClock[] = "%Y-%m-%dT%H:%M";
    a.appointment.mutable_appointment()->set_start_local(absl::FormatTime(kWallClock, a.start, clinic.zone));
    a.appointment.mutable_appointment()->set_end_local(absl::FormatTime(kWallClock, a.end, clinic.zone));
    *out = std::move(a.appointment);
    return absl::OkStatus();
  }());
}

grpc::Status BookingSyncService::RecordPimsId(grpc::ServerContext* ctx, const v1::RecordPimsIdRequest* req,
                                              v1::RecordPimsIdResponse*) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(RequireServiceFor(*ctx, req->clinic_id()));
    VL_RETURN_IF_ERROR(validate::Id("appointmentId", req->appointment_id()));
    if (req->pims_id().empty() || req->pims_id().size() > 200 || !validate::IsUtf8(req->pims_id()) ||
        req->pims_id().find('\0') != std::string::npos) {
      return InvalidField("pimsId", "pimsId must be the PIMS's id (1 to 200 characters of text)");
    }
    return repo_.RecordPimsId(req->clinic_id(), req->appointment_id(), req->pims_id());
  }());
}

}  // namespace vetline::booking
