// All SQL of the booking service. Every statement takes the clinic id.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/outbox/outbox.h"
#include "libs/pg/pg.h"
#include "services/booking/availability.h"
#include "services/booking/taken_days.h"
#include "vetline/booking/v1/booking.pb.h"
#include "vetline/booking/v1/booking_sync.pb.h"

namespace vetline::booking {

namespace v1 = ::vetline::booking::v1;

// booking.settings of one clinic.
struct ClinicSettings {
  std::string time_zone;
  int minimum_notice_minutes = 120;
  int booking_horizon_days = 60;
  int slot_granularity_minutes = 15;
  int buffer_before_minutes = 0;
  int buffer_after_minutes = 0;
  bool allow_new_clients = false;
  int cancel_cutoff_minutes = 1440;
};

// One checked sync batch, ready to store: wall-clock times already instants, clients and
// patients resolved, a digest per record (see schedule_records.h). The last copy of a
// repeated PIMS id has already won.
struct SyncBlockOffRow {
  v1::SyncBlockOff record;
  absl::Time start, end;
  std::string digest;
};
struct SyncAppointmentRow {
  v1::SyncAppointment record;
  absl::Time start, end;
  std::optional<std::string> client_id, pet_id;  // Vetline ids; empty when not synced yet
  std::string digest;
};
struct SyncInput {
  std::vector<v1::SyncAppointmentType> types;
  std::vector<std::string> type_digests;
  std::vector<v1::SyncProvider> providers;
  std::vector<std::string> provider_digests;
  std::vector<v1::SyncRoom> rooms;
  std::vector<std::string> room_digests;
  std::vector<SyncBlockOffRow> block_offs;
  std::vector<SyncAppointmentRow> appointments;
  std::optional<v1::SyncSchedulingSettings> settings;  // checked
};
struct SyncCounts {
  v1::BookingEntityCounts types, providers, rooms, block_offs, appointments;
  std::vector<v1::BookingRecordError> errors;
};

// A change of settings: only the fields present are written.
struct SettingsChange {
  std::optional<std::string> time_zone;
  std::optional<int> minimum_notice_minutes, booking_horizon_days, slot_granularity_minutes,
      buffer_before_minutes, buffer_after_minutes, cancel_cutoff_minutes;
  std::optional<bool> allow_new_clients;
};

struct TypeChange {
  std::optional<bool> online_bookable, telemedicine, new_client_allowed;
  std::optional<std::vector<std::string>> provider_ids, room_ids;  // checked ids
};

// One row of opening hours or a provider's schedule: an ISO weekday (1 = Monday) or a date,
// and minutes after local midnight (none: closed that date).
struct HoursRow {
  std::optional<int> weekday;
  std::optional<absl::CivilDay> day;
  std::optional<LocalHours> hours;
};

struct NewAppointment {
  std::string client_id, pet_id, type_id, provider_id, room_id;  // room may be empty
  absl::Time start;
  std::string description;
  std::string source = "staff";
  std::string created_by;
};

struct AppointmentMove {
  std::string id;
  absl::Time start;
  std::string provider_id, room_id;  // empty: unchanged
  int version = 0;                   // 0: no check
};

struct AppointmentFilter {
  absl::Time from, to;  // overlapping [from, to)
  std::vector<std::string> type_ids, provider_ids, room_ids;
  std::optional<std::pair<absl::Time, std::string>> after;  // keyset cursor (start, id)
  int limit = 50;
};

// Everything one availability question reads (one round trip).
struct AvailabilityInput {
  bool has_settings = true;  // false: the clinic has no settings row yet (nothing else filled)
  Clinic clinic;             // its zone and scheduling settings too
  AppointmentType type;
  std::vector<Busy> busy;              // block-offs
  std::vector<TakenDays::Day> days;    // appointments and holds: the replica's copies, shared
  // Everything taken, for OpenSlots (valid while this input lives).
  std::vector<const std::vector<Busy>*> Taken() const {
    std::vector<const std::vector<Busy>*> out{&busy};
    for (const TakenDays::Day& d : days) out.push_back(d.get());
    return out;
  }
};

// Shared with DirectBookingRepository (the same rules for every booking). Inside the
// caller's transaction: the locks a booking takes before it inserts (schedule shared, then
// provider, then room; empty ids skipped); the expired holds of the provider or room in
// [start, end) deleted; an appointment's event (appointment.created|moved|cancelled, with
// newClient and description) to booking's outbox.
absl::Status LockSlot(pg::Session& s, const std::string& clinic_id, const std::string& provider_id,
                      const std::string& room_id);
absl::Status DropExpiredHolds(pg::Session& s, const std::string& clinic_id, const std::string& provider_id,
                              const std::string& room_id, absl::Time start, absl::Time end, absl::Time now);
absl::Status AddAppointmentEvent(pg::Session& s, const outbox::Outbox& outbox, const std::string& topic,
                                 const std::string& clinic_id, const std::string& id,
                                 std::optional<absl::Time> previous_start = std::nullopt,
                                 std::optional<absl::Time> previous_end = std::nullopt);
// An exclusion-constraint refusal as FailedPrecondition "slot no longer available" on `field`.
absl::Status SlotTaken(const absl::Status& st, std::string_view field = "startTime");

class BookingRepository {
 public:
  explicit BookingRepository(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}

  // NotFound when the clinic has no settings row yet.
  absl::StatusOr<ClinicSettings> GetSettings(const std::string& clinic_id);
  // The first settings of a clinic, with its zone; a row already there stays.
  absl::Status CreateSettings(const std::string& clinic_id, const std::string& time_zone);

  absl::StatusOr<ClinicSettings> UpdateSettings(const std::string& clinic_id, const SettingsChange& c);

  // Types, providers and rooms in (name, id) order after `after` (empty: from the start).
  absl::StatusOr<std::vector<v1::AppointmentType>> ListTypes(const std::string& clinic_id,
                                                             const std::vector<std::string>& after, int limit);
  absl::StatusOr<v1::AppointmentType> CreateType(const std::string& clinic_id, const std::string& name,
                                                 int duration_minutes);
  // NotFound on `id`; provider and room ids must be the clinic's (field errors otherwise).
  absl::StatusOr<v1::AppointmentType> UpdateType(const std::string& clinic_id, const std::string& id,
                                                 const TypeChange& c);
  absl::StatusOr<std::vector<v1::Provider>> ListProviders(const std::string& clinic_id,
                                                          const std::vector<std::string>& after, int limit);
  absl::StatusOr<v1::Provider> CreateProvider(const std::string& clinic_id, const std::string& name);
  absl::StatusOr<std::vector<v1::Room>> ListRooms(const std::string& clinic_id,
                                                  const std::vector<std::string>& after, int limit);
  absl::StatusOr<v1::Room> CreateRoom(const std::string& clinic_id, const std::string& name);

  // Opening hours (provider_id empty) or a provider's schedule (NotFound on providerId).
  absl::StatusOr<std::vector<HoursRow>> GetHours(const std::string& clinic_id, const std::string& provider_id,
                                                 bool* has_schedule = nullptr);
  absl::Status PutHours(const std::string& clinic_id, const std::string& provider_id, bool has_schedule,
                        const std::vector<HoursRow>& rows);

  absl::StatusOr<v1::BlockOff> CreateBlockOff(const std::string& clinic_id, const v1::BlockOff& b,
                                              const std::string& staff_user_id);
  absl::Status DeleteBlockOff(const std::string& clinic_id, const std::string& id);
  absl::StatusOr<std::vector<v1::BlockOff>> ListBlockOffs(const std::string& clinic_id, absl::Time from,
                                                          absl::Time to,
                                                          const std::optional<std::pair<absl::Time, std::string>>& after,
                                                          int limit);

  // Each in one transaction with its event; an overlap with an active appointment of the
  // provider or room is FailedPrecondition on startTime ("slot no longer available") and
  // nothing is written. Ids the request names are looked up in the clinic (field errors).
  absl::StatusOr<v1::Appointment> CreateAppointment(const std::string& clinic_id, const NewAppointment& a);
  absl::StatusOr<v1::Appointment> MoveAppointment(const std::string& clinic_id, const AppointmentMove& m);
  absl::StatusOr<v1::Appointment> CancelAppointment(const std::string& clinic_id, const std::string& id);
  absl::StatusOr<v1::Appointment> GetAppointment(const std::string& clinic_id, const std::string& id);
  absl::StatusOr<std::vector<v1::Appointment>> ListAppointments(const std::string& clinic_id,
                                                                const AppointmentFilter& f);

  // The clinic's settings and zone, the type, active providers and their schedules,
  // opening hours, and what is taken around the local days [first, last] (from the local
  // midnight before `first` to the one after `last + 1`: block-offs, and appointments of
  // the UTC days that covers, holds with their expiry): one round trip, plus one more for
  // the days whose appointments changed since this replica last read them (TakenDays).
  // NotFound on appointmentTypeId; has_settings false when the clinic has none yet.
  absl::StatusOr<AvailabilityInput> LoadAvailability(const std::string& clinic_id, const std::string& type_id,
                                                     absl::CivilDay first, absl::CivilDay last);
  // Deletes up to `limit` holds (any clinic) that expired before `before`; availability
  // ignores expired holds already, bookings over them delete them, this clears the rest.
  absl::StatusOr<int64_t> SweepExpiredHolds(absl::Time before, int limit);

  // One sync batch in one transaction. Exclusive against bookings of the clinic (which
  // take the same lock shared), so its no-double-booking decisions hold until commit.
  //
  // PIMS appointments are the PIMS's truth and are always stored; one that overlaps an
  // active appointment of its provider or room (already stored, or earlier in the batch
  // by start) is stored with blocks_slots = false, outside the exclusion constraints,
  // and reported as a record error on startLocal. Availability still treats it as taken.
  absl::StatusOr<SyncCounts> ApplySync(const std::string& clinic_id, const SyncInput& in);

  // --- Write-back (services/pims_sync, helper "writeback").
  // An appointment as the PIMS needs it: the PIMS ids of its type, provider and room,
  // status and times (start/end returned as instants beside it). NotFound on `id`.
  struct ForPims {
    v1::AppointmentForPims appointment;
    absl::Time start, end;
  };
  absl::StatusOr<ForPims> GetForPims(const std::string& clinic_id, const std::string& id);
  // Records the PIMS id an appointment made in Vetline got; a PIMS appointment a sync
  // stored under that id meanwhile is the same one and is removed (one transaction).
  absl::Status RecordPimsId(const std::string& clinic_id, const std::string& id, const std::string& pims_id);

  // Events written with the changes they describe (appointment.created / .moved /
  // .cancelled).
  const outbox::Outbox& events() const { return outbox_; }

 private:
  std::shared_ptr<pg::Pool> pool_;
  outbox::Outbox outbox_{"booking"};
  TakenDays taken_days_;
};

}  // namespace vetline::booking
