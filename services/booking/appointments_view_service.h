// AppointmentsViewService: the staff appointments view (request_forms.proto): columns an
// admin defines, each filtered by appointment types, providers and/or rooms, and one
// clinic-local day of the matching appointments per column. The day's appointments come
// from the schedule's own list read (BookingRepository::ListAppointments).
#pragma once

#include "libs/auth/auth.h"
#include "libs/refs/refs.h"
#include "services/booking/booking_repository.h"
#include "services/booking/clinic_settings.h"
#include "services/booking/request_forms_repository.h"
#include "vetline/booking/v1/request_forms.grpc.pb.h"

namespace vetline::booking {

class AppointmentsViewService final : public v1::AppointmentsViewService::Service {
 public:
  AppointmentsViewService(RequestFormsRepository& repo, BookingRepository& schedule,
                          const ClinicSettingsSource& settings, const refs::ClientProfiles& clients,
                          const auth::PrincipalSigner& signer)
      : repo_(repo), schedule_(schedule), settings_(settings), clients_(clients), signer_(signer) {}

  grpc::Status ListColumns(grpc::ServerContext*, const v1::ListAppointmentsColumnsRequest*,
                           v1::ListAppointmentsColumnsResponse*) override;
  grpc::Status CreateColumn(grpc::ServerContext*, const v1::CreateAppointmentsColumnRequest*,
                            v1::AppointmentsColumn*) override;
  grpc::Status UpdateColumn(grpc::ServerContext*, const v1::UpdateAppointmentsColumnRequest*,
                            v1::AppointmentsColumn*) override;
  grpc::Status ReorderColumns(grpc::ServerContext*, const v1::ReorderAppointmentsColumnsRequest*,
                              v1::ListAppointmentsColumnsResponse*) override;
  grpc::Status DeleteColumn(grpc::ServerContext*, const v1::DeleteAppointmentsColumnRequest*,
                            v1::DeleteAppointmentsColumnResponse*) override;
  grpc::Status GetView(grpc::ServerContext*, const v1::GetAppointmentsViewRequest*, v1::AppointmentsView*) override;

 private:
  RequestFormsRepository& repo_;
  BookingRepository& schedule_;
  const ClinicSettingsSource& settings_;
  const refs::ClientProfiles& clients_;
  const auth::PrincipalSigner& signer_;
};

}  // namespace vetline::booking
