#include "services/clients/texting_repository.h"

#include "libs/core/log.h"
#include "libs/core/status.h"
#include "nlohmann/json.hpp"

namespace vetline::clients {
namespace {

constexpr pg::Statement kTextEnabledForNumber{
    "clients_text_enabled_for_number",
    "UPDATE clients.clients c SET text_enabled = $3, updated_at = now() "
    "WHERE c.clinic_id = $1 AND c.merged_into IS NULL AND c.text_enabled <> $3 AND c.id IN ("
    "  SELECT p.client_id FROM clients.phones p WHERE p.clinic_id = $1 AND p.number = $2)"};
// An explicit "disabled" (the client turned push off in the app) is left alone.
constexpr pg::Statement kPushStatus{
    "clients_push_status",
    "UPDATE clients.clients SET push_status = $3, updated_at = now() "
    "WHERE clinic_id = $1 AND id = $2 AND push_status NOT IN ($3, 'disabled')"};
constexpr pg::Statement kNotTextingCapable{
    "clients_not_texting_capable",
    "UPDATE clients.phones SET texting_capable = false, carrier_not_texting_at = now() "
    "WHERE clinic_id = $1 AND number = $2 AND (texting_capable OR carrier_not_texting_at IS NULL)"};

}  // namespace

absl::StatusOr<int> SetTextEnabledForNumber(pg::Session& s, const std::string& clinic_id,
                                            const std::string& phone, bool enabled) {
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kTextEnabledForNumber, {clinic_id, phone, enabled}));
  return r.affected();
}

absl::StatusOr<int> MarkNotTextingCapable(pg::Session& s, const std::string& clinic_id,
                                          const std::string& phone) {
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kNotTextingCapable, {clinic_id, phone}));
  return r.affected();
}

absl::StatusOr<int> SetPushInstalled(pg::Session& s, const std::string& clinic_id,
                                     const std::string& client_id, bool installed) {
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kPushStatus, {clinic_id, client_id,
                                                         std::string(installed ? "enabled" : "not_installed")}));
  return r.affected();
}

rpc::ConsumerSpec FollowTexting() {
  return {.source = "conversations",
          .topics = {"sms.opted_out", "sms.opted_in", "phone.not_texting_capable",
                     "push.subscribed", "push.unsubscribed"},
          .handle = [](pg::Session& s, const std::string& topic,
                       const std::string& payload) -> absl::Status {
            nlohmann::json e = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
            if (topic == "push.subscribed" || topic == "push.unsubscribed") {
              if (!e.is_object() || !e.value("clinicId", nlohmann::json()).is_string() ||
                  !e.value("clientId", nlohmann::json()).is_string()) {
                log::Error("push event without clinicId and clientId; skipped",
                           {{"topic", topic}, {"payload", payload}});
                return absl::OkStatus();
              }
              return SetPushInstalled(s, e["clinicId"], e["clientId"], topic == "push.subscribed")
                  .status();
            }
            if (!e.is_object() || !e.value("clinicId", nlohmann::json()).is_string() ||
                !e.value("phone", nlohmann::json()).is_string()) {
              log::Error("texting event without clinicId and phone; skipped",
                         {{"topic", topic}, {"payload", payload}});
              return absl::OkStatus();
            }
            const std::string clinic = e["clinicId"], phone = e["phone"];
            if (topic == "phone.not_texting_capable") {
              return MarkNotTextingCapable(s, clinic, phone).status();
            }
            return SetTextEnabledForNumber(s, clinic, phone, topic == "sms.opted_in").status();
          }};
}

}  // namespace vetline::clients
