// Test support: a Vetline service binary as its own process (as Kubernetes runs it),
// configured through its environment, for crash tests (kill -9) and benchmarks. It dies
// with the test, and ready() says whether it reported SERVING within 10 s.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "libs/rpc/rpc.h"
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
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test or benchmark
      for (const std::string& e : env) putenv(strdup(e.c_str()));
      if (!log_path.empty()) {
        int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) dup2(fd, STDERR_FILENO);
      }
      execl(binary.c_str(), binary.c_str(), nullptr);
      _exit(127);
    }
    channel_ = rpc::Dial("127.0.0.1:" + std::to_string(port));
    for (int i = 0; i < 100 && !ready_; ++i) {
      auto serving = rpc::CheckHealth(*channel_, "", absl::Seconds(1));
      ready_ = serving.ok() && *serving;
      if (!ready_) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!ready_) Kill();
  }
  ~ServiceProcess() { Kill(); }
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  bool ready() const { return ready_; }
  pid_t pid() const { return pid_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  // kill -9, as a node failure or the OOM killer would.
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  bool ready_ = false;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace vetline::testing
