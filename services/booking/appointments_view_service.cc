#include "services/booking/appointments_view_service.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/time.h"
#include "libs/core/validate.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"
#include "services/booking/availability.h"

namespace vetline::booking {
namespace {

constexpr int kMaxFilterIds = 100;
constexpr size_t kMaxColumnNameChars = 100;
// More than this on one day is not a schedule a person reads column by column.
constexpr int kMaxDayAppointments = 2000;

// Checked, distinct ids of a filter (named by the list).
absl::StatusOr<std::vector<std::string>> FilterIds(std::string_view field,
                                                   const google::protobuf::RepeatedPtrField<std::string>& ids) {
  if (ids.size() > kMaxFilterIds) return InvalidField(field, absl::StrCat("at most ", kMaxFilterIds, " ids"));
  std::vector<std::string> out;
  for (const std::string& id : ids) {
    VL_RETURN_IF_ERROR(validate::Id(field, id));
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  return out;
}

bool Passes(const google::protobuf::RepeatedPtrField<std::string>& filter, const std::string& id) {
  return filter.empty() || std::find(filter.begin(), filter.end(), id) != filter.end();
}

// A column shows an appointment that passes all of its filters (an empty one passes all).
bool Shows(const v1::AppointmentsColumn& c, const v1::Appointment& a) {
  return Passes(c.appointment_type_ids(), a.appointment_type_id()) && Passes(c.provider_ids(), a.provider_id()) &&
         Passes(c.room_ids(), a.room_id());
}

std::string Local(const google::protobuf::Timestamp& ts, const absl::TimeZone& zone) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", FromTimestamp(ts), zone);
}

std::string NameOf(const std::map<std::string, std::string>& names, const std::string& id) {
  auto it = names.find(id);
  return it == names.end() ? "" : it->second;
}

}  // namespace

grpc::Status AppointmentsViewService::ListColumns(grpc::ServerContext* ctx, const v1::ListAppointmentsColumnsRequest*,
                                                  v1::ListAppointmentsColumnsResponse* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(auto columns, repo_.ListColumns(p.clinic_id()));
    for (auto& c : columns) *out->add_columns() = std::move(c);
    return absl::OkStatus();
  }());
}

grpc::Status AppointmentsViewService::CreateColumn(grpc::ServerContext* ctx,
                                                   const v1::CreateAppointmentsColumnRequest* req,
                                                   v1::AppointmentsColumn* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(std::string name, validate::Name("name", req->name(), kMaxColumnNameChars));
    ColumnFilters f;
    VL_ASSIGN_OR_RETURN(f.type_ids, FilterIds("appointmentTypeIds", req->appointment_type_ids()));
    VL_ASSIGN_OR_RETURN(f.provider_ids, FilterIds("providerIds", req->provider_ids()));
    VL_ASSIGN_OR_RETURN(f.room_ids, FilterIds("roomIds", req->room_ids()));
    VL_ASSIGN_OR_RETURN(*out, repo_.CreateColumn(p.clinic_id(), name, f));
    return absl::OkStatus();
  }());
}

grpc::Status AppointmentsViewService::UpdateColumn(grpc::ServerContext* ctx,
                                                   const v1::UpdateAppointmentsColumnRequest* req,
                                                   v1::AppointmentsColumn* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    ColumnChange c;
    if (req->has_name()) {
      VL_ASSIGN_OR_RETURN(c.name, validate::Name("name", req->name(), kMaxColumnNameChars));
    }
    if (req->has_appointment_type_ids()) {
      VL_ASSIGN_OR_RETURN(c.type_ids, FilterIds("appointmentTypeIds", req->appointment_type_ids().ids()));
    }
    if (req->has_provider_ids()) {
      VL_ASSIGN_OR_RETURN(c.provider_ids, FilterIds("providerIds", req->provider_ids().ids()));
    }
    if (req->has_room_ids()) {
      VL_ASSIGN_OR_RETURN(c.room_ids, FilterIds("roomIds", req->room_ids().ids()));
    }
    VL_ASSIGN_OR_RETURN(*out, repo_.UpdateColumn(p.clinic_id(), req->id(), c));
    return absl::OkStatus();
  }());
}

grpc::Status AppointmentsViewService::ReorderColumns(grpc::ServerContext* ctx,
                                                     const v1::ReorderAppointmentsColumnsRequest* req,
                                                     v1::ListAppointmentsColumnsResponse* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    std::vector<std::string> ids;
    std::set<std::string> seen;
    if (req->column_ids_size() > kMaxViewColumns) {
      return InvalidField("columnIds", absl::StrCat("the view has at most ", kMaxViewColumns, " columns"));
    }
    for (const std::string& id : req->column_ids()) {
      VL_RETURN_IF_ERROR(validate::Id("columnIds", id));
      if (!seen.insert(id).second) return InvalidField("columnIds", "a column is listed twice in columnIds");
      ids.push_back(id);
    }
    VL_ASSIGN_OR_RETURN(auto columns, repo_.ReorderColumns(p.clinic_id(), ids));
    for (auto& c : columns) *out->add_columns() = std::move(c);
    return absl::OkStatus();
  }());
}

grpc::Status AppointmentsViewService::DeleteColumn(grpc::ServerContext* ctx,
                                                   const v1::DeleteAppointmentsColumnRequest* req,
                                                   v1::DeleteAppointmentsColumnResponse*) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    return repo_.DeleteColumn(p.clinic_id(), req->id());
  }());
}

grpc::Status AppointmentsViewService::GetView(grpc::ServerContext* ctx, const v1::GetAppointmentsViewRequest* req,
                                              v1::AppointmentsView* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    absl::CivilDay day;
    if (req->date().size() != 10 || !absl::ParseCivilTime(req->date(), &day) || day.year() < 2000 ||
        day.year() > 2200) {
      return InvalidField("date", "date must be a day like 2026-03-08");
    }
    VL_ASSIGN_OR_RETURN(auto clinic, settings_.Get(p.clinic_id()));
    VL_ASSIGN_OR_RETURN(auto columns, repo_.ListColumns(p.clinic_id()));
    // The local day is 23 or 25 hours long on a DST change: its bounds are local midnights.
    AppointmentFilter f{.from = LocalInstant(day, 0, clinic.zone), .to = LocalInstant(day + 1, 0, clinic.zone),
                        .limit = kMaxDayAppointments + 1};
    VL_ASSIGN_OR_RETURN(auto appointments, schedule_.ListAppointments(p.clinic_id(), f));
    if (static_cast<int>(appointments.size()) > kMaxDayAppointments) {
      return absl::FailedPreconditionError(
          absl::StrCat("more than ", kMaxDayAppointments, " appointments on one day; filter the appointment list instead"));
    }
    VL_ASSIGN_OR_RETURN(ScheduleNames names, repo_.Names(p.clinic_id()));
    // Client and pet names from the clients service, once per client of the day; a client
    // not synced yet (or merged away) shows without a name.
    std::map<std::string, std::optional<clients::v1::Client>> people;
    for (const v1::Appointment& a : appointments) {
      if (a.status() == v1::CANCELLED || a.client_id().empty() || people.count(a.client_id())) continue;
      auto c = clients_.Get(p, "clientId", a.client_id());
      if (c.ok()) {
        people[a.client_id()] = std::move(*c);
      } else if (c.status().code() == absl::StatusCode::kNotFound ||
                 c.status().code() == absl::StatusCode::kFailedPrecondition) {
        people[a.client_id()] = std::nullopt;
      } else {
        return c.status();
      }
    }
    out->set_date(absl::FormatCivilTime(day));
    out->set_time_zone(clinic.settings.time_zone);
    for (auto& column : columns) {
      v1::AppointmentsViewColumn* col = out->add_columns();
      for (const v1::Appointment& a : appointments) {  // in start order already
        if (a.status() == v1::CANCELLED || !Shows(column, a)) continue;
        v1::ViewAppointment* v = col->add_appointments();
        v->set_appointment_id(a.id());
        v->set_client_id(a.client_id());
        v->set_pet_id(a.pet_id());
        if (auto it = people.find(a.client_id()); it != people.end() && it->second) {
          v->set_client_name(absl::StrCat(it->second->first_name(), " ", it->second->last_name()));
          for (const auto& pet : it->second->pets()) {
            if (pet.id() == a.pet_id()) v->set_pet_name(pet.name());
          }
        }
        v->set_appointment_type_id(a.appointment_type_id());
        v->set_appointment_type_name(NameOf(names.types, a.appointment_type_id()));
        v->set_provider_id(a.provider_id());
        v->set_provider_name(NameOf(names.providers, a.provider_id()));
        v->set_room_id(a.room_id());
        v->set_room_name(NameOf(names.rooms, a.room_id()));
        *v->mutable_start_time() = a.start_time();
        *v->mutable_end_time() = a.end_time();
        v->set_start_local(Local(a.start_time(), clinic.zone));
        v->set_end_local(Local(a.end_time(), clinic.zone));
        v->set_status(a.status());
        v->set_description(a.description());
      }
      *col->mutable_column() = std::move(column);
    }
    return absl::OkStatus();
  }());
}

}  // namespace vetline::booking
