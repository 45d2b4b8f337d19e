// A simulated practice served over real gRPC on a free loopback port, inside the calling
// process (tests and benchmarks; `pims-sim` is the same as a process of its own).
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "tools/pims_sim/connector_service.h"

namespace vetline::pims_sim {

struct InProcess {
  InProcess(Kind kind, int64_t clients, Faults faults = {}) : practice({kind, clients, 7}), service(practice, faults) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(&service);
    server = b.BuildAndStart();
  }
  ~InProcess() { server->Shutdown(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }

  Practice practice;
  ConnectorService service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

}  // namespace vetline::pims_sim
