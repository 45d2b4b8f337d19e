// Test support: `vetline serve` (every service + the gateway in one process) as a child
// process on a database of the caller's choosing and the run's Redis, stopped with
// SIGTERM like Kubernetes does. Used by the end-to-end tests through the real binary.
#pragma once

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "libs/rpc/service.h"
#include "libs/testing/servers.h"
#include "tests/support/child_process.h"
#include "tests/support/http_client.h"
#include "tests/support/identity_stack.h"

namespace vetline::testing {

class VetlineServe {
 public:
  // Starts `binary serve --services=all` on `conninfo`; ready() says whether /readyz
  // answered 200 within 30 s. `metrics` also serves the process's registry on its own
  // /metrics port (VETLINE_METRICS_ADDRESS), as a service deployment does. `more_env`: more
  // VETLINE_* settings (e.g. the blob directories). `log_path`: the process's log (its
  // stderr) goes to this file instead of the test's.
  VetlineServe(std::string binary, const std::string& conninfo, bool metrics = false,
               const std::vector<std::string>& more_env = {}, const std::string& log_path = "")
      : binary_(std::move(binary)) {
    http_port_ = FreePort();
    grpc_base_ = FreePortRange(static_cast<int>(std::size(rpc::kServicePorts)));
    std::vector<std::string> env = {
        "VETLINE_PG_DSN=" + conninfo,
        "VETLINE_REDIS=" + SharedRedis().address(),
        std::string("VETLINE_INTERNAL_SECRET=") + kTestInternalSecret,
        "VETLINE_HTTP_ADDRESS=127.0.0.1:" + std::to_string(http_port_),
        "VETLINE_GRPC_BASE_PORT=" + std::to_string(grpc_base_),
    };
    if (metrics) {
      metrics_port_ = FreePort();
      env.push_back("VETLINE_METRICS_ADDRESS=127.0.0.1:" + std::to_string(metrics_port_));
    }
    env.insert(env.end(), more_env.begin(), more_env.end());
    process_ = std::make_unique<ChildProcess>(std::vector<std::string>{binary_, "serve", "--services=all"}, env,
                                              log_path);
    ready_ = AwaitReadyz(http_port_);
    if (!ready_) Kill();
  }
  VetlineServe(const VetlineServe&) = delete;
  VetlineServe& operator=(const VetlineServe&) = delete;

  bool ready() const { return ready_; }
  int http_port() const { return http_port_; }
  int grpc_base_port() const { return grpc_base_; }
  int metrics_port() const { return metrics_port_; }  // 0 without `metrics`
  HttpClient Client() const { return HttpClient(http_port_); }
  // "127.0.0.1:PORT" of a service's gRPC server (e.g. "clients").
  std::string Address(const std::string& service) const {
    return "127.0.0.1:" + std::to_string(rpc::DefaultPort(service, grpc_base_));
  }

  // Graceful stop (SIGTERM); returns the exit status, -1 if it did not exit within 15 s.
  int Terminate() { return process_->Terminate(); }
  void Kill() { process_->Kill(); }

  // `vetline seed-demo` against this stack; returns its exit status, the demo file in `out`.
  int SeedDemo(const std::string& out) const {
    std::string cmd = binary_ + " seed-demo --identity=" + Address("identity") +
                      " --internal-secret=" + kTestInternalSecret + " --base-url=http://127.0.0.1:" +
                      std::to_string(http_port_) + " --grpc-base-port=" + std::to_string(grpc_base_) +
                      " --out=" + out + " > " + out + ".log 2>&1";
    return std::system(cmd.c_str());
  }

 private:
  std::string binary_;
  int http_port_ = 0, grpc_base_ = 0, metrics_port_ = 0;
  std::unique_ptr<ChildProcess> process_;
  bool ready_ = false;
};

}  // namespace vetline::testing
