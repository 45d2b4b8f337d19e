// SQL of the appointments view's columns and of request forms and their requests
// (migration 0003). Every statement takes the clinic id.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/outbox/outbox.h"
#include "libs/pg/pg.h"
#include "vetline/booking/v1/request_forms.pb.h"

namespace vetline::booking {

namespace v1 = ::vetline::booking::v1;

inline constexpr int kMaxViewColumns = 50;
inline constexpr int kMaxRequestForms = 100;

// A column's filters, checked ids (distinct uuids).
struct ColumnFilters {
  std::vector<std::string> type_ids, provider_ids, room_ids;
};
struct ColumnChange {
  std::optional<std::string> name;
  std::optional<std::vector<std::string>> type_ids, provider_ids, room_ids;
};

// Names of the clinic's types, providers and rooms by id (for the view).
struct ScheduleNames {
  std::map<std::string, std::string> types, providers, rooms;
};

// A request ready to store, and the conversation.requested event that goes with it.
struct NewFormRequest {
  std::string id;  // chosen before the insert: the event carries it as requestId
  v1::FormRequest request;
  std::string event_payload;  // JSON
};

class RequestFormsRepository {
 public:
  // `events`: booking's outbox (the same table and relay as the schedule's events).
  RequestFormsRepository(std::shared_ptr<pg::Pool> pool, const outbox::Outbox& events)
      : pool_(std::move(pool)), events_(events) {}

  // --- appointments view. Ids in filters must be the clinic's (NotFound naming
  // appointmentTypeIds / providerIds / roomIds); at most kMaxViewColumns columns.
  absl::StatusOr<std::vector<v1::AppointmentsColumn>> ListColumns(const std::string& clinic_id);
  absl::StatusOr<v1::AppointmentsColumn> CreateColumn(const std::string& clinic_id, const std::string& name,
                                                      const ColumnFilters& f);
  absl::StatusOr<v1::AppointmentsColumn> UpdateColumn(const std::string& clinic_id, const std::string& id,
                                                      const ColumnChange& c);
  // `ids` must be every column of the clinic once (columnIds errors otherwise).
  absl::StatusOr<std::vector<v1::AppointmentsColumn>> ReorderColumns(const std::string& clinic_id,
                                                                     const std::vector<std::string>& ids);
  absl::Status DeleteColumn(const std::string& clinic_id, const std::string& id);
  absl::StatusOr<ScheduleNames> Names(const std::string& clinic_id);

  // --- request forms (deleted ones are never returned). `active_only`: the widget's view.
  absl::StatusOr<std::vector<v1::RequestForm>> ListForms(const std::string& clinic_id, bool active_only);
  // NotFound naming `field`.
  absl::StatusOr<v1::RequestForm> GetForm(const std::string& clinic_id, const std::string& id, bool active_only,
                                          std::string_view field);
  absl::StatusOr<v1::RequestForm> CreateForm(const std::string& clinic_id, const v1::RequestForm& form);
  // Locks the form, lets `change` edit it (its checks may fail: nothing is written), stores it.
  absl::StatusOr<v1::RequestForm> UpdateForm(const std::string& clinic_id, const std::string& id,
                                             const std::function<absl::Status(v1::RequestForm&)>& change);
  absl::Status DeleteForm(const std::string& clinic_id, const std::string& id);

  // The start of the client's latest completed (or checked-in) appointment at or before
  // `now`; nullopt when there is none.
  absl::StatusOr<std::optional<absl::Time>> LastVisit(const std::string& clinic_id, const std::string& client_id,
                                                      absl::Time now);
  // The request and its event in one transaction. NotFound on formId when the form was
  // deleted or deactivated meanwhile.
  absl::StatusOr<v1::FormRequest> CreateRequest(const std::string& clinic_id, const NewFormRequest& r);
  // Newest first after the (create time, id) cursor; NotFound on formId.
  absl::StatusOr<std::vector<v1::FormRequest>> ListRequests(
      const std::string& clinic_id, const std::string& form_id, std::optional<std::string> status,
      const std::optional<std::pair<absl::Time, std::string>>& after, int limit);
  absl::StatusOr<v1::FormRequest> SetRequestStatus(const std::string& clinic_id, const std::string& form_id,
                                                   const std::string& id, const std::string& status,
                                                   const std::string& staff_user_id);

 private:
  std::shared_ptr<pg::Pool> pool_;
  const outbox::Outbox& events_;
};

}  // namespace vetline::booking
