#include "services/payments/stripe/stripe_params.h"

#include "absl/strings/str_cat.h"

namespace vetline::payments::stripe {
namespace {

void Flatten(const std::string& key, const nlohmann::ordered_json& value,
             std::vector<std::pair<std::string, std::string>>& out) {
  switch (value.type()) {
    case nlohmann::json::value_t::object:
      for (const auto& [child, v] : value.items()) {
        Flatten(key.empty() ? child : absl::StrCat(key, "[", child, "]"), v, out);
      }
      return;
    case nlohmann::json::value_t::array:
      for (size_t i = 0; i < value.size(); ++i) Flatten(absl::StrCat(key, "[", i, "]"), value[i], out);
      return;
    case nlohmann::json::value_t::null:
      return;
    case nlohmann::json::value_t::string:
      out.emplace_back(key, value.get<std::string>());
      return;
    case nlohmann::json::value_t::boolean:
      out.emplace_back(key, value.get<bool>() ? "true" : "false");
      return;
    default:  // numbers: integers in minor units, as JSON writes them
      out.emplace_back(key, value.dump());
      return;
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> FlattenParams(const nlohmann::ordered_json& params) {
  std::vector<std::pair<std::string, std::string>> out;
  Flatten("", params, out);
  return out;
}

}  // namespace vetline::payments::stripe
