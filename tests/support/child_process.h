// Test support: a program of ours as a child process, configured through its environment
// (VETLINE_* settings added to the test's own), its log (stderr) appended to a file. It
// never outlives the test. The one fork and exec behind the process helpers: service
// replicas, gateways, `vetline serve`, and jobs such as `vetline pims-sync run`.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace vetline::testing {

class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               const std::string& log_path = "") {
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test or benchmark
      for (const std::string& e : env) putenv(strdup(e.c_str()));
      if (!log_path.empty()) {
        int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) dup2(fd, STDERR_FILENO);
      }
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~ChildProcess() { Kill(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Its exit status once it has ended (128 + the signal when one ended it), waiting up to
  // `limit_ms`; -1 while it still runs.
  int Wait(int limit_ms) {
    if (pid_ <= 0) return status_;
    for (int waited = 0;; waited += 20) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return status_;
      }
      if (waited >= limit_ms) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  // SIGTERM, as Kubernetes stops a pod; the exit status, -1 if it did not end within 15 s.
  int Terminate() {
    if (pid_ > 0) kill(pid_, SIGTERM);
    return Wait(15'000);
  }
  // kill -9, as a node failure or the OOM killer would.
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    Wait(60'000);
  }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

}  // namespace vetline::testing
