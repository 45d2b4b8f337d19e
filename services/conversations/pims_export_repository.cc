#include "services/conversations/pims_export_repository.h"

#include "libs/core/status.h"
#include "libs/core/time.h"
#include "nlohmann/json.hpp"
#include "services/conversations/pims_export_rules.h"

namespace vetline::conversations {
namespace {

// The most messages one export reads; a longer conversation is exported in several.
constexpr int kMaxMessages = 2000;

constexpr pg::Statement kLockConversation{
    "conversations_export_lock",
    "SELECT coalesce(client_id::text, '') AS client_id FROM conversations.conversations "
    "WHERE clinic_id = $1 AND id = $2 FOR UPDATE"};
constexpr pg::Statement kLastExport{
    "conversations_export_last",
    "SELECT last_message_time, last_message_id FROM conversations.pims_exports "
    "WHERE clinic_id = $1 AND conversation_id = $2 ORDER BY create_time DESC, id DESC LIMIT 1"};
#define EXPORT_COLUMNS                                                                       \
  "id, conversation_id, client_id, exported_by, message_count, first_message_time, "         \
  "last_message_time, note, more_to_export, create_time "
constexpr pg::Statement kInsertExport{
    "conversations_export_insert",
    "INSERT INTO conversations.pims_exports (clinic_id, conversation_id, client_id, exported_by, "
    "message_count, first_message_time, last_message_time, last_message_id, note, more_to_export) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING " EXPORT_COLUMNS};
constexpr pg::Statement kListExports{
    "conversations_export_list",
    "SELECT " EXPORT_COLUMNS "FROM conversations.pims_exports "
    "WHERE clinic_id = $1 AND conversation_id = $2 ORDER BY create_time DESC, id DESC LIMIT 500"};
constexpr pg::Statement kConversationExists{
    "conversations_export_conversation_exists",
    "SELECT 1 FROM conversations.conversations WHERE clinic_id = $1 AND id = $2"};

v1::PimsExport ExportRow(const pg::Result& r, int i) {
  v1::PimsExport e;
  e.set_id(r.Text(i, "id"));
  e.set_conversation_id(r.Text(i, "conversation_id"));
  e.set_client_id(r.Text(i, "client_id"));
  e.set_exported_by(r.Text(i, "exported_by"));
  e.set_message_count(static_cast<int32_t>(r.Int(i, "message_count")));
  *e.mutable_first_message_time() = ToTimestamp(r.Time(i, "first_message_time"));
  *e.mutable_last_message_time() = ToTimestamp(r.Time(i, "last_message_time"));
  e.set_text(r.Text(i, "note"));
  e.set_more_to_export(r.Bool(i, "more_to_export"));
  *e.mutable_create_time() = ToTimestamp(r.Time(i, "create_time"));
  return e;
}

absl::Status NoConversation() { return absl::NotFoundError("conversation not found"); }

}  // namespace

absl::StatusOr<v1::PimsExport> PimsExportRepository::Export(const ExportRequest& req) {
  v1::PimsExport out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(pg::Result c, s.Exec(kLockConversation, {req.clinic_id, req.conversation_id}));
    if (c.rows() == 0) return NoConversation();
    const std::string client_id = c.Text(0, "client_id");
    if (client_id.empty()) {
      return absl::FailedPreconditionError(
          "the conversation is not linked to a client yet; link it to export it to the PIMS");
    }
    std::optional<Cursor> after;
    if (!req.whole) {
      VL_ASSIGN_OR_RETURN(pg::Result last, s.Exec(kLastExport, {req.clinic_id, req.conversation_id}));
      if (last.rows() > 0) {
        after = Cursor{.time = last.Time(0, "last_message_time"), .id = last.Text(0, "last_message_id")};
      }
    }
    VL_ASSIGN_OR_RETURN(std::vector<v1::Message> messages,
                        conversations_.MessagesAfter(s, req.clinic_id, req.conversation_id, after, kMaxMessages + 1));
    if (messages.empty()) {
      return absl::FailedPreconditionError(after ? "nothing new to export since the previous export"
                                                 : "the conversation has no messages to export");
    }
    const bool over_limit = messages.size() > static_cast<size_t>(kMaxMessages);
    if (over_limit) messages.pop_back();
    rules::PimsNote note = rules::RenderPimsNote(messages, req.zone, req.zone_name);
    const v1::Message& first = messages.front();
    const v1::Message& last = messages[note.message_count - 1];
    const bool more = over_limit || note.message_count < static_cast<int>(messages.size());
    VL_ASSIGN_OR_RETURN(pg::Result row,
                        s.Exec(kInsertExport, {req.clinic_id, req.conversation_id, client_id, req.staff_id,
                                               note.message_count, FromTimestamp(first.create_time()),
                                               FromTimestamp(last.create_time()), last.id(), note.text, more}));
    out = ExportRow(row, 0);
    nlohmann::json payload = {
        {"clinicId", req.clinic_id},
        {"conversationId", req.conversation_id},
        {"clientId", client_id},
        {"exportId", out.id()},
        {"date", absl::FormatTime("%Y-%m-%d", FromTimestamp(out.create_time()), req.zone)},
        {"text", note.text}};
    return outbox_.Add(s, kTopicConversationExported, payload.dump());
  }));
  return out;
}

absl::StatusOr<std::vector<v1::PimsExport>> PimsExportRepository::List(const std::string& clinic_id,
                                                                      const std::string& conversation_id) {
  std::vector<v1::PimsExport> out;
  VL_RETURN_IF_ERROR(pool_->WithSession([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(pg::Result c, s.Exec(kConversationExists, {clinic_id, conversation_id}));
    if (c.rows() == 0) return NoConversation();
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kListExports, {clinic_id, conversation_id}));
    for (int i = 0; i < r.rows(); ++i) out.push_back(ExportRow(r, i));
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace vetline::conversations
