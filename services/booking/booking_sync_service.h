// BookingSyncService: the PIMS sync's bulk writes of the clinic's schedule (internal,
// service principals only). Each batch is checked record by record here (a bad record is
// reported and skipped, never fatal), its clients and patients resolved through the
// clients service in one call, and stored in one transaction by the repository.
#pragma once

#include <memory>

#include "libs/auth/auth.h"
#include "services/booking/booking_repository.h"
#include "services/booking/clinic_settings.h"
#include "vetline/booking/v1/booking_sync.grpc.pb.h"
#include "vetline/clients/v1/sync.grpc.pb.h"

namespace vetline::booking {

class BookingSyncService final : public v1::BookingSyncService::Service {
 public:
  BookingSyncService(BookingRepository& repo, const ClinicSettingsSource& settings,
                     std::shared_ptr<grpc::ChannelInterface> clients, const auth::PrincipalSigner& signer)
      : repo_(repo), settings_(settings), clients_(clients::v1::ClientSyncService::NewStub(clients)),
        signer_(signer) {}

  grpc::Status Upsert(grpc::ServerContext*, grpc::ServerReader<v1::BookingSyncBatch>*,
                      v1::BookingSyncSummary*) override;
  // Write-back (services/pims_sync).
  grpc::Status GetForPims(grpc::ServerContext*, const v1::GetForPimsRequest*, v1::AppointmentForPims*) override;
  grpc::Status RecordPimsId(grpc::ServerContext*, const v1::RecordPimsIdRequest*, v1::RecordPimsIdResponse*) override;

 private:
  // A service principal, acting for `clinic_id` if it is scoped to a clinic.
  absl::Status RequireServiceFor(grpc::ServerContext& ctx, const std::string& clinic_id) const;
  // Vetline ids of the batch's clients and patients (one call to the clients service).
  absl::Status Resolve(const std::string& clinic_id, std::vector<SyncAppointmentRow>& rows) const;

  BookingRepository& repo_;
  const ClinicSettingsSource& settings_;
  std::unique_ptr<clients::v1::ClientSyncService::Stub> clients_;
  const auth::PrincipalSigner& signer_;
};

}  // namespace vetline::booking
