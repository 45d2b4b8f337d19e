// All SQL of direct booking: the clinic's online types, one-time codes, holds (an
// appointment row with status `held` that the exclusion constraints see) and their
// confirmation, with the events it writes to booking's outbox (appointment.created and
// conversation.requested) in the same transaction.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/outbox/outbox.h"
#include "libs/pg/pg.h"
#include "services/booking/direct_booking_rules.h"

namespace vetline::booking {

struct OnlineTypeRow {
  std::string id, name;
  int duration_minutes = 0;
  bool new_client_allowed = false, telemedicine = false;
};

struct NewHold {
  std::string type_id, provider_id, room_id;  // room may be empty
  absl::Time start, end;
  std::string client_id, pet_id;  // empty for a new client
  std::string owner;              // who may confirm it
  absl::Time expires_at, now;
};

// A hold or a booked appointment, as the public steps see it.
struct DirectAppointment {
  std::string id, status, client_id, pet_id, type_id, type_name, provider_id, room_id, owner;
  absl::Time start, end;
  std::optional<absl::Time> hold_expires_at;
  int version = 0;
};

struct Confirmation {
  std::string client_id, pet_id, description;
  bool new_client = false;
  std::string conversation_payload;  // conversation.requested (contract: booking → conversations)
};

class DirectBookingRepository {
 public:
  explicit DirectBookingRepository(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}

  absl::StatusOr<std::vector<OnlineTypeRow>> OnlineTypes(const std::string& clinic_id);
  // NotFound naming appointmentTypeId unless the type is active and bookable online.
  absl::StatusOr<OnlineTypeRow> OnlineType(const std::string& clinic_id, const std::string& type_id);

  absl::Status AddCode(const std::string& clinic_id, const std::string& contact, const std::string& code_hash,
                       absl::Time expires_at);
  // Judges the contact's newest code under its row lock and records the try: a wrong
  // one counts an attempt, the right one is used up. kNone when no code was sent.
  absl::StatusOr<CodeVerdict> UseCode(const std::string& clinic_id, const std::string& contact,
                                      const std::function<CodeVerdict(const StoredCode&)>& judge, absl::Time now);

  // The hold's id. Expired holds in the way give way; a live one or an appointment is
  // FailedPrecondition "slot no longer available" on startTime, nothing written.
  absl::StatusOr<std::string> Hold(const std::string& clinic_id, const NewHold& h);
  // The hold `owner` may confirm: NotFound on holdId (none, or booked already),
  // PermissionDenied on holdId for someone else's, FailedPrecondition on holdId once
  // expired at `now`.
  absl::StatusOr<DirectAppointment> GetHold(const std::string& clinic_id, const std::string& hold_id,
                                            const std::string& owner, absl::Time now);
  // The same checks under the row lock, then the hold becomes a scheduled appointment
  // with its events, in one transaction.
  absl::StatusOr<DirectAppointment> Confirm(const std::string& clinic_id, const std::string& hold_id,
                                            const std::string& owner, absl::Time now, const Confirmation& c);
  // A booked (not held) appointment; NotFound on appointmentId.
  absl::StatusOr<DirectAppointment> Get(const std::string& clinic_id, const std::string& id);
  // conversation.requested for a change made with the confirmation link.
  absl::Status RequestConversation(const std::string& payload);

 private:
  std::shared_ptr<pg::Pool> pool_;
  const outbox::Outbox outbox_{"booking"};  // the table BookingRepository's instance writes
};

}  // namespace vetline::booking
