#include "services/conversations/conversations_repository.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/status.h"
#include "libs/core/time.h"

namespace vetline::conversations {
namespace {

// ---- clinics and statuses ----

constexpr pg::Statement kClinicDefault{
    "conversations_clinic_default",
    "SELECT default_status_id FROM conversations.clinics WHERE clinic_id = $1"};
// First use of a clinic: its row and its two statuses in one statement; a replica that
// loses the race inserts nothing and reads the winner's row afterwards.
constexpr pg::Statement kCreateClinic{
    "conversations_create_clinic",
    "WITH ids AS (SELECT gen_random_uuid() AS open_id), "
    "c AS (INSERT INTO conversations.clinics (clinic_id, default_status_id) "
    "      SELECT $1, open_id FROM ids ON CONFLICT (clinic_id) DO NOTHING "
    "      RETURNING clinic_id, default_status_id), "
    "s AS (INSERT INTO conversations.statuses (id, clinic_id, name, color, position, closed) "
    "      SELECT default_status_id, clinic_id, 'Open', '#2563eb', 0, false FROM c "
    "      UNION ALL SELECT gen_random_uuid(), clinic_id, 'Closed', '#6b7280', 1, true FROM c) "
    "SELECT default_status_id FROM c"};

// The clinic's settings: only its texting number so far (unique across clinics).
constexpr pg::Statement kClinicSettings{
    "conversations_clinic_settings",
    "SELECT sms_from_number FROM conversations.clinics WHERE clinic_id = $1"};
constexpr pg::Statement kSetSmsFromNumber{
    "conversations_set_sms_from_number",
    "UPDATE conversations.clinics SET sms_from_number = $2 WHERE clinic_id = $1 "
    "RETURNING sms_from_number"};

#define STATUS_COLUMNS "id, name, color, position, closed, retired "
constexpr pg::Statement kListStatuses{
    "conversations_list_statuses",
    "SELECT " STATUS_COLUMNS "FROM conversations.statuses WHERE clinic_id = $1 "
    "ORDER BY position, lower(name), id"};
constexpr pg::Statement kInsertStatus{
    "conversations_insert_status",
    "INSERT INTO conversations.statuses (clinic_id, name, color, position, closed) "
    "VALUES ($1, $2, $3, $4, $5) RETURNING " STATUS_COLUMNS};
constexpr pg::Statement kUpdateStatus{
    "conversations_update_status",
    "UPDATE conversations.statuses SET name = coalesce($3, name), color = coalesce($4, color), "
    "position = coalesce($5::integer, position), closed = coalesce($6::boolean, closed), "
    "retired = coalesce($7::boolean, retired) WHERE clinic_id = $1 AND id = $2 "
    "RETURNING " STATUS_COLUMNS};
constexpr pg::Statement kStatusUse{
    "conversations_status_use",
    "SELECT s.retired, (SELECT default_status_id FROM conversations.clinics k "
    "                   WHERE k.clinic_id = s.clinic_id) = s.id AS is_default, "
    "EXISTS (SELECT 1 FROM conversations.conversations c "
    "        WHERE c.clinic_id = s.clinic_id AND c.status_id = s.id) AS in_use "
    "FROM conversations.statuses s WHERE s.clinic_id = $1 AND s.id = $2"};
constexpr pg::Statement kDeleteStatus{
    "conversations_delete_status",
    "DELETE FROM conversations.statuses s WHERE s.clinic_id = $1 AND s.id = $2 "
    "AND NOT EXISTS (SELECT 1 FROM conversations.conversations c "
    "                WHERE c.clinic_id = $1 AND c.status_id = $2)"};

// ---- conversations ----

#define CONVERSATION_COLUMNS                                                                  \
  "c.id, c.clinic_id, coalesce(c.client_id::text, '') AS client_id, "                        \
  "coalesce(c.pet_id::text, '') AS pet_id, c.status_id, "                                    \
  "coalesce(c.assignee_user_id::text, '') AS assignee_user_id, "                             \
  "coalesce(c.assignee_team_id::text, '') AS assignee_team_id, c.archived, c.unknown_sender, " \
  "c.sender_address, c.staff_unread, c.client_unread, c.staff_preview, c.client_preview, "   \
  "c.last_activity_time, c.create_time "
// A viewer's access: staff see the clinic's rows; a client ($3) only rows of their own
// client id ($4; NULL for a prospect, which matches nothing).
#define VIEWER_SCOPE " c.clinic_id = $1 AND (NOT $3 OR c.client_id = NULLIF($4, '')::uuid) "

// Serialises starts for one client (the lock ends with the transaction), so concurrent
// "start chat" calls on several replicas find or make one conversation.
constexpr pg::Statement kLockClient{
    "conversations_lock_client",
    "SELECT pg_advisory_xact_lock(hashtextextended('conversations.start:' || $1 || ':' || $2, 0))"};
constexpr pg::Statement kLatestOpen{
    "conversations_latest_open",
    "SELECT " CONVERSATION_COLUMNS "FROM conversations.conversations c "
    "WHERE c.clinic_id = $1 AND c.client_id = $2 AND NOT c.archived "
    "ORDER BY c.last_activity_time DESC, c.id DESC LIMIT 1"};
constexpr pg::Statement kInsertConversation{
    "conversations_insert",
    "INSERT INTO conversations.conversations AS c (clinic_id, client_id, pet_id, status_id) "
    "VALUES ($1, $2, NULLIF($3, '')::uuid, $4) RETURNING " CONVERSATION_COLUMNS};
// A sender's latest conversation by where they wrote from: unknown senders', and those
// staff linked to a client since (LinkClient keeps the address).
constexpr pg::Statement kLatestOfSender{
    "conversations_latest_of_sender",
    "SELECT " CONVERSATION_COLUMNS "FROM conversations.conversations c "
    "WHERE c.clinic_id = $1 AND c.sender_address = $2 AND NOT c.archived "
    "ORDER BY c.last_activity_time DESC, c.id DESC LIMIT 1"};
constexpr pg::Statement kInsertUnknownSender{
    "conversations_insert_unknown_sender",
    "INSERT INTO conversations.conversations AS c (clinic_id, status_id, unknown_sender, "
    "sender_address) VALUES ($1, $3, true, $2) RETURNING " CONVERSATION_COLUMNS};
constexpr pg::Statement kGetConversation{
    "conversations_get",
    "SELECT " CONVERSATION_COLUMNS "FROM conversations.conversations c "
    "WHERE c.id = $2 AND" VIEWER_SCOPE};
constexpr pg::Statement kLockConversation{
    "conversations_lock",
    "SELECT " CONVERSATION_COLUMNS "FROM conversations.conversations c "
    "WHERE c.id = $2 AND" VIEWER_SCOPE "FOR UPDATE"};
constexpr pg::Statement kListConversations{
    "conversations_list",
    "SELECT " CONVERSATION_COLUMNS "FROM conversations.conversations c "
    "WHERE" VIEWER_SCOPE "AND c.archived = $2 "
    "AND ($5 = '' OR c.status_id = NULLIF($5, '')::uuid) "
    "AND ($6 = '' OR ($6 = 'user' AND c.assignee_user_id = NULLIF($7, '')::uuid) "
    "     OR ($6 = 'team' AND c.assignee_team_id = NULLIF($7, '')::uuid) "
    "     OR ($6 = 'nobody' AND c.assignee_user_id IS NULL AND c.assignee_team_id IS NULL)) "
    "AND (NOT $8 OR (CASE WHEN $3 THEN c.client_unread ELSE c.staff_unread END) > 0) "
    "AND ($9 = '' OR c.client_id = NULLIF($9, '')::uuid) "
    "AND ($10 = '' OR c.pet_id = NULLIF($10, '')::uuid) "
    "AND ($11::timestamptz IS NULL OR (c.last_activity_time, c.id) < ($11, $12::uuid)) "
    "ORDER BY c.last_activity_time DESC, c.id DESC LIMIT $13"};
constexpr pg::Statement kStatusChoosable{
    "conversations_status_choosable",
    "SELECT retired FROM conversations.statuses WHERE clinic_id = $1 AND id = $2"};
constexpr pg::Statement kSetStatus{
    "conversations_set_status",
    "UPDATE conversations.conversations c SET status_id = $3 "
    "WHERE c.clinic_id = $1 AND c.id = $2 RETURNING " CONVERSATION_COLUMNS};
constexpr pg::Statement kAssign{
    "conversations_assign",
    "UPDATE conversations.conversations c SET assignee_user_id = NULLIF($3, '')::uuid, "
    "assignee_team_id = NULLIF($4, '')::uuid WHERE c.clinic_id = $1 AND c.id = $2 "
    "RETURNING " CONVERSATION_COLUMNS};
constexpr pg::Statement kSetArchived{
    "conversations_set_archived",
    "UPDATE conversations.conversations c SET archived = $3 "
    "WHERE c.clinic_id = $1 AND c.id = $2 RETURNING " CONVERSATION_COLUMNS};
constexpr pg::Statement kMarkRead{
    "conversations_mark_read",
    "UPDATE conversations.conversations c SET "
    "staff_unread = CASE WHEN $3 THEN c.staff_unread ELSE 0 END, "
    "client_unread = CASE WHEN $3 THEN 0 ELSE c.client_unread END "
    "WHERE c.id = $2 AND" VIEWER_SCOPE "RETURNING " CONVERSATION_COLUMNS};
// A merged profile's conversations and push subscriptions belong to the survivor.
constexpr pg::Statement kMoveMergedClient{
    "conversations_move_merged_client",
    "UPDATE conversations.conversations c SET client_id = $3 "
    "WHERE c.clinic_id = $1 AND c.client_id = $2 RETURNING " CONVERSATION_COLUMNS};
constexpr pg::Statement kMoveMergedPush{
    "conversations_move_merged_push",
    "UPDATE conversations.push_subscriptions SET client_id = $3 WHERE clinic_id = $1 AND client_id = $2"};
// The sender's unlinked conversations all move to the client (one sender, one person).
constexpr pg::Statement kLinkClient{
    "conversations_link_client",
    "UPDATE conversations.conversations c SET client_id = $3, unknown_sender = false "
    "WHERE c.clinic_id = $1 AND c.client_id IS NULL AND (c.id = $2 OR "
    "      (c.sender_address <> '' AND c.sender_address = $4)) "
    "RETURNING " CONVERSATION_COLUMNS};

// ---- messages ----

#define MESSAGE_COLUMNS                                                                   \
  "m.id, m.conversation_id, m.author, m.author_id, m.body, m.internal_note, m.received_via, " \
  "m.create_time "
constexpr pg::Statement kInsertMessage{
    "conversations_insert_message",
    "INSERT INTO conversations.messages AS m (clinic_id, conversation_id, author, author_id, "
    "body, internal_note, received_via) VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "RETURNING " MESSAGE_COLUMNS};
constexpr pg::Statement kAttachFiles{
    "conversations_attach_files",
    "UPDATE conversations.files SET message_id = $3 WHERE clinic_id = $1 "
    "AND conversation_id = $2 AND id = ANY($4::uuid[]) AND message_id IS NULL RETURNING id"};
constexpr pg::Statement kTouchConversation{
    "conversations_touch",
    "UPDATE conversations.conversations c SET "
    "last_activity_time = greatest(c.last_activity_time, $3), staff_preview = $4, "
    "client_preview = CASE WHEN $5 THEN c.client_preview ELSE $4 END, "
    "staff_unread = c.staff_unread + CASE WHEN $6 THEN 1 ELSE 0 END, "
    "client_unread = c.client_unread + CASE WHEN $6 OR $5 THEN 0 ELSE 1 END, "
    "archived = c.archived AND NOT $6 "
    "WHERE c.clinic_id = $1 AND c.id = $2 RETURNING " CONVERSATION_COLUMNS};
// No text is planned to a number that texted STOP (sms_opt_outs, 0002).
constexpr pg::Statement kInsertDelivery{
    "conversations_insert_delivery",
    "INSERT INTO conversations.deliveries (clinic_id, message_id, channel, destination, state) "
    "SELECT $1, $2, $3, $4, 'queued' WHERE $3 <> 'text' OR NOT EXISTS ("
    "  SELECT 1 FROM conversations.sms_opt_outs o WHERE o.clinic_id = $1 AND o.phone = $4) "
    "ON CONFLICT DO NOTHING"};
constexpr pg::Statement kListMessages{
    "conversations_list_messages",
    "SELECT " MESSAGE_COLUMNS "FROM conversations.messages m "
    "WHERE m.clinic_id = $1 AND m.conversation_id = $2 AND NOT (m.internal_note AND $3) "
    "AND ($4::timestamptz IS NULL OR (m.create_time, m.id) < ($4, $5::uuid)) "
    "ORDER BY m.create_time DESC, m.id DESC LIMIT $6"};
constexpr pg::Statement kMessagesAfter{
    "conversations_messages_after",
    "SELECT " MESSAGE_COLUMNS "FROM conversations.messages m "
    "WHERE m.clinic_id = $1 AND m.conversation_id = $2 "
    "AND ($3::timestamptz IS NULL OR (m.create_time, m.id) > ($3, $4::uuid)) "
    "ORDER BY m.create_time, m.id LIMIT $5"};
constexpr pg::Statement kGetMessage{
    "conversations_get_message",
    "SELECT " MESSAGE_COLUMNS "FROM conversations.messages m "
    "WHERE m.clinic_id = $1 AND m.conversation_id = $2 AND m.id = $3"};
constexpr pg::Statement kFilesOf{
    "conversations_files_of",
    "SELECT id, message_id, filename, content_type, category, size_bytes "
    "FROM conversations.files WHERE clinic_id = $1 AND message_id = ANY($2::uuid[]) "
    "ORDER BY create_time, id"};
constexpr pg::Statement kAttachmentsOf{
    "conversations_attachments_of",
    "SELECT id, message_id, content::text AS content FROM conversations.attachments "
    "WHERE clinic_id = $1 AND message_id = ANY($2::uuid[]) ORDER BY create_time, id"};
constexpr pg::Statement kDeliveriesOf{
    "conversations_deliveries_of",
    "SELECT message_id, channel, state, destination, reason, attempts, update_time "
    "FROM conversations.deliveries WHERE clinic_id = $1 AND message_id = ANY($2::uuid[]) "
    "ORDER BY id"};
constexpr pg::Statement kDeliveryState{
    "conversations_delivery_state",
    "SELECT state FROM conversations.deliveries "
    "WHERE clinic_id = $1 AND message_id = $2 AND channel = $3 ORDER BY id"};
constexpr pg::Statement kRetryDelivery{
    "conversations_retry_delivery",
    "UPDATE conversations.deliveries SET state = 'queued', reason = '', attempts = 0, "
    "next_attempt_at = now(), update_time = now() "
    "WHERE clinic_id = $1 AND message_id = $2 AND channel = $3 AND state = 'failed' "
    "RETURNING id"};
// Newest first, so pages stay put while new messages arrive; the GIN index on `search`
// finds the matches, the clinic (and a client's own conversations) narrow them.
constexpr pg::Statement kSearch{
    "conversations_search",
    "SELECT " MESSAGE_COLUMNS ", ts_headline('simple', m.body, q, "
    "'MaxFragments=2, MaxWords=12, MinWords=4, StartSel=<b>, StopSel=</b>') AS headline "
    "FROM conversations.messages m JOIN conversations.conversations c "
    "ON c.id = m.conversation_id, websearch_to_tsquery('simple', $2) q "
    "WHERE m.search @@ q AND m.clinic_id = $1 AND c.clinic_id = $1 "
    "AND (NOT $3 OR (c.client_id = NULLIF($4, '')::uuid AND NOT m.internal_note)) "
    "AND ($5::timestamptz IS NULL OR (m.create_time, m.id) < ($5, $6::uuid)) "
    "ORDER BY m.create_time DESC, m.id DESC LIMIT $7"};
constexpr pg::Statement kInsertAttachment{
    "conversations_insert_attachment",
    "INSERT INTO conversations.attachments (clinic_id, message_id, kind, content, ref_id) "
    "VALUES ($1, $2, $3, $4::jsonb, $5)"};
constexpr pg::Statement kCallRecorded{
    "conversations_call_recorded",
    "SELECT EXISTS (SELECT 1 FROM conversations.attachments WHERE clinic_id = $1 "
    "AND kind = 'call_record' AND ref_id = $2) AS present"};
constexpr pg::Statement kSetPaymentRequestStatus{
    "conversations_set_payment_request_status",
    "UPDATE conversations.attachments SET content = jsonb_set(content, '{paymentRequest,status}', to_jsonb($3::text)) "
    "WHERE clinic_id = $1 AND kind = 'payment_request' AND ref_id = $2"};
constexpr pg::Statement kPushEndpoints{
    "conversations_push_endpoints",
    "SELECT endpoint FROM conversations.push_subscriptions "
    "WHERE clinic_id = $1 AND client_id = $2 ORDER BY create_time, id"};

// ---- files ----

constexpr pg::Statement kInsertFile{
    "conversations_insert_file",
    "INSERT INTO conversations.files (id, clinic_id, conversation_id, uploaded_by, filename, "
    "content_type, category, size_bytes, blob_key) "
    "SELECT $5, c.clinic_id, c.id, $6, $7, $8, $9, $10, $11 FROM conversations.conversations c "
    "WHERE c.id = $2 AND" VIEWER_SCOPE
    "RETURNING id, filename, content_type, category, size_bytes"};
constexpr pg::Statement kGetFile{
    "conversations_get_file",
    "SELECT id, clinic_id, filename, content_type, category, size_bytes, blob_key "
    "FROM conversations.files WHERE clinic_id = $1 AND id = $2"};

// ---- templates ----

#define TEMPLATE_COLUMNS "id, name, body, update_time "
constexpr pg::Statement kListTemplates{
    "conversations_list_templates",
    "SELECT " TEMPLATE_COLUMNS "FROM conversations.templates WHERE clinic_id = $1 "
    "ORDER BY lower(name), id"};
constexpr pg::Statement kGetTemplate{
    "conversations_get_template",
    "SELECT " TEMPLATE_COLUMNS "FROM conversations.templates WHERE clinic_id = $1 AND id = $2"};
constexpr pg::Statement kInsertTemplate{
    "conversations_insert_template",
    "INSERT INTO conversations.templates (clinic_id, name, body) VALUES ($1, $2, $3) "
    "RETURNING " TEMPLATE_COLUMNS};
constexpr pg::Statement kUpdateTemplate{
    "conversations_update_template",
    "UPDATE conversations.templates SET name = coalesce($3, name), body = coalesce($4, body), "
    "update_time = now() WHERE clinic_id = $1 AND id = $2 RETURNING " TEMPLATE_COLUMNS};
constexpr pg::Statement kDeleteTemplate{
    "conversations_delete_template",
    "DELETE FROM conversations.templates WHERE clinic_id = $1 AND id = $2"};

// ---- rows ----

v1::ConversationStatus StatusRow(const pg::Result& r, int i) {
  v1::ConversationStatus s;
  s.set_id(r.Text(i, "id"));
  s.set_name(r.Text(i, "name"));
  s.set_color(r.Text(i, "color"));
  s.set_position(static_cast<int32_t>(r.Int(i, "position")));
  s.set_closed(r.Bool(i, "closed"));
  s.set_retired(r.Bool(i, "retired"));
  return s;
}

ConversationRecord ConversationRow(const pg::Result& r, int i) {
  ConversationRecord rec;
  v1::Conversation& c = rec.conversation;
  c.set_id(r.Text(i, "id"));
  c.set_clinic_id(r.Text(i, "clinic_id"));
  c.set_client_id(r.Text(i, "client_id"));
  c.set_pet_id(r.Text(i, "pet_id"));
  c.set_status_id(r.Text(i, "status_id"));
  c.set_assignee_user_id(r.Text(i, "assignee_user_id"));
  c.set_assignee_team_id(r.Text(i, "assignee_team_id"));
  c.set_archived(r.Bool(i, "archived"));
  c.set_unknown_sender(r.Bool(i, "unknown_sender"));
  c.set_sender_address(r.Text(i, "sender_address"));
  c.set_staff_unread(static_cast<int32_t>(r.Int(i, "staff_unread")));
  c.set_client_unread(static_cast<int32_t>(r.Int(i, "client_unread")));
  c.set_last_message_preview(r.Text(i, "staff_preview"));
  *c.mutable_last_activity_time() = ToTimestamp(r.Time(i, "last_activity_time"));
  *c.mutable_create_time() = ToTimestamp(r.Time(i, "create_time"));
  rec.client_preview = r.Text(i, "client_preview");
  return rec;
}

v1::Author AuthorFrom(const std::string& s) {
  if (s == "client") return v1::CLIENT;
  if (s == "system") return v1::SYSTEM;
  return v1::STAFF;
}
std::string AuthorText(v1::Author a) {
  switch (a) {
    case v1::CLIENT: return "client";
    case v1::SYSTEM: return "system";
    default: return "staff";
  }
}
v1::Channel ChannelFrom(const std::string& s) {
  if (s == "text") return v1::TEXT;
  if (s == "email") return v1::EMAIL;
  if (s == "push") return v1::PUSH;
  return v1::PORTAL;
}
std::string ChannelText(v1::Channel c) {
  switch (c) {
    case v1::TEXT: return "text";
    case v1::EMAIL: return "email";
    case v1::PUSH: return "push";
    default: return "portal";
  }
}
v1::DeliveryState StateFrom(const std::string& s) {
  if (s == "sent") return v1::SENT;
  if (s == "delivered") return v1::DELIVERED;
  if (s == "failed") return v1::FAILED;
  if (s == "cancelled") return v1::CANCELLED;
  return v1::QUEUED;
}

v1::Message MessageRow(const pg::Result& r, int i) {
  v1::Message m;
  m.set_id(r.Text(i, "id"));
  m.set_conversation_id(r.Text(i, "conversation_id"));
  m.set_author(AuthorFrom(r.Text(i, "author")));
  m.set_author_id(r.Text(i, "author_id"));
  m.set_text(r.Text(i, "body"));
  m.set_internal_note(r.Bool(i, "internal_note"));
  m.set_received_via(ChannelFrom(r.Text(i, "received_via")));
  *m.mutable_create_time() = ToTimestamp(r.Time(i, "create_time"));
  return m;
}

v1::FileAttachment FileRow(const pg::Result& r, int i) {
  v1::FileAttachment f;
  f.set_file_id(r.Text(i, "id"));
  f.set_filename(r.Text(i, "filename"));
  f.set_content_type(r.Text(i, "content_type"));
  f.set_category(r.Text(i, "category"));
  f.set_size_bytes(r.Int(i, "size_bytes"));
  return f;
}

v1::MessageTemplate TemplateRow(const pg::Result& r, int i) {
  v1::MessageTemplate t;
  t.set_id(r.Text(i, "id"));
  t.set_name(r.Text(i, "name"));
  t.set_body(r.Text(i, "body"));
  *t.mutable_update_time() = ToTimestamp(r.Time(i, "update_time"));
  return t;
}

// A uuid[] literal of ids that were validated at the edge.
std::string UuidArray(const std::vector<std::string>& ids) {
  return absl::StrCat("{", absl::StrJoin(ids, ","), "}");
}

pg::Param CursorTime(const std::optional<Cursor>& c) {
  return c ? pg::Param(c->time) : pg::Param(std::nullopt);
}
pg::Param CursorId(const std::optional<Cursor>& c) {
  return c ? pg::Param(c->id) : pg::Param(std::nullopt);
}

absl::Status NoConversation() { return absl::NotFoundError("conversation not found"); }

// A unique-name violation as the caller should read it (the pool's text names the index).
absl::Status NameTaken(const absl::Status& s, std::string_view what) {
  if (absl::IsAlreadyExists(s)) {
    return AlreadyExistsField("name", absl::StrCat("a ", std::string(what), " with this name already exists"));
  }
  return s;
}

// The event every conversation change appends, as staff see it.
absl::Status Log(pg::Session& s, const ConversationRecord& rec, std::string_view type,
                 bool staff_only, Events* events, const v1::Message* message = nullptr) {
  LoggedEvent e;
  e.clinic_id = rec.conversation.clinic_id();
  e.client_id = rec.conversation.client_id();
  e.staff_only = staff_only;
  e.event.set_type(std::string(type));
  *e.event.mutable_conversation() = rec.conversation;
  if (message) *e.event.mutable_message() = *message;
  VL_RETURN_IF_ERROR(AppendEvent(s, e));
  if (events) events->push_back(std::move(e));
  return absl::OkStatus();
}

pg::Params ViewerParams(const Viewer& v, const std::string& id) {
  return {v.clinic_id, id, v.client, v.client_id};
}

}  // namespace

void DeliveryFromRow(const pg::Result& r, int row, v1::Delivery* out) {
  out->set_channel(ChannelFrom(r.Text(row, "channel")));
  out->set_state(StateFrom(r.Text(row, "state")));
  out->set_destination(r.Text(row, "destination"));
  out->set_reason(r.Text(row, "reason"));
  out->set_attempts(static_cast<int32_t>(r.Int(row, "attempts")));
  *out->mutable_update_time() = ToTimestamp(r.Time(row, "update_time"));
}

std::string Viewer::Author() const {
  return client ? absl::StrCat("client:", client_id) : absl::StrCat("staff:", user_id);
}

absl::StatusOr<std::string> ConversationsRepository::EnsureClinic(pg::Session& s,
                                                                  const std::string& clinic_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kClinicDefault, {clinic_id}));
  if (r.rows() > 0) return r.Text(0, "default_status_id");
  VL_ASSIGN_OR_RETURN(r, s.Exec(kCreateClinic, {clinic_id}));
  if (r.rows() > 0) return r.Text(0, "default_status_id");
  // Another transaction created it meanwhile; it committed before our insert gave up.
  VL_ASSIGN_OR_RETURN(r, s.Exec(kClinicDefault, {clinic_id}));
  if (r.rows() == 0) return absl::AbortedError("clinic row not visible yet");
  return r.Text(0, "default_status_id");
}

// ---- settings ----

absl::StatusOr<v1::ConversationSettings> ConversationsRepository::GetSettings(
    const std::string& clinic_id) {
  v1::ConversationSettings out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(EnsureClinic(s, clinic_id).status());
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kClinicSettings, {clinic_id}));
    out.set_sms_from_number(r.Text(0, "sms_from_number"));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<v1::ConversationSettings> ConversationsRepository::SetSmsFromNumber(
    const std::string& clinic_id, const std::string& number) {
  v1::ConversationSettings out;
  absl::Status s = pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(EnsureClinic(s, clinic_id).status());
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kSetSmsFromNumber, {clinic_id, number}));
    out.set_sms_from_number(r.Text(0, "sms_from_number"));
    return absl::OkStatus();
  });
  // The unique index clinics_by_sms_number: inbound texts find the clinic by this number.
  if (absl::IsAlreadyExists(s)) {
    return AlreadyExistsField("smsFromNumber", "another clinic already texts from this number");
  }
  VL_RETURN_IF_ERROR(s);
  return out;
}

// ---- statuses ----

absl::StatusOr<std::vector<v1::ConversationStatus>> ConversationsRepository::ListStatuses(
    const std::string& clinic_id) {
  std::vector<v1::ConversationStatus> out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    out.clear();
    VL_RETURN_IF_ERROR(EnsureClinic(s, clinic_id).status());
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kListStatuses, {clinic_id}));
    for (int i = 0; i < r.rows(); ++i) out.push_back(StatusRow(r, i));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<v1::ConversationStatus> ConversationsRepository::CreateStatus(
    const std::string& clinic_id, const v1::ConversationStatus& st) {
  v1::ConversationStatus out;
  absl::Status s = pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(EnsureClinic(s, clinic_id).status());
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kInsertStatus, {clinic_id, st.name(), st.color(),
                                                             st.position(), st.closed()}));
    out = StatusRow(r, 0);
    return absl::OkStatus();
  });
  VL_RETURN_IF_ERROR(NameTaken(s, "status"));
  return out;
}

absl::StatusOr<v1::ConversationStatus> ConversationsRepository::UpdateStatus(
    const std::string& clinic_id, const std::string& id, const StatusChange& ch) {
  v1::ConversationStatus out;
  absl::Status s = pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(EnsureClinic(s, clinic_id).status());
    VL_ASSIGN_OR_RETURN(pg::Result use, s.Exec(kStatusUse, {clinic_id, id}));
    if (use.rows() == 0) return absl::NotFoundError("status not found");
    if (use.Bool(0, "is_default") && ((ch.retired && *ch.retired) || (ch.closed && *ch.closed))) {
      return absl::FailedPreconditionError(
          "this is the status new conversations start with; it cannot be retired or closed");
    }
    VL_ASSIGN_OR_RETURN(pg::Result r,
                        s.Exec(kUpdateStatus, {clinic_id, id, ch.name, ch.color, ch.position,
                                               ch.closed, ch.retired}));
    if (r.rows() == 0) return absl::NotFoundError("status not found");
    out = StatusRow(r, 0);
    return absl::OkStatus();
  });
  VL_RETURN_IF_ERROR(NameTaken(s, "status"));
  return out;
}

absl::Status ConversationsRepository::DeleteStatus(const std::string& clinic_id,
                                                   const std::string& id) {
  return pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(EnsureClinic(s, clinic_id).status());
    VL_ASSIGN_OR_RETURN(pg::Result use, s.Exec(kStatusUse, {clinic_id, id}));
    if (use.rows() == 0) return absl::NotFoundError("status not found");
    absl::Status in_use = absl::FailedPreconditionError(
        "conversations use this status, so it cannot be deleted: retire it instead "
        "(it stays on those conversations but cannot be chosen)");
    if (use.Bool(0, "is_default")) {
      return absl::FailedPreconditionError(
          "this is the status new conversations start with; it cannot be deleted");
    }
    if (use.Bool(0, "in_use")) return in_use;
    auto r = s.Exec(kDeleteStatus, {clinic_id, id});
    // A conversation that took the status meanwhile keeps it: the foreign key refuses.
    if (absl::IsFailedPrecondition(r.status())) return in_use;
    VL_RETURN_IF_ERROR(r.status());
    if (r->affected() == 0) return in_use;
    return absl::OkStatus();
  });
}

absl::Status ConversationsRepository::CheckStatus(const std::string& clinic_id,
                                                  const std::string& id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kStatusChoosable, {clinic_id, id}));
  if (r.rows() == 0) return NotFoundField("statusId", "no status with this statusId in your clinic");
  return absl::OkStatus();
}

// ---- conversations ----

absl::StatusOr<ConversationRecord> ConversationsRepository::StartConversation(
    const std::string& clinic_id, const std::string& client_id, const std::string& pet_id,
    Events* events) {
  ConversationRecord out;
  Events logged;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    logged.clear();
    VL_ASSIGN_OR_RETURN(out, StartConversation(s, clinic_id, client_id, pet_id, &logged));
    return absl::OkStatus();
  }));
  if (events) events->insert(events->end(), logged.begin(), logged.end());
  return out;
}

absl::StatusOr<ConversationRecord> ConversationsRepository::StartConversation(
    pg::Session& s, const std::string& clinic_id, const std::string& client_id,
    const std::string& pet_id, Events* logged) {
  VL_ASSIGN_OR_RETURN(std::string status_id, EnsureClinic(s, clinic_id));
  VL_RETURN_IF_ERROR(s.Exec(kLockClient, {clinic_id, client_id}).status());
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kLatestOpen, {clinic_id, client_id}));
  if (r.rows() > 0) return ConversationRow(r, 0);
  VL_ASSIGN_OR_RETURN(r, s.Exec(kInsertConversation, {clinic_id, client_id, pet_id, status_id}));
  ConversationRecord out = ConversationRow(r, 0);
  VL_RETURN_IF_ERROR(Log(s, out, "conversation.updated", false, logged));
  return out;
}

absl::StatusOr<ConversationRecord> ConversationsRepository::OpenForSender(
    pg::Session& s, const std::string& clinic_id, const std::string& sender_address,
    Events* logged) {
  VL_ASSIGN_OR_RETURN(std::string status_id, EnsureClinic(s, clinic_id));
  VL_RETURN_IF_ERROR(s.Exec(kLockClient, {clinic_id, sender_address}).status());
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kLatestOfSender, {clinic_id, sender_address}));
  if (r.rows() > 0) return ConversationRow(r, 0);
  VL_ASSIGN_OR_RETURN(r, s.Exec(kInsertUnknownSender, {clinic_id, sender_address, status_id}));
  ConversationRecord out = ConversationRow(r, 0);
  VL_RETURN_IF_ERROR(Log(s, out, "conversation.updated", false, logged));
  return out;
}

absl::StatusOr<ConversationRecord> ConversationsRepository::GetConversation(
    const Viewer& v, const std::string& id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kGetConversation, ViewerParams(v, id)));
  if (r.rows() == 0) return NoConversation();
  return ConversationRow(r, 0);
}

absl::StatusOr<std::vector<ConversationRecord>> ConversationsRepository::ListConversations(
    const Viewer& v, const ConversationFilter& f, const std::optional<Cursor>& after, int limit) {
  std::string assignee;
  switch (f.assignee) {
    case ConversationFilter::Assignee::kAny: break;
    case ConversationFilter::Assignee::kUser: assignee = "user"; break;
    case ConversationFilter::Assignee::kTeam: assignee = "team"; break;
    case ConversationFilter::Assignee::kNobody: assignee = "nobody"; break;
  }
  VL_ASSIGN_OR_RETURN(
      pg::Result r,
      pool_->Exec(kListConversations,
                  {v.clinic_id, f.archived, v.client, v.client_id, f.status_id, assignee,
                   f.assignee_id, f.unread_only, f.client_id, f.pet_id, CursorTime(after),
                   CursorId(after), limit}));
  std::vector<ConversationRecord> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(ConversationRow(r, i));
  return out;
}

absl::StatusOr<ConversationRecord> ConversationsRepository::SetStatus(
    const std::string& clinic_id, const std::string& id, const std::string& status_id,
    Events* events) {
  ConversationRecord out;
  Events logged;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    logged.clear();
    VL_RETURN_IF_ERROR(EnsureClinic(s, clinic_id).status());
    VL_ASSIGN_OR_RETURN(pg::Result st, s.Exec(kStatusChoosable, {clinic_id, status_id}));
    if (st.rows() == 0) {
      return NotFoundField("statusId", "no status with this statusId in your clinic");
    }
    if (st.Bool(0, "retired")) {
      return FieldError(absl::StatusCode::kFailedPrecondition, "statusId",
                        "this status is retired and cannot be chosen");
    }
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kSetStatus, {clinic_id, id, status_id}));
    if (r.rows() == 0) return NoConversation();
    out = ConversationRow(r, 0);
    return Log(s, out, "conversation.updated", false, &logged);
  }));
  if (events) events->insert(events->end(), logged.begin(), logged.end());
  return out;
}

absl::StatusOr<ConversationRecord> ConversationsRepository::Assign(const std::string& clinic_id,
                                                                   const std::string& id,
                                                                   const std::string& user_id,
                                                                   const std::string& team_id,
                                                                   Events* events) {
  ConversationRecord out;
  Events logged;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    logged.clear();
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kAssign, {clinic_id, id, user_id, team_id}));
    if (r.rows() == 0) return NoConversation();
    out = ConversationRow(r, 0);
    return Log(s, out, "conversation.updated", /*staff_only=*/true, &logged);
  }));
  if (events) events->insert(events->end(), logged.begin(), logged.end());
  return out;
}

absl::StatusOr<ConversationRecord> ConversationsRepository::SetArchived(
    const std::string& clinic_id, const std::string& id, bool archived, Events* events) {
  ConversationRecord out;
  Events logged;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    logged.clear();
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kSetArchived, {clinic_id, id, archived}));
    if (r.rows() == 0) return NoConversation();
    out = ConversationRow(r, 0);
    return Log(s, out, "conversation.updated", false, &logged);
  }));
  if (events) events->insert(events->end(), logged.begin(), logged.end());
  return out;
}

absl::StatusOr<ConversationRecord> ConversationsRepository::MarkRead(const Viewer& v,
                                                                     const std::string& id,
                                                                     Events* events) {
  ConversationRecord out;
  Events logged;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    logged.clear();
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kMarkRead, ViewerParams(v, id)));
    if (r.rows() == 0) return NoConversation();
    out = ConversationRow(r, 0);
    // Staff reading is staff business; a client reading is news to staff and to the
    // client's other devices.
    return Log(s, out, "conversation.read", /*staff_only=*/!v.client, &logged);
  }));
  if (events) events->insert(events->end(), logged.begin(), logged.end());
  return out;
}

absl::StatusOr<int> ConversationsRepository::MoveMergedClient(pg::Session& s,
                                                              const std::string& clinic_id,
                                                              const std::string& merged_id,
                                                              const std::string& survivor_id,
                                                              Events* logged) {
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kMoveMergedClient, {clinic_id, merged_id, survivor_id}));
  VL_RETURN_IF_ERROR(s.Exec(kMoveMergedPush, {clinic_id, merged_id, survivor_id}).status());
  for (int i = 0; i < r.rows(); ++i) {
    VL_RETURN_IF_ERROR(Log(s, ConversationRow(r, i), "conversation.updated", false, logged));
  }
  return r.rows();
}

absl::StatusOr<ConversationRecord> ConversationsRepository::LinkClient(
    const std::string& clinic_id, const std::string& id, const std::string& client_id,
    Events* events) {
  ConversationRecord out;
  Events logged;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    logged.clear();
    Viewer staff{.clinic_id = clinic_id};
    VL_ASSIGN_OR_RETURN(pg::Result cur, s.Exec(kLockConversation, ViewerParams(staff, id)));
    if (cur.rows() == 0) return NoConversation();
    ConversationRecord before = ConversationRow(cur, 0);
    if (!before.conversation.client_id().empty()) {
      return absl::FailedPreconditionError(
          "this conversation already belongs to a client; only an unknown sender's can be linked");
    }
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kLinkClient, {clinic_id, id, client_id,
                                                           before.conversation.sender_address()}));
    for (int i = 0; i < r.rows(); ++i) {
      ConversationRecord rec = ConversationRow(r, i);
      if (rec.conversation.id() == id) out = rec;
      VL_RETURN_IF_ERROR(Log(s, rec, "conversation.updated", false, &logged));
    }
    return absl::OkStatus();
  }));
  if (events) events->insert(events->end(), logged.begin(), logged.end());
  return out;
}

// ---- messages ----

absl::Status ConversationsRepository::LoadDetails(pg::Session& s, const std::string& clinic_id,
                                                  bool client_view,
                                                  std::vector<v1::Message*> messages) {
  if (messages.empty()) return absl::OkStatus();
  std::map<std::string, v1::Message*> by_id;
  std::vector<std::string> ids;
  for (v1::Message* m : messages) {
    by_id[m->id()] = m;
    ids.push_back(m->id());
  }
  const std::string array = UuidArray(ids);
  // One round trip for the three reads (deliveries are staff business).
  std::vector<pg::Query> reads{{kFilesOf, {clinic_id, array}}, {kAttachmentsOf, {clinic_id, array}}};
  if (!client_view) reads.push_back({kDeliveriesOf, {clinic_id, array}});
  VL_ASSIGN_OR_RETURN(std::vector<pg::Result> results, s.ExecBatch(reads));
  const pg::Result& files = results[0];
  for (int i = 0; i < files.rows(); ++i) {
    v1::Attachment* a = by_id[files.Text(i, "message_id")]->add_attachments();
    a->set_id(files.Text(i, "id"));
    *a->mutable_file() = FileRow(files, i);
  }
  const pg::Result& typed = results[1];
  for (int i = 0; i < typed.rows(); ++i) {
    v1::Attachment a;
    google::protobuf::util::JsonParseOptions lenient;
    lenient.ignore_unknown_fields = true;  // written by later versions, read by this one
    if (!google::protobuf::util::JsonStringToMessage(typed.Text(i, "content"), &a, lenient).ok()) {
      continue;
    }
    a.set_id(typed.Text(i, "id"));
    *by_id[typed.Text(i, "message_id")]->add_attachments() = std::move(a);
  }
  if (client_view) return absl::OkStatus();
  const pg::Result& d = results[2];
  for (int i = 0; i < d.rows(); ++i) {
    DeliveryFromRow(d, i, by_id[d.Text(i, "message_id")]->add_deliveries());
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Message> ConversationsRepository::SendMessage(const Viewer& v,
                                                                 const NewMessage& nm,
                                                                 Events* events) {
  v1::Message out;
  Events logged;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    logged.clear();
    VL_ASSIGN_OR_RETURN(out, SendMessage(s, v, nm, &logged));
    return absl::OkStatus();
  }));
  if (events) events->insert(events->end(), logged.begin(), logged.end());
  return out;
}

absl::StatusOr<v1::Message> ConversationsRepository::SendMessage(pg::Session& s, const Viewer& v,
                                                                 const NewMessage& nm,
                                                                 Events* logged) {
  // The conversation's row lock orders concurrent sends: counts and times stay exact.
  VL_ASSIGN_OR_RETURN(pg::Result cur, s.Exec(kLockConversation, ViewerParams(v, nm.conversation_id)));
  if (cur.rows() == 0) return NoConversation();
  VL_ASSIGN_OR_RETURN(
      pg::Result m, s.Exec(kInsertMessage, {v.clinic_id, nm.conversation_id,
                                            AuthorText(nm.author), nm.author_id, nm.text,
                                            nm.internal_note, ChannelText(nm.received_via)}));
  v1::Message out = MessageRow(m, 0);
  const absl::Time created = m.Time(0, "create_time");
  std::string first_file;
  if (!nm.file_ids.empty()) {
    std::set<std::string> wanted(nm.file_ids.begin(), nm.file_ids.end());
    VL_ASSIGN_OR_RETURN(pg::Result attached,
                        s.Exec(kAttachFiles, {v.clinic_id, nm.conversation_id, out.id(),
                                              UuidArray(nm.file_ids)}));
    if (attached.rows() != static_cast<int>(wanted.size())) {
      return InvalidField("fileIds",
                          "every file must be uploaded to this conversation and not yet sent");
    }
  }
  for (const TypedAttachment& a : nm.attachments) {
    VL_RETURN_IF_ERROR(
        s.Exec(kInsertAttachment, {v.clinic_id, out.id(), a.kind, a.content, a.ref_id}).status());
  }
  std::vector<pg::Query> deliveries;
  for (const rules::Target& t : nm.deliveries) {
    deliveries.push_back({kInsertDelivery, {v.clinic_id, out.id(), std::string(rules::ToText(t.channel)),
                                            t.destination}});
  }
  if (!deliveries.empty()) VL_RETURN_IF_ERROR(s.ExecBatch(deliveries).status());
  VL_RETURN_IF_ERROR(LoadDetails(s, v.clinic_id, false, {&out}));
  for (const v1::Attachment& a : out.attachments()) {
    if (a.has_file()) {
      first_file = a.file().filename();
      break;
    }
  }
  const bool from_client = nm.author == v1::CLIENT;
  VL_ASSIGN_OR_RETURN(
      pg::Result conv,
      s.Exec(kTouchConversation, {v.clinic_id, nm.conversation_id, created,
                                  rules::Preview(nm.text, first_file), nm.internal_note,
                                  from_client}));
  ConversationRecord rec = ConversationRow(conv, 0);
  VL_RETURN_IF_ERROR(Log(s, rec, "message.created", nm.internal_note, logged, &out));
  return out;
}

absl::StatusOr<bool> ConversationsRepository::CallRecorded(pg::Session& s,
                                                           const std::string& clinic_id,
                                                           const std::string& call_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kCallRecorded, {clinic_id, call_id}));
  return r.Bool(0, "present");
}

absl::Status ConversationsRepository::SetPaymentRequestStatus(pg::Session& s, const std::string& clinic_id,
                                                             const std::string& payment_request_id,
                                                             const std::string& status) {
  return s.Exec(kSetPaymentRequestStatus, {clinic_id, payment_request_id, status}).status();
}

absl::StatusOr<std::vector<v1::Message>> ConversationsRepository::ListMessages(
    const Viewer& v, const std::string& conversation_id, const std::optional<Cursor>& after,
    int limit) {
  std::vector<v1::Message> out;
  VL_RETURN_IF_ERROR(pool_->Transact(
      [&](pg::Session& s) -> absl::Status {
        out.clear();
        VL_ASSIGN_OR_RETURN(pg::Result c, s.Exec(kGetConversation, ViewerParams(v, conversation_id)));
        if (c.rows() == 0) return NoConversation();
        VL_ASSIGN_OR_RETURN(pg::Result r,
                            s.Exec(kListMessages, {v.clinic_id, conversation_id, v.client,
                                                   CursorTime(after), CursorId(after), limit}));
        for (int i = 0; i < r.rows(); ++i) out.push_back(MessageRow(r, i));
        std::vector<v1::Message*> ptrs;
        for (v1::Message& m : out) ptrs.push_back(&m);
        return LoadDetails(s, v.clinic_id, v.client, ptrs);
      },
      pg::Isolation::kRepeatableRead));
  return out;
}

absl::StatusOr<std::vector<v1::Message>> ConversationsRepository::MessagesAfter(
    pg::Session& s, const std::string& clinic_id, const std::string& conversation_id,
    const std::optional<Cursor>& after, int limit) {
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kMessagesAfter, {clinic_id, conversation_id, CursorTime(after),
                                                            CursorId(after), limit}));
  std::vector<v1::Message> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(MessageRow(r, i));
  std::vector<v1::Message*> ptrs;
  for (v1::Message& m : out) ptrs.push_back(&m);
  VL_RETURN_IF_ERROR(LoadDetails(s, clinic_id, /*client_view=*/false, ptrs));
  return out;
}

absl::StatusOr<v1::Message> ConversationsRepository::RetryDelivery(
    const std::string& clinic_id, const std::string& conversation_id,
    const std::string& message_id, rules::Channel channel, Events* events) {
  v1::Message out;
  Events logged;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    logged.clear();
    Viewer staff{.clinic_id = clinic_id};
    VL_ASSIGN_OR_RETURN(pg::Result c, s.Exec(kGetConversation, ViewerParams(staff, conversation_id)));
    if (c.rows() == 0) return NoConversation();
    ConversationRecord rec = ConversationRow(c, 0);
    VL_ASSIGN_OR_RETURN(pg::Result m, s.Exec(kGetMessage, {clinic_id, conversation_id, message_id}));
    if (m.rows() == 0) return absl::NotFoundError("message not found");
    const std::string channel_text(rules::ToText(channel));
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kRetryDelivery, {clinic_id, message_id, channel_text}));
    if (r.rows() == 0) {
      VL_ASSIGN_OR_RETURN(pg::Result st, s.Exec(kDeliveryState, {clinic_id, message_id, channel_text}));
      if (st.rows() == 0) {
        return NotFoundField("channel", "this message was not sent on that channel");
      }
      return FieldError(absl::StatusCode::kFailedPrecondition, "channel",
                        absl::StrCat("only a failed delivery can be retried; this one is ",
                                     st.Text(0, "state")));
    }
    out = MessageRow(m, 0);
    VL_RETURN_IF_ERROR(LoadDetails(s, clinic_id, false, {&out}));
    return Log(s, rec, "delivery.updated", /*staff_only=*/true, &logged, &out);
  }));
  if (events) events->insert(events->end(), logged.begin(), logged.end());
  return out;
}

absl::StatusOr<std::vector<ConversationsRepository::Hit>> ConversationsRepository::SearchMessages(
    const Viewer& v, const std::string& query, const std::optional<Cursor>& after, int limit) {
  std::vector<Hit> out;
  VL_RETURN_IF_ERROR(pool_->Transact(
      [&](pg::Session& s) -> absl::Status {
        out.clear();
        VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kSearch, {v.clinic_id, query, v.client,
                                                           v.client_id, CursorTime(after),
                                                           CursorId(after), limit}));
        for (int i = 0; i < r.rows(); ++i) out.push_back({MessageRow(r, i), r.Text(i, "headline")});
        std::vector<v1::Message*> ptrs;
        for (Hit& h : out) ptrs.push_back(&h.message);
        return LoadDetails(s, v.clinic_id, v.client, ptrs);
      },
      pg::Isolation::kRepeatableRead));
  return out;
}

absl::StatusOr<std::vector<std::string>> ConversationsRepository::PushEndpoints(
    const std::string& clinic_id, const std::string& client_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kPushEndpoints, {clinic_id, client_id}));
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.Text(i, "endpoint"));
  return out;
}

// ---- files ----

absl::StatusOr<v1::FileAttachment> ConversationsRepository::InsertFile(const Viewer& v,
                                                                       const NewFile& f) {
  v1::FileAttachment out;
  VL_RETURN_IF_ERROR(pool_->WithSession([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(out, InsertFile(s, v, f));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<v1::FileAttachment> ConversationsRepository::InsertFile(pg::Session& s,
                                                                       const Viewer& v,
                                                                       const NewFile& f) {
  VL_ASSIGN_OR_RETURN(
      pg::Result r,
      s.Exec(kInsertFile, {v.clinic_id, f.conversation_id, v.client, v.client_id, f.id,
                                f.uploaded_by, f.filename, f.content_type, f.category,
                                f.size_bytes, f.blob_key}));
  if (r.rows() == 0) return NoConversation();
  return FileRow(r, 0);
}

absl::StatusOr<StoredFile> ConversationsRepository::GetFile(const std::string& clinic_id,
                                                            const std::string& id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kGetFile, {clinic_id, id}));
  if (r.rows() == 0) return absl::NotFoundError("file not found");
  return StoredFile{FileRow(r, 0), r.Text(0, "clinic_id"), r.Text(0, "blob_key")};
}

// ---- templates ----

absl::StatusOr<std::vector<v1::MessageTemplate>> ConversationsRepository::ListTemplates(
    const std::string& clinic_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kListTemplates, {clinic_id}));
  std::vector<v1::MessageTemplate> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(TemplateRow(r, i));
  return out;
}

absl::StatusOr<v1::MessageTemplate> ConversationsRepository::GetTemplate(
    const std::string& clinic_id, const std::string& id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kGetTemplate, {clinic_id, id}));
  if (r.rows() == 0) return NotFoundField("templateId", "no template with this templateId");
  return TemplateRow(r, 0);
}

absl::StatusOr<v1::MessageTemplate> ConversationsRepository::CreateTemplate(
    const std::string& clinic_id, const std::string& name, const std::string& body) {
  auto r = pool_->Exec(kInsertTemplate, {clinic_id, name, body});
  VL_RETURN_IF_ERROR(NameTaken(r.status(), "template"));
  return TemplateRow(*r, 0);
}

absl::StatusOr<v1::MessageTemplate> ConversationsRepository::UpdateTemplate(
    const std::string& clinic_id, const std::string& id, const std::optional<std::string>& name,
    const std::optional<std::string>& body) {
  auto r = pool_->Exec(kUpdateTemplate, {clinic_id, id, name, body});
  VL_RETURN_IF_ERROR(NameTaken(r.status(), "template"));
  if (r->rows() == 0) return absl::NotFoundError("template not found");
  return TemplateRow(*r, 0);
}

absl::Status ConversationsRepository::DeleteTemplate(const std::string& clinic_id,
                                                     const std::string& id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kDeleteTemplate, {clinic_id, id}));
  if (r.affected() == 0) return absl::NotFoundError("template not found");
  return absl::OkStatus();
}

}  // namespace vetline::conversations
