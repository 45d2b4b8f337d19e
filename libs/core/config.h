// Configuration from flags and environment, validated once at start.
//
//   ConfigParser p("identity");
//   p.Int("port", &cfg.port, "gRPC port", 0, 0, 65535);
//   VL_RETURN_IF_ERROR(p.Parse(argc, argv));
//
// `--name=value` wins over the environment variable VETLINE_NAME (upper case, '-' -> '_'),
// which wins over the default. A bad value fails start-up with a message naming the
// setting, where it came from, and what is expected.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace vetline {

class ConfigParser {
 public:
  explicit ConfigParser(std::string program) : program_(std::move(program)) {}

  void String(std::string name, std::string* out, std::string help, std::string def,
              bool required = false);
  void Int(std::string name, int* out, std::string help, int def, int min, int max);
  void Bool(std::string name, bool* out, std::string help, bool def);
  void Duration(std::string name, absl::Duration* out, std::string help, absl::Duration def);

  // Parses argv[first..] (flags) and the environment. Positional arguments are returned
  // through `positional` when given, otherwise they are an error.
  absl::Status Parse(int argc, char** argv, int first = 1,
                     std::vector<std::string>* positional = nullptr);
  // Parses an explicit list of flags and environment (for tests).
  absl::Status Parse(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env,
                     std::vector<std::string>* positional = nullptr);

  std::string Usage() const;
  static std::string EnvName(std::string_view flag);

 private:
  struct Option {
    std::string name, help, def;
    bool required = false;
    // Returns an empty string on success, else what is expected.
    std::function<std::string(const std::string&)> set;
  };
  std::string program_;
  std::vector<Option> options_;
};

}  // namespace vetline
