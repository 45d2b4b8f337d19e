// Test support: a stand-in server (twilio-sim, the SMTP sink, the Web Push receiver) run
// as a child process that binds a free loopback port and prints `port=N` as its first
// line. The child dies with the test (PR_SET_PDEATHSIG) and is killed on destruction,
// with any worker processes it forked (it leads its own process group).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace vetline::testing {

class LoopbackProcess {
 public:
  // Starts argv[0] with argv; ready() is false when no `port=N` line came within 10 s.
  explicit LoopbackProcess(const std::vector<std::string>& argv) {
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      setpgid(0, 0);
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    setpgid(pid_, pid_);  // as the child does: whichever runs first
    close(out[1]);
    std::string line;
    // Bounded: 10 s for the first line.
    for (int waited = 0; waited < 10'000 && line.find('\n') == std::string::npos; waited += 50) {
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char buf[256];
      ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    // Keep draining whatever else the child prints, so it never blocks on a full pipe.
    stdout_fd_ = out[0];
    fcntl(stdout_fd_, F_SETFL, O_NONBLOCK);
    if (line.rfind("port=", 0) == 0) port_ = std::atoi(line.c_str() + 5);
    if (port_ <= 0) Kill();
  }
  ~LoopbackProcess() { Kill(); }
  LoopbackProcess(const LoopbackProcess&) = delete;
  LoopbackProcess& operator=(const LoopbackProcess&) = delete;

  bool ready() const { return port_ > 0 && pid_ > 0; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string Url(const std::string& path = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void Kill() {
    if (pid_ > 0) {
      kill(-pid_, SIGKILL);
      kill(pid_, SIGKILL);  // in case it had not yet made its group
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    if (stdout_fd_ >= 0) {
      close(stdout_fd_);
      stdout_fd_ = -1;
    }
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int stdout_fd_ = -1;
};

}  // namespace vetline::testing
