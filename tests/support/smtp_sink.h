// Test support: a real SMTP server (tests/support/smtp_sink.py on python3-aiosmtpd) on a
// free loopback port, storing each accepted message in a directory of its own.
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/loopback_process.h"

namespace vetline::testing {

class SmtpSink {
 public:
  // `source_dir`: the checkout (for the script); `python`: Debian's /usr/bin/python3.
  // `workers` processes share the listening socket (each takes a few hundred messages/s).
  SmtpSink(const std::string& source_dir, const std::string& python = "/usr/bin/python3", int workers = 1)
      : dir_(MakeDir()), python_(python), script_(source_dir + "/tests/support/smtp_sink.py"), workers_(workers) {
    Start(0);
  }
  ~SmtpSink() {
    process_->Kill();
    ReleasePort();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool ready() const { return process_->ready(); }
  int port() const { return port_; }
  std::string Url() const { return "smtp://127.0.0.1:" + std::to_string(port()); }
  // An outage: Kill() and later Restart() on the same port, keeping what was stored.
  // Meanwhile a bound socket that never listens holds the port: connections are refused,
  // and no other test's server (nor an outgoing connection's own end) can take it.
  // False when the port could not be held (something still listens on it).
  bool Kill() {
    process_->Kill();
    HoldPort();
    return held_ >= 0;
  }
  bool Restart() {
    process_->Kill();
    ReleasePort();
    Start(port_);
    return ready();
  }
  const std::string& dir() const { return dir_; }

  // Paths of the stored messages (.eml), in arrival order.
  std::vector<std::string> Messages() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      if (e.path().extension() == ".eml") out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // SMTP connections accepted so far, over all worker processes.
  int Connections() const {
    int total = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("connections-", 0) == 0 && e.path().extension() != ".tmp") total += std::atoi(Read(e.path()).c_str());
    }
    return total;
  }
  // The Message-ID header (without <>) of each stored message, in arrival order.
  std::vector<std::string> MessageIds() const {
    std::vector<std::string> ids;
    for (const std::string& path : Messages()) {
      const std::string m = Read(path);
      std::string lower = m.substr(0, m.find("\r\n\r\n"));
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const size_t at = lower.find("\nmessage-id:");
      const size_t open = at == std::string::npos ? at : m.find('<', at);
      const size_t close = open == std::string::npos ? open : m.find('>', open);
      ids.push_back(close == std::string::npos ? "" : m.substr(open + 1, close - open - 1));
    }
    return ids;
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  static std::string MakeDir() {
    char tmpl[] = "/tmp/vetline-smtp-XXXXXX";
    return mkdtemp(tmpl) ? tmpl : "/tmp";
  }
  void HoldPort() {
    ReleasePort();
    held_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (held_ < 0) return;
    int on = 1;
    ::setsockopt(held_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // The workers die a moment after the parent is reaped; until their listening socket
    // is gone the bind fails. Bounded: 5 s.
    for (int waited = 0; ::bind(held_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0; waited += 10) {
      if (waited >= 5000) {
        ReleasePort();
        return;
      }
      ::usleep(10'000);
    }
  }
  void ReleasePort() {
    if (held_ >= 0) ::close(held_);
    held_ = -1;
  }
  void Start(int port) {
    process_ = std::make_unique<LoopbackProcess>(std::vector<std::string>{
        python_, script_, "--dir", dir_, "--workers", std::to_string(workers_), "--port", std::to_string(port)});
    if (process_->ready()) port_ = process_->port();
  }
  std::string dir_, python_, script_;
  int workers_ = 1;
  int port_ = 0;
  int held_ = -1;  // the port held during an outage
  std::unique_ptr<LoopbackProcess> process_;
};

}  // namespace vetline::testing
