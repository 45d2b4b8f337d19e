#include "services/conversations/push_repository.h"

#include "libs/core/status.h"
#include "libs/core/time.h"
#include "nlohmann/json.hpp"

namespace vetline::conversations {
namespace {

constexpr pg::Statement kLockClient{
    "conversations_push_lock_client",
    "SELECT id FROM conversations.push_subscriptions WHERE clinic_id = $1 AND client_id = $2 "
    "FOR UPDATE"};
constexpr pg::Statement kAnyLeft{
    "conversations_push_any_left",
    "SELECT EXISTS (SELECT 1 FROM conversations.push_subscriptions "
    "               WHERE clinic_id = $1 AND client_id = $2) AS any"};
// The endpoint's current owner, locked: re-registering it may move it to another client.
constexpr pg::Statement kEndpointOwner{
    "conversations_push_endpoint_owner",
    "SELECT clinic_id, client_id FROM conversations.push_subscriptions WHERE endpoint = $1 "
    "FOR UPDATE"};
constexpr pg::Statement kRegister{
    "conversations_push_register",
    "INSERT INTO conversations.push_subscriptions (clinic_id, client_id, endpoint, p256dh, auth) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (endpoint) DO UPDATE SET clinic_id = EXCLUDED.clinic_id, "
    "client_id = EXCLUDED.client_id, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth "
    "RETURNING id, endpoint, create_time"};
constexpr pg::Statement kDelete{
    "conversations_push_delete",
    "DELETE FROM conversations.push_subscriptions WHERE clinic_id = $1 AND client_id = $2 AND id = $3"};

std::string ClientEvent(const std::string& clinic_id, const std::string& client_id) {
  return nlohmann::json{{"clinicId", clinic_id}, {"clientId", client_id}}.dump();
}

}  // namespace

absl::Status LockClientSubscriptions(pg::Session& s, const std::string& clinic_id,
                                     const std::string& client_id) {
  return s.Exec(kLockClient, {clinic_id, client_id}).status();
}

absl::Status NoteUnsubscribed(pg::Session& s, const outbox::Outbox& outbox,
                              const std::string& clinic_id, const std::string& client_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kAnyLeft, {clinic_id, client_id}));
  if (r.Bool(0, "any")) return absl::OkStatus();
  return outbox.Add(s, kTopicPushUnsubscribed, ClientEvent(clinic_id, client_id));
}

absl::StatusOr<v1::PushSubscription> PushRepository::Register(const std::string& clinic_id,
                                                              const std::string& client_id,
                                                              const std::string& endpoint,
                                                              const std::string& p256dh,
                                                              const std::string& auth) {
  v1::PushSubscription out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(pg::Result owner, s.Exec(kEndpointOwner, {endpoint}));
    std::optional<std::pair<std::string, std::string>> previous;
    if (owner.rows() > 0) previous.emplace(owner.Text(0, "clinic_id"), owner.Text(0, "client_id"));
    bool moved = previous && *previous != std::make_pair(clinic_id, client_id);
    if (moved) VL_RETURN_IF_ERROR(LockClientSubscriptions(s, previous->first, previous->second));
    VL_ASSIGN_OR_RETURN(pg::Result mine, s.Exec(kLockClient, {clinic_id, client_id}));
    const bool first = mine.rows() == 0;
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kRegister, {clinic_id, client_id, endpoint, p256dh, auth}));
    out.set_id(r.Text(0, "id"));
    out.set_endpoint(r.Text(0, "endpoint"));
    *out.mutable_create_time() = ToTimestamp(r.Time(0, "create_time"));
    if (moved) VL_RETURN_IF_ERROR(NoteUnsubscribed(s, outbox_, previous->first, previous->second));
    if (first) return outbox_.Add(s, kTopicPushSubscribed, ClientEvent(clinic_id, client_id));
    return absl::OkStatus();
  }));
  return out;
}

absl::Status PushRepository::Delete(const std::string& clinic_id, const std::string& client_id,
                                    const std::string& id) {
  return pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(LockClientSubscriptions(s, clinic_id, client_id));
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kDelete, {clinic_id, client_id, id}));
    if (r.affected() == 0) return NotFoundField("id", "no push subscription with this id");
    return NoteUnsubscribed(s, outbox_, clinic_id, client_id);
  });
}

}  // namespace vetline::conversations
