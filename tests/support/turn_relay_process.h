// Test support: Debian's coturn (turnserver) on loopback as a clinic runs it: the TURN
// REST API (use-auth-secret with a static secret), UDP and TCP on one port, relay ports
// from a small free range. Loopback peers are allowed here only because the media
// service under test listens on 127.0.0.1 (coturn refuses relaying to loopback by
// default). Its log (verbose) says which usernames allocated relays and used them.
#pragma once

#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "libs/testing/servers.h"

namespace vetline::testing {

class TurnRelayProcess {
 public:
  explicit TurnRelayProcess(std::string secret, std::string binary = "/usr/bin/turnserver")
      : secret_(std::move(secret)) {
    char tmpl[] = "/tmp/vetline-turn-XXXXXX";
    dir_ = mkdtemp(tmpl) ? tmpl : "";
    port_ = FreePort();
    int relay_from = FreePortRange(40);
    if (dir_.empty() || port_ <= 0 || relay_from <= 0) return;
    std::vector<std::string> argv = {
        binary, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
        "--listening-port=" + std::to_string(port_), "--min-port=" + std::to_string(relay_from),
        "--max-port=" + std::to_string(relay_from + 39), "--use-auth-secret",
        "--static-auth-secret=" + secret_, "--realm=vetline.test", "--allow-loopback-peers",
        "--no-tls", "--no-dtls", "--no-cli", "--no-software-attribute", "--fingerprint",
        "--userdb=" + dir_ + "/turndb", "--pidfile=" + dir_ + "/turnserver.pid",
        "--log-file=" + log_path(), "--simple-log", "--no-stdout-log", "--verbose"};
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    // Bounded: ready once its UDP listener is open (well under a second here).
    const std::string listening = "UDP listener opened on: 127.0.0.1:" + std::to_string(port_);
    for (int waited = 0; waited < 10'000 && pid_ > 0; waited += 50) {
      if (Log().find(listening) != std::string::npos) {
        ready_ = true;
        break;
      }
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~TurnRelayProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  TurnRelayProcess(const TurnRelayProcess&) = delete;
  TurnRelayProcess& operator=(const TurnRelayProcess&) = delete;

  bool ready() const { return ready_; }
  int port() const { return port_; }
  const std::string& secret() const { return secret_; }
  // The URLs as the operator sets them for browsers (media-turn-urls).
  std::string Urls() const {
    return "turn:127.0.0.1:" + std::to_string(port_) + "?transport=udp";
  }
  std::string Log() const {
    std::ifstream in(log_path());
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::string log_path() const { return dir_ + "/turnserver.log"; }
  std::string secret_, dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool ready_ = false;
};

}  // namespace vetline::testing
