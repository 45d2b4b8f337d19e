#include "libs/core/config.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

extern char** environ;

namespace vetline {

std::string ConfigParser::EnvName(std::string_view flag) {
  return absl::StrCat("VETLINE_", absl::AsciiStrToUpper(absl::StrReplaceAll(absl::string_view(flag.data(), flag.size()), {{"-", "_"}})));
}

void ConfigParser::String(std::string name, std::string* out, std::string help, std::string def,
                          bool required) {
  *out = def;
  options_.push_back({name, help, def, required, [out](const std::string& v) {
                        *out = v;
                        return std::string();
                      }});
}

void ConfigParser::Int(std::string name, int* out, std::string help, int def, int min, int max) {
  *out = def;
  options_.push_back({name, help, std::to_string(def), false,
                      [out, min, max](const std::string& v) -> std::string {
                        int x;
                        if (!absl::SimpleAtoi(v, &x) || x < min || x > max) {
                          return absl::StrCat("an integer from ", min, " to ", max);
                        }
                        *out = x;
                        return "";
                      }});
}

void ConfigParser::Bool(std::string name, bool* out, std::string help, bool def) {
  *out = def;
  options_.push_back({name, help, def ? "true" : "false", false,
                      [out](const std::string& v) -> std::string {
                        bool x;
                        if (!absl::SimpleAtob(v, &x)) return "true or false";
                        *out = x;
                        return "";
                      }});
}

void ConfigParser::Duration(std::string name, absl::Duration* out, std::string help,
                            absl::Duration def) {
  *out = def;
  options_.push_back({name, help, absl::FormatDuration(def), false,
                      [out](const std::string& v) -> std::string {
                        absl::Duration d;
                        if (!absl::ParseDuration(v, &d) || d < absl::ZeroDuration()) {
                          return "a non-negative duration such as 30s or 5m";
                        }
                        *out = d;
                        return "";
                      }});
}

absl::Status ConfigParser::Parse(int argc, char** argv, int first,
                                 std::vector<std::string>* positional) {
  std::vector<std::string> args(argv + std::min(first, argc), argv + argc);
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos && kv.substr(0, 8) == "VETLINE_") {
      env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
    }
  }
  return Parse(args, env, positional);
}

absl::Status ConfigParser::Parse(const std::vector<std::string>& args,
                                 const std::map<std::string, std::string>& env,
                                 std::vector<std::string>* positional) {
  std::map<std::string, std::string> flags;
  for (const std::string& a : args) {
    if (a.rfind("--", 0) != 0) {
      if (positional) {
        positional->push_back(a);
        continue;
      }
      return absl::InvalidArgumentError(
          absl::StrCat(program_, ": unexpected argument '", a, "'\n", Usage()));
    }
    auto eq = a.find('=');
    std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    std::string value = eq == std::string::npos ? "true" : a.substr(eq + 1);
    name = absl::StrReplaceAll(name, {{"_", "-"}});
    flags[name] = value;
  }
  if (flags.count("help")) return absl::InvalidArgumentError(Usage());
  for (const auto& [name, value] : flags) {
    bool known = false;
    for (const Option& o : options_) known |= o.name == name;
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat(program_, ": unknown flag --", name, "\n", Usage()));
    }
  }
  for (const Option& o : options_) {
    std::string source, value;
    if (auto f = flags.find(o.name); f != flags.end()) {
      source = absl::StrCat("--", o.name);
      value = f->second;
    } else if (auto e = env.find(EnvName(o.name)); e != env.end()) {
      source = EnvName(o.name);
      value = e->second;
    } else {
      if (o.required && o.def.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(program_, ": missing setting --", o.name,
                                                       " (or ", EnvName(o.name), "): ", o.help));
      }
      continue;
    }
    if (std::string expected = o.set(value); !expected.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(program_, ": invalid ", source, "='", value,
                                                     "': expected ", expected));
    }
    if (o.required && value.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(program_, ": ", source, " must not be empty: ", o.help));
    }
  }
  return absl::OkStatus();
}

std::string ConfigParser::Usage() const {
  std::string out = absl::StrCat("usage: ", program_, " [flags]\n");
  for (const Option& o : options_) {
    absl::StrAppend(&out, "  --", o.name, "  ", o.help, " (env ", EnvName(o.name),
                    o.def.empty() ? "" : absl::StrCat(", default ", o.def),
                    o.required ? ", required" : "", ")\n");
  }
  return out;
}

}  // namespace vetline
