// Stripe's request bodies: application/x-www-form-urlencoded with nested keys, as its
// API documents them — `metadata[appointment_id]=…`,
// `line_items[0][price_data][unit_amount]=…`. Built from a JSON object so each call site
// writes the parameters the way Stripe's reference shows them.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"

namespace vetline::payments::stripe {

// Name/value pairs in the object's order: objects nest as `key[child]`, arrays as
// `key[0]`, `key[1]`…; booleans are "true"/"false"; null leaves the key out; an empty
// string is sent as is (Stripe's way to unset a field).
std::vector<std::pair<std::string, std::string>> FlattenParams(const nlohmann::ordered_json& params);

}  // namespace vetline::payments::stripe
