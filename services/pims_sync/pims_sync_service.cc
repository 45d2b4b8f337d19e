#include "services/pims_sync/pims_sync_service.h"

#include "absl/strings/numbers.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"
#include "libs/rpc/rpc.h"

namespace vetline::pims_sync {

absl::Status ValidateConnector(const std::string& kind, const std::string& address) {
  if (kind != "cornerstone" && kind != "avimark" && kind != "none") {
    return InvalidField("kind", "kind must be cornerstone, avimark or none");
  }
  if (kind == "none") return absl::OkStatus();
  auto colon = address.rfind(':');
  int port;
  if (colon == std::string::npos || colon == 0 || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 1 || port > 65535) {
    return InvalidField("address", "address must be host:port of the connector agent");
  }
  return absl::OkStatus();
}

absl::StatusOr<api::Principal> PimsSyncService::Staff(grpc::ServerContext* ctx) {
  VL_ASSIGN_OR_RETURN(api::Principal p, rpc::PrincipalOf(*ctx, signer_));
  if (p.kind() != api::Principal::STAFF) return absl::PermissionDeniedError("only clinic staff may see syncs");
  return p;
}

grpc::Status PimsSyncService::ListRuns(grpc::ServerContext* ctx, const sv1::ListRunsRequest* req,
                                       sv1::ListRunsResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, Staff(ctx));
    int size = req->page_size() == 0 ? 20 : req->page_size();
    if (size < 1 || size > 100) return InvalidField("pageSize", "pageSize must be between 1 and 100");
    VL_ASSIGN_OR_RETURN(auto runs, repo_.ListRuns(p.clinic_id(), size));
    for (auto& r : runs) *resp->add_runs() = std::move(r);
    return absl::OkStatus();
  }());
}

grpc::Status PimsSyncService::GetRun(grpc::ServerContext* ctx, const sv1::GetRunRequest* req, sv1::Run* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, Staff(ctx));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_ASSIGN_OR_RETURN(*out, repo_.GetRun(p.clinic_id(), req->id(), true));
    return absl::OkStatus();
  }());
}

grpc::Status PimsSyncService::GetConnector(grpc::ServerContext* ctx, const sv1::GetConnectorRequest*,
                                           sv1::Connector* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, Staff(ctx));
    VL_ASSIGN_OR_RETURN(*out, repo_.GetConnector(p.clinic_id()));
    return absl::OkStatus();
  }());
}

grpc::Status PimsSyncService::SetConnector(grpc::ServerContext* ctx, const sv1::SetConnectorRequest* req,
                                           sv1::Connector* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, Staff(ctx));
    if (p.role() != "admin") return absl::PermissionDeniedError("only clinic admins may change the PIMS connector");
    VL_RETURN_IF_ERROR(ValidateConnector(req->kind(), req->address()));
    out->set_clinic_id(p.clinic_id());
    out->set_kind(req->kind());
    out->set_address(req->kind() == "none" ? "" : req->address());
    return repo_.SetConnector(*out);
  }());
}

}  // namespace vetline::pims_sync
