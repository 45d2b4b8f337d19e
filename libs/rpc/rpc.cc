#include "libs/rpc/rpc.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <unordered_map>

#include <grpcpp/generic/generic_stub.h>

#include "absl/time/clock.h"
#include "libs/core/ids.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/rpc/byte_buffer.h"
#include "libs/rpc/served_calls.h"

namespace vetline::rpc {

const char* CodeName(grpc::StatusCode c) {
  static const char* kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
                                 "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
                                 "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  int i = static_cast<int>(c);
  return i >= 0 && i <= 16 ? kNames[i] : "UNKNOWN";
}

namespace {

// What the caller hears instead of a library's or an internal error's own text.
const char* GenericMessage(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument: return "the request has a value that cannot be stored";
    case absl::StatusCode::kAlreadyExists: return "this already exists";
    case absl::StatusCode::kFailedPrecondition:
      return "the request conflicts with the current data";
    case absl::StatusCode::kAborted: return "the request conflicted with another one; try again";
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:
      return "the service is temporarily unavailable; try again";
    case absl::StatusCode::kDeadlineExceeded: return "the request took too long; try again";
    default: return "internal error";
  }
}

}  // namespace

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  auto code = static_cast<grpc::StatusCode>(s.code());
  bool internal = s.code() == absl::StatusCode::kInternal ||
                  s.code() == absl::StatusCode::kUnknown || s.code() == absl::StatusCode::kDataLoss;
  // No database or library message reaches an API answer: operators get it in the log.
  if (internal || IsFromLibrary(s)) {
    log::Write(internal ? log::Level::kError : log::Level::kWarning, "request failed",
               {{"code", CodeName(code)}, {"detail", std::string(s.message())}});
    return grpc::Status(code, GenericMessage(s.code()), FieldOf(s));
  }
  return grpc::Status(code, std::string(s.message()), FieldOf(s));
}

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  if (!s.error_details().empty()) {
    out.SetPayload(kFieldPayload, absl::Cord(s.error_details()));
  }
  return out;
}

void AttachRequest(grpc::ClientContext& ctx, const std::string& request_id) {
  const log::RequestFields& current = log::Current();
  ctx.AddMetadata(kRequestIdKey, !request_id.empty()           ? request_id
                                 : !current.request_id.empty() ? current.request_id
                                                               : NewRequestId());
  if (current.trace.empty()) return;  // the callee starts a trace of its own
  ctx.AddMetadata(kTraceparentKey, trace::Traceparent(current.trace));
  if (!current.trace.tracestate.empty()) ctx.AddMetadata(kTracestateKey, current.trace.tracestate);
}

void AttachPrincipal(grpc::ClientContext& ctx, api::Principal p,
                     const auth::PrincipalSigner& signer, const std::string& request_id) {
  p.set_expires_unix(absl::ToUnixSeconds(absl::Now() + kPrincipalLifetime));
  auto [bytes, mac] = signer.Sign(p);
  ctx.AddMetadata(kPrincipalKey, bytes);
  ctx.AddMetadata(kPrincipalMacKey, mac);
  AttachRequest(ctx, request_id);
}

namespace internal {
namespace {
struct ServedCalls {
  std::mutex mu;
  std::unordered_map<const grpc::ServerContextBase*, std::shared_ptr<ServedCall>> calls;
};
ServedCalls& Served() {
  static auto* served = new ServedCalls;  // never destroyed: servers may stop after exit starts
  return *served;
}
}  // namespace

std::shared_ptr<ServedCall> EnterCall(const grpc::ServerContextBase* ctx, log::RequestFields fields) {
  auto call = std::make_shared<ServedCall>();
  call->fields = std::move(fields);
  std::lock_guard<std::mutex> l(Served().mu);
  Served().calls[ctx] = call;
  return call;
}

void LeaveCall(const grpc::ServerContextBase* ctx, const ServedCall* call) {
  std::lock_guard<std::mutex> l(Served().mu);
  auto it = Served().calls.find(ctx);
  if (it != Served().calls.end() && it->second.get() == call) Served().calls.erase(it);
}

std::shared_ptr<ServedCall> FindCall(const grpc::ServerContextBase* ctx) {
  std::lock_guard<std::mutex> l(Served().mu);
  auto it = Served().calls.find(ctx);
  return it == Served().calls.end() ? nullptr : it->second;
}
}  // namespace internal

namespace {
std::string_view Metadata(const grpc::ServerContextBase& ctx, std::string_view key) {
  const auto& md = ctx.client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return {};
  return std::string_view(it->second.data(), it->second.size());
}

// The verified caller's clinic joins the call's log fields, and the thread's when the
// thread is handling this call.
void NoteClinic(const grpc::ServerContextBase& ctx, const std::string& clinic_id) {
  auto call = internal::FindCall(&ctx);
  if (!call || clinic_id.empty()) return;
  std::lock_guard<std::mutex> l(call->mu);
  call->fields.clinic_id = clinic_id;
  if (log::Current().trace.span_id == call->fields.trace.span_id) log::SetCurrentClinic(clinic_id);
}
}  // namespace

absl::StatusOr<api::Principal> PrincipalOf(const grpc::ServerContextBase& ctx,
                                           const auth::PrincipalSigner& signer) {
  std::string_view bytes = Metadata(ctx, kPrincipalKey);
  std::string_view mac = Metadata(ctx, kPrincipalMacKey);
  if (bytes.empty() || mac.empty()) return absl::UnauthenticatedError("no principal");
  VL_ASSIGN_OR_RETURN(api::Principal p, signer.Verify(bytes, mac, absl::Now()));
  NoteClinic(ctx, p.clinic_id());
  return p;
}

log::RequestFields CallFieldsOf(const grpc::ServerContextBase& ctx) {
  auto call = internal::FindCall(&ctx);
  if (!call) return {};
  std::lock_guard<std::mutex> l(call->mu);
  return call->fields;
}

void SetDeadline(grpc::ClientContext& ctx, absl::Duration d) {
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMicroseconds(d));
}

void CheckHealthAsync(std::shared_ptr<grpc::Channel> channel, const std::string& service,
                      absl::Duration deadline, std::function<void(absl::StatusOr<bool>)> done) {
  // HealthCheckRequest{service = 1} and HealthCheckResponse{status = 1} encoded by hand:
  // Debian ships no generated health proto and this is the whole message.
  std::string request;
  if (!service.empty()) {
    request.push_back(0x0A);
    request.push_back(static_cast<char>(service.size()));  // names are < 128 bytes
    request += service;
  }
  // Everything the call touches lives until its callback has run.
  struct Call {
    grpc::GenericStub stub;
    grpc::ClientContext ctx;
    grpc::ByteBuffer req, resp;
    std::function<void(absl::StatusOr<bool>)> done;
    explicit Call(std::shared_ptr<grpc::Channel> c) : stub(std::move(c)) {}
  };
  auto* call = new Call(std::move(channel));
  call->done = std::move(done);
  call->req = ToBuffer(request);
  SetDeadline(call->ctx, deadline);
  call->stub.UnaryCall(&call->ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &call->req,
                       &call->resp, [call](grpc::Status st) {
                         std::unique_ptr<Call> owned(call);
                         absl::StatusOr<bool> serving = absl::InternalError("unreadable health response");
                         std::vector<grpc::Slice> slices;
                         if (!st.ok()) {
                           serving = FromGrpc(st);
                         } else if (owned->resp.Dump(&slices).ok()) {
                           std::string bytes;
                           for (const grpc::Slice& s : slices) {
                             bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
                           }
                           serving = bytes.size() == 2 && bytes[0] == 0x08 && bytes[1] == 0x01;  // SERVING
                         }
                         // The call is gone before anyone hears the answer: a caller may
                         // drop the channel as soon as it has it.
                         auto done = std::move(owned->done);
                         owned.reset();
                         done(std::move(serving));
                       });
}

absl::StatusOr<bool> CheckHealth(grpc::Channel& channel, const std::string& service,
                                 absl::Duration deadline) {
  std::promise<absl::StatusOr<bool>> result;
  CheckHealthAsync(std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}), service, deadline,
                   [&result](absl::StatusOr<bool> serving) { result.set_value(std::move(serving)); });
  return result.get_future().get();
}

absl::StatusOr<std::vector<std::string>> ListServicesByReflection(grpc::Channel& channel,
                                                                 absl::Duration deadline) {
  grpc::GenericStub stub(std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::ClientContext ctx;
  SetDeadline(ctx, deadline);
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(
      &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  auto step = [&cq](auto&& op) {
    void* tag;
    bool ok = false;
    op(reinterpret_cast<void*>(1));
    return cq.Next(&tag, &ok) && ok;
  };
  // ServerReflectionRequest{list_services: ""} is field 7, empty string.
  std::string request("\x3a\x00", 2);
  grpc::ByteBuffer req = ToBuffer(request), resp;
  bool ok = step([&](void* t) { call->StartCall(t); }) &&
            step([&](void* t) { call->Write(req, t); }) &&
            step([&](void* t) { call->Read(&resp, t); });
  step([&](void* t) { call->WritesDone(t); });
  grpc::Status st;
  step([&](void* t) { call->Finish(&st, t); });
  cq.Shutdown();
  void* tag;
  bool drained;
  while (cq.Next(&tag, &drained)) {
  }
  if (!ok) return absl::UnavailableError("reflection call failed: " + st.error_message());
  std::string bytes;
  if (!Flatten(resp, &bytes)) return absl::InternalError("unreadable reflection response");
  // The service names are the only strings of the form "a.b.C" in the response; parse
  // ListServiceResponse{repeated ServiceResponse service = 1 {string name = 1}} loosely.
  std::vector<std::string> names;
  for (size_t i = 0; i + 2 < bytes.size(); ++i) {
    if (bytes[i] == 0x0a && static_cast<unsigned char>(bytes[i + 1]) < 0x80 &&
        i + 2 + static_cast<unsigned char>(bytes[i + 1]) <= bytes.size()) {
      std::string candidate = bytes.substr(i + 2, static_cast<unsigned char>(bytes[i + 1]));
      bool name = !candidate.empty() && candidate.find('.') != std::string::npos &&
                  std::all_of(candidate.begin(), candidate.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_';
                  });
      if (name) names.push_back(candidate);
    }
  }
  return names;
}

std::shared_ptr<grpc::Channel> Dial(const std::string& address) {
  grpc::ChannelArguments args;
  // Reconnect quickly after a backend restarts instead of backing off for minutes, and
  // retry soon when a peer that starts alongside (they call each other) is not up yet:
  // a call while the channel backs off fails at once.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  // Calls spread over every address the target names (a headless Service's pods, or
  // "ipv4:a:p,b:q"), skipping ones that are down, instead of pinning to the first.
  args.SetLoadBalancingPolicyName("round_robin");
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

}  // namespace vetline::rpc
