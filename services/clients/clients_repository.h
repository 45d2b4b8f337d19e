// All SQL of the clients service. Every statement takes the clinic id.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/outbox/outbox.h"
#include "libs/pg/pg.h"
#include "services/clients/search_query.h"
#include "vetline/clients/v1/clients.pb.h"
#include "vetline/clients/v1/sync.pb.h"

namespace vetline::clients {

namespace v1 = ::vetline::clients::v1;

// "mobile", "home", "work" or "other": how phone types are stored.
std::string PhoneTypeText(v1::PhoneType t);

struct NewPhone {
  std::string number, type;
  bool texting_capable = false, primary = false;
};

struct SyncCounts {
  v1::EntityCounts clients, pets;
  std::vector<v1::RecordError> errors;
};

class ClientsRepository {
 public:
  explicit ClientsRepository(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}

  // Full profiles (phones, emails, pets) of `ids`, in the order given; NotFound if any
  // id is not a client of the clinic.
  // In the order asked. A miss is NotFound, naming `field`[i] when a field is given.
  absl::StatusOr<std::vector<v1::Client>> Load(const std::string& clinic_id,
                                               const std::vector<std::string>& ids,
                                               absl::string_view field = "");
  absl::StatusOr<v1::Client> Get(const std::string& clinic_id, const std::string& id);
  absl::StatusOr<std::vector<v1::Client>> Search(const std::string& clinic_id,
                                                 const SearchQuery& q, int limit);

  absl::StatusOr<v1::Client> Create(const std::string& clinic_id, const std::string& first,
                                    const std::string& last, const std::vector<NewPhone>& phones,
                                    const std::vector<std::pair<std::string, bool>>& emails,
                                    const std::string& staff_user_id);
  absl::Status Update(const std::string& clinic_id, const std::string& id,
                      const std::optional<std::string>& first,
                      const std::optional<std::string>& last, std::optional<bool> nps);
  absl::Status AddPhone(const std::string& clinic_id, const std::string& client_id,
                        const NewPhone& phone, const std::string& staff_user_id);
  absl::Status UpdatePhone(const std::string& clinic_id, const std::string& client_id,
                           const std::string& phone_id, const std::optional<std::string>& type,
                           bool texting_capable);
  // Clears the old primary and sets this one in one transaction.
  absl::Status SetPrimaryPhone(const std::string& clinic_id, const std::string& client_id,
                               const std::string& phone_id, const std::string& staff_user_id);
  absl::Status RemovePhone(const std::string& clinic_id, const std::string& client_id,
                           const std::string& phone_id);
  absl::Status AddEmail(const std::string& clinic_id, const std::string& client_id,
                        const std::string& address, bool primary);
  absl::StatusOr<v1::Pet> AddPet(const std::string& clinic_id, const std::string& client_id,
                                 const v1::Pet& pet);
  absl::Status SetContactOptions(const std::string& clinic_id, const std::string& client_id,
                                 bool email, bool text);
  // Moves everything of `other` to `survivor` and records the merge and its event.
  absl::Status Merge(const std::string& clinic_id, const std::string& survivor,
                     const std::string& other, const std::string& staff_user_id);

  // PIMS sync: one batch in one transaction; records must already be checked.
  absl::StatusOr<SyncCounts> UpsertBatch(const std::string& clinic_id,
                                         const std::vector<v1::SyncClient>& clients,
                                         const std::vector<v1::SyncPet>& pets);
  // Vetline ids of the clinic's clients and pets with these PIMS ids (unknown ones are
  // left out), in one round trip.
  absl::StatusOr<v1::ResolvePimsIdsResponse> ResolvePimsIds(
      const std::string& clinic_id, const std::vector<std::string>& client_pims_ids,
      const std::vector<std::string>& patient_pims_ids);

  // Write-back: the PIMS ids a client and/or one of its pets got (empty: left as is), in
  // one transaction. NotFound for an unknown client or pet; FailedPrecondition when the
  // record has another PIMS id, or another record of the clinic has this one.
  absl::Status RecordPimsIds(const std::string& clinic_id, const std::string& client_id,
                             const std::string& client_pims_id, const std::string& pet_id,
                             const std::string& pet_pims_id);

  // Events written with the changes they describe ("client.merged").
  const outbox::Outbox& events() const { return outbox_; }

 private:
  std::shared_ptr<pg::Pool> pool_;
  outbox::Outbox outbox_{"clients"};
};

}  // namespace vetline::clients
