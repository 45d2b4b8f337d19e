// Runs a Python check script (with Debian's python3 and its packages, an independent
// implementation) on JSON input and returns its JSON output.
#pragma once

#include <cstdio>
#include <fstream>
#include <string>

#include "nlohmann/json.hpp"

namespace vetline::conversations::channels::testing {

inline nlohmann::json RunPythonCheck(const std::string& script, const nlohmann::json& input) {
  char path[] = "/tmp/vetline-pycheck-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return nullptr;
  close(fd);
  std::ofstream(path) << input.dump();
  std::string cmd = std::string(VETLINE_PYTHON) + " " + VETLINE_SOURCE_DIR +
                    "/services/conversations/channels/tests/" + script + " " + path;
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

}  // namespace vetline::conversations::channels::testing
