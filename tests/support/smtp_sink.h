// Test support: a real SMTP server (tests/support/smtp_sink.py on python3-aiosmtpd) on a
// free loopback port, storing each accepted message in a directory of its own.
#pragma once

#include <dirent.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
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
      : dir_(MakeDir()),
        process_({python, source_dir + "/tests/support/smtp_sink.py", "--dir", dir_, "--workers",
                  std::to_string(workers)}) {}
  ~SmtpSink() {
    process_.Kill();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool ready() const { return process_.ready(); }
  int port() const { return process_.port(); }
  std::string Url() const { return "smtp://127.0.0.1:" + std::to_string(port()); }
  void Kill() { process_.Kill(); }
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
  std::string dir_;
  LoopbackProcess process_;
};

}  // namespace vetline::testing
