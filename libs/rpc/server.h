// Server bootstrap for every service: standard health service (NOT_SERVING until the
// service says its dependencies and migrations are ready), reflection, interceptors
// that record Prometheus RPC metrics and JSON access logs, graceful shutdown.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "prometheus/registry.h"

namespace vetline::rpc {

struct ServerOptions {
  std::string name;                 // service name for logs and metrics, e.g. "identity"
  std::string address = "127.0.0.1:0";
  std::shared_ptr<prometheus::Registry> registry;  // required
  // Full gRPC service names reported by the health service besides "" (the server).
  std::vector<std::string> health_services;
  // Bounds of one server, so a burst costs bounded threads and memory and is refused
  // cleanly (RESOURCE_EXHAUSTED) instead of starting a thread per call: the threads of
  // synchronous handlers (callback-API handlers use none of them) and the memory gRPC
  // may use for calls and buffers.
  int max_threads = 128;
  // Threads of synchronous handlers kept waiting for the next call. gRPC's default (2)
  // makes a thread per call, ended after it, once more than two calls overlap: at a few
  // hundred calls a second that start and exit cost more than the handlers.
  int idle_threads = 16;
  size_t max_memory_bytes = 256u << 20;
  size_t max_message_bytes = 0;  // largest request message; 0: gRPC's default (4 MiB)
};

class Server {
 public:
  // Binds and starts serving `services` (not owned; they must outlive the server).
  // Health reports NOT_SERVING for "" and each service until SetServing(true).
  static absl::StatusOr<std::unique_ptr<Server>> Start(ServerOptions options,
                                                       std::vector<grpc::Service*> services);
  ~Server();
  int port() const { return port_; }
  const std::string& name() const { return options_.name; }
  void SetServing(bool serving);
  // Stops accepting calls, lets running calls finish up to `grace`, then cancels them.
  void Shutdown(absl::Duration grace = absl::Seconds(10));

 private:
  Server(ServerOptions o, std::vector<grpc::Service*> s)
      : options_(std::move(o)), services_(std::move(s)) {}
  ServerOptions options_;
  std::vector<grpc::Service*> services_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// Blocks until SIGTERM or SIGINT arrives (installed once per process).
void WaitForShutdownSignal();

}  // namespace vetline::rpc
