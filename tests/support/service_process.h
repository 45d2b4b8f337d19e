// Test support: a Vetline service binary as its own process (as Kubernetes runs it),
// configured through its environment, for crash tests (kill -9) and benchmarks. It dies
// with the test, and ready() says whether it reported SERVING within 10 s.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "libs/rpc/rpc.h"
#include "tests/support/child_process.h"
#include "tests/support/identity_stack.h"

namespace vetline::testing {

class ServiceProcess {
 public:
  // `env`: VETLINE_* settings besides the database, the internal secret and the address.
  // `log_path`: where its log (stderr) goes instead of the test's output.
  ServiceProcess(const std::string& binary, const std::string& conninfo, int port,
                 std::vector<std::string> env, const std::string& log_path = "") {
    env.push_back("VETLINE_PG_DSN=" + conninfo);
    env.push_back(std::string("VETLINE_INTERNAL_SECRET=") + kTestInternalSecret);
    env.push_back("VETLINE_GRPC_ADDRESS=127.0.0.1:" + std::to_string(port));
    process_ = std::make_unique<ChildProcess>(std::vector<std::string>{binary}, env, log_path);
    channel_ = rpc::Dial("127.0.0.1:" + std::to_string(port));
    for (int i = 0; i < 100 && !ready_; ++i) {
      auto serving = rpc::CheckHealth(*channel_, "", absl::Seconds(1));
      ready_ = serving.ok() && *serving;
      if (!ready_) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!ready_) Kill();
  }
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  bool ready() const { return ready_; }
  pid_t pid() const { return process_->pid(); }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  // kill -9, as a node failure or the OOM killer would.
  void Kill() { process_->Kill(); }

 private:
  std::unique_ptr<ChildProcess> process_;
  bool ready_ = false;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace vetline::testing
