// gRPC plumbing shared by every service: status mapping at the edge, principal
// propagation, request ids and trace context, deadlines on client calls, channels.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/auth/auth.h"
#include "vetline/api/types.pb.h"

namespace vetline::log {
struct RequestFields;  // libs/core/log.h
}

namespace vetline::rpc {

// Metadata keys. Binary keys end in -bin as gRPC requires.
inline constexpr char kPrincipalKey[] = "x-vetline-principal-bin";
inline constexpr char kPrincipalMacKey[] = "x-vetline-principal-mac-bin";
inline constexpr char kRequestIdKey[] = "x-request-id";
// W3C Trace Context, under the names the spec gives its HTTP headers.
inline constexpr char kTraceparentKey[] = "traceparent";
inline constexpr char kTracestateKey[] = "tracestate";

// "INVALID_ARGUMENT" etc.: the canonical name of a gRPC status code.
const char* CodeName(grpc::StatusCode code);

// absl::Status -> grpc::Status with the same code and message. The field named by
// vetline::InvalidField travels in grpc::Status::error_details() as plain text.
grpc::Status ToGrpc(const absl::Status& s);
absl::Status FromGrpc(const grpc::Status& s);  // and back, field preserved

// Lifetime of a signed principal in metadata: long enough for one call chain.
inline constexpr absl::Duration kPrincipalLifetime = absl::Seconds(60);

// Client side: what every outgoing call carries from the request this thread handles
// (log::Current): its request id (`request_id` if given, else the current one, else a
// new one) and, inside a trace, a traceparent naming this hop's span as the parent, with
// the caller's tracestate.
void AttachRequest(grpc::ClientContext& ctx, const std::string& request_id = "");
// Signs `p` (setting its expiry) and adds it to `ctx`, with AttachRequest.
void AttachPrincipal(grpc::ClientContext& ctx, api::Principal p,
                     const auth::PrincipalSigner& signer, const std::string& request_id = "");

// Server side: the verified principal of this call, or Unauthenticated. Its clinic joins
// the call's log fields.
absl::StatusOr<api::Principal> PrincipalOf(const grpc::ServerContextBase& ctx,
                                           const auth::PrincipalSigner& signer);
// The log fields of a call this process serves: request id, trace (this hop's own span)
// and, once PrincipalOf has verified the caller, clinic. A synchronous handler has them
// on its thread already (the server's interceptor opens the scope); a callback-API
// handler, whose reactor runs on gRPC's threads, opens a log::RequestScope with them
// where it logs or calls another service. Empty outside a call of an rpc::Server.
log::RequestFields CallFieldsOf(const grpc::ServerContextBase& ctx);

// Every client call has a deadline; this is the default one.
inline constexpr absl::Duration kDefaultDeadline = absl::Seconds(5);
void SetDeadline(grpc::ClientContext& ctx, absl::Duration d = kDefaultDeadline);

// Asks the standard gRPC health service (grpc.health.v1.Health/Check) whether the server
// (service "") or one service is SERVING. Unavailable when it cannot be reached.
absl::StatusOr<bool> CheckHealth(grpc::Channel& channel, const std::string& service = "",
                                 absl::Duration deadline = absl::Seconds(2));
// The same without waiting: `done` runs once, on a gRPC thread, with the answer.
void CheckHealthAsync(std::shared_ptr<grpc::Channel> channel, const std::string& service,
                      absl::Duration deadline, std::function<void(absl::StatusOr<bool>)> done);

// The service names a server lists through gRPC server reflection (v1alpha, as in
// gRPC 1.51), or Unavailable. Used by tests and operators' checks.
absl::StatusOr<std::vector<std::string>> ListServicesByReflection(
    grpc::Channel& channel, absl::Duration deadline = absl::Seconds(2));

// An insecure channel to "host:port" (in-cluster traffic; TLS comes from the mesh),
// balancing calls round-robin over every address the name resolves to; several replicas
// can also be named directly as "ipv4:127.0.0.1:50052,127.0.0.1:50062".
std::shared_ptr<grpc::Channel> Dial(const std::string& address);

}  // namespace vetline::rpc
