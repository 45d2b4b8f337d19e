#include "services/conversations/inbound_email_repository.h"

#include "libs/core/status.h"
#include "libs/core/time.h"
#include "nlohmann/json.hpp"

namespace vetline::conversations {
namespace {

constexpr pg::Statement kFindConversation{
    "inbound_find_conversation",
    "SELECT clinic_id, client_id FROM conversations.conversations WHERE id = $1"};

#define ITEM_COLUMNS                                                                           \
  "id, state, reason, error_code, error_field, clinic_id, conversation_id, message_id, "       \
  "email_message_id, from_address, recipient, subject, size_bytes, "                          \
  "rejected_attachments::text AS rejected, receive_time "
constexpr pg::Statement kFindItem{
    "inbound_find_item",
    "SELECT " ITEM_COLUMNS "FROM conversations.inbound_items WHERE dedup_key = $1"};
// ON CONFLICT DO NOTHING waits for a concurrent insert of the same key to commit, so of
// two posts of one email exactly one gets a row back.
constexpr pg::Statement kInsertItem{
    "inbound_insert_item",
    "INSERT INTO conversations.inbound_items (id, dedup_key, state, reason, error_code, "
    "error_field, clinic_id, conversation_id, email_message_id, from_address, recipient, "
    "subject, size_bytes, raw_blob_key, rejected_attachments) "
    "VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, '')::uuid, NULLIF($8, '')::uuid, $9, $10, $11, "
    "$12, $13, $14, $15::jsonb) ON CONFLICT (dedup_key) DO NOTHING RETURNING " ITEM_COLUMNS};
constexpr pg::Statement kSetItemMessage{
    "inbound_set_item_message",
    "UPDATE conversations.inbound_items SET message_id = $2 WHERE id = $1"};
constexpr pg::Statement kListFailed{
    "inbound_list_failed",
    "SELECT " ITEM_COLUMNS "FROM conversations.inbound_items "
    "WHERE state = 'failed' AND clinic_id = $1 "
    "AND ($2::timestamptz IS NULL OR (receive_time, id) < ($2, $3::uuid)) "
    "ORDER BY receive_time DESC, id DESC LIMIT $4"};

std::string RejectedJson(const std::vector<v1::RejectedAttachment>& rejected) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rejected) {
    out.push_back({{"filename", r.filename()}, {"contentType", r.content_type()},
                   {"sizeBytes", r.size_bytes()}, {"reason", r.reason()}});
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void RejectedFromJson(const std::string& text, v1::InboundItem* out) {
  nlohmann::json list = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!list.is_array()) return;
  for (const auto& r : list) {
    if (!r.is_object()) continue;
    v1::RejectedAttachment* a = out->add_rejected_attachments();
    a->set_filename(r.value("filename", ""));
    a->set_content_type(r.value("contentType", ""));
    a->set_size_bytes(r.value("sizeBytes", int64_t{0}));
    a->set_reason(r.value("reason", ""));
  }
}

StoredInboundItem ItemRow(const pg::Result& r, int i) {
  StoredInboundItem s;
  v1::InboundItem& it = s.item;
  it.set_id(r.Text(i, "id"));
  it.set_state(r.Text(i, "state") == "accepted" ? v1::INBOUND_ACCEPTED : v1::INBOUND_FAILED);
  it.set_reason(r.Text(i, "reason"));
  it.set_conversation_id(r.Text(i, "conversation_id"));
  it.set_message_id(r.Text(i, "message_id"));
  it.set_email_message_id(r.Text(i, "email_message_id"));
  it.set_from_address(r.Text(i, "from_address"));
  it.set_recipient(r.Text(i, "recipient"));
  it.set_subject(r.Text(i, "subject"));
  it.set_size_bytes(r.Int(i, "size_bytes"));
  *it.mutable_receive_time() = ToTimestamp(r.Time(i, "receive_time"));
  RejectedFromJson(r.Text(i, "rejected"), &it);
  s.clinic_id = r.Text(i, "clinic_id");
  s.code = static_cast<absl::StatusCode>(r.Int(i, "error_code"));
  s.field = r.Text(i, "error_field");
  return s;
}

pg::Params InsertParams(const NewInboundItem& item, bool accepted) {
  return {item.id, item.dedup_key, accepted ? "accepted" : "failed", item.reason,
          static_cast<int64_t>(item.code), item.field, item.clinic_id, item.conversation_id,
          item.email_message_id, item.from_address, item.recipient, item.subject,
          item.size_bytes, item.raw_blob_key, RejectedJson(item.rejected)};
}

}  // namespace

absl::StatusOr<std::optional<ConversationOwner>> InboundEmailRepository::FindConversation(
    const std::string& id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kFindConversation, {id}));
  if (r.rows() == 0) return std::optional<ConversationOwner>();
  return std::optional<ConversationOwner>(
      ConversationOwner{r.Text(0, "clinic_id"), r.Text(0, "client_id")});
}

absl::StatusOr<std::optional<StoredInboundItem>> InboundEmailRepository::FindItem(
    const std::string& dedup_key) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kFindItem, {dedup_key}));
  if (r.rows() == 0) return std::optional<StoredInboundItem>();
  return std::optional<StoredInboundItem>(ItemRow(r, 0));
}

absl::StatusOr<StoredInboundItem> InboundEmailRepository::RecordFailed(const NewInboundItem& item) {
  StoredInboundItem out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kInsertItem, InsertParams(item, false)));
    if (r.rows() == 0) {
      VL_ASSIGN_OR_RETURN(r, s.Exec(kFindItem, {item.dedup_key}));
    }
    if (r.rows() == 0) return absl::AbortedError("inbound item vanished; try again");
    out = ItemRow(r, 0);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<InboundEmailRepository::Accepted> InboundEmailRepository::Accept(
    const NewInboundItem& item, const Viewer& client, const std::vector<NewFile>& files,
    NewMessage message, Events* events) {
  Accepted out;
  Events logged;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    logged.clear();
    out = Accepted();
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kInsertItem, InsertParams(item, true)));
    if (r.rows() == 0) {
      VL_ASSIGN_OR_RETURN(pg::Result existing, s.Exec(kFindItem, {item.dedup_key}));
      if (existing.rows() == 0) return absl::AbortedError("inbound item vanished; try again");
      out.item = ItemRow(existing, 0);
      out.duplicate = true;
      return absl::OkStatus();
    }
    out.item = ItemRow(r, 0);
    NewMessage m = message;
    for (const NewFile& f : files) {
      VL_ASSIGN_OR_RETURN(v1::FileAttachment stored, conversations_.InsertFile(s, client, f));
      m.file_ids.push_back(stored.file_id());
    }
    VL_ASSIGN_OR_RETURN(out.message, conversations_.SendMessage(s, client, m, &logged));
    VL_RETURN_IF_ERROR(s.Exec(kSetItemMessage, {item.id, out.message.id()}).status());
    out.item.item.set_message_id(out.message.id());
    return absl::OkStatus();
  }));
  if (events) events->insert(events->end(), logged.begin(), logged.end());
  return out;
}

absl::StatusOr<std::vector<v1::InboundItem>> InboundEmailRepository::ListFailed(
    const std::string& clinic_id, const std::optional<Cursor>& after, int limit) {
  VL_ASSIGN_OR_RETURN(
      pg::Result r,
      pool_->Exec(kListFailed, {clinic_id, after ? pg::Param(after->time) : pg::Param(std::nullopt),
                                after ? pg::Param(after->id) : pg::Param(std::nullopt), limit}));
  std::vector<v1::InboundItem> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(ItemRow(r, i).item);
  return out;
}

}  // namespace vetline::conversations
