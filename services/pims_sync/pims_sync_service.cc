#include "services/pims_sync/pims_sync_service.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"

namespace vetline::pims_sync {
namespace {

// A DNS name (RFC 1123 labels), an IPv4 address or a bracketed IPv6 address.
bool IsHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    return !host.empty() && host.size() <= 45 &&
           host.find_first_not_of("0123456789abcdefABCDEF:.") == std::string_view::npos;
  }
  if (host.empty() || host.size() > kMaxHostChars) return false;
  for (size_t from = 0;;) {
    size_t dot = host.find('.', from);
    std::string_view label =
        host.substr(from, dot == std::string_view::npos ? std::string_view::npos : dot - from);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    from = dot + 1;
  }
}

}  // namespace

absl::Status ValidateConnector(const std::string& kind, const std::string& address) {
  if (kind != "cornerstone" && kind != "avimark" && kind != "none") {
    return InvalidField("kind", "kind must be cornerstone, avimark or none");
  }
  if (kind == "none") return absl::OkStatus();
  auto colon = address.rfind(':');
  int port;
  if (address.size() > kMaxHostChars + 6 || colon == std::string::npos || colon == 0 ||
      !IsHost(std::string_view(address).substr(0, colon)) ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 1 || port > 65535) {
    return InvalidField("address", "address must be host:port of the connector agent");
  }
  return absl::OkStatus();
}

grpc::Status PimsSyncService::ListRuns(grpc::ServerContext* ctx, const sv1::ListRunsRequest* req,
                                       sv1::ListRunsResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(int size, validate::PageSize("pageSize", req->page_size()));
    VL_ASSIGN_OR_RETURN(auto runs, repo_.ListRuns(p.clinic_id(), size));
    for (auto& r : runs) *resp->add_runs() = std::move(r);
    return absl::OkStatus();
  }());
}

grpc::Status PimsSyncService::GetRun(grpc::ServerContext* ctx, const sv1::GetRunRequest* req, sv1::Run* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_ASSIGN_OR_RETURN(*out, repo_.GetRun(p.clinic_id(), req->id(), true));
    return absl::OkStatus();
  }());
}

grpc::Status PimsSyncService::GetConnector(grpc::ServerContext* ctx, const sv1::GetConnectorRequest*,
                                           sv1::Connector* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(*out, repo_.GetConnector(p.clinic_id()));
    return absl::OkStatus();
  }());
}

grpc::Status PimsSyncService::SetConnector(grpc::ServerContext* ctx, const sv1::SetConnectorRequest* req,
                                           sv1::Connector* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_RETURN_IF_ERROR(ValidateConnector(req->kind(), req->address()));
    out->set_clinic_id(p.clinic_id());
    out->set_kind(req->kind());
    out->set_address(req->kind() == "none" ? "" : req->address());
    return repo_.SetConnector(*out);
  }());
}

grpc::Status PimsSyncService::ListWritebacks(grpc::ServerContext* ctx, const sv1::ListWritebacksRequest* req,
                                             sv1::ListWritebacksResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    if (!req->state().empty() && req->state() != "pending" && req->state() != "written" && req->state() != "failed") {
      return InvalidField("state", "state must be pending, written or failed");
    }
    VL_ASSIGN_OR_RETURN(int size, validate::PageSize("pageSize", req->page_size()));
    VL_ASSIGN_OR_RETURN(auto rows, writebacks_.List(p.clinic_id(), req->state(), size));
    for (auto& w : rows) *resp->add_writebacks() = std::move(w);
    return absl::OkStatus();
  }());
}

grpc::Status PimsSyncService::RetryWriteback(grpc::ServerContext* ctx, const sv1::RetryWritebackRequest* req,
                                             sv1::Writeback* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_ASSIGN_OR_RETURN(*out, writebacks_.Retry(p.clinic_id(), req->id()));
    if (wake_) wake_();
    return absl::OkStatus();
  }());
}

}  // namespace vetline::pims_sync
