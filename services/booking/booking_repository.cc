#include "services/booking/booking_repository.h"

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/time.h"
#include "nlohmann/json.hpp"
#include "libs/core/status.h"
#include "services/booking/schedule_records.h"

namespace vetline::booking {
namespace {

// Statuses that hold a slot (the exclusion constraints' WHERE says the same). A direct
// booking's hold is one until it expires; expired holds are deleted before availability
// is ignored by availability from its expiry on, deleted by whoever books over it and, an
// hour later, by the sweep (BookingRepository::SweepExpiredHolds).
#define VL_ACTIVE "('held', 'scheduled', 'confirmed', 'checked_in')"

constexpr pg::Statement kGetSettings{
    "booking_get_settings",
    "SELECT time_zone, minimum_notice_minutes, booking_horizon_days, slot_granularity_minutes, "
    "buffer_before_minutes, buffer_after_minutes, allow_new_clients, cancel_cutoff_minutes "
    "FROM booking.settings WHERE clinic_id = $1"};
constexpr pg::Statement kCreateSettings{
    "booking_create_settings",
    "INSERT INTO booking.settings (clinic_id, time_zone) VALUES ($1, $2) ON CONFLICT DO NOTHING"};

// Bookings of a clinic take this lock shared, a sync batch exclusive: the batch decides
// which PIMS appointments hold their slots and that decision must hold until it commits.
constexpr pg::Statement kLockScheduleExclusive{
    "booking_lock_schedule_exclusive",
    "SELECT pg_advisory_xact_lock(hashtext('booking.schedule'), hashtext($1))"};

// --- PIMS sync: staged with COPY, applied set-based, skipped when the digest is equal.
constexpr char kSyncTables[] =
    "SET LOCAL client_min_messages = warning;"
    "SET CONSTRAINTS booking.appointments_provider_no_overlap, booking.appointments_room_no_overlap "
    "DEFERRED;"
    "CREATE TEMP TABLE IF NOT EXISTS sync_types (pims_id text, name text, duration integer,"
    " active boolean, deleted boolean, hash text) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS sync_providers (pims_id text, name text, active boolean,"
    " deleted boolean, hash text) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS sync_rooms (pims_id text, name text, active boolean,"
    " deleted boolean, hash text) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS sync_block_offs (pims_id text, provider_pims_id text,"
    " room_pims_id text, starts_at timestamptz, ends_at timestamptz, reason text, deleted boolean,"
    " hash text) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS sync_appointments (pims_id text, client_id uuid, pet_id uuid,"
    " client_pims_id text, patient_pims_id text, type_pims_id text, provider_pims_id text,"
    " room_pims_id text, starts_at timestamptz, ends_at timestamptz, status text, description text,"
    " deleted boolean, hash text) ON COMMIT DELETE ROWS;"
    // The appointments this batch changes, resolved, with what they were before.
    "CREATE TEMP TABLE IF NOT EXISTS sync_appt_changed (pims_id text PRIMARY KEY, hash text,"
    " client_id uuid, pet_id uuid, client_pims_id text, patient_pims_id text, type_id uuid,"
    " provider_id uuid, room_id uuid, during tstzrange, status text, description text,"
    " existing_id uuid, old_during tstzrange, old_provider_id uuid, old_room_id uuid,"
    " old_status text, blocks boolean, id uuid, inserted boolean, source text)"
    " ON COMMIT DELETE ROWS;"
    "CREATE INDEX IF NOT EXISTS sync_appt_changed_existing ON sync_appt_changed (existing_id);";
constexpr pg::CopyTarget kStageTypes{"sync_types", "pims_id, name, duration, active, deleted, hash"};
constexpr pg::CopyTarget kStageProviders{"sync_providers", "pims_id, name, active, deleted, hash"};
constexpr pg::CopyTarget kStageRooms{"sync_rooms", "pims_id, name, active, deleted, hash"};
constexpr pg::CopyTarget kStageBlockOffs{
    "sync_block_offs", "pims_id, provider_pims_id, room_pims_id, starts_at, ends_at, reason, deleted, hash"};
constexpr pg::CopyTarget kStageAppointments{
    "sync_appointments",
    "pims_id, client_id, pet_id, client_pims_id, patient_pims_id, type_pims_id, provider_pims_id, "
    "room_pims_id, starts_at, ends_at, status, description, deleted, hash"};

#define VL_COUNT_UP \
  " RETURNING (x.xmax = 0) AS inserted) SELECT count(*) FILTER (WHERE inserted) AS inserted, " \
  "count(*) FILTER (WHERE NOT inserted) AS updated FROM up"

// Name, duration and whether it is in use; the online flags stay the clinic's.
constexpr pg::Statement kSyncUpsertTypes{
    "booking_sync_upsert_types",
    "WITH up AS (INSERT INTO booking.appointment_types AS x (clinic_id, pims_id, pims_hash, name, "
    "duration_minutes, active, pims_deleted) SELECT $1::uuid, pims_id, hash, name, duration, "
    "active AND NOT deleted, deleted FROM sync_types ON CONFLICT (clinic_id, pims_id) DO UPDATE SET "
    "pims_hash = EXCLUDED.pims_hash, name = EXCLUDED.name, duration_minutes = EXCLUDED.duration_minutes, "
    "active = EXCLUDED.active, pims_deleted = EXCLUDED.pims_deleted, updated_at = now() "
    "WHERE x.pims_hash IS DISTINCT FROM EXCLUDED.pims_hash" VL_COUNT_UP};
constexpr pg::Statement kSyncUpsertProviders{
    "booking_sync_upsert_providers",
    "WITH up AS (INSERT INTO booking.providers AS x (clinic_id, pims_id, pims_hash, name, active, "
    "pims_deleted) SELECT $1::uuid, pims_id, hash, name, active AND NOT deleted, deleted FROM "
    "sync_providers ON CONFLICT (clinic_id, pims_id) DO UPDATE SET pims_hash = EXCLUDED.pims_hash, "
    "name = EXCLUDED.name, active = EXCLUDED.active, pims_deleted = EXCLUDED.pims_deleted, "
    "updated_at = now() WHERE x.pims_hash IS DISTINCT FROM EXCLUDED.pims_hash" VL_COUNT_UP};
constexpr pg::Statement kSyncUpsertRooms{
    "booking_sync_upsert_rooms",
    "WITH up AS (INSERT INTO booking.rooms AS x (clinic_id, pims_id, pims_hash, name, active, "
    "pims_deleted) SELECT $1::uuid, pims_id, hash, name, active AND NOT deleted, deleted FROM "
    "sync_rooms ON CONFLICT (clinic_id, pims_id) DO UPDATE SET pims_hash = EXCLUDED.pims_hash, "
    "name = EXCLUDED.name, active = EXCLUDED.active, pims_deleted = EXCLUDED.pims_deleted, "
    "updated_at = now() WHERE x.pims_hash IS DISTINCT FROM EXCLUDED.pims_hash" VL_COUNT_UP};

// A provider or room the PIMS names must have been synced (this batch or before).
#define VL_BLOCK_OFF_REFS                                                                        \
  " FROM sync_block_offs s LEFT JOIN booking.providers p ON p.clinic_id = $1 AND p.pims_id = "   \
  "s.provider_pims_id LEFT JOIN booking.rooms r ON r.clinic_id = $1 AND r.pims_id = s.room_pims_id "
#define VL_BLOCK_OFF_MISSING_PROVIDER "(s.provider_pims_id <> '' AND p.id IS NULL)"
#define VL_BLOCK_OFF_MISSING_ROOM "(s.room_pims_id <> '' AND r.id IS NULL)"
constexpr pg::Statement kSyncBlockOffErrors{
    "booking_sync_block_off_errors",
    "SELECT s.pims_id, CASE WHEN " VL_BLOCK_OFF_MISSING_PROVIDER " THEN 'providerPimsId' ELSE "
    "'roomPimsId' END AS field, CASE WHEN " VL_BLOCK_OFF_MISSING_PROVIDER " THEN s.provider_pims_id "
    "ELSE s.room_pims_id END AS ref" VL_BLOCK_OFF_REFS "WHERE NOT s.deleted AND ("
    VL_BLOCK_OFF_MISSING_PROVIDER " OR " VL_BLOCK_OFF_MISSING_ROOM ") ORDER BY s.pims_id"};
constexpr pg::Statement kSyncDeleteBlockOffs{
    "booking_sync_delete_block_offs",
    "WITH d AS (DELETE FROM booking.block_offs b USING sync_block_offs s WHERE b.clinic_id = $1 AND "
    "b.pims_id = s.pims_id AND s.deleted RETURNING 1) SELECT count(*) AS n FROM d"};
constexpr pg::Statement kSyncUpsertBlockOffs{
    "booking_sync_upsert_block_offs",
    "WITH up AS (INSERT INTO booking.block_offs AS x (clinic_id, pims_id, pims_hash, provider_id, "
    "room_id, during, reason) SELECT $1::uuid, s.pims_id, s.hash, p.id, r.id, "
    "tstzrange(s.starts_at, s.ends_at, '[)'), s.reason" VL_BLOCK_OFF_REFS "WHERE NOT s.deleted AND NOT "
    VL_BLOCK_OFF_MISSING_PROVIDER " AND NOT " VL_BLOCK_OFF_MISSING_ROOM
    " ON CONFLICT (clinic_id, pims_id) DO UPDATE SET pims_hash = EXCLUDED.pims_hash, provider_id = "
    "EXCLUDED.provider_id, room_id = EXCLUDED.room_id, during = EXCLUDED.during, reason = "
    "EXCLUDED.reason WHERE x.pims_hash IS DISTINCT FROM EXCLUDED.pims_hash" VL_COUNT_UP};

#define VL_APPT_REFS                                                                               \
  " FROM sync_appointments s LEFT JOIN booking.appointment_types t ON t.clinic_id = $1 AND "       \
  "t.pims_id = s.type_pims_id LEFT JOIN booking.providers p ON p.clinic_id = $1 AND p.pims_id = "  \
  "s.provider_pims_id LEFT JOIN booking.rooms r ON r.clinic_id = $1 AND r.pims_id = s.room_pims_id "
#define VL_APPT_MISSING_TYPE "(s.type_pims_id <> '' AND t.id IS NULL)"
#define VL_APPT_MISSING_PROVIDER "(s.provider_pims_id <> '' AND p.id IS NULL)"
#define VL_APPT_MISSING_ROOM "(s.room_pims_id <> '' AND r.id IS NULL)"
constexpr pg::Statement kSyncAppointmentErrors{
    "booking_sync_appointment_errors",
    "SELECT s.pims_id, CASE WHEN " VL_APPT_MISSING_TYPE " THEN 'appointmentTypePimsId' WHEN "
    VL_APPT_MISSING_PROVIDER " THEN 'providerPimsId' ELSE 'roomPimsId' END AS field, CASE WHEN "
    VL_APPT_MISSING_TYPE " THEN s.type_pims_id WHEN " VL_APPT_MISSING_PROVIDER
    " THEN s.provider_pims_id ELSE s.room_pims_id END AS ref" VL_APPT_REFS "WHERE NOT s.deleted AND ("
    VL_APPT_MISSING_TYPE " OR " VL_APPT_MISSING_PROVIDER " OR " VL_APPT_MISSING_ROOM
    ") ORDER BY s.pims_id"};
// Only records whose digest changed; a deletion cancels (and keeps) what was stored, and
// a deletion of something never stored is nothing to do.
constexpr pg::Statement kSyncResolveAppointments{
    "booking_sync_resolve_appointments",
    "INSERT INTO sync_appt_changed (pims_id, hash, client_id, pet_id, client_pims_id, "
    "patient_pims_id, type_id, provider_id, room_id, during, status, description, existing_id, "
    "old_during, old_provider_id, old_room_id, old_status, blocks) "
    "SELECT s.pims_id, s.hash, s.client_id, s.pet_id, nullif(s.client_pims_id, ''), "
    "nullif(s.patient_pims_id, ''), CASE WHEN s.deleted THEN a.type_id ELSE t.id END, "
    "CASE WHEN s.deleted THEN a.provider_id ELSE p.id END, CASE WHEN s.deleted THEN a.room_id ELSE r.id END, "
    "CASE WHEN s.deleted THEN a.during ELSE tstzrange(s.starts_at, s.ends_at, '[)') END, "
    "CASE WHEN s.deleted THEN 'cancelled' ELSE s.status END, s.description, a.id, a.during, "
    "a.provider_id, a.room_id, a.status, true" VL_APPT_REFS
    "LEFT JOIN booking.appointments a ON a.clinic_id = $1 AND a.pims_id = s.pims_id "
    "WHERE a.pims_hash IS DISTINCT FROM s.hash AND (a.id IS NOT NULL OR NOT s.deleted) AND "
    "(s.deleted OR NOT (" VL_APPT_MISSING_TYPE " OR " VL_APPT_MISSING_PROVIDER " OR "
    VL_APPT_MISSING_ROOM "))"};
// A changed PIMS appointment gives up its slot guard when it overlaps a stored active one
// of its provider or room that this batch leaves as it is...
#define VL_STORED_OVERLAP(col)                                                                    \
  "EXISTS (SELECT 1 FROM booking.appointments a WHERE a.clinic_id = $1 AND a." col " = x." col    \
  " AND a.during && x.during AND a.blocks_slots AND a.status IN " VL_ACTIVE " AND NOT EXISTS "   \
  "(SELECT 1 FROM sync_appt_changed c WHERE c.existing_id = a.id))"
// The PIMS is the truth: a direct-booking hold (not yet booked) that a changed PIMS
// appointment overlaps gives way, so the batch never meets it in the constraints.
constexpr pg::Statement kSyncDropHolds{
    "booking_sync_drop_holds",
    "DELETE FROM booking.appointments a WHERE a.clinic_id = $1 AND a.status = 'held' AND EXISTS "
    "(SELECT 1 FROM sync_appt_changed c WHERE c.status IN " VL_ACTIVE " AND c.during && a.during AND "
    "(c.provider_id = a.provider_id OR c.room_id = a.room_id))"};
constexpr pg::Statement kSyncOverlapStored{
    "booking_sync_overlap_stored",
    "UPDATE sync_appt_changed x SET blocks = false WHERE x.status IN " VL_ACTIVE " AND ("
    VL_STORED_OVERLAP("provider_id") " OR " VL_STORED_OVERLAP("room_id") ")"};
// ...or one of the batch that starts before it (a running maximum of earlier ends, so
// the check is one sort, not a comparison of every pair).
#define VL_BATCH_OVERLAP(col)                                                                     \
  "SELECT pims_id FROM (SELECT pims_id, lower(during) AS starts, max(upper(during)) OVER (PARTITION " \
  "BY " col " ORDER BY lower(during), pims_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS " \
  "earlier_end FROM sync_appt_changed WHERE " col " IS NOT NULL AND status IN " VL_ACTIVE ") q "   \
  "WHERE earlier_end > starts"
constexpr pg::Statement kSyncOverlapBatch{
    "booking_sync_overlap_batch",
    "UPDATE sync_appt_changed x SET blocks = false FROM (" VL_BATCH_OVERLAP("provider_id") " UNION "
    VL_BATCH_OVERLAP("room_id") ") o WHERE x.pims_id = o.pims_id"};
constexpr pg::Statement kSyncOverlapping{
    "booking_sync_overlapping",
    "SELECT pims_id FROM sync_appt_changed WHERE NOT blocks ORDER BY pims_id"};
// The source stays: an appointment booked in Vetline and written back keeps `staff` or
// `direct_booking` when the PIMS sends it back under its pims_id.
constexpr pg::Statement kSyncUpsertAppointments{
    "booking_sync_upsert_appointments",
    "WITH up AS (INSERT INTO booking.appointments AS a (clinic_id, pims_id, pims_hash, client_id, "
    "pet_id, client_pims_id, patient_pims_id, type_id, provider_id, room_id, during, status, source, "
    "description, blocks_slots) SELECT $1::uuid, pims_id, hash, client_id, pet_id, client_pims_id, "
    "patient_pims_id, type_id, provider_id, room_id, during, status, 'pims', description, blocks "
    "FROM sync_appt_changed ON CONFLICT (clinic_id, pims_id) DO UPDATE SET pims_hash = "
    "EXCLUDED.pims_hash, client_id = EXCLUDED.client_id, pet_id = EXCLUDED.pet_id, client_pims_id = "
    "EXCLUDED.client_pims_id, patient_pims_id = EXCLUDED.patient_pims_id, type_id = EXCLUDED.type_id, "
    "provider_id = EXCLUDED.provider_id, room_id = EXCLUDED.room_id, during = EXCLUDED.during, "
    "status = EXCLUDED.status, description = EXCLUDED.description, blocks_slots = "
    "EXCLUDED.blocks_slots, version = a.version + (a.during <> EXCLUDED.during OR a.provider_id IS "
    "DISTINCT FROM EXCLUDED.provider_id OR a.room_id IS DISTINCT FROM EXCLUDED.room_id)::int, "
    "updated_at = now() RETURNING a.id, a.pims_id, a.source, (a.xmax = 0) AS inserted) "
    "UPDATE sync_appt_changed c SET id = up.id, source = up.source, inserted = up.inserted FROM up "
    "WHERE c.pims_id = up.pims_id"};
constexpr pg::Statement kSyncAppointmentCounts{
    "booking_sync_appointment_counts",
    "SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS "
    "updated FROM sync_appt_changed"};
// What each change means to someone following the schedule.
constexpr pg::Statement kSyncEvents{
    "booking_sync_events",
    "SELECT topic, jsonb_build_object('clinicId', $1::uuid, 'appointmentId', id, 'pimsId', pims_id, "
    "'clientId', client_id, 'petId', pet_id, 'typeId', type_id, 'providerId', provider_id, "
    "'roomId', room_id, 'startTime', lower(during), 'endTime', upper(during), 'status', status, "
    "'source', source, 'previousStartTime', lower(old_during), 'previousEndTime', upper(old_during), "
    "'newClient', false, 'description', description)::text "
    "AS payload FROM (SELECT c.*, CASE "
    "WHEN c.status IN " VL_ACTIVE " AND (c.existing_id IS NULL OR c.old_status NOT IN " VL_ACTIVE
    ") THEN 'appointment.created' "
    "WHEN c.status = 'cancelled' AND c.old_status IN " VL_ACTIVE " THEN 'appointment.cancelled' "
    "WHEN c.status IN " VL_ACTIVE " AND (c.during <> c.old_during OR c.provider_id IS DISTINCT FROM "
    "c.old_provider_id OR c.room_id IS DISTINCT FROM c.old_room_id) THEN 'appointment.moved' END AS topic "
    "FROM sync_appt_changed c) e WHERE topic IS NOT NULL ORDER BY lower(during), pims_id"};
// Zero: not set in the PIMS, the clinic's value stays.
constexpr pg::Statement kSyncSettings{
    "booking_sync_settings",
    "UPDATE booking.settings SET "
    "minimum_notice_minutes = coalesce(nullif($2::int, 0), minimum_notice_minutes), "
    "booking_horizon_days = coalesce(nullif($3::int, 0), booking_horizon_days), "
    "slot_granularity_minutes = coalesce(nullif($4::int, 0), slot_granularity_minutes), "
    "buffer_before_minutes = coalesce(nullif($5::int, 0), buffer_before_minutes), "
    "buffer_after_minutes = coalesce(nullif($6::int, 0), buffer_after_minutes), updated_at = now() "
    "WHERE clinic_id = $1"};

// --- Staff API.
constexpr pg::Statement kUpdateSettings{
    "booking_update_settings",
    "UPDATE booking.settings SET time_zone = coalesce($2, time_zone), "
    "minimum_notice_minutes = coalesce($3::int, minimum_notice_minutes), "
    "booking_horizon_days = coalesce($4::int, booking_horizon_days), "
    "slot_granularity_minutes = coalesce($5::int, slot_granularity_minutes), "
    "buffer_before_minutes = coalesce($6::int, buffer_before_minutes), "
    "buffer_after_minutes = coalesce($7::int, buffer_after_minutes), "
    "allow_new_clients = coalesce($8::boolean, allow_new_clients), "
    "cancel_cutoff_minutes = coalesce($9::int, cancel_cutoff_minutes), updated_at = now() "
    "WHERE clinic_id = $1"};

#define VL_TYPE_COLUMNS                                                                          \
  "id, coalesce(pims_id, '') AS pims_id, name, duration_minutes, online_bookable, telemedicine, " \
  "new_client_allowed, active, provider_ids::text[] AS provider_ids, room_ids::text[] AS room_ids, " \
  "array_to_json(provider_ids)::text AS provider_json, array_to_json(room_ids)::text AS room_json"
constexpr pg::Statement kListTypes{
    "booking_list_types",
    "SELECT " VL_TYPE_COLUMNS " FROM booking.appointment_types WHERE clinic_id = $1 AND "
    "($2::text IS NULL OR (name, id) > ($2, $3::uuid)) ORDER BY name, id LIMIT $4"};
constexpr pg::Statement kGetType{
    "booking_get_type",
    "SELECT " VL_TYPE_COLUMNS " FROM booking.appointment_types WHERE clinic_id = $1 AND id = $2"};
constexpr pg::Statement kCreateType{
    "booking_create_type",
    "INSERT INTO booking.appointment_types (clinic_id, name, duration_minutes) VALUES ($1, $2, $3) "
    "RETURNING " VL_TYPE_COLUMNS};
constexpr pg::Statement kUpdateType{
    "booking_update_type",
    "UPDATE booking.appointment_types SET online_bookable = coalesce($3::boolean, online_bookable), "
    "telemedicine = coalesce($4::boolean, telemedicine), new_client_allowed = coalesce($5::boolean, "
    "new_client_allowed), provider_ids = coalesce($6::uuid[], provider_ids), room_ids = "
    "coalesce($7::uuid[], room_ids), updated_at = now() WHERE clinic_id = $1 AND id = $2 "
    "RETURNING " VL_TYPE_COLUMNS};
// How many of the ids are the clinic's (ids are distinct and checked uuids).
constexpr pg::Statement kCountProviders{
    "booking_count_providers",
    "SELECT count(*) AS n FROM booking.providers WHERE clinic_id = $1 AND id = ANY($2::uuid[])"};
constexpr pg::Statement kCountTypes{
    "booking_count_types",
    "SELECT count(*) AS n FROM booking.appointment_types WHERE clinic_id = $1 AND id = ANY($2::uuid[])"};
constexpr pg::Statement kCountRooms{
    "booking_count_rooms",
    "SELECT count(*) AS n FROM booking.rooms WHERE clinic_id = $1 AND id = ANY($2::uuid[])"};

#define VL_PROVIDER_COLUMNS "id, coalesce(pims_id, '') AS pims_id, name, active, has_schedule"
constexpr pg::Statement kListProviders{
    "booking_list_providers",
    "SELECT " VL_PROVIDER_COLUMNS " FROM booking.providers WHERE clinic_id = $1 AND "
    "($2::text IS NULL OR (name, id) > ($2, $3::uuid)) ORDER BY name, id LIMIT $4"};
constexpr pg::Statement kCreateProvider{
    "booking_create_provider",
    "INSERT INTO booking.providers (clinic_id, name) VALUES ($1, $2) RETURNING " VL_PROVIDER_COLUMNS};
constexpr pg::Statement kGetProvider{
    "booking_get_provider",
    "SELECT " VL_PROVIDER_COLUMNS " FROM booking.providers WHERE clinic_id = $1 AND id = $2"};
#define VL_ROOM_COLUMNS "id, coalesce(pims_id, '') AS pims_id, name, active"
constexpr pg::Statement kListRooms{
    "booking_list_rooms",
    "SELECT " VL_ROOM_COLUMNS " FROM booking.rooms WHERE clinic_id = $1 AND "
    "($2::text IS NULL OR (name, id) > ($2, $3::uuid)) ORDER BY name, id LIMIT $4"};
constexpr pg::Statement kCreateRoom{
    "booking_create_room",
    "INSERT INTO booking.rooms (clinic_id, name) VALUES ($1, $2) RETURNING " VL_ROOM_COLUMNS};
constexpr pg::Statement kGetRoom{
    "booking_get_room", "SELECT " VL_ROOM_COLUMNS " FROM booking.rooms WHERE clinic_id = $1 AND id = $2"};

#define VL_HOURS_COLUMNS "provider_id::text AS provider_id, weekday, day::text AS day, open_minute, close_minute"
constexpr pg::Statement kGetHours{
    "booking_get_hours",
    "SELECT " VL_HOURS_COLUMNS " FROM booking.hours WHERE clinic_id = $1 AND provider_id IS NOT DISTINCT "
    "FROM $2::uuid ORDER BY weekday NULLS LAST, day, open_minute"};
constexpr pg::Statement kDeleteHours{
    "booking_delete_hours",
    "DELETE FROM booking.hours WHERE clinic_id = $1 AND provider_id IS NOT DISTINCT FROM $2::uuid"};
constexpr pg::Statement kInsertHours{
    "booking_insert_hours",
    "INSERT INTO booking.hours (clinic_id, provider_id, weekday, day, open_minute, close_minute) "
    "VALUES ($1, $2::uuid, $3::smallint, $4::date, $5::int, $6::int)"};
constexpr pg::Statement kSetHasSchedule{
    "booking_set_has_schedule",
    "UPDATE booking.providers SET has_schedule = $3, updated_at = now() WHERE clinic_id = $1 AND id = $2 "
    "RETURNING id"};

#define VL_BLOCK_OFF_COLUMNS                                                                      \
  "id, coalesce(provider_id::text, '') AS provider_id, coalesce(room_id::text, '') AS room_id, "  \
  "lower(during) AS starts, upper(during) AS ends, reason, coalesce(pims_id, '') AS pims_id"
constexpr pg::Statement kCreateBlockOff{
    "booking_create_block_off",
    "INSERT INTO booking.block_offs (clinic_id, provider_id, room_id, during, reason, created_by) "
    "VALUES ($1, $2::uuid, $3::uuid, tstzrange($4::timestamptz, $5::timestamptz, '[)'), $6, $7) "
    "RETURNING " VL_BLOCK_OFF_COLUMNS};
constexpr pg::Statement kDeleteBlockOff{
    "booking_delete_block_off", "DELETE FROM booking.block_offs WHERE clinic_id = $1 AND id = $2 RETURNING id"};
constexpr pg::Statement kListBlockOffs{
    "booking_list_block_offs",
    "SELECT " VL_BLOCK_OFF_COLUMNS " FROM booking.block_offs WHERE clinic_id = $1 AND during && "
    "tstzrange($2::timestamptz, $3::timestamptz, '[)') AND ($4::timestamptz IS NULL OR "
    "(lower(during), id) > ($4::timestamptz, $5::uuid)) ORDER BY lower(during), id LIMIT $6"};

// Bookings take the schedule lock shared (a sync batch takes it exclusive).
constexpr pg::Statement kLockScheduleShared{
    "booking_lock_schedule_shared",
    "SELECT pg_advisory_xact_lock_shared(hashtext('booking.schedule'), hashtext($1))"};
// A booking also takes its provider's and room's locks (provider first, so two bookings
// never wait on each other in a circle) before it inserts: two transactions inserting
// overlapping rows at once can each find the other's row in the EXCLUDE index and wait
// on each other until PostgreSQL breaks the deadlock a second later. One at a time per
// provider and per room, the loser meets the winner's committed row and fails at once.
constexpr pg::Statement kLockProvider{
    "booking_lock_provider",
    "SELECT pg_advisory_xact_lock(hashtext('booking.provider'), hashtext($1::text)) WHERE $1::text IS NOT NULL"};
constexpr pg::Statement kLockRoom{
    "booking_lock_room",
    "SELECT pg_advisory_xact_lock(hashtext('booking.room'), hashtext($1::text)) WHERE $1::text IS NOT NULL"};
constexpr pg::Statement kTypeDuration{
    "booking_type_duration",
    "SELECT duration_minutes FROM booking.appointment_types WHERE clinic_id = $1 AND id = $2"};
constexpr pg::Statement kProviderExists{
    "booking_provider_exists", "SELECT 1 FROM booking.providers WHERE clinic_id = $1 AND id = $2"};
constexpr pg::Statement kRoomExists{
    "booking_room_exists", "SELECT 1 FROM booking.rooms WHERE clinic_id = $1 AND id = $2"};
#define VL_APPOINTMENT_COLUMNS                                                                     \
  "id, coalesce(client_id::text, '') AS client_id, coalesce(pet_id::text, '') AS pet_id, "         \
  "coalesce(client_pims_id, '') AS client_pims_id, coalesce(patient_pims_id, '') AS patient_pims_id, " \
  "coalesce(type_id::text, '') AS type_id, coalesce(provider_id::text, '') AS provider_id, "       \
  "coalesce(room_id::text, '') AS room_id, lower(during) AS starts, upper(during) AS ends, status, " \
  "source, description, coalesce(pims_id, '') AS pims_id, version"
constexpr pg::Statement kInsertAppointment{
    "booking_insert_appointment",
    "INSERT INTO booking.appointments (clinic_id, client_id, pet_id, type_id, provider_id, room_id, "
    "during, status, source, description, created_by) VALUES ($1, $2, $3, $4, $5, $6::uuid, "
    "tstzrange($7::timestamptz, $8::timestamptz, '[)'), 'scheduled', $9, $10, $11) "
    "RETURNING " VL_APPOINTMENT_COLUMNS};
constexpr pg::Statement kGetAppointment{
    "booking_get_appointment",
    "SELECT " VL_APPOINTMENT_COLUMNS " FROM booking.appointments WHERE clinic_id = $1 AND id = $2"};
constexpr pg::Statement kLockAppointment{
    "booking_lock_appointment",
    "SELECT " VL_APPOINTMENT_COLUMNS " FROM booking.appointments WHERE clinic_id = $1 AND id = $2 FOR UPDATE"};
constexpr pg::Statement kMoveAppointment{
    "booking_move_appointment",
    "UPDATE booking.appointments SET during = tstzrange($3::timestamptz, $4::timestamptz, '[)'), "
    "provider_id = $5::uuid, room_id = $6::uuid, version = version + 1, updated_at = now() "
    "WHERE clinic_id = $1 AND id = $2 RETURNING " VL_APPOINTMENT_COLUMNS};
constexpr pg::Statement kCancelAppointment{
    "booking_cancel_appointment",
    "UPDATE booking.appointments SET status = 'cancelled', updated_at = now() WHERE clinic_id = $1 AND "
    "id = $2 RETURNING " VL_APPOINTMENT_COLUMNS};
// Filters are uuid arrays; an empty one does not filter.
constexpr pg::Statement kListAppointments{
    "booking_list_appointments",
    "SELECT " VL_APPOINTMENT_COLUMNS " FROM booking.appointments WHERE clinic_id = $1 AND during && "
    "tstzrange($2::timestamptz, $3::timestamptz, '[)') AND (cardinality($4::uuid[]) = 0 OR type_id = "
    "ANY($4::uuid[])) AND (cardinality($5::uuid[]) = 0 OR provider_id = ANY($5::uuid[])) AND "
    "(cardinality($6::uuid[]) = 0 OR room_id = ANY($6::uuid[])) AND status <> 'held' AND ($7::timestamptz IS NULL OR "
    "(lower(during), id) > ($7::timestamptz, $8::uuid)) ORDER BY lower(during), id LIMIT $9"};
constexpr pg::Statement kAppointmentEvent{
    "booking_appointment_event",
    "SELECT jsonb_build_object('clinicId', clinic_id, 'appointmentId', id, 'pimsId', pims_id, "
    "'clientId', client_id, 'petId', pet_id, 'typeId', type_id, 'providerId', provider_id, "
    "'roomId', room_id, 'startTime', lower(during), 'endTime', upper(during), 'status', status, "
    "'source', source, 'previousStartTime', $3::timestamptz, 'previousEndTime', $4::timestamptz, "
    "'newClient', new_client, 'description', description)::text "
    "AS payload FROM booking.appointments WHERE clinic_id = $1 AND id = $2"};
// Holds that expired before $1 (any clinic), a bounded batch; a replica skips the rows
// another is deleting. Availability already ignores them; this only tidies up.
constexpr pg::Statement kSweepExpiredHolds{
    "booking_sweep_expired_holds",
    "DELETE FROM booking.appointments WHERE id IN (SELECT id FROM booking.appointments WHERE status = 'held' "
    "AND hold_expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)"};
// An expired hold of the provider or room in the way of a booking gives way to it (holds
// expire without a worker; see 0002_direct_booking.sql). $6: now.
constexpr pg::Statement kDropExpiredHolds{
    "booking_drop_expired_holds",
    "DELETE FROM booking.appointments WHERE clinic_id = $1 AND status = 'held' AND hold_expires_at <= $6 "
    "AND during && tstzrange($4::timestamptz, $5::timestamptz, '[)') AND (provider_id = $2::uuid OR "
    "room_id = $3::uuid)"};

// Availability: what one question reads, sent together (Session::ExecBatch).
constexpr pg::Statement kAvailabilityType{
    "booking_availability_type",
    "SELECT duration_minutes, provider_ids::text[] AS provider_ids, array_to_json(provider_ids)::text AS "
    "provider_json, array_to_json(room_ids)::text AS room_json FROM booking.appointment_types "
    "WHERE clinic_id = $1 AND id = $2 AND active"};
constexpr pg::Statement kAvailabilityProviders{
    "booking_availability_providers",
    "SELECT id::text AS id, has_schedule FROM booking.providers WHERE clinic_id = $1 AND active ORDER BY name, id"};
constexpr pg::Statement kAvailabilityHours{
    "booking_availability_hours",
    "SELECT " VL_HOURS_COLUMNS " FROM booking.hours WHERE clinic_id = $1"};
// The versions of the UTC days a question covers (a day without a row is version 0).
constexpr pg::Statement kAvailabilityDayVersions{
    "booking_availability_day_versions",
    "SELECT day, version FROM booking.schedule_days WHERE clinic_id = $1 AND day BETWEEN $2 AND $3"};
// Taken time of whole UTC days with their versions, in one statement so that both come
// from one snapshot: every active appointment with a provider or a room touching the day
// (none: one row of NULLs), instants as epoch microseconds (cheaper to read than
// timestamptz text). A hold comes with its expiry: it stops counting then (the engine
// decides with the question's clock), so an expired hold needs no delete before a read.
constexpr pg::Statement kAvailabilityDays{
    "booking_availability_days",
    "SELECT d.day, coalesce(v.version, 0) AS version, coalesce(a.provider_id::text, '') AS provider_id, "
    "coalesce(a.room_id::text, '') AS room_id, (extract(epoch FROM lower(a.during)) * 1000000)::int8 AS starts_us, "
    "(extract(epoch FROM upper(a.during)) * 1000000)::int8 AS ends_us, "
    "(extract(epoch FROM a.hold_expires_at) * 1000000)::int8 AS hold_expires_us FROM unnest($2::int8[]) AS d(day) "
    "LEFT JOIN booking.schedule_days v ON v.clinic_id = $1 AND v.day = d.day "
    "LEFT JOIN booking.appointments a ON a.clinic_id = $1 AND a.status IN " VL_ACTIVE
    " AND (a.provider_id IS NOT NULL OR a.room_id IS NOT NULL) AND a.during && "
    "tstzrange(to_timestamp(d.day * 86400.0), to_timestamp((d.day + 1) * 86400.0), '[)')"};
constexpr pg::Statement kAvailabilityBlockOffs{
    "booking_availability_block_offs",
    "SELECT coalesce(provider_id::text, '') AS provider_id, coalesce(room_id::text, '') AS room_id, "
    "lower(during) AS starts, upper(during) AS ends FROM booking.block_offs WHERE clinic_id = $1 AND "
    "during && tstzrange($2::timestamptz, $3::timestamptz, '[)')"};

std::string Instant(absl::Time t) { return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone()); }

// The one row of kGetSettings.
ClinicSettings SettingsOf(const pg::Result& r) {
  ClinicSettings s;
  s.time_zone = r.Text(0, "time_zone");
  s.minimum_notice_minutes = static_cast<int>(r.Int(0, "minimum_notice_minutes"));
  s.booking_horizon_days = static_cast<int>(r.Int(0, "booking_horizon_days"));
  s.slot_granularity_minutes = static_cast<int>(r.Int(0, "slot_granularity_minutes"));
  s.buffer_before_minutes = static_cast<int>(r.Int(0, "buffer_before_minutes"));
  s.buffer_after_minutes = static_cast<int>(r.Int(0, "buffer_after_minutes"));
  s.allow_new_clients = r.Bool(0, "allow_new_clients");
  s.cancel_cutoff_minutes = static_cast<int>(r.Int(0, "cancel_cutoff_minutes"));
  return s;
}

v1::BookingRecordError RefError(const pg::Result& r, int i, const char* entity) {
  v1::BookingRecordError e;
  e.set_entity(entity);
  e.set_pims_id(r.Text(i, "pims_id"));
  e.set_field(r.Text(i, "field"));
  const std::string& field = e.field();
  const char* what = field == "providerPimsId" ? "provider" : field == "roomPimsId" ? "room" : "appointment type";
  e.set_message(absl::StrCat(what, " ", r.Text(i, "ref"), " is not a synced ", what));
  return e;
}

// Counts from a VL_COUNT_UP statement; unchanged is what is left of `total`.
void Count(const pg::Result& r, int64_t total, int64_t failed, int64_t deleted, v1::BookingEntityCounts* c) {
  c->set_inserted(r.Int(0, "inserted"));
  c->set_updated(r.Int(0, "updated") + deleted);
  c->set_failed(failed);
  c->set_unchanged(total - failed - c->inserted() - c->updated());
}


std::string UuidArray(const std::vector<std::string>& ids) {  // checked uuids only
  std::string out = "{";
  for (size_t i = 0; i < ids.size(); ++i) absl::StrAppend(&out, i ? "," : "", ids[i]);
  return out + "}";
}

std::vector<std::string> JsonIds(const std::string& json) {
  std::vector<std::string> out;
  for (const auto& id : nlohmann::json::parse(json.empty() ? "[]" : json)) out.push_back(id.get<std::string>());
  return out;
}

v1::AppointmentType TypeRow(const pg::Result& r, int i) {
  v1::AppointmentType t;
  t.set_id(r.Text(i, "id"));
  t.set_pims_id(r.Text(i, "pims_id"));
  t.set_name(r.Text(i, "name"));
  t.set_duration_minutes(static_cast<int>(r.Int(i, "duration_minutes")));
  t.set_online_bookable(r.Bool(i, "online_bookable"));
  t.set_telemedicine(r.Bool(i, "telemedicine"));
  t.set_new_client_allowed(r.Bool(i, "new_client_allowed"));
  t.set_active(r.Bool(i, "active"));
  for (auto& id : JsonIds(r.Text(i, "provider_json"))) t.add_provider_ids(id);
  for (auto& id : JsonIds(r.Text(i, "room_json"))) t.add_room_ids(id);
  return t;
}

v1::Provider ProviderRow(const pg::Result& r, int i) {
  v1::Provider p;
  p.set_id(r.Text(i, "id"));
  p.set_pims_id(r.Text(i, "pims_id"));
  p.set_name(r.Text(i, "name"));
  p.set_active(r.Bool(i, "active"));
  p.set_own_schedule(r.Bool(i, "has_schedule"));
  return p;
}

v1::Room RoomRow(const pg::Result& r, int i) {
  v1::Room m;
  m.set_id(r.Text(i, "id"));
  m.set_pims_id(r.Text(i, "pims_id"));
  m.set_name(r.Text(i, "name"));
  m.set_active(r.Bool(i, "active"));
  return m;
}

HoursRow HoursOf(const pg::Result& r, int i) {
  HoursRow h;
  if (!r.IsNull(i, r.column("weekday"))) h.weekday = static_cast<int>(r.Int(i, "weekday"));
  if (!r.IsNull(i, r.column("day"))) {
    absl::CivilDay d;
    if (absl::ParseCivilTime(r.Text(i, "day"), &d)) h.day = d;
  }
  if (!r.IsNull(i, r.column("open_minute"))) {
    h.hours = LocalHours{static_cast<int>(r.Int(i, "open_minute")), static_cast<int>(r.Int(i, "close_minute"))};
  }
  return h;
}

v1::BlockOff BlockOffRow(const pg::Result& r, int i) {
  v1::BlockOff b;
  b.set_id(r.Text(i, "id"));
  b.set_provider_id(r.Text(i, "provider_id"));
  b.set_room_id(r.Text(i, "room_id"));
  *b.mutable_start_time() = ToTimestamp(r.Time(i, "starts"));
  *b.mutable_end_time() = ToTimestamp(r.Time(i, "ends"));
  b.set_reason(r.Text(i, "reason"));
  b.set_pims_id(r.Text(i, "pims_id"));
  return b;
}

v1::AppointmentStatus StatusOf(const std::string& s) {
  if (s == "scheduled") return v1::SCHEDULED;
  if (s == "confirmed") return v1::CONFIRMED;
  if (s == "checked_in") return v1::CHECKED_IN;
  if (s == "completed") return v1::COMPLETED;
  if (s == "cancelled") return v1::CANCELLED;
  if (s == "no_show") return v1::NO_SHOW;
  return v1::APPOINTMENT_STATUS_UNSPECIFIED;
}

v1::AppointmentSource SourceOf(const std::string& s) {
  if (s == "pims") return v1::PIMS;
  if (s == "direct_booking") return v1::DIRECT_BOOKING;
  if (s == "staff") return v1::STAFF;
  return v1::APPOINTMENT_SOURCE_UNSPECIFIED;
}

v1::Appointment AppointmentRow(const pg::Result& r, int i) {
  v1::Appointment a;
  a.set_id(r.Text(i, "id"));
  a.set_client_id(r.Text(i, "client_id"));
  a.set_pet_id(r.Text(i, "pet_id"));
  a.set_client_pims_id(r.Text(i, "client_pims_id"));
  a.set_patient_pims_id(r.Text(i, "patient_pims_id"));
  a.set_appointment_type_id(r.Text(i, "type_id"));
  a.set_provider_id(r.Text(i, "provider_id"));
  a.set_room_id(r.Text(i, "room_id"));
  *a.mutable_start_time() = ToTimestamp(r.Time(i, "starts"));
  *a.mutable_end_time() = ToTimestamp(r.Time(i, "ends"));
  a.set_status(StatusOf(r.Text(i, "status")));
  a.set_source(SourceOf(r.Text(i, "source")));
  a.set_description(r.Text(i, "description"));
  a.set_pims_id(r.Text(i, "pims_id"));
  a.set_version(static_cast<int>(r.Int(i, "version")));
  return a;
}

bool IsActive(v1::AppointmentStatus s) {
  return s == v1::SCHEDULED || s == v1::CONFIRMED || s == v1::CHECKED_IN;
}


// `ids` all name rows of the clinic (one count), or NotFound on `field`.
absl::Status AllOfClinic(pg::Session& s, const pg::Statement& count, const std::string& clinic_id,
                         const std::vector<std::string>& ids, std::string_view field, std::string_view what) {
  if (ids.empty()) return absl::OkStatus();
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(count, {clinic_id, UuidArray(ids)}));
  if (r.Int(0, "n") != static_cast<int64_t>(ids.size())) {
    return NotFoundField(field, absl::StrCat("a ", std::string(what), " in ", std::string(field), " is not in your clinic"));
  }
  return absl::OkStatus();
}

absl::Status Exists(pg::Session& s, const pg::Statement& st, const std::string& clinic_id, const std::string& id,
                    std::string_view field, std::string_view what) {
  if (id.empty()) return absl::OkStatus();
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(st, {clinic_id, id}));
  if (r.rows() == 0) return NotFoundField(field, absl::StrCat("no ", std::string(what), " with this ", std::string(field), " in your clinic"));
  return absl::OkStatus();
}

std::optional<std::string> OrNull(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

}  // namespace

absl::Status LockSlot(pg::Session& s, const std::string& clinic_id, const std::string& provider_id,
                      const std::string& room_id) {
  return s.ExecBatch({{kLockScheduleShared, {clinic_id}}, {kLockProvider, {OrNull(provider_id)}},
                      {kLockRoom, {OrNull(room_id)}}})
      .status();
}

absl::Status DropExpiredHolds(pg::Session& s, const std::string& clinic_id, const std::string& provider_id,
                              const std::string& room_id, absl::Time start, absl::Time end, absl::Time now) {
  return s.Exec(kDropExpiredHolds, {clinic_id, OrNull(provider_id), OrNull(room_id), start, end, now}).status();
}

absl::Status AddAppointmentEvent(pg::Session& s, const outbox::Outbox& outbox, const std::string& topic,
                                 const std::string& clinic_id, const std::string& id,
                                 std::optional<absl::Time> previous_start, std::optional<absl::Time> previous_end) {
  VL_ASSIGN_OR_RETURN(pg::Result ev, s.Exec(kAppointmentEvent, {clinic_id, id, previous_start, previous_end}));
  return outbox.Add(s, topic, ev.Text(0, "payload"));
}

absl::Status SlotTaken(const absl::Status& st, std::string_view field) {
  if (st.code() == absl::StatusCode::kFailedPrecondition && absl::StrContains(st.message(), "_no_overlap")) {
    return FieldError(absl::StatusCode::kFailedPrecondition, field, "slot no longer available");
  }
  return st;
}

absl::StatusOr<ClinicSettings> BookingRepository::GetSettings(const std::string& clinic_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kGetSettings, {clinic_id}));
  if (r.rows() == 0) return absl::NotFoundError("the clinic has no booking settings yet");
  return SettingsOf(r);
}

absl::Status BookingRepository::CreateSettings(const std::string& clinic_id, const std::string& time_zone) {
  return pool_->Exec(kCreateSettings, {clinic_id, time_zone}).status();
}

absl::StatusOr<SyncCounts> BookingRepository::ApplySync(const std::string& clinic_id, const SyncInput& in) {
  pg::CopyRows types, providers, rooms, block_offs, appointments;
  for (size_t i = 0; i < in.types.size(); ++i) {
    const v1::SyncAppointmentType& t = in.types[i];
    types.Add(t.pims_id()).Add(t.name()).Add(t.duration_minutes()).Add(t.active()).Add(t.deleted())
        .Add(in.type_digests[i]).EndRow();
  }
  for (size_t i = 0; i < in.providers.size(); ++i) {
    const v1::SyncProvider& p = in.providers[i];
    providers.Add(p.pims_id()).Add(p.name()).Add(p.active()).Add(p.deleted()).Add(in.provider_digests[i]).EndRow();
  }
  for (size_t i = 0; i < in.rooms.size(); ++i) {
    const v1::SyncRoom& r = in.rooms[i];
    rooms.Add(r.pims_id()).Add(r.name()).Add(r.active()).Add(r.deleted()).Add(in.room_digests[i]).EndRow();
  }
  for (const SyncBlockOffRow& b : in.block_offs) {
    const v1::SyncBlockOff& r = b.record;
    block_offs.Add(r.pims_id()).Add(r.provider_pims_id()).Add(r.room_pims_id());
    if (r.deleted()) {
      block_offs.Add(std::nullopt).Add(std::nullopt);
    } else {
      block_offs.Add(Instant(b.start)).Add(Instant(b.end));
    }
    block_offs.Add(r.reason()).Add(r.deleted()).Add(b.digest).EndRow();
  }
  for (const SyncAppointmentRow& a : in.appointments) {
    const v1::SyncAppointment& r = a.record;
    appointments.Add(r.pims_id()).Add(a.client_id).Add(a.pet_id).Add(r.client_pims_id())
        .Add(r.patient_pims_id()).Add(r.appointment_type_pims_id()).Add(r.provider_pims_id())
        .Add(r.room_pims_id());
    if (r.deleted()) {
      appointments.Add(std::nullopt).Add(std::nullopt);
    } else {
      appointments.Add(Instant(a.start)).Add(Instant(a.end));
    }
    appointments.Add(r.deleted() ? std::string("cancelled") : StatusText(r.status())).Add(r.description())
        .Add(r.deleted()).Add(a.digest).EndRow();
  }

  SyncCounts counts;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    counts = SyncCounts();
    VL_RETURN_IF_ERROR(s.Exec(kLockScheduleExclusive, {clinic_id}).status());
    VL_RETURN_IF_ERROR(s.ExecRaw(kSyncTables).status());
    VL_RETURN_IF_ERROR(s.CopyIn(kStageTypes, types).status());
    VL_RETURN_IF_ERROR(s.CopyIn(kStageProviders, providers).status());
    VL_RETURN_IF_ERROR(s.CopyIn(kStageRooms, rooms).status());
    VL_RETURN_IF_ERROR(s.CopyIn(kStageBlockOffs, block_offs).status());
    VL_RETURN_IF_ERROR(s.CopyIn(kStageAppointments, appointments).status());
    struct Named {
      const pg::Statement* upsert;
      int64_t total;
      v1::BookingEntityCounts* counts;
    };
    for (const Named& n : {Named{&kSyncUpsertTypes, types.rows(), &counts.types},
                           Named{&kSyncUpsertProviders, providers.rows(), &counts.providers},
                           Named{&kSyncUpsertRooms, rooms.rows(), &counts.rooms}}) {
      if (n.total == 0) continue;
      VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(*n.upsert, {clinic_id}));
      Count(r, n.total, 0, 0, n.counts);
    }
    if (in.settings) {
      const v1::SyncSchedulingSettings& st = *in.settings;
      VL_RETURN_IF_ERROR(s.Exec(kSyncSettings, {clinic_id, st.minimum_notice_minutes(), st.booking_horizon_days(),
                                                st.slot_granularity_minutes(), st.buffer_before_minutes(),
                                                st.buffer_after_minutes()})
                             .status());
    }
    if (!block_offs.empty()) {
      VL_ASSIGN_OR_RETURN(pg::Result errors, s.Exec(kSyncBlockOffErrors, {clinic_id}));
      for (int i = 0; i < errors.rows(); ++i) counts.errors.push_back(RefError(errors, i, "block_off"));
      VL_ASSIGN_OR_RETURN(pg::Result deleted, s.Exec(kSyncDeleteBlockOffs, {clinic_id}));
      VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kSyncUpsertBlockOffs, {clinic_id}));
      Count(r, block_offs.rows(), errors.rows(), deleted.Int(0, "n"), &counts.block_offs);
    }
    if (!appointments.empty()) {
      VL_ASSIGN_OR_RETURN(pg::Result errors, s.Exec(kSyncAppointmentErrors, {clinic_id}));
      for (int i = 0; i < errors.rows(); ++i) counts.errors.push_back(RefError(errors, i, "appointment"));
      VL_RETURN_IF_ERROR(s.Exec(kSyncResolveAppointments, {clinic_id}).status());
      VL_RETURN_IF_ERROR(s.Exec(kSyncDropHolds, {clinic_id}).status());
      VL_RETURN_IF_ERROR(s.Exec(kSyncOverlapStored, {clinic_id}).status());
      VL_RETURN_IF_ERROR(s.Exec(kSyncOverlapBatch).status());
      VL_ASSIGN_OR_RETURN(pg::Result overlapping, s.Exec(kSyncOverlapping));
      for (int i = 0; i < overlapping.rows(); ++i) {
        v1::BookingRecordError e;
        e.set_entity("appointment");
        e.set_pims_id(overlapping.Text(i, "pims_id"));
        e.set_field("startLocal");
        e.set_message("overlaps another appointment of its provider or room; stored as the PIMS has it, "
                      "but it does not guard its slot against double booking");
        counts.errors.push_back(std::move(e));
      }
      VL_RETURN_IF_ERROR(s.Exec(kSyncUpsertAppointments, {clinic_id}).status());
      VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kSyncAppointmentCounts));
      Count(r, appointments.rows(), errors.rows(), 0, &counts.appointments);
      // Last: Outbox::Add holds the outbox lock until commit.
      VL_ASSIGN_OR_RETURN(pg::Result events, s.Exec(kSyncEvents, {clinic_id}));
      for (int i = 0; i < events.rows(); ++i) {
        VL_RETURN_IF_ERROR(outbox_.Add(s, events.Text(i, "topic"), events.Text(i, "payload")));
      }
    }
    return absl::OkStatus();
  }));
  return counts;
}

absl::StatusOr<ClinicSettings> BookingRepository::UpdateSettings(const std::string& clinic_id,
                                                                 const SettingsChange& c) {
  VL_RETURN_IF_ERROR(pool_->Exec(kUpdateSettings, {clinic_id, c.time_zone, c.minimum_notice_minutes,
                                                   c.booking_horizon_days, c.slot_granularity_minutes,
                                                   c.buffer_before_minutes, c.buffer_after_minutes,
                                                   c.allow_new_clients, c.cancel_cutoff_minutes})
                         .status());
  return GetSettings(clinic_id);
}

namespace {
// (name, id) keyset pages of a named list.
template <typename Row>
absl::StatusOr<std::vector<Row>> NamedPage(pg::Pool& pool, const pg::Statement& st, const std::string& clinic_id,
                                           const std::vector<std::string>& after, int limit,
                                           Row (*row)(const pg::Result&, int)) {
  pg::Params params{clinic_id, std::nullopt, std::nullopt, limit};
  if (after.size() == 2) {
    params[1] = after[0];
    params[2] = after[1];
  }
  VL_ASSIGN_OR_RETURN(pg::Result r, pool.Exec(st, params));
  std::vector<Row> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(row(r, i));
  return out;
}
}  // namespace

absl::StatusOr<std::vector<v1::AppointmentType>> BookingRepository::ListTypes(
    const std::string& clinic_id, const std::vector<std::string>& after, int limit) {
  return NamedPage(*pool_, kListTypes, clinic_id, after, limit, &TypeRow);
}

absl::StatusOr<v1::AppointmentType> BookingRepository::CreateType(const std::string& clinic_id,
                                                                  const std::string& name, int duration_minutes) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kCreateType, {clinic_id, name, duration_minutes}));
  return TypeRow(r, 0);
}

absl::StatusOr<v1::AppointmentType> BookingRepository::UpdateType(const std::string& clinic_id,
                                                                  const std::string& id, const TypeChange& c) {
  v1::AppointmentType out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    if (c.provider_ids) {
      VL_RETURN_IF_ERROR(AllOfClinic(s, kCountProviders, clinic_id, *c.provider_ids, "providerIds", "provider"));
    }
    if (c.room_ids) VL_RETURN_IF_ERROR(AllOfClinic(s, kCountRooms, clinic_id, *c.room_ids, "roomIds", "room"));
    std::optional<std::string> providers, rooms;
    if (c.provider_ids) providers = UuidArray(*c.provider_ids);
    if (c.room_ids) rooms = UuidArray(*c.room_ids);
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kUpdateType, {clinic_id, id, c.online_bookable, c.telemedicine,
                                                           c.new_client_allowed, providers, rooms}));
    if (r.rows() == 0) return NotFoundField("id", "no appointment type with this id in your clinic");
    out = TypeRow(r, 0);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<v1::Provider>> BookingRepository::ListProviders(
    const std::string& clinic_id, const std::vector<std::string>& after, int limit) {
  return NamedPage(*pool_, kListProviders, clinic_id, after, limit, &ProviderRow);
}

absl::StatusOr<v1::Provider> BookingRepository::CreateProvider(const std::string& clinic_id, const std::string& name) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kCreateProvider, {clinic_id, name}));
  return ProviderRow(r, 0);
}

absl::StatusOr<std::vector<v1::Room>> BookingRepository::ListRooms(const std::string& clinic_id,
                                                                   const std::vector<std::string>& after, int limit) {
  return NamedPage(*pool_, kListRooms, clinic_id, after, limit, &RoomRow);
}

absl::StatusOr<v1::Room> BookingRepository::CreateRoom(const std::string& clinic_id, const std::string& name) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kCreateRoom, {clinic_id, name}));
  return RoomRow(r, 0);
}

absl::StatusOr<std::vector<HoursRow>> BookingRepository::GetHours(const std::string& clinic_id,
                                                                  const std::string& provider_id,
                                                                  bool* has_schedule) {
  std::vector<HoursRow> out;
  VL_RETURN_IF_ERROR(pool_->WithSession([&](pg::Session& s) -> absl::Status {
    std::vector<pg::Query> q{{kGetHours, {clinic_id, OrNull(provider_id)}}};
    if (!provider_id.empty()) q.push_back({kGetProvider, {clinic_id, provider_id}});
    VL_ASSIGN_OR_RETURN(std::vector<pg::Result> r, s.ExecBatch(q));
    if (!provider_id.empty()) {
      if (r[1].rows() == 0) return NotFoundField("providerId", "no provider with this providerId in your clinic");
      if (has_schedule) *has_schedule = r[1].Bool(0, "has_schedule");
    }
    for (int i = 0; i < r[0].rows(); ++i) out.push_back(HoursOf(r[0], i));
    return absl::OkStatus();
  }));
  return out;
}

absl::Status BookingRepository::PutHours(const std::string& clinic_id, const std::string& provider_id,
                                         bool has_schedule, const std::vector<HoursRow>& rows) {
  return pool_->Transact([&](pg::Session& s) -> absl::Status {
    if (!provider_id.empty()) {
      VL_ASSIGN_OR_RETURN(pg::Result p, s.Exec(kSetHasSchedule, {clinic_id, provider_id, has_schedule}));
      if (p.rows() == 0) return NotFoundField("providerId", "no provider with this providerId in your clinic");
    }
    std::vector<pg::Query> q{{kDeleteHours, {clinic_id, OrNull(provider_id)}}};
    for (const HoursRow& h : rows) {
      std::optional<std::string> day;
      if (h.day) day = absl::FormatCivilTime(*h.day);
      std::optional<int> open, close;
      if (h.hours) {
        open = h.hours->open;
        close = h.hours->close;
      }
      q.push_back({kInsertHours, {clinic_id, OrNull(provider_id), h.weekday, day, open, close}});
    }
    return s.ExecBatch(q).status();
  });
}

absl::StatusOr<v1::BlockOff> BookingRepository::CreateBlockOff(const std::string& clinic_id, const v1::BlockOff& b,
                                                               const std::string& staff_user_id) {
  v1::BlockOff out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(Exists(s, kProviderExists, clinic_id, b.provider_id(), "providerId", "provider"));
    VL_RETURN_IF_ERROR(Exists(s, kRoomExists, clinic_id, b.room_id(), "roomId", "room"));
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kCreateBlockOff, {clinic_id, OrNull(b.provider_id()), OrNull(b.room_id()),
                                                               FromTimestamp(b.start_time()), FromTimestamp(b.end_time()),
                                                               b.reason(), staff_user_id}));
    out = BlockOffRow(r, 0);
    return absl::OkStatus();
  }));
  return out;
}

absl::Status BookingRepository::DeleteBlockOff(const std::string& clinic_id, const std::string& id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kDeleteBlockOff, {clinic_id, id}));
  if (r.rows() == 0) return NotFoundField("id", "no block-off with this id in your clinic");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::BlockOff>> BookingRepository::ListBlockOffs(
    const std::string& clinic_id, absl::Time from, absl::Time to,
    const std::optional<std::pair<absl::Time, std::string>>& after, int limit) {
  pg::Params params{clinic_id, from, to, std::nullopt, std::nullopt, limit};
  if (after) {
    params[3] = after->first;
    params[4] = after->second;
  }
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kListBlockOffs, params));
  std::vector<v1::BlockOff> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(BlockOffRow(r, i));
  return out;
}

absl::StatusOr<v1::Appointment> BookingRepository::CreateAppointment(const std::string& clinic_id,
                                                                     const NewAppointment& a) {
  v1::Appointment out;
  absl::Status st = pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(std::vector<pg::Result> r,
                        s.ExecBatch({{kLockScheduleShared, {clinic_id}},
                                     {kTypeDuration, {clinic_id, a.type_id}},
                                     {kProviderExists, {clinic_id, a.provider_id}},
                                     {kRoomExists, {clinic_id, a.room_id.empty() ? a.provider_id : a.room_id}},
                                     {kLockProvider, {a.provider_id}},
                                     {kLockRoom, {OrNull(a.room_id)}}}));
    if (r[1].rows() == 0) return NotFoundField("appointmentTypeId", "no appointment type with this appointmentTypeId in your clinic");
    if (r[2].rows() == 0) return NotFoundField("providerId", "no provider with this providerId in your clinic");
    if (!a.room_id.empty() && r[3].rows() == 0) return NotFoundField("roomId", "no room with this roomId in your clinic");
    const absl::Time end = a.start + absl::Minutes(r[1].Int(0, "duration_minutes"));
    VL_RETURN_IF_ERROR(DropExpiredHolds(s, clinic_id, a.provider_id, a.room_id, a.start, end, absl::Now()));
    VL_ASSIGN_OR_RETURN(pg::Result row, s.Exec(kInsertAppointment, {clinic_id, a.client_id, a.pet_id, a.type_id,
                                                                    a.provider_id, OrNull(a.room_id), a.start, end,
                                                                    a.source, a.description, a.created_by}));
    out = AppointmentRow(row, 0);
    VL_ASSIGN_OR_RETURN(pg::Result ev, s.Exec(kAppointmentEvent, {clinic_id, out.id(), std::nullopt, std::nullopt}));
    return outbox_.Add(s, "appointment.created", ev.Text(0, "payload"));
  });
  VL_RETURN_IF_ERROR(SlotTaken(st));
  return out;
}

absl::StatusOr<v1::Appointment> BookingRepository::MoveAppointment(const std::string& clinic_id,
                                                                   const AppointmentMove& m) {
  v1::Appointment out;
  absl::Status st = pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(std::vector<pg::Result> r,
                        s.ExecBatch({{kLockScheduleShared, {clinic_id}},
                                     {kLockAppointment, {clinic_id, m.id}},
                                     {kProviderExists, {clinic_id, m.provider_id.empty() ? m.id : m.provider_id}},
                                     {kRoomExists, {clinic_id, m.room_id.empty() ? m.id : m.room_id}}}));
    if (r[1].rows() == 0) return NotFoundField("id", "no appointment with this id in your clinic");
    if (!m.provider_id.empty() && r[2].rows() == 0) return NotFoundField("providerId", "no provider with this providerId in your clinic");
    if (!m.room_id.empty() && r[3].rows() == 0) return NotFoundField("roomId", "no room with this roomId in your clinic");
    v1::Appointment was = AppointmentRow(r[1], 0);
    if (!IsActive(was.status())) return absl::FailedPreconditionError("only a scheduled appointment can be moved");
    if (m.version != 0 && m.version != was.version()) {
      return FieldError(absl::StatusCode::kAborted, "version", "the appointment changed meanwhile; reload it");
    }
    const absl::Time start = FromTimestamp(was.start_time()), end = FromTimestamp(was.end_time());
    const std::optional<std::string> provider = OrNull(m.provider_id.empty() ? was.provider_id() : m.provider_id);
    const std::optional<std::string> room = OrNull(m.room_id.empty() ? was.room_id() : m.room_id);
    VL_RETURN_IF_ERROR(s.ExecBatch({{kLockProvider, {provider}}, {kLockRoom, {room}}}).status());
    VL_RETURN_IF_ERROR(DropExpiredHolds(s, clinic_id, provider.value_or(""), room.value_or(""), m.start,
                                        m.start + (end - start), absl::Now()));
    VL_ASSIGN_OR_RETURN(pg::Result row,
                        s.Exec(kMoveAppointment, {clinic_id, m.id, m.start, m.start + (end - start), provider, room}));
    out = AppointmentRow(row, 0);
    VL_ASSIGN_OR_RETURN(pg::Result ev, s.Exec(kAppointmentEvent, {clinic_id, m.id, start, end}));
    return outbox_.Add(s, "appointment.moved", ev.Text(0, "payload"));
  });
  VL_RETURN_IF_ERROR(SlotTaken(st));
  return out;
}

absl::StatusOr<v1::Appointment> BookingRepository::CancelAppointment(const std::string& clinic_id,
                                                                     const std::string& id) {
  v1::Appointment out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(pg::Result was, s.Exec(kLockAppointment, {clinic_id, id}));
    if (was.rows() == 0) return NotFoundField("id", "no appointment with this id in your clinic");
    if (!IsActive(AppointmentRow(was, 0).status())) {
      return absl::FailedPreconditionError("the appointment is not scheduled any more");
    }
    VL_ASSIGN_OR_RETURN(pg::Result row, s.Exec(kCancelAppointment, {clinic_id, id}));
    out = AppointmentRow(row, 0);
    VL_ASSIGN_OR_RETURN(pg::Result ev, s.Exec(kAppointmentEvent, {clinic_id, id, std::nullopt, std::nullopt}));
    return outbox_.Add(s, "appointment.cancelled", ev.Text(0, "payload"));
  }));
  return out;
}

absl::StatusOr<v1::Appointment> BookingRepository::GetAppointment(const std::string& clinic_id,
                                                                  const std::string& id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kGetAppointment, {clinic_id, id}));
  if (r.rows() == 0) return NotFoundField("id", "no appointment with this id in your clinic");
  return AppointmentRow(r, 0);
}

absl::StatusOr<std::vector<v1::Appointment>> BookingRepository::ListAppointments(const std::string& clinic_id,
                                                                                 const AppointmentFilter& f) {
  pg::Params params{clinic_id, f.from, f.to, UuidArray(f.type_ids), UuidArray(f.provider_ids),
                    UuidArray(f.room_ids), std::nullopt, std::nullopt, f.limit};
  if (f.after) {
    params[6] = f.after->first;
    params[7] = f.after->second;
  }
  std::vector<v1::Appointment> out;
  VL_RETURN_IF_ERROR(pool_->WithSession([&](pg::Session& s) -> absl::Status {
    // A filter naming another clinic's (or no) type, provider or room is refused, not empty.
    VL_RETURN_IF_ERROR(AllOfClinic(s, kCountTypes, clinic_id, f.type_ids, "appointmentTypeIds", "appointment type"));
    VL_RETURN_IF_ERROR(AllOfClinic(s, kCountProviders, clinic_id, f.provider_ids, "providerIds", "provider"));
    VL_RETURN_IF_ERROR(AllOfClinic(s, kCountRooms, clinic_id, f.room_ids, "roomIds", "room"));
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kListAppointments, params));
    for (int i = 0; i < r.rows(); ++i) out.push_back(AppointmentRow(r, i));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<int64_t> BookingRepository::SweepExpiredHolds(absl::Time before, int limit) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kSweepExpiredHolds, {before, limit}));
  return r.affected();
}

absl::StatusOr<AvailabilityInput> BookingRepository::LoadAvailability(const std::string& clinic_id,
                                                                      const std::string& type_id, absl::CivilDay first,
                                                                      absl::CivilDay last) {
  AvailabilityInput in;
  // The zone comes in the same batch, so the batch asks for UTC days wide enough for any
  // zone (offsets lie within -12 h and +14 h): a day more either side of the local days
  // the taken time must cover; what it reads beyond them is left out below.
  const absl::Time wide_from = absl::FromCivil(first - 2, absl::UTCTimeZone());
  const absl::Time wide_to = absl::FromCivil(last + 3, absl::UTCTimeZone());
  VL_RETURN_IF_ERROR(pool_->WithSession([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(std::vector<pg::Result> r,
                        s.ExecBatch({{kAvailabilityType, {clinic_id, type_id}},
                                     {kAvailabilityProviders, {clinic_id}},
                                     {kAvailabilityHours, {clinic_id}},
                                     {kAvailabilityDayVersions, {clinic_id, UtcDay(wide_from), LastUtcDay(wide_to)}},
                                     {kAvailabilityBlockOffs, {clinic_id, wide_from, wide_to}},
                                     {kGetSettings, {clinic_id}}}));
    if (r[5].rows() == 0) {  // the caller creates the settings and asks again
      in.has_settings = false;
      return absl::OkStatus();
    }
    const ClinicSettings set = SettingsOf(r[5]);
    if (!absl::LoadTimeZone(set.time_zone, &in.clinic.zone)) {
      return absl::FailedPreconditionError("the clinic's time zone " + set.time_zone + " is not known here");
    }
    in.clinic.settings = {.minimum_notice = absl::Minutes(set.minimum_notice_minutes),
                          .horizon = absl::Hours(24) * set.booking_horizon_days,
                          .granularity = absl::Minutes(set.slot_granularity_minutes),
                          .buffer_before = absl::Minutes(set.buffer_before_minutes),
                          .buffer_after = absl::Minutes(set.buffer_after_minutes)};
    // Taken time a day either side of the local days covers buffers and overnight hours.
    const absl::Time from = LocalInstant(first - 1, 0, in.clinic.zone), to = LocalInstant(last + 2, 0, in.clinic.zone);
    const int64_t first_day = UtcDay(from), last_day = LastUtcDay(to);
    if (r[0].rows() == 0) {
      return NotFoundField("appointmentTypeId", "no active appointment type with this appointmentTypeId in your clinic");
    }
    in.type.id = type_id;
    in.type.duration = absl::Minutes(r[0].Int(0, "duration_minutes"));
    in.type.provider_ids = JsonIds(r[0].Text(0, "provider_json"));
    in.type.room_ids = JsonIds(r[0].Text(0, "room_json"));
    std::map<std::string, Schedule> schedules;
    for (int i = 0; i < r[2].rows(); ++i) {
      const HoursRow h = HoursOf(r[2], i);
      Schedule& sched = r[2].Text(i, "provider_id").empty() ? in.clinic.hours : schedules[r[2].Text(i, "provider_id")];
      if (h.weekday) {
        if (h.hours) sched.weekly[static_cast<absl::Weekday>(*h.weekday - 1)].push_back(*h.hours);  // absl: monday = 0
      } else if (h.day) {
        auto& day = sched.exceptions[*h.day];
        if (h.hours) day.push_back(*h.hours);
      }
    }
    for (int i = 0; i < r[1].rows(); ++i) {
      Provider p{.id = r[1].Text(i, "id")};
      if (r[1].Bool(i, "has_schedule")) p.schedule = schedules[p.id];
      in.clinic.providers.push_back(std::move(p));
    }
    std::map<int64_t, int64_t> versions;
    for (int i = 0; i < r[3].rows(); ++i) versions[r[3].Int(i, "day")] = r[3].Int(i, "version");

    // Days read now are used as read, whatever the cache keeps of them.
    std::map<int64_t, TakenDays::Day> fresh;
    const std::vector<int64_t> stale = taken_days_.Stale(clinic_id, first_day, last_day, versions);
    if (!stale.empty()) {
      VL_ASSIGN_OR_RETURN(pg::Result t, s.Exec(kAvailabilityDays, {clinic_id, absl::StrCat("{", absl::StrJoin(stale, ","), "}")}));
      // Thousands of rows: columns by index, found once (a lookup by name per value cost
      // more than the query).
      const int day = t.column("day"), version = t.column("version"), provider = t.column("provider_id"),
                room = t.column("room_id"), starts = t.column("starts_us"), ends = t.column("ends_us"),
                expires = t.column("hold_expires_us");
      std::map<int64_t, std::pair<int64_t, std::vector<Busy>>> read;
      for (int i = 0; i < t.rows(); ++i) {
        int64_t d = 0, v = 0, a = 0, b = 0;
        if (!absl::SimpleAtoi(t.Text(i, day), &d) || !absl::SimpleAtoi(t.Text(i, version), &v)) {
          return absl::InternalError("unreadable schedule day");
        }
        auto& [day_version, taken] = read[d];
        day_version = v;
        if (t.IsNull(i, starts)) continue;  // a day with nothing taken
        if (!absl::SimpleAtoi(t.Text(i, starts), &a) || !absl::SimpleAtoi(t.Text(i, ends), &b)) {
          return absl::InternalError("unreadable appointment time");
        }
        Busy busy{t.Text(i, provider), t.Text(i, room), {absl::FromUnixMicros(a), absl::FromUnixMicros(b)}};
        if (!t.IsNull(i, expires)) {
          int64_t e = 0;
          if (!absl::SimpleAtoi(t.Text(i, expires), &e)) return absl::InternalError("unreadable hold expiry");
          busy.expires = absl::FromUnixMicros(e);
        }
        taken.push_back(std::move(busy));
      }
      for (auto& [d, day] : read) {
        fresh[d] = taken_days_.Put(clinic_id, d, day.first, std::move(day.second));
      }
    }
    // The days are handed over as held, not copied (thousands of intervals); an
    // appointment over midnight is in both its days, which the engine takes as one.
    std::vector<TakenDays::Day> kept = taken_days_.Get(clinic_id, first_day, last_day);
    for (int64_t d = first_day; d <= last_day; ++d) {
      auto f = fresh.find(d);
      TakenDays::Day& day = f != fresh.end() ? f->second : kept[d - first_day];
      if (day == nullptr) return absl::InternalError("schedule day not read");
      in.days.push_back(std::move(day));
    }
    for (int i = 0; i < r[4].rows(); ++i) {  // both empty: the whole clinic
      const Interval when{r[4].Time(i, "starts"), r[4].Time(i, "ends")};
      if (when.end <= from || when.start >= to) continue;  // read only for a wider zone
      in.busy.push_back({r[4].Text(i, "provider_id"), r[4].Text(i, "room_id"), when});
    }
    return absl::OkStatus();
  }));
  return in;
}

// --- Write-back (services/pims_sync): an appointment as the PIMS needs it, and its PIMS id.
namespace {
constexpr pg::Statement kForPims{
    "booking_for_pims",
    "SELECT a.id, coalesce(a.client_id::text, '') AS client_id, coalesce(a.pet_id::text, '') AS pet_id, "
    "coalesce(a.client_pims_id, '') AS client_pims_id, coalesce(a.patient_pims_id, '') AS patient_pims_id, "
    "coalesce(a.pims_id, '') AS pims_id, coalesce(t.pims_id, '') AS type_pims_id, "
    "coalesce(p.pims_id, '') AS provider_pims_id, coalesce(r.pims_id, '') AS room_pims_id, a.status, "
    "a.source, a.description, lower(a.during) AS starts, upper(a.during) AS ends "
    "FROM booking.appointments a LEFT JOIN booking.appointment_types t ON t.id = a.type_id "
    "LEFT JOIN booking.providers p ON p.id = a.provider_id LEFT JOIN booking.rooms r ON r.id = a.room_id "
    "WHERE a.clinic_id = $1 AND a.id = $2"};
// A sync that read the PIMS between the write and this record stored the appointment a
// second time, as the PIMS's: it is the same one.
constexpr pg::Statement kDropSyncedTwin{
    "booking_drop_synced_twin",
    "DELETE FROM booking.appointments WHERE clinic_id = $1 AND pims_id = $3 AND source = 'pims' AND id <> $2"};
constexpr pg::Statement kRecordPimsId{
    "booking_record_pims_id",
    "UPDATE booking.appointments SET pims_id = $3 WHERE clinic_id = $1 AND id = $2 AND "
    "(pims_id IS NULL OR pims_id = $3) RETURNING id"};

v1::SyncAppointmentStatus SyncStatusOf(const std::string& s) {
  for (auto st : {v1::SYNC_SCHEDULED, v1::SYNC_CONFIRMED, v1::SYNC_CHECKED_IN, v1::SYNC_COMPLETED,
                  v1::SYNC_CANCELLED, v1::SYNC_NO_SHOW}) {
    if (StatusText(st) == s) return st;
  }
  return v1::SYNC_APPOINTMENT_STATUS_UNSPECIFIED;
}
}  // namespace

absl::StatusOr<BookingRepository::ForPims> BookingRepository::GetForPims(const std::string& clinic_id,
                                                                         const std::string& id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kForPims, {clinic_id, id}));
  if (r.rows() == 0) return NotFoundField("appointmentId", "no appointment with this appointmentId in the clinic");
  ForPims out{.start = r.Time(0, "starts"), .end = r.Time(0, "ends")};
  v1::AppointmentForPims& a = out.appointment;
  a.set_id(r.Text(0, "id"));
  a.set_client_id(r.Text(0, "client_id"));
  a.set_pet_id(r.Text(0, "pet_id"));
  a.set_source(r.Text(0, "source"));
  v1::SyncAppointment* s = a.mutable_appointment();
  s->set_pims_id(r.Text(0, "pims_id"));
  s->set_client_pims_id(r.Text(0, "client_pims_id"));
  s->set_patient_pims_id(r.Text(0, "patient_pims_id"));
  s->set_appointment_type_pims_id(r.Text(0, "type_pims_id"));
  s->set_provider_pims_id(r.Text(0, "provider_pims_id"));
  s->set_room_pims_id(r.Text(0, "room_pims_id"));
  s->set_status(SyncStatusOf(r.Text(0, "status")));
  s->set_description(r.Text(0, "description"));
  return out;
}

absl::Status BookingRepository::RecordPimsId(const std::string& clinic_id, const std::string& id,
                                             const std::string& pims_id) {
  return pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(std::vector<pg::Result> r,
                        s.ExecBatch({{kDropSyncedTwin, {clinic_id, id, pims_id}},
                                     {kRecordPimsId, {clinic_id, id, pims_id}}}));
    if (r[1].rows() == 0) {
      VL_ASSIGN_OR_RETURN(pg::Result was, s.Exec(kForPims, {clinic_id, id}));
      if (was.rows() == 0) return NotFoundField("appointmentId", "no appointment with this appointmentId in the clinic");
      return absl::FailedPreconditionError("the appointment has another PIMS id");
    }
    return absl::OkStatus();
  });
}

}  // namespace vetline::booking
