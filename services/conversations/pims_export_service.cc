#include "services/conversations/pims_export_service.h"

#include "libs/core/status.h"
#include "libs/core/validate.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"

namespace vetline::conversations {

grpc::Status PimsExportService::ExportToPims(grpc::ServerContext* ctx, const v1::ExportToPimsRequest* req,
                                             v1::PimsExport* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("conversationId", req->conversation_id()));
    VL_ASSIGN_OR_RETURN(identity::v1::Clinic clinic, clinics_.Clinic(p));
    ExportRequest r{.clinic_id = p.clinic_id(), .conversation_id = req->conversation_id(),
                    .staff_id = p.user_id(), .whole = req->whole(), .zone = absl::UTCTimeZone(),
                    .zone_name = "UTC"};
    // identity validated the clinic's zone when it was set; UTC only if this build lacks it.
    if (absl::LoadTimeZone(clinic.time_zone(), &r.zone)) r.zone_name = clinic.time_zone();
    VL_ASSIGN_OR_RETURN(*out, repo_.Export(r));
    return absl::OkStatus();
  }());
}

grpc::Status PimsExportService::ListPimsExports(grpc::ServerContext* ctx, const v1::ListPimsExportsRequest* req,
                                                v1::ListPimsExportsResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("conversationId", req->conversation_id()));
    VL_ASSIGN_OR_RETURN(auto exports, repo_.List(p.clinic_id(), req->conversation_id()));
    for (auto& e : exports) *resp->add_exports() = std::move(e);
    return absl::OkStatus();
  }());
}

}  // namespace vetline::conversations
