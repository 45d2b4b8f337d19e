// Runs a Python check script with Debian's python3 (pyenv's, first on some PATHs, lacks
// the Debian packages) and its libraries — an independent implementation of a provider's
// protocol (python3-twilio, python3-stripe, the email package) — on JSON input, and
// returns the script's JSON output (null when it printed none).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "nlohmann/json.hpp"

namespace vetline::testing {

inline nlohmann::json RunPythonCheck(const std::string& script_path, const nlohmann::json& input) {
  char path[] = "/tmp/vetline-pycheck-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return nullptr;
  close(fd);
  std::ofstream(path) << input.dump();
  const std::string cmd = "/usr/bin/python3 " + script_path + " " + path;
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
  }
  std::remove(path);
  return nlohmann::json::parse(out, nullptr, false);
}

}  // namespace vetline::testing
