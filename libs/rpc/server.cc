#include "libs/rpc/server.h"

#include <algorithm>
#include <csignal>
#include <semaphore.h>

#include <thread>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/support/server_interceptor.h>

#include "absl/time/clock.h"
#include "libs/core/ids.h"
#include "libs/core/log.h"
#include "libs/metrics/metrics.h"
#include "libs/rpc/rpc.h"
#include "libs/rpc/served_calls.h"

namespace vetline::rpc {
namespace {

// RPC figures of one server, declared in one place.
struct RpcMetrics {
  explicit RpcMetrics(prometheus::Registry& r)
      : handled(prometheus::BuildCounter()
                    .Name("vetline_rpc_server_handled_total")
                    .Help("RPCs completed by the server, by method and status code")
                    .Register(r)),
        latency(prometheus::BuildHistogram()
                    .Name("vetline_rpc_server_handling_seconds")
                    .Help("Server-side RPC latency, by method")
                    .Register(r)) {}
  prometheus::Family<prometheus::Counter>& handled;
  prometheus::Family<prometheus::Histogram>& latency;
};

// Records metrics and writes one access-log line per RPC, and gives each call its log
// fields: the caller's request id and trace (this hop a new span under the caller's).
class ObservingInterceptor final : public grpc::experimental::Interceptor {
 public:
  ObservingInterceptor(grpc::experimental::ServerRpcInfo* info, const std::string& service,
                       RpcMetrics& m)
      : info_(info), service_(service), metrics_(m), start_(absl::Now()) {}

  ~ObservingInterceptor() override {
    EndScope();
    if (call_) internal::LeaveCall(info_->server_context(), call_.get());
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      Begin(*methods->GetRecvInitialMetadata());
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      code_ = methods->GetSendStatus().error_code();
      EndScope();  // a synchronous handler sends its status when it returns
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_CLOSE)) {
      Finish();
    }
    methods->Proceed();
  }

 private:
  static std::string_view Get(const std::multimap<grpc::string_ref, grpc::string_ref>& md,
                              const char* key) {
    auto it = md.find(key);
    return it == md.end() ? std::string_view() : std::string_view(it->second.data(), it->second.size());
  }

  void Begin(const std::multimap<grpc::string_ref, grpc::string_ref>& md) {
    log::RequestFields fields;
    std::string_view id = Get(md, kRequestIdKey);
    fields.request_id = id.empty() || id.size() > 64 ? NewRequestId() : std::string(id);
    fields.trace = trace::Continue(Get(md, kTraceparentKey), Get(md, kTracestateKey));
    call_ = internal::EnterCall(info_->server_context(), fields);
    // A synchronous handler runs next on this very thread (gRPC's sync server runs the
    // interceptors, then the handler): the call's fields are the thread's until the
    // handler returns. A callback-API reactor runs on whatever gRPC thread is free, so it
    // takes them from CallFieldsOf instead.
    if (dynamic_cast<grpc::ServerContext*>(info_->server_context()) != nullptr) {
      scope_ = std::make_unique<log::RequestScope>(std::move(fields));
      scope_thread_ = std::this_thread::get_id();
    }
  }

  void EndScope() {
    if (!scope_) return;
    // The scope restores the thread it was opened on; never seen elsewhere, but then the
    // safe thing is to leave both threads alone.
    if (scope_thread_ == std::this_thread::get_id()) {
      scope_.reset();
    } else {
      (void)scope_.release();
    }
  }

  void Finish() {
    double seconds = absl::ToDoubleSeconds(absl::Now() - start_);
    std::string method = info_->method();
    const char* code = CodeName(code_);
    metrics_.handled.Add({{"service", service_}, {"method", method}, {"code", code}}).Increment();
    metrics_.latency.Add({{"service", service_}, {"method", method}}, metrics::LatencyBuckets())
        .Observe(seconds);
    log::RequestFields fields;
    if (call_) {
      std::lock_guard<std::mutex> l(call_->mu);
      fields = call_->fields;
    }
    // `service` names the server: several share one process in `vetline serve`.
    nlohmann::json line = {{"service", service_}, {"method", method}, {"code", code},
                           {"duration_ms", seconds * 1000}};
    if (!fields.trace.parent_id.empty()) line["parent_span_id"] = fields.trace.parent_id;
    log::RequestScope scope(std::move(fields));
    // Health probes arrive every few seconds: keep them out of the info log.
    bool probe = method.rfind("/grpc.health.v1.", 0) == 0;
    log::Write(code_ == grpc::StatusCode::INTERNAL || code_ == grpc::StatusCode::UNKNOWN
                   ? log::Level::kError
                   : probe ? log::Level::kDebug : log::Level::kInfo,
               "rpc", std::move(line));
  }

  grpc::experimental::ServerRpcInfo* info_;
  const std::string& service_;
  RpcMetrics& metrics_;
  absl::Time start_;
  std::shared_ptr<internal::ServedCall> call_;
  std::unique_ptr<log::RequestScope> scope_;
  std::thread::id scope_thread_;
  grpc::StatusCode code_ = grpc::StatusCode::OK;
};

class ObservingFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  ObservingFactory(std::string service, prometheus::Registry& r)
      : service_(std::move(service)), metrics_(r) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new ObservingInterceptor(info, service_, metrics_);
  }

 private:
  std::string service_;
  RpcMetrics metrics_;
};

// Metric families are registered once per (registry, service): the all-in-one process
// runs several servers on one registry and tests start servers repeatedly.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeFactory(
    const std::string& service, prometheus::Registry& r) {
  return std::make_unique<ObservingFactory>(service, r);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(ServerOptions options,
                                                      std::vector<grpc::Service*> services) {
  if (!options.registry) return absl::InvalidArgumentError("ServerOptions.registry is required");
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  std::unique_ptr<Server> s(new Server(options, services));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.address, grpc::InsecureServerCredentials(), &s->port_);
  for (grpc::Service* svc : services) builder.RegisterService(svc);
  // Without a quota the synchronous server starts a thread for every call in flight
  // (1,600 threads under a 2,000-connection burst). With one, calls beyond the threads
  // are answered RESOURCE_EXHAUSTED at once, which the gateway turns into 429/503.
  grpc::ResourceQuota quota("vetline-" + options.name);
  quota.SetMaxThreads(std::max(4, options.max_threads));
  quota.Resize(options.max_memory_bytes);
  builder.SetResourceQuota(quota);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              std::clamp(options.idle_threads, 2, std::max(4, options.max_threads)));
  // Clients reconnect (and so resolve the Service's pods again) every few minutes, so a
  // replica added by the autoscaler gets its share. Calls and streams in flight are never
  // cut: the grace after the GOAWAY is unlimited.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, 5 * 60 * 1000);
  // A port another process holds is an error at start, not a port shared with it: gRPC's
  // default SO_REUSEPORT let a test's server bind a port a parallel test's server had, and
  // calls landed on the wrong one (UNIMPLEMENTED).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  if (options.max_message_bytes > 0) {
    builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  }
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  factories.push_back(MakeFactory(options.name, *options.registry));
  builder.experimental().SetInterceptorCreators(std::move(factories));
  s->server_ = builder.BuildAndStart();
  if (!s->server_ || s->port_ == 0) {
    return absl::UnavailableError("cannot listen for gRPC on " + options.address);
  }
  s->SetServing(false);
  log::Info("grpc server listening", {{"address", options.address}, {"port", s->port_}});
  return s;
}

Server::~Server() { Shutdown(absl::Seconds(1)); }

void Server::SetServing(bool serving) {
  if (!server_) return;
  auto* health = server_->GetHealthCheckService();
  health->SetServingStatus("", serving);
  for (const std::string& name : options_.health_services) {
    health->SetServingStatus(name, serving);
  }
}

void Server::Shutdown(absl::Duration grace) {
  if (!server_) return;
  SetServing(false);
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMicroseconds(grace));
  server_->Wait();
  server_.reset();
}

namespace {
sem_t g_signal_sem;
void OnSignal(int) { sem_post(&g_signal_sem); }  // async-signal-safe
}  // namespace

void WaitForShutdownSignal() {
  static bool installed = [] {
    sem_init(&g_signal_sem, 0, 0);
    std::signal(SIGTERM, OnSignal);
    std::signal(SIGINT, OnSignal);
    return true;
  }();
  (void)installed;
  while (sem_wait(&g_signal_sem) != 0) {
  }
  log::Info("shutdown signal received");
}

}  // namespace vetline::rpc
