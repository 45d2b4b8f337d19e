#include "services/conversations/push_repository.h"

#include "libs/core/status.h"
#include "libs/core/time.h"

namespace vetline::conversations {
namespace {

constexpr pg::Statement kRegister{
    "conversations_push_register",
    "INSERT INTO conversations.push_subscriptions (clinic_id, client_id, endpoint, p256dh, auth) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (endpoint) DO UPDATE SET clinic_id = EXCLUDED.clinic_id, "
    "client_id = EXCLUDED.client_id, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth "
    "RETURNING id, endpoint, create_time"};
constexpr pg::Statement kDelete{
    "conversations_push_delete",
    "DELETE FROM conversations.push_subscriptions WHERE clinic_id = $1 AND client_id = $2 AND id = $3"};

}  // namespace

absl::StatusOr<v1::PushSubscription> PushRepository::Register(const std::string& clinic_id,
                                                              const std::string& client_id,
                                                              const std::string& endpoint,
                                                              const std::string& p256dh,
                                                              const std::string& auth) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kRegister, {clinic_id, client_id, endpoint, p256dh, auth}));
  v1::PushSubscription out;
  out.set_id(r.Text(0, "id"));
  out.set_endpoint(r.Text(0, "endpoint"));
  *out.mutable_create_time() = ToTimestamp(r.Time(0, "create_time"));
  return out;
}

absl::Status PushRepository::Delete(const std::string& clinic_id, const std::string& client_id,
                                    const std::string& id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kDelete, {clinic_id, client_id, id}));
  if (r.affected() == 0) return NotFoundField("id", "no push subscription with this id");
  return absl::OkStatus();
}

}  // namespace vetline::conversations
