// Test support: this process's thread count and resident memory (/proc/self/status), for
// load tests and benchmarks that prove a burst costs bounded threads and memory.
#pragma once

#include <fstream>
#include <string>

namespace vetline::testing {

struct ProcessStatus {
  long threads = 0, rss_kb = 0;
};

inline ProcessStatus ReadProcessStatus() {
  ProcessStatus s;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Threads:", 0) == 0) s.threads = std::stol(line.substr(8));
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::stol(line.substr(6));
  }
  return s;
}

}  // namespace vetline::testing
