#include "services/conversations/requested_repository.h"

#include "libs/core/status.h"

namespace vetline::conversations {
namespace {

constexpr pg::Statement kSenders{
    "conversations_requested_senders",
    "SELECT sms_from_number, email_from_name, email_from_address FROM conversations.clinics "
    "WHERE clinic_id = $1"};
constexpr pg::Statement kSeen{
    "conversations_requested_seen",
    "SELECT EXISTS (SELECT 1 FROM conversations.requested WHERE clinic_id = $1 AND request_id = $2) "
    "AS seen"};
constexpr pg::Statement kRecord{
    "conversations_requested_record",
    "INSERT INTO conversations.requested (clinic_id, request_id, conversation_id) VALUES ($1, $2, $3)"};
constexpr pg::Statement kMarkUnread{
    "conversations_requested_mark_unread",
    "UPDATE conversations.conversations SET staff_unread = staff_unread + 1, archived = false "
    "WHERE clinic_id = $1 AND id = $2"};

}  // namespace

absl::StatusOr<ClinicSenders> RequestedRepository::Senders(const std::string& clinic_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kSenders, {clinic_id}));
  if (r.rows() == 0) return ClinicSenders{};
  return ClinicSenders{.sms_from = r.Text(0, "sms_from_number"),
                       .email_from_name = r.Text(0, "email_from_name"),
                       .email_from_address = r.Text(0, "email_from_address")};
}

absl::StatusOr<bool> RequestedRepository::Seen(pg::Session& s, const std::string& clinic_id,
                                               const std::string& request_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kSeen, {clinic_id, request_id}));
  return r.Bool(0, "seen");
}

absl::Status RequestedRepository::Record(pg::Session& s, const std::string& clinic_id,
                                         const std::string& request_id,
                                         const std::string& conversation_id) {
  return s.ExecBatch({{kRecord, {clinic_id, request_id, conversation_id}},
                      {kMarkUnread, {clinic_id, conversation_id}}})
      .status();
}

}  // namespace vetline::conversations
