// DirectBookingService (direct_booking.proto): the public steps of online booking. Callers
// are anonymous visitors (a one-time code, then a visitor token) or portal clients; input
// and status codes are checked here, the rules are in direct_booking_rules, SQL in the
// repositories, open slots from the same engine and read as staff availability.
#pragma once

#include "libs/auth/auth.h"
#include "libs/core/clock.h"
#include "services/booking/booking_repository.h"
#include "services/booking/booking_service.h"
#include "services/booking/clinic_settings.h"
#include "services/booking/direct_booking_peers.h"
#include "services/booking/direct_booking_repository.h"
#include "services/booking/visitor_token.h"
#include "vetline/booking/v1/direct_booking.grpc.pb.h"

namespace vetline::booking {

struct DirectBookingOptions {
  std::string public_url = "http://127.0.0.1:8080";  // base of the confirmation's link
  absl::Duration code_ttl = kCodeTtl;
  absl::Duration hold_ttl = kHoldTtl;
};

class DirectBookingService final : public v1::DirectBookingService::Service {
 public:
  // `sender` may be null (no conversations service): codes cannot be sent then.
  // `visitors` issues the tokens a verified code gives (request forms verify the same).
  DirectBookingService(BookingRepository& schedule, DirectBookingRepository& repo,
                       const ClinicSettingsSource& settings, const ClientDirectory& clients, const CodeSender* sender,
                       const VisitorTokens& visitors, auth::Key key, DirectBookingOptions options, const Clock& clock);

  grpc::Status GetOnlineBooking(grpc::ServerContext*, const v1::GetOnlineBookingRequest*, v1::OnlineBooking*) override;
  grpc::Status RequestCode(grpc::ServerContext*, const v1::RequestCodeRequest*, v1::RequestCodeResponse*) override;
  grpc::Status VerifyCode(grpc::ServerContext*, const v1::VerifyCodeRequest*, v1::VerifyCodeResponse*) override;
  grpc::Status ListOpenSlots(grpc::ServerContext*, const v1::ListOpenSlotsRequest*,
                             v1::ListOpenSlotsResponse*) override;
  grpc::Status HoldSlot(grpc::ServerContext*, const v1::HoldSlotRequest*, v1::Hold*) override;
  grpc::Status ConfirmBooking(grpc::ServerContext*, const v1::ConfirmBookingRequest*, v1::BookedAppointment*) override;
  grpc::Status GetManagedAppointment(grpc::ServerContext*, const v1::ManagedAppointmentRequest*,
                                     v1::BookedAppointment*) override;
  grpc::Status CancelManagedAppointment(grpc::ServerContext*, const v1::ManagedAppointmentRequest*,
                                        v1::BookedAppointment*) override;
  grpc::Status RescheduleManagedAppointment(grpc::ServerContext*, const v1::RescheduleAppointmentRequest*,
                                            v1::BookedAppointment*) override;

 private:
  // Who takes the steps after the code: the visitor token's, or a portal client's.
  struct Caller {
    Visitor visitor;
    std::string owner;  // of the holds they make
  };
  absl::StatusOr<Caller> CallerOf(grpc::ServerContext& ctx, const std::string& clinic_id,
                                  const std::string& visitor_token) const;
  absl::StatusOr<ClinicSettingsSource::Loaded> Clinic(const std::string& clinic_id) const;
  // The open slot starting at `start` (of `provider_id` when given), else
  // FailedPrecondition naming startTime.
  absl::StatusOr<Slot> OpenSlotAt(const std::string& clinic_id, const ClinicSettingsSource::Loaded& clinic,
                                  const std::string& type_id, const std::string& provider_id, absl::Time start) const;
  // The appointment the confirmation link names, checked.
  absl::StatusOr<DirectAppointment> Managed(const std::string& clinic_id, const std::string& id,
                                            const std::string& token) const;
  void Present(const DirectAppointment& a, const std::string& pet_name, int cutoff_minutes,
               v1::BookedAppointment* out) const;
  std::string ManageUrl(const std::string& clinic_id, const std::string& appointment_id, absl::Time start) const;

  BookingRepository& schedule_;
  DirectBookingRepository& repo_;
  const ClinicSettingsSource& settings_;
  const ClientDirectory& clients_;
  const CodeSender* sender_;
  auth::Key key_;
  auth::PrincipalSigner signer_;
  auth::LinkSigner links_;
  const VisitorTokens& visitors_;
  DirectBookingOptions options_;
  const Clock& clock_;
};

}  // namespace vetline::booking
