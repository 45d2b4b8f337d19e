#include "services/booking/direct_booking_repository.h"

#include "libs/core/status.h"
#include "services/booking/booking_repository.h"

namespace vetline::booking {
namespace {

#define VL_ONLINE_TYPE_COLUMNS "id, name, duration_minutes, new_client_allowed, telemedicine"
constexpr pg::Statement kOnlineTypes{
    "booking_direct_online_types",
    "SELECT " VL_ONLINE_TYPE_COLUMNS " FROM booking.appointment_types WHERE clinic_id = $1 AND active AND "
    "online_bookable ORDER BY name, id LIMIT 200"};
constexpr pg::Statement kOnlineType{
    "booking_direct_online_type",
    "SELECT " VL_ONLINE_TYPE_COLUMNS " FROM booking.appointment_types WHERE clinic_id = $1 AND id = $2 AND "
    "active AND online_bookable"};
constexpr pg::Statement kAddCode{
    "booking_direct_add_code",
    "INSERT INTO booking.direct_codes (clinic_id, contact, code_hash, expires_at) VALUES ($1, $2, $3, $4)"};
constexpr pg::Statement kLatestCode{
    "booking_direct_latest_code",
    "SELECT id, code_hash, expires_at, attempts, used_at IS NOT NULL AS used FROM booking.direct_codes "
    "WHERE clinic_id = $1 AND contact = $2 ORDER BY id DESC LIMIT 1 FOR UPDATE"};
constexpr pg::Statement kCodeWrong{
    "booking_direct_code_wrong", "UPDATE booking.direct_codes SET attempts = attempts + 1 WHERE id = $1"};
constexpr pg::Statement kCodeUsed{
    "booking_direct_code_used", "UPDATE booking.direct_codes SET used_at = $2 WHERE id = $1"};
constexpr pg::Statement kInsertHold{
    "booking_direct_insert_hold",
    "INSERT INTO booking.appointments (clinic_id, client_id, pet_id, type_id, provider_id, room_id, during, "
    "status, source, hold_expires_at, hold_owner) VALUES ($1, $2::uuid, $3::uuid, $4, $5, $6::uuid, "
    "tstzrange($7::timestamptz, $8::timestamptz, '[)'), 'held', 'direct_booking', $9, $10) RETURNING id"};
#define VL_DIRECT_COLUMNS                                                                               \
  "a.id, a.status, coalesce(a.client_id::text, '') AS client_id, coalesce(a.pet_id::text, '') AS pet_id, " \
  "coalesce(a.type_id::text, '') AS type_id, coalesce(t.name, '') AS type_name, "                       \
  "coalesce(a.provider_id::text, '') AS provider_id, coalesce(a.room_id::text, '') AS room_id, "         \
  "coalesce(a.hold_owner, '') AS owner, lower(a.during) AS starts, upper(a.during) AS ends, "             \
  "a.hold_expires_at, a.version FROM booking.appointments a LEFT JOIN booking.appointment_types t ON "    \
  "t.clinic_id = a.clinic_id AND t.id = a.type_id "
constexpr pg::Statement kGetHold{
    "booking_direct_get_hold",
    "SELECT " VL_DIRECT_COLUMNS "WHERE a.clinic_id = $1 AND a.id = $2 AND a.status = 'held'"};
constexpr pg::Statement kLockHold{
    "booking_direct_lock_hold",
    "SELECT " VL_DIRECT_COLUMNS "WHERE a.clinic_id = $1 AND a.id = $2 AND a.status = 'held' FOR UPDATE OF a"};
constexpr pg::Statement kGetBooked{
    "booking_direct_get_booked",
    "SELECT " VL_DIRECT_COLUMNS "WHERE a.clinic_id = $1 AND a.id = $2 AND a.status <> 'held'"};
constexpr pg::Statement kConfirmHold{
    "booking_direct_confirm_hold",
    "UPDATE booking.appointments SET status = 'scheduled', client_id = $3, pet_id = $4, description = $5, "
    "new_client = $6, hold_expires_at = NULL, updated_at = now() WHERE clinic_id = $1 AND id = $2"};

OnlineTypeRow TypeOf(const pg::Result& r, int i) {
  return {.id = r.Text(i, "id"),
          .name = r.Text(i, "name"),
          .duration_minutes = static_cast<int>(r.Int(i, "duration_minutes")),
          .new_client_allowed = r.Bool(i, "new_client_allowed"),
          .telemedicine = r.Bool(i, "telemedicine")};
}

DirectAppointment AppointmentOf(const pg::Result& r, int i) {
  DirectAppointment a{.id = r.Text(i, "id"),
                      .status = r.Text(i, "status"),
                      .client_id = r.Text(i, "client_id"),
                      .pet_id = r.Text(i, "pet_id"),
                      .type_id = r.Text(i, "type_id"),
                      .type_name = r.Text(i, "type_name"),
                      .provider_id = r.Text(i, "provider_id"),
                      .room_id = r.Text(i, "room_id"),
                      .owner = r.Text(i, "owner"),
                      .start = r.Time(i, "starts"),
                      .end = r.Time(i, "ends"),
                      .version = static_cast<int>(r.Int(i, "version"))};
  if (!r.IsNull(i, r.column("hold_expires_at"))) a.hold_expires_at = r.Time(i, "hold_expires_at");
  return a;
}

absl::Status CheckHold(const pg::Result& r, const std::string& owner, absl::Time now) {
  if (r.rows() == 0) return NotFoundField("holdId", "no hold with this holdId (it may have been booked or expired)");
  const DirectAppointment a = AppointmentOf(r, 0);
  if (a.owner != owner) return FieldError(absl::StatusCode::kPermissionDenied, "holdId", "this hold is not yours");
  if (!a.hold_expires_at || *a.hold_expires_at <= now) {
    return FieldError(absl::StatusCode::kFailedPrecondition, "holdId", "the hold expired; pick the slot again");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<OnlineTypeRow>> DirectBookingRepository::OnlineTypes(const std::string& clinic_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kOnlineTypes, {clinic_id}));
  std::vector<OnlineTypeRow> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(TypeOf(r, i));
  return out;
}

absl::StatusOr<OnlineTypeRow> DirectBookingRepository::OnlineType(const std::string& clinic_id,
                                                                  const std::string& type_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kOnlineType, {clinic_id, type_id}));
  if (r.rows() == 0) {
    return NotFoundField("appointmentTypeId", "no appointment type with this appointmentTypeId is booked online here");
  }
  return TypeOf(r, 0);
}

absl::Status DirectBookingRepository::AddCode(const std::string& clinic_id, const std::string& contact,
                                              const std::string& code_hash, absl::Time expires_at) {
  return pool_->Exec(kAddCode, {clinic_id, contact, code_hash, expires_at}).status();
}

absl::StatusOr<CodeVerdict> DirectBookingRepository::UseCode(
    const std::string& clinic_id, const std::string& contact,
    const std::function<CodeVerdict(const StoredCode&)>& judge, absl::Time now) {
  CodeVerdict verdict = CodeVerdict::kNone;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    verdict = CodeVerdict::kNone;
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kLatestCode, {clinic_id, contact}));
    if (r.rows() == 0) return absl::OkStatus();
    StoredCode stored{.code_hash = r.Text(0, "code_hash"),
                      .expires_at = r.Time(0, "expires_at"),
                      .attempts = static_cast<int>(r.Int(0, "attempts")),
                      .used = r.Bool(0, "used")};
    verdict = judge(stored);
    const std::string id = r.Text(0, "id");
    if (verdict == CodeVerdict::kWrong) return s.Exec(kCodeWrong, {id}).status();
    if (verdict == CodeVerdict::kOk) return s.Exec(kCodeUsed, {id, now}).status();
    return absl::OkStatus();
  }));
  return verdict;
}

absl::StatusOr<std::string> DirectBookingRepository::Hold(const std::string& clinic_id, const NewHold& h) {
  std::string id;
  absl::Status st = pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(LockSlot(s, clinic_id, h.provider_id, h.room_id));
    VL_RETURN_IF_ERROR(DropExpiredHolds(s, clinic_id, h.provider_id, h.room_id, h.start, h.end, h.now));
    auto opt = [](const std::string& v) { return v.empty() ? std::nullopt : std::optional<std::string>(v); };
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kInsertHold, {clinic_id, opt(h.client_id), opt(h.pet_id), h.type_id,
                                                           h.provider_id, opt(h.room_id), h.start, h.end,
                                                           h.expires_at, h.owner}));
    id = r.Text(0, "id");
    return absl::OkStatus();
  });
  VL_RETURN_IF_ERROR(SlotTaken(st, "startTime"));
  return id;
}

absl::StatusOr<DirectAppointment> DirectBookingRepository::GetHold(const std::string& clinic_id,
                                                                   const std::string& hold_id,
                                                                   const std::string& owner, absl::Time now) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kGetHold, {clinic_id, hold_id}));
  VL_RETURN_IF_ERROR(CheckHold(r, owner, now));
  return AppointmentOf(r, 0);
}

absl::StatusOr<DirectAppointment> DirectBookingRepository::Confirm(const std::string& clinic_id,
                                                                   const std::string& hold_id,
                                                                   const std::string& owner, absl::Time now,
                                                                   const Confirmation& c) {
  DirectAppointment out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kLockHold, {clinic_id, hold_id}));
    VL_RETURN_IF_ERROR(CheckHold(r, owner, now));
    VL_RETURN_IF_ERROR(
        s.Exec(kConfirmHold, {clinic_id, hold_id, c.client_id, c.pet_id, c.description, c.new_client}).status());
    VL_ASSIGN_OR_RETURN(pg::Result booked, s.Exec(kGetBooked, {clinic_id, hold_id}));
    out = AppointmentOf(booked, 0);
    VL_RETURN_IF_ERROR(AddAppointmentEvent(s, outbox_, "appointment.created", clinic_id, hold_id));
    return outbox_.Add(s, "conversation.requested", c.conversation_payload);
  }));
  return out;
}

absl::StatusOr<DirectAppointment> DirectBookingRepository::Get(const std::string& clinic_id, const std::string& id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kGetBooked, {clinic_id, id}));
  if (r.rows() == 0) return NotFoundField("appointmentId", "no appointment with this appointmentId");
  return AppointmentOf(r, 0);
}

absl::Status DirectBookingRepository::RequestConversation(const std::string& payload) {
  return pool_->Transact([&](pg::Session& s) { return outbox_.Add(s, "conversation.requested", payload); });
}

}  // namespace vetline::booking
