// PimsExportService (pims_export.proto): staff export a conversation's record to the
// clinic's PIMS as a client communication note; pims_sync writes it.
#pragma once

#include "libs/auth/auth.h"
#include "libs/refs/refs.h"
#include "services/conversations/pims_export_repository.h"
#include "vetline/conversations/v1/pims_export.grpc.pb.h"

namespace vetline::conversations {

class PimsExportService final : public v1::PimsExportService::Service {
 public:
  PimsExportService(PimsExportRepository& repo, const auth::PrincipalSigner& signer, const refs::StaffRefs& clinics)
      : repo_(repo), signer_(signer), clinics_(clinics) {}

  grpc::Status ExportToPims(grpc::ServerContext*, const v1::ExportToPimsRequest*, v1::PimsExport*) override;
  grpc::Status ListPimsExports(grpc::ServerContext*, const v1::ListPimsExportsRequest*,
                               v1::ListPimsExportsResponse*) override;

 private:
  PimsExportRepository& repo_;
  const auth::PrincipalSigner& signer_;
  const refs::StaffRefs& clinics_;  // the clinic's time zone, for the note's times
};

}  // namespace vetline::conversations
