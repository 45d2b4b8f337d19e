// A simulated practice: a deterministic, Cornerstone-like or Avimark-like database of
// any size, with each PIMS's id formats and field conventions, inactive and deleted
// records, duplicates, bad records, a schedule (appointment types, providers, rooms,
// appointments that never overlap per provider or room, block-offs), and changes over
// time for incremental sync. Appointments written through Create are stored and served
// like the PIMS's own.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "vetline/pims/v1/connector.pb.h"

namespace vetline::pims_sim {

namespace pv1 = ::vetline::pims::v1;

enum class Kind { kCornerstone, kAvimark };

struct PracticeOptions {
  Kind kind = Kind::kCornerstone;
  int64_t clients = 1000;
  uint64_t seed = 7;
  // The schedule spreads around this day (half before, half after); fixed by default so
  // the same seed always gives the same practice.
  absl::CivilDay schedule_around = absl::CivilDay(2026, 12, 1);
};

class Practice {
 public:
  explicit Practice(PracticeOptions options);

  const PracticeOptions& options() const { return options_; }
  std::string kind_name() const;
  int64_t Count(pv1::Entity entity) const;
  // The record at `index` (0-based) of the entity's stable snapshot order.
  pv1::PimsRecord Record(pv1::Entity entity, int64_t index) const;

  // Changes `count` records (a later visit, a new phone number, a moved or cancelled
  // appointment, a removed block-off, now and then a new appointment type); returns
  // the new cursor.
  int64_t Mutate(int count);
  // The schedule changes Mutate makes, one at a time (tests name what they change).
  // Moving finds a free time for the appointment's provider and room; false if none.
  bool MoveAppointment(int64_t index);
  void CancelAppointment(int64_t index);
  void DeleteBlockOff(int64_t index);
  // Returns the new type's index.
  int64_t AddAppointmentType();

  int64_t cursor() const;
  // Records changed after `cursor`, oldest first, at most `limit`; `next` is the cursor
  // after the last one returned.
  std::vector<pv1::PimsRecord> ChangesSince(pv1::Entity entity, int64_t cursor, int limit,
                                            int64_t* next) const;

  std::map<std::string, std::string> SchedulingSettings() const;
  // Write-back: the same idempotency key returns the same id. Records are checked like
  // a real PIMS would (InvalidArgument naming missing or bad fields; for appointments
  // FailedPrecondition when the time is taken), given the practice's next id and
  // stored: Snapshot and Changes return them from then on.
  absl::StatusOr<std::string> Create(pv1::Entity entity, const std::map<std::string, std::string>& fields,
                                     const std::string& idempotency_key);
  // Changes to an appointment (its PIMS id): a move (date, time, length, provider, room;
  // fields left out stay; FailedPrecondition when the new time is taken) or a
  // cancellation. Both are recorded as changes; asking for what already is answers OK.
  absl::StatusOr<std::string> UpdateAppointment(const std::string& id,
                                                const std::map<std::string, std::string>& fields);
  absl::StatusOr<std::string> CancelAppointment(const std::string& id);
  // Client communication notes (Cornerstone CLIENT_ID, NOTE_TEXT; Avimark ACCT, TEXT), with
  // an idempotency key like Create; kept in order of arrival.
  absl::StatusOr<std::string> CreateNote(const std::map<std::string, std::string>& fields,
                                         const std::string& idempotency_key);
  std::vector<pv1::PimsRecord> Notes() const;

 private:
  enum class Status { kScheduled, kConfirmed, kCheckedIn, kCompleted, kCancelled, kNoShow };
  struct ApptType {
    std::string name;
    int minutes;
    bool active;
  };
  struct Appointment {
    absl::CivilDay day;
    int start = 0;  // minutes after midnight, clinic wall clock
    int minutes = 0;
    int provider = 0;
    int room = -1;  // -1: none
    int type = 0;
    std::string client_id, patient_id;  // PIMS ids
    Status status = Status::kScheduled;
    std::string description;
    std::string bad;  // a broken field a real PIMS holds: "duration", "time"
  };
  struct BlockOff {
    absl::CivilDay day;
    int start = 0, minutes = 0;
    int provider = -1, room = -1;  // both -1: the whole clinic
    std::string reason;
    bool deleted = false;
  };

  uint64_t Mix(uint64_t a, uint64_t b) const;
  pv1::PimsRecord RecordLocked(pv1::Entity entity, int64_t index) const;
  pv1::PimsRecord ClientRecord(int64_t i, int version) const;
  pv1::PimsRecord PatientRecord(int64_t j, int version) const;
  pv1::PimsRecord TypeRecord(int64_t t) const;
  pv1::PimsRecord ProviderRecord(int64_t p) const;
  pv1::PimsRecord RoomRecord(int64_t r) const;
  pv1::PimsRecord AppointmentRecord(int64_t k) const;
  pv1::PimsRecord BlockOffRecord(int64_t b) const;
  int VersionOf(pv1::Entity e, int64_t index) const;
  bool BadClient(int64_t i) const;
  std::optional<int64_t> ClientIndex(const std::string& id) const;
  std::optional<int64_t> PatientIndex(const std::string& id) const;
  int64_t OwnerOf(int64_t patient) const;
  std::string ClientId(int64_t i) const;
  std::string PatientId(int64_t j) const;
  std::string TypeId(int t) const;
  std::string ProviderId(int p) const;
  std::string RoomId(int r) const;
  std::string AppointmentId(int64_t k) const;
  void BuildSchedule();
  // Whether [start, start+minutes) on `day` is taken for the provider or the room
  // (active appointments other than `except`, block-offs).
  bool Taken(absl::CivilDay day, int start, int minutes, int provider, int room, int64_t except) const;
  void Index(int64_t k);
  void Unindex(int64_t k);
  void Changed(pv1::Entity e, int64_t index);
  bool MoveLocked(int64_t k);
  void CancelLocked(int64_t k);
  void DeleteBlockOffLocked(int64_t b);
  int64_t AddTypeLocked();
  absl::StatusOr<std::string> CreateAppointment(const std::map<std::string, std::string>& fields);
  // The appointment's place and length from `fields` (those left out: `a`'s own), checked.
  absl::Status PlaceAppointment(const std::map<std::string, std::string>& fields, Appointment& a) const;
  std::optional<int64_t> AppointmentIndex(const std::string& id) const;
  absl::StatusOr<std::string> CreateOwnerOrPet(pv1::Entity entity, const std::map<std::string, std::string>& fields);

  PracticeOptions options_;
  std::vector<int64_t> first_patient_;  // client i owns patients [first_[i], first_[i+1])
  mutable std::mutex mu_;
  struct Change {
    int64_t seq;
    pv1::Entity entity;
    int64_t index;
  };
  std::vector<Change> changes_;
  std::map<std::pair<int, int64_t>, int> versions_;
  int64_t seq_ = 0;
  std::map<std::string, std::string> created_;  // idempotency key -> id
  // Clients and patients written back, after the generated ones in snapshot order.
  std::vector<pv1::PimsRecord> written_clients_, written_patients_;
  std::set<std::string> written_ids_;
  std::vector<pv1::PimsRecord> notes_;

  std::vector<ApptType> types_;
  int providers_ = 0, rooms_ = 0;
  std::vector<Appointment> appointments_;
  std::vector<BlockOff> block_offs_;
  // Appointment indices per (provider or room, day), for the overlap checks.
  std::map<std::pair<int, absl::CivilDay>, std::vector<int64_t>> by_provider_, by_room_;
  std::map<absl::CivilDay, std::vector<int64_t>> block_offs_by_day_;
};

}  // namespace vetline::pims_sim
