#include "services/booking/booking_service.h"

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/time.h"
#include "libs/core/validate.h"
#include "libs/core/validate_enum.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"

namespace vetline::booking {
namespace {

constexpr char kTypeList[] = "booking.types";
constexpr char kProviderList[] = "booking.providers";
constexpr char kRoomList[] = "booking.rooms";
constexpr char kBlockOffList[] = "booking.block_offs";
constexpr char kAppointmentList[] = "booking.appointments";
constexpr size_t kMaxDescriptionBytes = 4000;
constexpr size_t kMaxReasonBytes = 500;
constexpr int kMaxRangesPerDay = 8;
constexpr int kMaxExceptions = 400;
constexpr int kMaxFilterIds = 100;

absl::StatusOr<absl::CivilDay> Day(std::string_view field, const std::string& value) {
  absl::CivilDay d;
  if (value.size() != 10 || !absl::ParseCivilTime(value, &d) || d.year() < 2000 || d.year() > 2200) {
    return InvalidField(field, absl::StrCat(std::string(field), " must be a date like 2026-03-08"));
  }
  return d;
}

}  // namespace

absl::StatusOr<DayRange> Days(const std::string& from, const std::string& to) {
  VL_ASSIGN_OR_RETURN(absl::CivilDay first, Day("from", from));
  VL_ASSIGN_OR_RETURN(absl::CivilDay last, Day("to", to));
  if (last < first) return InvalidField("to", "to is before from");
  if (last - first >= kMaxDays) return InvalidField("to", absl::StrCat("ask for at most ", kMaxDays, " days at a time"));
  return DayRange{first, last};
}

absl::StatusOr<absl::Time> Instant(std::string_view field, bool present, const google::protobuf::Timestamp& ts) {
  if (!present) return InvalidField(field, absl::StrCat(std::string(field), " is required"));
  const absl::Time t = FromTimestamp(ts);
  if (t < absl::FromUnixSeconds(946684800) || t > absl::FromUnixSeconds(7258118400)) {  // 2000..2200
    return InvalidField(field, absl::StrCat(std::string(field), " is out of range"));
  }
  return t;
}

namespace {

absl::Status OptionalId(std::string_view field, const std::string& id) {
  return id.empty() ? absl::OkStatus() : validate::Id(field, id);
}

// Free text a person wrote: valid UTF-8, bounded, no NUL (libpq takes C strings).
absl::Status Text(std::string_view field, const std::string& value, size_t max_bytes) {
  if (!validate::IsUtf8(value) || value.size() > max_bytes || value.find('\0') != std::string::npos) {
    return InvalidField(field, absl::StrCat(std::string(field), " must be text of at most ", max_bytes, " bytes"));
  }
  return absl::OkStatus();
}

// Checked, distinct ids of a repeated field (named by the list).
absl::StatusOr<std::vector<std::string>> Ids(std::string_view field,
                                             const google::protobuf::RepeatedPtrField<std::string>& ids) {
  if (ids.size() > kMaxFilterIds) return InvalidField(field, absl::StrCat("at most ", kMaxFilterIds, " ids"));
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const std::string& id : ids) {
    VL_RETURN_IF_ERROR(validate::Id(field, id));
    if (seen.insert(id).second) out.push_back(id);
  }
  return out;
}

// "HH:MM" -> minutes after midnight; "24:00" only as a close.
absl::StatusOr<int> Clock(std::string_view field, const std::string& hhmm, bool close) {
  int h = 0, m = 0;
  if (hhmm.size() != 5 || hhmm[2] != ':' || !absl::SimpleAtoi(hhmm.substr(0, 2), &h) ||
      !absl::SimpleAtoi(hhmm.substr(3, 2), &m) || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && (m || !close))) {
    return InvalidField(field, absl::StrCat(std::string(field), " hours must look like 08:30 (24:00 ends a day)"));
  }
  return h * 60 + m;
}

std::string ClockText(int minutes) {
  return absl::StrCat(absl::Dec(minutes / 60, absl::kZeroPad2), ":", absl::Dec(minutes % 60, absl::kZeroPad2));
}

absl::Status Ranges(std::string_view field, const google::protobuf::RepeatedPtrField<v1::TimeRange>& ranges,
                    std::vector<LocalHours>* out) {
  if (ranges.size() > kMaxRangesPerDay) return InvalidField(field, absl::StrCat("at most ", kMaxRangesPerDay, " ranges a day"));
  for (const v1::TimeRange& r : ranges) {
    VL_ASSIGN_OR_RETURN(int open, Clock(field, r.open(), false));
    VL_ASSIGN_OR_RETURN(int close, Clock(field, r.close(), true));
    if (close <= open) return InvalidField(field, absl::StrCat(std::string(field), " hours must close after they open"));
    out->push_back({open, close});
  }
  return absl::OkStatus();
}

// A schedule from the wire into rows; errors name "schedule".
absl::StatusOr<std::vector<HoursRow>> HoursRows(const v1::Schedule& s) {
  std::vector<HoursRow> rows;
  std::set<int> weekdays;
  for (const v1::WeeklyHours& w : s.weekly()) {
    VL_RETURN_IF_ERROR(validate::Enum("schedule", w.weekday()));
    if (!weekdays.insert(w.weekday()).second) return InvalidField("schedule", "a weekday is listed twice");
    std::vector<LocalHours> hours;
    VL_RETURN_IF_ERROR(Ranges("schedule", w.ranges(), &hours));
    for (const LocalHours& h : hours) rows.push_back({.weekday = static_cast<int>(w.weekday()), .hours = h});
  }
  if (s.exceptions_size() > kMaxExceptions) return InvalidField("schedule", absl::StrCat("at most ", kMaxExceptions, " dated exceptions"));
  std::set<absl::CivilDay> days;
  for (const v1::DateHours& d : s.exceptions()) {
    VL_ASSIGN_OR_RETURN(absl::CivilDay day, Day("schedule", d.date()));
    if (!days.insert(day).second) return InvalidField("schedule", "a date is listed twice");
    std::vector<LocalHours> hours;
    VL_RETURN_IF_ERROR(Ranges("schedule", d.ranges(), &hours));
    if (hours.empty()) rows.push_back({.day = day});
    for (const LocalHours& h : hours) rows.push_back({.day = day, .hours = h});
  }
  return rows;
}

v1::Schedule ScheduleOf(const std::vector<HoursRow>& rows) {
  v1::Schedule s;
  std::map<int, v1::WeeklyHours*> weekly;
  std::map<absl::CivilDay, v1::DateHours*> dated;
  for (const HoursRow& r : rows) {
    google::protobuf::RepeatedPtrField<v1::TimeRange>* ranges = nullptr;
    if (r.weekday) {
      auto& w = weekly[*r.weekday];
      if (!w) {
        w = s.add_weekly();
        w->set_weekday(static_cast<v1::Weekday>(*r.weekday));
      }
      ranges = w->mutable_ranges();
    } else if (r.day) {
      auto& d = dated[*r.day];
      if (!d) {
        d = s.add_exceptions();
        d->set_date(absl::FormatCivilTime(*r.day));
      }
      ranges = d->mutable_ranges();
    }
    if (ranges && r.hours) {
      v1::TimeRange* t = ranges->Add();
      t->set_open(ClockText(r.hours->open));
      t->set_close(ClockText(r.hours->close));
    }
  }
  return s;
}

void SettingsOut(const ClinicSettings& s, v1::BookingSettings* out) {
  out->set_time_zone(s.time_zone);
  out->set_minimum_notice_minutes(s.minimum_notice_minutes);
  out->set_booking_horizon_days(s.booking_horizon_days);
  out->set_slot_granularity_minutes(s.slot_granularity_minutes);
  out->set_buffer_before_minutes(s.buffer_before_minutes);
  out->set_buffer_after_minutes(s.buffer_after_minutes);
  out->set_allow_new_clients(s.allow_new_clients);
  out->set_cancel_cutoff_minutes(s.cancel_cutoff_minutes);
}

absl::StatusOr<int> Bounded(std::string_view field, int value, int min, int max) {
  if (value < min || value > max) {
    return InvalidField(field, absl::StrCat(std::string(field), " must be ", min, " to ", max));
  }
  return value;
}

// A (name, id) or (instant, id) cursor from a page token.
absl::StatusOr<std::vector<std::string>> Cursor(const PageTokens& tokens, const std::string& token, const char* list,
                                                const std::string& clinic_id) {
  if (token.empty()) return std::vector<std::string>{};
  return tokens.Decode("pageToken", token, list, clinic_id, 2);
}

absl::StatusOr<std::optional<std::pair<absl::Time, std::string>>> TimeCursor(const PageTokens& tokens,
                                                                             const std::string& token,
                                                                             const char* list,
                                                                             const std::string& clinic_id) {
  VL_ASSIGN_OR_RETURN(auto c, Cursor(tokens, token, list, clinic_id));
  if (c.empty()) return std::optional<std::pair<absl::Time, std::string>>();
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, c[0], &t, &err)) return InvalidField("pageToken", "pageToken is not valid");
  return std::optional<std::pair<absl::Time, std::string>>(std::pair{t, c[1]});
}

std::string TimeKey(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime(absl::RFC3339_full, FromTimestamp(ts), absl::UTCTimeZone());
}

// One page of `rows` (fetched with limit size + 1) into `out`, and the next token.
template <typename Row, typename Key>
std::string Page(std::vector<Row>& rows, int size, google::protobuf::RepeatedPtrField<Row>* out, const PageTokens& tokens,
                 const char* list, const std::string& clinic_id, Key key) {
  const bool more = static_cast<int>(rows.size()) > size;
  if (more) rows.pop_back();
  for (Row& r : rows) *out->Add() = std::move(r);
  return more ? tokens.Encode(list, clinic_id, key(*out->rbegin())) : "";
}

}  // namespace

absl::StatusOr<std::vector<Slot>> FindOpenSlots(BookingRepository& repo, const ClinicSettingsSource& settings,
                                                const std::string& clinic_id, const std::string& type_id,
                                                const std::string& provider_id, DayRange days, absl::Time now) {
  VL_ASSIGN_OR_RETURN(AvailabilityInput in, repo.LoadAvailability(clinic_id, type_id, days.first, days.last));
  if (!in.has_settings) {  // the clinic's first question: its settings are made, then read with the rest
    VL_RETURN_IF_ERROR(settings.Get(clinic_id).status());
    VL_ASSIGN_OR_RETURN(in, repo.LoadAvailability(clinic_id, type_id, days.first, days.last));
    if (!in.has_settings) return absl::InternalError("booking settings missing after they were created");
  }
  // The type may name providers that left (inactive): they offer nothing.
  std::set<std::string> active;
  for (const Provider& x : in.clinic.providers) active.insert(x.id);
  if (!provider_id.empty() && !active.count(provider_id)) {
    return NotFoundField("providerId", "no active provider with this providerId in your clinic");
  }
  std::vector<std::string> eligible;
  for (const std::string& id : in.type.provider_ids) {
    if (active.count(id)) eligible.push_back(id);
  }
  if (!in.type.provider_ids.empty() && eligible.empty()) return std::vector<Slot>{};  // nobody offers it now
  in.type.provider_ids = std::move(eligible);
  return OpenSlots(in.clinic, in.Taken(),
                   {.type = in.type, .provider_id = provider_id, .first_day = days.first, .last_day = days.last,
                    .now = now});
}

void SlotsOut(const std::vector<Slot>& slots, google::protobuf::RepeatedPtrField<v1::Slot>* out) {
  for (const Slot& slot : slots) {
    v1::Slot* o = out->Add();
    *o->mutable_start_time() = ToTimestamp(slot.when.start);
    *o->mutable_end_time() = ToTimestamp(slot.when.end);
    o->set_provider_id(slot.provider_id);
    o->set_room_id(slot.room_id);
  }
}

grpc::Status BookingService::GetSettings(grpc::ServerContext* ctx, const v1::GetSettingsRequest*,
                                         v1::BookingSettings* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(auto clinic, settings_.Get(p.clinic_id()));
    SettingsOut(clinic.settings, out);
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::UpdateSettings(grpc::ServerContext* ctx, const v1::UpdateSettingsRequest* req,
                                            v1::BookingSettings* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    SettingsChange c;
    if (req->has_time_zone()) {
      VL_RETURN_IF_ERROR(validate::TimeZone("timeZone", req->time_zone()));
      c.time_zone = req->time_zone();
    }
    struct Int {
      bool present;
      const char* field;
      int value, min, max;
      std::optional<int>* into;
    };
    for (const Int& i : {Int{req->has_minimum_notice_minutes(), "minimumNoticeMinutes", req->minimum_notice_minutes(), 0,
                             60 * 24 * 90, &c.minimum_notice_minutes},
                         Int{req->has_booking_horizon_days(), "bookingHorizonDays", req->booking_horizon_days(), 1, 730,
                             &c.booking_horizon_days},
                         Int{req->has_slot_granularity_minutes(), "slotGranularityMinutes",
                             req->slot_granularity_minutes(), 1, 1440, &c.slot_granularity_minutes},
                         Int{req->has_buffer_before_minutes(), "bufferBeforeMinutes", req->buffer_before_minutes(), 0,
                             1440, &c.buffer_before_minutes},
                         Int{req->has_buffer_after_minutes(), "bufferAfterMinutes", req->buffer_after_minutes(), 0,
                             1440, &c.buffer_after_minutes},
                         Int{req->has_cancel_cutoff_minutes(), "cancelCutoffMinutes", req->cancel_cutoff_minutes(), 0,
                             60 * 24 * 30, &c.cancel_cutoff_minutes}}) {
      if (!i.present) continue;
      VL_ASSIGN_OR_RETURN(int v, Bounded(i.field, i.value, i.min, i.max));
      *i.into = v;
    }
    if (req->has_allow_new_clients()) c.allow_new_clients = req->allow_new_clients();
    VL_RETURN_IF_ERROR(settings_.Get(p.clinic_id()).status());  // the row exists
    VL_ASSIGN_OR_RETURN(ClinicSettings s, repo_.UpdateSettings(p.clinic_id(), c));
    SettingsOut(s, out);
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::ListAppointmentTypes(grpc::ServerContext* ctx, const v1::ListAppointmentTypesRequest* req,
                                                  v1::ListAppointmentTypesResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(int size, validate::PageSize("pageSize", req->page_size()));
    VL_ASSIGN_OR_RETURN(auto after, Cursor(page_tokens_, req->page_token(), kTypeList, p.clinic_id()));
    VL_ASSIGN_OR_RETURN(auto rows, repo_.ListTypes(p.clinic_id(), after, size + 1));
    resp->set_next_page_token(Page(rows, size, resp->mutable_appointment_types(), page_tokens_, kTypeList,
                                   p.clinic_id(), [](const v1::AppointmentType& t) {
                                     return std::vector<std::string>{t.name(), t.id()};
                                   }));
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::CreateAppointmentType(grpc::ServerContext* ctx, const v1::CreateAppointmentTypeRequest* req,
                                                   v1::AppointmentType* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(std::string name, validate::Name("name", req->name()));
    VL_ASSIGN_OR_RETURN(int minutes, Bounded("durationMinutes", req->duration_minutes(), 1, 1440));
    VL_ASSIGN_OR_RETURN(*out, repo_.CreateType(p.clinic_id(), name, minutes));
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::UpdateAppointmentType(grpc::ServerContext* ctx, const v1::UpdateAppointmentTypeRequest* req,
                                                   v1::AppointmentType* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    TypeChange c;
    if (req->has_online_bookable()) c.online_bookable = req->online_bookable();
    if (req->has_telemedicine()) c.telemedicine = req->telemedicine();
    if (req->has_new_client_allowed()) c.new_client_allowed = req->new_client_allowed();
    if (req->has_provider_ids()) {
      VL_ASSIGN_OR_RETURN(c.provider_ids, Ids("providerIds", req->provider_ids().ids()));
    }
    if (req->has_room_ids()) {
      VL_ASSIGN_OR_RETURN(c.room_ids, Ids("roomIds", req->room_ids().ids()));
    }
    VL_ASSIGN_OR_RETURN(*out, repo_.UpdateType(p.clinic_id(), req->id(), c));
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::ListProviders(grpc::ServerContext* ctx, const v1::ListProvidersRequest* req,
                                           v1::ListProvidersResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(int size, validate::PageSize("pageSize", req->page_size()));
    VL_ASSIGN_OR_RETURN(auto after, Cursor(page_tokens_, req->page_token(), kProviderList, p.clinic_id()));
    VL_ASSIGN_OR_RETURN(auto rows, repo_.ListProviders(p.clinic_id(), after, size + 1));
    resp->set_next_page_token(Page(rows, size, resp->mutable_providers(), page_tokens_, kProviderList, p.clinic_id(),
                                   [](const v1::Provider& x) { return std::vector<std::string>{x.name(), x.id()}; }));
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::CreateProvider(grpc::ServerContext* ctx, const v1::CreateProviderRequest* req,
                                            v1::Provider* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(std::string name, validate::Name("name", req->name()));
    VL_ASSIGN_OR_RETURN(*out, repo_.CreateProvider(p.clinic_id(), name));
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::ListRooms(grpc::ServerContext* ctx, const v1::ListRoomsRequest* req,
                                       v1::ListRoomsResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(int size, validate::PageSize("pageSize", req->page_size()));
    VL_ASSIGN_OR_RETURN(auto after, Cursor(page_tokens_, req->page_token(), kRoomList, p.clinic_id()));
    VL_ASSIGN_OR_RETURN(auto rows, repo_.ListRooms(p.clinic_id(), after, size + 1));
    resp->set_next_page_token(Page(rows, size, resp->mutable_rooms(), page_tokens_, kRoomList, p.clinic_id(),
                                   [](const v1::Room& x) { return std::vector<std::string>{x.name(), x.id()}; }));
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::CreateRoom(grpc::ServerContext* ctx, const v1::CreateRoomRequest* req, v1::Room* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(std::string name, validate::Name("name", req->name()));
    VL_ASSIGN_OR_RETURN(*out, repo_.CreateRoom(p.clinic_id(), name));
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::GetClinicHours(grpc::ServerContext* ctx, const v1::GetClinicHoursRequest*,
                                            v1::Schedule* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(auto rows, repo_.GetHours(p.clinic_id(), ""));
    *out = ScheduleOf(rows);
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::PutClinicHours(grpc::ServerContext* ctx, const v1::PutClinicHoursRequest* req,
                                            v1::Schedule* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(auto rows, HoursRows(req->schedule()));
    VL_RETURN_IF_ERROR(repo_.PutHours(p.clinic_id(), "", false, rows));
    *out = ScheduleOf(rows);
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::GetProviderSchedule(grpc::ServerContext* ctx, const v1::GetProviderScheduleRequest* req,
                                                 v1::ProviderSchedule* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("providerId", req->provider_id()));
    bool own = false;
    VL_ASSIGN_OR_RETURN(auto rows, repo_.GetHours(p.clinic_id(), req->provider_id(), &own));
    out->set_provider_id(req->provider_id());
    out->set_own_schedule(own);
    *out->mutable_schedule() = ScheduleOf(rows);
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::PutProviderSchedule(grpc::ServerContext* ctx, const v1::PutProviderScheduleRequest* req,
                                                 v1::ProviderSchedule* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("providerId", req->provider_id()));
    VL_ASSIGN_OR_RETURN(auto rows, HoursRows(req->schedule()));
    VL_RETURN_IF_ERROR(repo_.PutHours(p.clinic_id(), req->provider_id(), req->own_schedule(), rows));
    out->set_provider_id(req->provider_id());
    out->set_own_schedule(req->own_schedule());
    *out->mutable_schedule() = ScheduleOf(rows);
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::CreateBlockOff(grpc::ServerContext* ctx, const v1::CreateBlockOffRequest* req,
                                            v1::BlockOff* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(OptionalId("providerId", req->provider_id()));
    VL_RETURN_IF_ERROR(OptionalId("roomId", req->room_id()));
    VL_ASSIGN_OR_RETURN(absl::Time start, Instant("startTime", req->has_start_time(), req->start_time()));
    VL_ASSIGN_OR_RETURN(absl::Time end, Instant("endTime", req->has_end_time(), req->end_time()));
    if (end <= start) return InvalidField("endTime", "endTime must be after startTime");
    if (end - start > absl::Hours(24 * 366)) return InvalidField("endTime", "a block-off lasts at most a year");
    VL_RETURN_IF_ERROR(Text("reason", req->reason(), kMaxReasonBytes));
    v1::BlockOff b;
    b.set_provider_id(req->provider_id());
    b.set_room_id(req->room_id());
    *b.mutable_start_time() = ToTimestamp(start);
    *b.mutable_end_time() = ToTimestamp(end);
    b.set_reason(req->reason());
    VL_ASSIGN_OR_RETURN(*out, repo_.CreateBlockOff(p.clinic_id(), b, p.user_id()));
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::DeleteBlockOff(grpc::ServerContext* ctx, const v1::DeleteBlockOffRequest* req,
                                            v1::DeleteBlockOffResponse*) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    return repo_.DeleteBlockOff(p.clinic_id(), req->id());
  }());
}

grpc::Status BookingService::ListBlockOffs(grpc::ServerContext* ctx, const v1::ListBlockOffsRequest* req,
                                           v1::ListBlockOffsResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(DayRange days, Days(req->from(), req->to()));
    VL_ASSIGN_OR_RETURN(int size, validate::PageSize("pageSize", req->page_size()));
    VL_ASSIGN_OR_RETURN(auto after, TimeCursor(page_tokens_, req->page_token(), kBlockOffList, p.clinic_id()));
    VL_ASSIGN_OR_RETURN(auto clinic, settings_.Get(p.clinic_id()));
    VL_ASSIGN_OR_RETURN(auto rows, repo_.ListBlockOffs(p.clinic_id(), LocalInstant(days.first, 0, clinic.zone),
                                                       LocalInstant(days.last + 1, 0, clinic.zone), after, size + 1));
    resp->set_next_page_token(Page(rows, size, resp->mutable_block_offs(), page_tokens_, kBlockOffList, p.clinic_id(),
                                   [](const v1::BlockOff& b) {
                                     return std::vector<std::string>{TimeKey(b.start_time()), b.id()};
                                   }));
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::CreateAppointment(grpc::ServerContext* ctx, const v1::CreateAppointmentRequest* req,
                                               v1::Appointment* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("clientId", req->client_id()));
    VL_RETURN_IF_ERROR(validate::Id("petId", req->pet_id()));
    VL_RETURN_IF_ERROR(validate::Id("appointmentTypeId", req->appointment_type_id()));
    VL_RETURN_IF_ERROR(validate::Id("providerId", req->provider_id()));
    VL_RETURN_IF_ERROR(OptionalId("roomId", req->room_id()));
    VL_ASSIGN_OR_RETURN(absl::Time start, Instant("startTime", req->has_start_time(), req->start_time()));
    VL_RETURN_IF_ERROR(Text("description", req->description(), kMaxDescriptionBytes));
    // The client and the pet are the clients service's: the pet must be this client's.
    VL_ASSIGN_OR_RETURN(clients::v1::Client client, clients_.Get(p, "clientId", req->client_id()));
    bool theirs = false;
    for (const auto& pet : client.pets()) theirs = theirs || pet.id() == req->pet_id();
    if (!theirs) return NotFoundField("petId", "this pet is not one of the client's pets");
    NewAppointment a{.client_id = req->client_id(), .pet_id = req->pet_id(), .type_id = req->appointment_type_id(),
                     .provider_id = req->provider_id(), .room_id = req->room_id(), .start = start,
                     .description = req->description(), .source = "staff", .created_by = p.user_id()};
    VL_ASSIGN_OR_RETURN(*out, repo_.CreateAppointment(p.clinic_id(), a));
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::GetAppointment(grpc::ServerContext* ctx, const v1::GetAppointmentRequest* req,
                                            v1::Appointment* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_ASSIGN_OR_RETURN(*out, repo_.GetAppointment(p.clinic_id(), req->id()));
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::MoveAppointment(grpc::ServerContext* ctx, const v1::MoveAppointmentRequest* req,
                                             v1::Appointment* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_RETURN_IF_ERROR(OptionalId("providerId", req->provider_id()));
    VL_RETURN_IF_ERROR(OptionalId("roomId", req->room_id()));
    VL_ASSIGN_OR_RETURN(absl::Time start, Instant("startTime", req->has_start_time(), req->start_time()));
    if (req->version() < 0) return InvalidField("version", "version must be positive");
    VL_ASSIGN_OR_RETURN(*out, repo_.MoveAppointment(p.clinic_id(), {.id = req->id(), .start = start,
                                                                     .provider_id = req->provider_id(),
                                                                     .room_id = req->room_id(),
                                                                     .version = req->version()}));
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::CancelAppointment(grpc::ServerContext* ctx, const v1::CancelAppointmentRequest* req,
                                               v1::Appointment* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_ASSIGN_OR_RETURN(*out, repo_.CancelAppointment(p.clinic_id(), req->id()));
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::ListAppointments(grpc::ServerContext* ctx, const v1::ListAppointmentsRequest* req,
                                              v1::ListAppointmentsResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(DayRange days, Days(req->from(), req->to()));
    VL_ASSIGN_OR_RETURN(int size, validate::PageSize("pageSize", req->page_size()));
    AppointmentFilter f;
    VL_ASSIGN_OR_RETURN(f.type_ids, Ids("appointmentTypeIds", req->appointment_type_ids()));
    VL_ASSIGN_OR_RETURN(f.provider_ids, Ids("providerIds", req->provider_ids()));
    VL_ASSIGN_OR_RETURN(f.room_ids, Ids("roomIds", req->room_ids()));
    VL_ASSIGN_OR_RETURN(f.after, TimeCursor(page_tokens_, req->page_token(), kAppointmentList, p.clinic_id()));
    VL_ASSIGN_OR_RETURN(auto clinic, settings_.Get(p.clinic_id()));
    f.from = LocalInstant(days.first, 0, clinic.zone);
    f.to = LocalInstant(days.last + 1, 0, clinic.zone);
    f.limit = size + 1;
    VL_ASSIGN_OR_RETURN(auto rows, repo_.ListAppointments(p.clinic_id(), f));
    resp->set_next_page_token(Page(rows, size, resp->mutable_appointments(), page_tokens_, kAppointmentList,
                                   p.clinic_id(), [](const v1::Appointment& a) {
                                     return std::vector<std::string>{TimeKey(a.start_time()), a.id()};
                                   }));
    return absl::OkStatus();
  }());
}

grpc::Status BookingService::GetAvailability(grpc::ServerContext* ctx, const v1::GetAvailabilityRequest* req,
                                             v1::GetAvailabilityResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("appointmentTypeId", req->appointment_type_id()));
    VL_RETURN_IF_ERROR(OptionalId("providerId", req->provider_id()));
    VL_ASSIGN_OR_RETURN(DayRange days, Days(req->from(), req->to()));
    VL_ASSIGN_OR_RETURN(std::vector<Slot> slots, FindOpenSlots(repo_, settings_, p.clinic_id(), req->appointment_type_id(),
                                                               req->provider_id(), days, clock_.Now()));
    SlotsOut(slots, resp->mutable_slots());
    return absl::OkStatus();
  }());
}

}  // namespace vetline::booking
