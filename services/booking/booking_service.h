// BookingService: the clinic's schedule for staff (booking.proto). Callers, input and
// status codes are checked here; SQL lives in the repository; slots come from the pure
// availability engine.
#pragma once

#include "libs/auth/auth.h"
#include "libs/core/clock.h"
#include "libs/core/page_token.h"
#include "libs/refs/refs.h"
#include "services/booking/booking_repository.h"
#include "services/booking/clinic_settings.h"
#include "vetline/booking/v1/booking.grpc.pb.h"

namespace vetline::booking {

// Shared with the direct-booking edge.
struct DayRange {
  absl::CivilDay first, last;
};
// `from`..`to` as clinic-local days (YYYY-MM-DD, at most kMaxDays), errors naming them.
absl::StatusOr<DayRange> Days(const std::string& from, const std::string& to);
// A required instant in a sane range (2000..2200), errors naming `field`.
absl::StatusOr<absl::Time> Instant(std::string_view field, bool present, const google::protobuf::Timestamp& ts);
// Open slots of a type (optionally one provider's) over `days`: GetAvailability's read
// (one round trip with the clinic's settings; `settings` creates them on a clinic's first
// question) and the pure engine. Holds count as taken until they expire at `now`.
absl::StatusOr<std::vector<Slot>> FindOpenSlots(BookingRepository& repo, const ClinicSettingsSource& settings,
                                                const std::string& clinic_id, const std::string& type_id,
                                                const std::string& provider_id, DayRange days, absl::Time now);

// The engine's slots on the wire.
void SlotsOut(const std::vector<Slot>& slots, google::protobuf::RepeatedPtrField<v1::Slot>* out);

class BookingService final : public v1::BookingService::Service {
 public:
  BookingService(BookingRepository& repo, const ClinicSettingsSource& settings, const refs::ClientProfiles& clients,
                 const auth::PrincipalSigner& signer, PageTokens page_tokens, const Clock& clock)
      : repo_(repo), settings_(settings), clients_(clients), signer_(signer), page_tokens_(std::move(page_tokens)),
        clock_(clock) {}

  grpc::Status GetSettings(grpc::ServerContext*, const v1::GetSettingsRequest*, v1::BookingSettings*) override;
  grpc::Status UpdateSettings(grpc::ServerContext*, const v1::UpdateSettingsRequest*, v1::BookingSettings*) override;
  grpc::Status ListAppointmentTypes(grpc::ServerContext*, const v1::ListAppointmentTypesRequest*,
                                    v1::ListAppointmentTypesResponse*) override;
  grpc::Status CreateAppointmentType(grpc::ServerContext*, const v1::CreateAppointmentTypeRequest*,
                                     v1::AppointmentType*) override;
  grpc::Status UpdateAppointmentType(grpc::ServerContext*, const v1::UpdateAppointmentTypeRequest*,
                                     v1::AppointmentType*) override;
  grpc::Status ListProviders(grpc::ServerContext*, const v1::ListProvidersRequest*, v1::ListProvidersResponse*) override;
  grpc::Status CreateProvider(grpc::ServerContext*, const v1::CreateProviderRequest*, v1::Provider*) override;
  grpc::Status ListRooms(grpc::ServerContext*, const v1::ListRoomsRequest*, v1::ListRoomsResponse*) override;
  grpc::Status CreateRoom(grpc::ServerContext*, const v1::CreateRoomRequest*, v1::Room*) override;
  grpc::Status GetClinicHours(grpc::ServerContext*, const v1::GetClinicHoursRequest*, v1::Schedule*) override;
  grpc::Status PutClinicHours(grpc::ServerContext*, const v1::PutClinicHoursRequest*, v1::Schedule*) override;
  grpc::Status GetProviderSchedule(grpc::ServerContext*, const v1::GetProviderScheduleRequest*,
                                   v1::ProviderSchedule*) override;
  grpc::Status PutProviderSchedule(grpc::ServerContext*, const v1::PutProviderScheduleRequest*,
                                   v1::ProviderSchedule*) override;
  grpc::Status CreateBlockOff(grpc::ServerContext*, const v1::CreateBlockOffRequest*, v1::BlockOff*) override;
  grpc::Status DeleteBlockOff(grpc::ServerContext*, const v1::DeleteBlockOffRequest*,
                              v1::DeleteBlockOffResponse*) override;
  grpc::Status ListBlockOffs(grpc::ServerContext*, const v1::ListBlockOffsRequest*, v1::ListBlockOffsResponse*) override;
  grpc::Status CreateAppointment(grpc::ServerContext*, const v1::CreateAppointmentRequest*, v1::Appointment*) override;
  grpc::Status GetAppointment(grpc::ServerContext*, const v1::GetAppointmentRequest*, v1::Appointment*) override;
  grpc::Status MoveAppointment(grpc::ServerContext*, const v1::MoveAppointmentRequest*, v1::Appointment*) override;
  grpc::Status CancelAppointment(grpc::ServerContext*, const v1::CancelAppointmentRequest*, v1::Appointment*) override;
  grpc::Status ListAppointments(grpc::ServerContext*, const v1::ListAppointmentsRequest*,
                                v1::ListAppointmentsResponse*) override;
  grpc::Status GetAvailability(grpc::ServerContext*, const v1::GetAvailabilityRequest*,
                               v1::GetAvailabilityResponse*) override;

 private:
  BookingRepository& repo_;
  const ClinicSettingsSource& settings_;
  const refs::ClientProfiles& clients_;
  const auth::PrincipalSigner& signer_;
  PageTokens page_tokens_;
  const Clock& clock_;
};

}  // namespace vetline::booking
