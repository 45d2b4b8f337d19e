#include "services/booking/request_forms_repository.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/time.h"
#include "nlohmann/json.hpp"

namespace vetline::booking {
namespace {

using nlohmann::json;

// --- appointments view
// Column edits of one clinic take turns (positions are computed from the others).
constexpr pg::Statement kLockColumns{
    "booking_view_lock_columns",
    "SELECT pg_advisory_xact_lock(hashtext('booking.view_columns'), hashtext($1::text))"};
#define VL_COLUMN_COLUMNS                                                                   \
  "id, name, position, array_to_json(appointment_type_ids)::text AS type_ids, "             \
  "array_to_json(provider_ids)::text AS provider_ids, array_to_json(room_ids)::text AS room_ids"
constexpr pg::Statement kListColumns{
    "booking_view_list_columns",
    "SELECT " VL_COLUMN_COLUMNS " FROM booking.view_columns WHERE clinic_id = $1 ORDER BY position, id"};
constexpr pg::Statement kCountColumns{
    "booking_view_count_columns", "SELECT count(*) AS n FROM booking.view_columns WHERE clinic_id = $1"};
constexpr pg::Statement kInsertColumn{
    "booking_view_insert_column",
    "INSERT INTO booking.view_columns (clinic_id, name, position, appointment_type_ids, provider_ids, room_ids) "
    "SELECT $1::uuid, $2::text, coalesce(max(position) + 1, 0), $3::uuid[], $4::uuid[], $5::uuid[] FROM booking.view_columns "
    "WHERE clinic_id = $1 RETURNING " VL_COLUMN_COLUMNS};
constexpr pg::Statement kUpdateColumn{
    "booking_view_update_column",
    "UPDATE booking.view_columns SET name = coalesce($3, name), appointment_type_ids = "
    "coalesce($4::uuid[], appointment_type_ids), provider_ids = coalesce($5::uuid[], provider_ids), "
    "room_ids = coalesce($6::uuid[], room_ids), updated_at = now() WHERE clinic_id = $1 AND id = $2 "
    "RETURNING " VL_COLUMN_COLUMNS};
constexpr pg::Statement kReorderColumns{
    "booking_view_reorder_columns",
    "UPDATE booking.view_columns c SET position = o.ord - 1, updated_at = now() FROM unnest($2::uuid[]) "
    "WITH ORDINALITY AS o(id, ord) WHERE c.clinic_id = $1 AND c.id = o.id"};
constexpr pg::Statement kDeleteColumn{
    "booking_view_delete_column", "DELETE FROM booking.view_columns WHERE clinic_id = $1 AND id = $2"};
// How many of each filter's ids are the clinic's (ids distinct).
constexpr pg::Statement kCountFilterIds{
    "booking_view_count_filter_ids",
    "SELECT (SELECT count(*) FROM booking.appointment_types WHERE clinic_id = $1 AND id = ANY($2::uuid[])) AS types, "
    "(SELECT count(*) FROM booking.providers WHERE clinic_id = $1 AND id = ANY($3::uuid[])) AS providers, "
    "(SELECT count(*) FROM booking.rooms WHERE clinic_id = $1 AND id = ANY($4::uuid[])) AS rooms"};
constexpr pg::Statement kScheduleNames{
    "booking_view_schedule_names",
    "SELECT 't' AS kind, id::text AS id, name FROM booking.appointment_types WHERE clinic_id = $1 UNION ALL "
    "SELECT 'p', id::text, name FROM booking.providers WHERE clinic_id = $1 UNION ALL "
    "SELECT 'r', id::text, name FROM booking.rooms WHERE clinic_id = $1"};

// --- request forms
#define VL_FORM_COLUMNS                                                                         \
  "id, name, description, active, questions::text AS questions, existing_clients_only, "        \
  "visited_within_months, requires_camera_microphone, created_at, updated_at"
constexpr pg::Statement kListForms{
    "booking_forms_list",
    "SELECT " VL_FORM_COLUMNS " FROM booking.request_forms WHERE clinic_id = $1 AND deleted_at IS NULL AND "
    "(NOT $2::boolean OR active) ORDER BY name, id"};
constexpr pg::Statement kGetForm{
    "booking_forms_get",
    "SELECT " VL_FORM_COLUMNS " FROM booking.request_forms WHERE clinic_id = $1 AND id = $2 AND deleted_at IS NULL "
    "AND (NOT $3::boolean OR active)"};
constexpr pg::Statement kLockForm{
    "booking_forms_lock",
    "SELECT " VL_FORM_COLUMNS " FROM booking.request_forms WHERE clinic_id = $1 AND id = $2 AND deleted_at IS NULL "
    "FOR UPDATE"};
// A request takes its form shared: an edit or delete waits, and a deactivated form takes none.
constexpr pg::Statement kShareActiveForm{
    "booking_forms_share_active",
    "SELECT 1 FROM booking.request_forms WHERE clinic_id = $1 AND id = $2 AND deleted_at IS NULL AND active "
    "FOR SHARE"};
constexpr pg::Statement kLockForms{
    "booking_forms_lock_clinic",
    "SELECT pg_advisory_xact_lock(hashtext('booking.request_forms'), hashtext($1::text))"};
constexpr pg::Statement kCountForms{
    "booking_forms_count",
    "SELECT count(*) AS n FROM booking.request_forms WHERE clinic_id = $1 AND deleted_at IS NULL"};
constexpr pg::Statement kInsertForm{
    "booking_forms_insert",
    "INSERT INTO booking.request_forms (clinic_id, name, description, active, questions, existing_clients_only, "
    "visited_within_months, requires_camera_microphone) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8) "
    "RETURNING " VL_FORM_COLUMNS};
constexpr pg::Statement kUpdateForm{
    "booking_forms_update",
    "UPDATE booking.request_forms SET name = $3, description = $4, active = $5, questions = $6::jsonb, "
    "existing_clients_only = $7, visited_within_months = $8, requires_camera_microphone = $9, updated_at = now() "
    "WHERE clinic_id = $1 AND id = $2 RETURNING " VL_FORM_COLUMNS};
constexpr pg::Statement kDeleteForm{
    "booking_forms_delete",
    "UPDATE booking.request_forms SET deleted_at = now(), active = false, updated_at = now() WHERE clinic_id = $1 "
    "AND id = $2 AND deleted_at IS NULL"};
constexpr pg::Statement kFormExists{
    "booking_forms_exists", "SELECT 1 FROM booking.request_forms WHERE clinic_id = $1 AND id = $2"};

// A visit: an appointment the client came to (completed, or checked in and not closed yet).
constexpr pg::Statement kLastVisit{
    "booking_forms_last_visit",
    "SELECT max(lower(during)) AS last FROM booking.appointments WHERE clinic_id = $1 AND client_id = $2 "
    "AND status IN ('completed', 'checked_in') AND lower(during) <= $3"};

#define VL_REQUEST_COLUMNS                                                                         \
  "id, form_id, coalesce(client_id::text, '') AS client_id, coalesce(pet_id::text, '') AS pet_id, " \
  "contact, contact_name, contact_verified, answers::text AS answers, status, created_at"
constexpr pg::Statement kInsertRequest{
    "booking_forms_insert_request",
    "INSERT INTO booking.form_requests (id, clinic_id, form_id, client_id, pet_id, contact, contact_name, "
    "contact_verified, answers) VALUES ($1, $2, $3, $4::uuid, $5::uuid, $6, $7, $8, $9::jsonb) "
    "RETURNING " VL_REQUEST_COLUMNS};
constexpr pg::Statement kListRequests{
    "booking_forms_list_requests",
    "SELECT " VL_REQUEST_COLUMNS " FROM booking.form_requests WHERE clinic_id = $1 AND form_id = $2 AND "
    "($3::text IS NULL OR status = $3) AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, "
    "$5::uuid)) ORDER BY created_at DESC, id DESC LIMIT $6"};
constexpr pg::Statement kSetRequestStatus{
    "booking_forms_set_request_status",
    "UPDATE booking.form_requests SET status = $4, handled_by = CASE WHEN $4 = 'handled' THEN $5 END, "
    "updated_at = now() WHERE clinic_id = $1 AND form_id = $2 AND id = $3 RETURNING " VL_REQUEST_COLUMNS};

std::string UuidArray(const std::vector<std::string>& ids) {  // checked uuids only
  std::string out = "{";
  for (size_t i = 0; i < ids.size(); ++i) absl::StrAppend(&out, i ? "," : "", ids[i]);
  return out + "}";
}
std::optional<std::string> UuidArray(const std::optional<std::vector<std::string>>& ids) {
  return ids ? std::optional<std::string>(UuidArray(*ids)) : std::nullopt;
}

void JsonIdsInto(const std::string& text, google::protobuf::RepeatedPtrField<std::string>* out) {
  for (const auto& id : json::parse(text.empty() ? "[]" : text)) out->Add(id.get<std::string>());
}

v1::AppointmentsColumn ColumnRow(const pg::Result& r, int i) {
  v1::AppointmentsColumn c;
  c.set_id(r.Text(i, "id"));
  c.set_name(r.Text(i, "name"));
  c.set_position(static_cast<int>(r.Int(i, "position")));
  JsonIdsInto(r.Text(i, "type_ids"), c.mutable_appointment_type_ids());
  JsonIdsInto(r.Text(i, "provider_ids"), c.mutable_provider_ids());
  JsonIdsInto(r.Text(i, "room_ids"), c.mutable_room_ids());
  return c;
}

// Every id of each filter is the clinic's, or NotFound naming that filter.
absl::Status FiltersOfClinic(pg::Session& s, const std::string& clinic_id,
                             const std::optional<std::vector<std::string>>& types,
                             const std::optional<std::vector<std::string>>& providers,
                             const std::optional<std::vector<std::string>>& rooms) {
  const std::vector<std::string> none;
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kCountFilterIds, {clinic_id, UuidArray(types.value_or(none)),
                                                             UuidArray(providers.value_or(none)),
                                                             UuidArray(rooms.value_or(none))}));
  struct Check {
    const std::optional<std::vector<std::string>>& ids;
    const char *column, *field, *what;
  };
  for (const Check& c : {Check{types, "types", "appointmentTypeIds", "appointment type"},
                         Check{providers, "providers", "providerIds", "provider"},
                         Check{rooms, "rooms", "roomIds", "room"}}) {
    if (c.ids && r.Int(0, c.column) != static_cast<int64_t>(c.ids->size())) {
      return NotFoundField(c.field, absl::StrCat("a ", c.what, " in ", c.field, " is not in your clinic"));
    }
  }
  return absl::OkStatus();
}

json QuestionsJson(const google::protobuf::RepeatedPtrField<v1::FormQuestion>& qs) {
  json out = json::array();
  for (const v1::FormQuestion& q : qs) {
    out.push_back({{"id", q.id()},
                   {"label", q.label()},
                   {"kind", v1::QuestionKind_Name(q.kind())},
                   {"required", q.required()},
                   {"options", std::vector<std::string>(q.options().begin(), q.options().end())}});
  }
  return out;
}

v1::RequestForm FormRow(const pg::Result& r, int i) {
  v1::RequestForm f;
  f.set_id(r.Text(i, "id"));
  f.set_name(r.Text(i, "name"));
  f.set_description(r.Text(i, "description"));
  f.set_active(r.Bool(i, "active"));
  for (const auto& q : json::parse(r.Text(i, "questions"))) {
    v1::FormQuestion* out = f.add_questions();
    out->set_id(q.at("id").get<std::string>());
    out->set_label(q.at("label").get<std::string>());
    v1::QuestionKind kind = v1::QUESTION_KIND_UNSPECIFIED;
    v1::QuestionKind_Parse(q.at("kind").get<std::string>(), &kind);
    out->set_kind(kind);
    out->set_required(q.at("required").get<bool>());
    for (const auto& o : q.at("options")) out->add_options(o.get<std::string>());
  }
  f.mutable_rules()->set_existing_clients_only(r.Bool(i, "existing_clients_only"));
  f.mutable_rules()->set_visited_within_months(static_cast<int>(r.Int(i, "visited_within_months")));
  f.mutable_rules()->set_requires_camera_and_microphone(r.Bool(i, "requires_camera_microphone"));
  *f.mutable_create_time() = ToTimestamp(r.Time(i, "created_at"));
  *f.mutable_update_time() = ToTimestamp(r.Time(i, "updated_at"));
  return f;
}

pg::Params FormParams(const std::string& clinic_id, const std::optional<std::string>& id, const v1::RequestForm& f) {
  pg::Params p{clinic_id};
  if (id) p.push_back(*id);
  for (pg::Param x : std::initializer_list<pg::Param>{
           f.name(), f.description(), f.active(), QuestionsJson(f.questions()).dump(), f.rules().existing_clients_only(),
           f.rules().visited_within_months(), f.rules().requires_camera_and_microphone()}) {
    p.push_back(std::move(x));
  }
  return p;
}

v1::FormRequest RequestRow(const pg::Result& r, int i) {
  v1::FormRequest q;
  q.set_id(r.Text(i, "id"));
  q.set_form_id(r.Text(i, "form_id"));
  q.set_client_id(r.Text(i, "client_id"));
  q.set_pet_id(r.Text(i, "pet_id"));
  q.set_contact(r.Text(i, "contact"));
  q.set_contact_name(r.Text(i, "contact_name"));
  q.set_contact_verified(r.Bool(i, "contact_verified"));
  for (const auto& a : json::parse(r.Text(i, "answers"))) {
    v1::FormRequestAnswer* out = q.add_answers();
    out->set_question_id(a.at("questionId").get<std::string>());
    out->set_label(a.at("label").get<std::string>());
    out->set_value(a.at("value").get<std::string>());
  }
  q.set_status(r.Text(i, "status") == "handled" ? v1::HANDLED : v1::NEW);
  *q.mutable_create_time() = ToTimestamp(r.Time(i, "created_at"));
  return q;
}

std::optional<std::string> OrNull(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

}  // namespace

absl::StatusOr<std::vector<v1::AppointmentsColumn>> RequestFormsRepository::ListColumns(const std::string& clinic_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kListColumns, {clinic_id}));
  std::vector<v1::AppointmentsColumn> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(ColumnRow(r, i));
    out.back().set_position(i);  // left to right, whatever gaps deletes left
  }
  return out;
}

absl::StatusOr<v1::AppointmentsColumn> RequestFormsRepository::CreateColumn(const std::string& clinic_id,
                                                                            const std::string& name,
                                                                            const ColumnFilters& f) {
  v1::AppointmentsColumn out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(s.Exec(kLockColumns, {clinic_id}).status());
    VL_RETURN_IF_ERROR(FiltersOfClinic(s, clinic_id, f.type_ids, f.provider_ids, f.room_ids));
    VL_ASSIGN_OR_RETURN(pg::Result n, s.Exec(kCountColumns, {clinic_id}));
    if (n.Int(0, "n") >= kMaxViewColumns) {
      return absl::FailedPreconditionError(absl::StrCat("the view has at most ", kMaxViewColumns, " columns"));
    }
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kInsertColumn, {clinic_id, name, UuidArray(f.type_ids),
                                                             UuidArray(f.provider_ids), UuidArray(f.room_ids)}));
    out = ColumnRow(r, 0);
    VL_ASSIGN_OR_RETURN(pg::Result all, s.Exec(kCountColumns, {clinic_id}));
    out.set_position(static_cast<int>(all.Int(0, "n")) - 1);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<v1::AppointmentsColumn> RequestFormsRepository::UpdateColumn(const std::string& clinic_id,
                                                                            const std::string& id,
                                                                            const ColumnChange& c) {
  std::optional<v1::AppointmentsColumn> out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(s.Exec(kLockColumns, {clinic_id}).status());
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kUpdateColumn, {clinic_id, id, c.name, UuidArray(c.type_ids),
                                                             UuidArray(c.provider_ids), UuidArray(c.room_ids)}));
    if (r.rows() == 0) return NotFoundField("id", "no column with this id in your clinic");
    VL_RETURN_IF_ERROR(FiltersOfClinic(s, clinic_id, c.type_ids, c.provider_ids, c.room_ids));  // rolls back
    out = ColumnRow(r, 0);
    return absl::OkStatus();
  }));
  VL_ASSIGN_OR_RETURN(auto all, ListColumns(clinic_id));
  for (const auto& col : all) {
    if (col.id() == id) out->set_position(col.position());
  }
  return *out;
}

absl::StatusOr<std::vector<v1::AppointmentsColumn>> RequestFormsRepository::ReorderColumns(
    const std::string& clinic_id, const std::vector<std::string>& ids) {
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(s.Exec(kLockColumns, {clinic_id}).status());
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kListColumns, {clinic_id}));
    std::set<std::string> have;
    for (int i = 0; i < r.rows(); ++i) have.insert(r.Text(i, "id"));
    for (const std::string& id : ids) {
      if (!have.count(id)) return NotFoundField("columnIds", "a column in columnIds is not in your clinic");
    }
    if (ids.size() != have.size()) return InvalidField("columnIds", "columnIds must list every column once");
    return s.Exec(kReorderColumns, {clinic_id, UuidArray(ids)}).status();
  }));
  return ListColumns(clinic_id);
}

absl::Status RequestFormsRepository::DeleteColumn(const std::string& clinic_id, const std::string& id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kDeleteColumn, {clinic_id, id}));
  if (r.affected() == 0) return NotFoundField("id", "no column with this id in your clinic");
  return absl::OkStatus();
}

absl::StatusOr<ScheduleNames> RequestFormsRepository::Names(const std::string& clinic_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kScheduleNames, {clinic_id}));
  ScheduleNames out;
  for (int i = 0; i < r.rows(); ++i) {
    const std::string kind = r.Text(i, "kind");
    auto& names = kind == "t" ? out.types : kind == "p" ? out.providers : out.rooms;
    names[r.Text(i, "id")] = r.Text(i, "name");
  }
  return out;
}

absl::StatusOr<std::vector<v1::RequestForm>> RequestFormsRepository::ListForms(const std::string& clinic_id,
                                                                               bool active_only) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kListForms, {clinic_id, active_only}));
  std::vector<v1::RequestForm> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(FormRow(r, i));
  return out;
}

absl::StatusOr<v1::RequestForm> RequestFormsRepository::GetForm(const std::string& clinic_id, const std::string& id,
                                                                bool active_only, std::string_view field) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kGetForm, {clinic_id, id, active_only}));
  if (r.rows() == 0) {
    return NotFoundField(field, absl::StrCat("no ", active_only ? "active " : "", "request form with this ",
                                             std::string(field), " in the clinic"));
  }
  return FormRow(r, 0);
}

absl::StatusOr<v1::RequestForm> RequestFormsRepository::CreateForm(const std::string& clinic_id,
                                                                   const v1::RequestForm& form) {
  v1::RequestForm out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(s.Exec(kLockForms, {clinic_id}).status());
    VL_ASSIGN_OR_RETURN(pg::Result n, s.Exec(kCountForms, {clinic_id}));
    if (n.Int(0, "n") >= kMaxRequestForms) {
      return absl::FailedPreconditionError(absl::StrCat("a clinic has at most ", kMaxRequestForms, " request forms"));
    }
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kInsertForm, FormParams(clinic_id, std::nullopt, form)));
    out = FormRow(r, 0);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<v1::RequestForm> RequestFormsRepository::UpdateForm(
    const std::string& clinic_id, const std::string& id, const std::function<absl::Status(v1::RequestForm&)>& change) {
  v1::RequestForm out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kLockForm, {clinic_id, id}));
    if (r.rows() == 0) return NotFoundField("id", "no request form with this id in your clinic");
    v1::RequestForm form = FormRow(r, 0);
    VL_RETURN_IF_ERROR(change(form));
    VL_ASSIGN_OR_RETURN(pg::Result w, s.Exec(kUpdateForm, FormParams(clinic_id, id, form)));
    out = FormRow(w, 0);
    return absl::OkStatus();
  }));
  return out;
}

absl::Status RequestFormsRepository::DeleteForm(const std::string& clinic_id, const std::string& id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kDeleteForm, {clinic_id, id}));
  if (r.affected() == 0) return NotFoundField("id", "no request form with this id in your clinic");
  return absl::OkStatus();
}

absl::StatusOr<std::optional<absl::Time>> RequestFormsRepository::LastVisit(const std::string& clinic_id,
                                                                            const std::string& client_id,
                                                                            absl::Time now) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kLastVisit, {clinic_id, client_id, now}));
  if (r.rows() == 0 || r.IsNull(0, r.column("last"))) return std::optional<absl::Time>();
  return std::optional<absl::Time>(r.Time(0, "last"));
}

absl::StatusOr<v1::FormRequest> RequestFormsRepository::CreateRequest(const std::string& clinic_id,
                                                                      const NewFormRequest& n) {
  const v1::FormRequest& q = n.request;
  json answers = json::array();
  for (const v1::FormRequestAnswer& a : q.answers()) {
    answers.push_back({{"questionId", a.question_id()}, {"label", a.label()}, {"value", a.value()}});
  }
  v1::FormRequest out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(pg::Result form, s.Exec(kShareActiveForm, {clinic_id, q.form_id()}));
    if (form.rows() == 0) return NotFoundField("formId", "no active request form with this formId in the clinic");
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kInsertRequest, {n.id, clinic_id, q.form_id(), OrNull(q.client_id()),
                                                              OrNull(q.pet_id()), q.contact(), q.contact_name(),
                                                              q.contact_verified(), answers.dump()}));
    out = RequestRow(r, 0);
    return events_.Add(s, "conversation.requested", n.event_payload);
  }));
  return out;
}

absl::StatusOr<std::vector<v1::FormRequest>> RequestFormsRepository::ListRequests(
    const std::string& clinic_id, const std::string& form_id, std::optional<std::string> status,
    const std::optional<std::pair<absl::Time, std::string>>& after, int limit) {
  std::vector<v1::FormRequest> out;
  VL_RETURN_IF_ERROR(pool_->WithSession([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(pg::Result f, s.Exec(kFormExists, {clinic_id, form_id}));
    if (f.rows() == 0) return NotFoundField("formId", "no request form with this formId in your clinic");
    pg::Params p{clinic_id, form_id, status, std::nullopt, std::nullopt, limit};
    if (after) {
      p[3] = after->first;
      p[4] = after->second;
    }
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kListRequests, p));
    for (int i = 0; i < r.rows(); ++i) out.push_back(RequestRow(r, i));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<v1::FormRequest> RequestFormsRepository::SetRequestStatus(const std::string& clinic_id,
                                                                         const std::string& form_id,
                                                                         const std::string& id,
                                                                         const std::string& status,
                                                                         const std::string& staff_user_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kSetRequestStatus, {clinic_id, form_id, id, status, staff_user_id}));
  if (r.rows() == 0) return NotFoundField("id", "no request with this id in this form of your clinic");
  return RequestRow(r, 0);
}

}  // namespace vetline::booking
