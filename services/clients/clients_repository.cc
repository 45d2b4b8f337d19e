#include "services/clients/clients_repository.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/time.h"
#include "libs/core/status.h"
#include "nlohmann/json.hpp"
#include "services/clients/merge_rules.h"
#include "services/clients/sync_records.h"

namespace vetline::clients {
namespace {

constexpr pg::Statement kLoadClients{
    "clients_load",
    "SELECT id, clinic_id, first_name, last_name, coalesce(pims_id, '') AS pims_id, email_enabled, "
    "text_enabled, push_status, nps_survey_enabled, "
    "coalesce(to_char(last_visit_date, 'YYYY-MM-DD'), '') AS last_visit, portal_status, "
    "pims_active, pims_deleted, coalesce(merged_into::text, '') AS merged_into, created_at, "
    "updated_at FROM clients.clients WHERE clinic_id = $1 AND id = ANY($2::uuid[])"};
constexpr pg::Statement kLoadPhones{
    "clients_load_phones",
    "SELECT id, client_id, number, type, texting_capable, is_primary, "
    "coalesce(primary_set_by, '') AS primary_set_by FROM clients.phones "
    "WHERE clinic_id = $1 AND client_id = ANY($2::uuid[]) ORDER BY is_primary DESC, created_at, id"};
constexpr pg::Statement kLoadEmails{
    "clients_load_emails",
    "SELECT id, client_id, address, is_primary FROM clients.emails "
    "WHERE clinic_id = $1 AND client_id = ANY($2::uuid[]) ORDER BY is_primary DESC, created_at, id"};
#define PET_COLUMNS                                                                       \
  "id, client_id, name, species, breed, sex, "                                            \
  "coalesce(to_char(birth_date, 'YYYY-MM-DD'), '') AS birth_date, coalesce(pims_id, '') " \
  "AS pims_id, deceased, active "
constexpr pg::Statement kLoadPets{
    "clients_load_pets",
    "SELECT " PET_COLUMNS "FROM clients.pets WHERE clinic_id = $1 AND client_id = ANY($2::uuid[]) "
    "ORDER BY name, id"};

// Ranked candidates from every kind of match: exact PIMS ids, emails and phones first,
// then the nearest names of clients and pets by trigram word distance (`<<->`). Each
// name branch is a cascade read in order and cut at the page size: exact words (from
// btree indexes), then word prefixes, and only if those leave room the remaining
// trigram matches ranked by distance (GIN). An exact word has distance 0 and a prefix
// the next best, so the page is the same as ranking every match, but a common name
// costs one index page instead of thousands of rows. A prefix is the index range
// [$2, $8) ($8 = $2 + the last code point), so the one generic plan serves every query
// (see Search).
#define NAME_BRANCH_EXACT_OR_PREFIX(table, id, col)                                          \
  "(SELECT " id ", search_name FROM clients." table " WHERE $7 AND clinic_id = $1 AND " col \
  " = $2 LIMIT $6) UNION ALL (SELECT " id ", search_name FROM clients." table                \
  " WHERE $7 AND clinic_id = $1 AND " col " ~>=~ $2 AND " col " ~<~ $8 AND " col            \
  " <> $2 AND $2 <% search_name LIMIT $6)"
// The clinic's distinct names nearest to the query that no earlier branch found (not
// starting with it), nearest first: the list is short where names repeat, and its rows
// are then read by name from the btree, so the cascade stops after a page.
#define NEAREST_NAMES(list)                                                                 \
  "(SELECT search_name FROM clients." list " WHERE $7 AND clinic_id = $1 AND $2 <% search_name" \
  " AND NOT starts_with(search_name, $2) ORDER BY $2 <<-> search_name LIMIT $6) v"
constexpr pg::Statement kSearch{
    "clients_search",
    "SELECT c.id FROM ("
    "  (SELECT id, 100.0 AS score FROM clients.clients WHERE clinic_id = $1 AND pims_id = $3 LIMIT $6)"
    "  UNION ALL (SELECT client_id, 95.0 FROM clients.pets WHERE clinic_id = $1 AND pims_id = $3"
    "    LIMIT $6)"
    "  UNION ALL (SELECT client_id, 97.0 FROM clients.emails"
    "    WHERE $5 <> '' AND clinic_id = $1 AND address = $5 LIMIT $6)"
    "  UNION ALL (SELECT client_id,"
    "    CASE WHEN digits = $4 OR digits LIKE '_' || $4 THEN 96.0 ELSE 85.0 END"
    "    FROM clients.phones WHERE length($4) >= 3 AND clinic_id = $1"
    "    AND digits LIKE '%' || $4 || '%' LIMIT $6 * 4)"
    "  UNION ALL (SELECT id, 90.0 - 40.0 * ($2 <<-> search_name) FROM ("
    "    " NAME_BRANCH_EXACT_OR_PREFIX("clients", "id", "search_name")
    "    UNION ALL " NAME_BRANCH_EXACT_OR_PREFIX("clients", "id", "lower(last_name)")
    "    UNION ALL " NAME_BRANCH_EXACT_OR_PREFIX("clients", "id", "lower(first_name)")
    "    UNION ALL (SELECT c.id, c.search_name FROM " NEAREST_NAMES("client_names")
    "      CROSS JOIN LATERAL (SELECT id, search_name FROM clients.clients WHERE clinic_id = $1"
    "      AND search_name = v.search_name AND NOT (starts_with(lower(last_name), $2)"
    "      OR starts_with(lower(first_name), $2)) LIMIT $6) c)"
    "  ) n LIMIT $6)"
    "  UNION ALL (SELECT client_id, 80.0 - 40.0 * ($2 <<-> search_name) FROM ("
    "    " NAME_BRANCH_EXACT_OR_PREFIX("pets", "client_id", "search_name")
    "    UNION ALL (SELECT p.client_id, p.search_name FROM " NEAREST_NAMES("pet_names")
    "      CROSS JOIN LATERAL (SELECT client_id, search_name FROM clients.pets"
    "      WHERE clinic_id = $1 AND search_name = v.search_name LIMIT $6) p)"
    "  ) n LIMIT $6)"
    ") s JOIN clients.clients c ON c.id = s.id AND c.merged_into IS NULL "
    "GROUP BY c.id, c.last_name, c.first_name "
    "ORDER BY max(s.score) DESC, c.last_name, c.first_name, c.id LIMIT $6"};
#undef NAME_BRANCH_EXACT_OR_PREFIX
#undef NEAREST_NAMES
// One or two letters: a prefix of the last name (the range [$2, $5) as above).
constexpr pg::Statement kSearchShort{
    "clients_search_short",
    "SELECT id FROM clients.clients WHERE clinic_id = $1 AND merged_into IS NULL AND "
    "((lower(last_name) ~>=~ $2 AND lower(last_name) ~<~ $5) OR pims_id = $3) "
    "ORDER BY last_name, first_name, id LIMIT $4"};
// Planning the search's many branches costs more than running them (2-7 ms against
// under 2 ms, measured); their one generic plan is good for every query, but the
// plan cache keeps choosing custom plans from its cost estimates, so it is forced.
constexpr char kGenericPlans[] = "SET plan_cache_mode = force_generic_plan";
constexpr char kDefaultPlans[] = "RESET plan_cache_mode";

constexpr pg::Statement kInsertClient{
    "clients_insert",
    "INSERT INTO clients.clients (clinic_id, first_name, last_name) VALUES ($1, $2, $3) RETURNING id"};
constexpr pg::Statement kLockClient{
    "clients_lock",
    "SELECT id, first_name || ' ' || last_name AS name, coalesce(pims_id, '') AS pims_id, "
    "coalesce(merged_into::text, '') AS merged_into, last_visit_date "
    "FROM clients.clients WHERE clinic_id = $1 AND id = $2 FOR UPDATE"};
constexpr pg::Statement kUpdateClient{
    "clients_update",
    "UPDATE clients.clients SET first_name = coalesce($3, first_name), last_name = coalesce($4, "
    "last_name), nps_survey_enabled = coalesce($5::boolean, nps_survey_enabled), updated_at = now() "
    "WHERE clinic_id = $1 AND id = $2 AND merged_into IS NULL RETURNING id"};
constexpr pg::Statement kInsertPhone{
    "clients_insert_phone",
    "INSERT INTO clients.phones (clinic_id, client_id, number, type, texting_capable, is_primary, "
    "primary_set_by, source) VALUES ($1, $2, $3, $4, $5, $6, $7, 'vetline')"};
constexpr pg::Statement kClearPrimaryPhone{
    "clients_clear_primary_phone",
    "UPDATE clients.phones SET is_primary = false, primary_set_by = NULL "
    "WHERE clinic_id = $1 AND client_id = $2 AND is_primary"};
constexpr pg::Statement kSetPrimaryPhone{
    "clients_set_primary_phone",
    "UPDATE clients.phones SET is_primary = true, primary_set_by = $4 "
    "WHERE clinic_id = $1 AND client_id = $2 AND id = $3 RETURNING id"};
constexpr pg::Statement kUpdatePhone{
    "clients_update_phone",
    "UPDATE clients.phones SET type = coalesce($4, type), texting_capable = $5, "
    "carrier_not_texting_at = CASE WHEN $5 THEN NULL ELSE carrier_not_texting_at END "
    "WHERE clinic_id = $1 AND client_id = $2 AND id = $3 RETURNING id"};
constexpr pg::Statement kDeletePhone{
    "clients_delete_phone",
    "DELETE FROM clients.phones WHERE clinic_id = $1 AND client_id = $2 AND id = $3 "
    "RETURNING is_primary"};
// After the primary number is removed, the oldest remaining number takes its place.
constexpr pg::Statement kPromoteOldestPhone{
    "clients_promote_oldest_phone",
    "UPDATE clients.phones SET is_primary = true, primary_set_by = $3 WHERE id = ("
    "SELECT id FROM clients.phones WHERE clinic_id = $1 AND client_id = $2 "
    "ORDER BY texting_capable DESC, created_at, id LIMIT 1) AND NOT EXISTS ("
    "SELECT 1 FROM clients.phones WHERE client_id = $2 AND is_primary)"};
constexpr pg::Statement kClearPrimaryEmail{
    "clients_clear_primary_email",
    "UPDATE clients.emails SET is_primary = false WHERE clinic_id = $1 AND client_id = $2 AND is_primary"};
constexpr pg::Statement kInsertEmail{
    "clients_insert_email",
    "INSERT INTO clients.emails (clinic_id, client_id, address, is_primary, source) "
    "VALUES ($1, $2, $3, $4 OR NOT EXISTS (SELECT 1 FROM clients.emails WHERE client_id = $2 "
    "AND is_primary), 'vetline')"};
constexpr pg::Statement kInsertPet{
    "clients_insert_pet",
    "INSERT INTO clients.pets (clinic_id, client_id, name, species, breed, sex, birth_date) "
    "VALUES ($1, $2, $3, $4, $5, $6, nullif($7, '')::date) RETURNING " PET_COLUMNS};
constexpr pg::Statement kSetContact{
    "clients_set_contact",
    "UPDATE clients.clients SET email_enabled = $3, text_enabled = $4, updated_at = now() "
    "WHERE clinic_id = $1 AND id = $2 AND merged_into IS NULL RETURNING id"};

// Merge, in one transaction after both rows are locked.
constexpr pg::Statement kMergeMovePets{
    "clients_merge_pets", "UPDATE clients.pets SET client_id = $3, updated_at = now() "
                          "WHERE clinic_id = $1 AND client_id = $2"};
constexpr pg::Statement kMergeDropDuplicatePhones{
    "clients_merge_dup_phones",
    "DELETE FROM clients.phones o WHERE o.clinic_id = $1 AND o.client_id = $2 AND EXISTS ("
    "SELECT 1 FROM clients.phones s WHERE s.client_id = $3 AND s.number = o.number)"};
constexpr pg::Statement kMergeDemotePhones{
    "clients_merge_demote_phones",
    "UPDATE clients.phones SET is_primary = false, primary_set_by = NULL WHERE clinic_id = $1 AND "
    "client_id = $2 AND EXISTS (SELECT 1 FROM clients.phones WHERE client_id = $3 AND is_primary)"};
constexpr pg::Statement kMergeMovePhones{
    "clients_merge_phones",
    "UPDATE clients.phones SET client_id = $3 WHERE clinic_id = $1 AND client_id = $2"};
constexpr pg::Statement kMergeDropDuplicateEmails{
    "clients_merge_dup_emails",
    "DELETE FROM clients.emails o WHERE o.clinic_id = $1 AND o.client_id = $2 AND EXISTS ("
    "SELECT 1 FROM clients.emails s WHERE s.client_id = $3 AND s.address = o.address)"};
constexpr pg::Statement kMergeDemoteEmails{
    "clients_merge_demote_emails",
    "UPDATE clients.emails SET is_primary = false WHERE clinic_id = $1 AND client_id = $2 AND "
    "EXISTS (SELECT 1 FROM clients.emails WHERE client_id = $3 AND is_primary)"};
constexpr pg::Statement kMergeMoveEmails{
    "clients_merge_emails",
    "UPDATE clients.emails SET client_id = $3 WHERE clinic_id = $1 AND client_id = $2"};
// The survivor inherits the PIMS link and the latest visit; the other becomes history.
constexpr pg::Statement kMergeMarkOther{
    "clients_merge_mark",
    "UPDATE clients.clients SET merged_into = $3, pims_id = NULL, pims_hash = NULL, "
    "updated_at = now() WHERE clinic_id = $1 AND id = $2 "
    "RETURNING $4::text AS pims_id, last_visit_date"};
constexpr pg::Statement kMergeUpdateSurvivor{
    "clients_merge_survivor",
    "UPDATE clients.clients SET pims_id = coalesce(pims_id, nullif($3, '')), "
    "last_visit_date = greatest(last_visit_date, $4::date), updated_at = now() "
    "WHERE clinic_id = $1 AND id = $2"};

// --- PIMS sync: staged with COPY, applied set-based, skipped when the digest is equal.
constexpr char kSyncTables[] =
    "SET LOCAL client_min_messages = warning;"
    "CREATE TEMP TABLE IF NOT EXISTS sync_clients (pims_id text, first_name text, last_name text,"
    " last_visit date, active boolean, deleted boolean, hash text) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS sync_phones (client_pims_id text, number text, type text,"
    " texting boolean, is_primary boolean) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS sync_emails (client_pims_id text, address text,"
    " is_primary boolean) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS sync_pets (pims_id text, client_pims_id text, name text,"
    " species text, breed text, sex text, birth_date date, active boolean, deceased boolean,"
    " deleted boolean, hash text) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS sync_changed (id uuid, pims_id text, inserted boolean)"
    " ON COMMIT DELETE ROWS;";
constexpr pg::CopyTarget kStageClients{
    "sync_clients", "pims_id, first_name, last_name, last_visit, active, deleted, hash"};
constexpr pg::CopyTarget kStagePhones{"sync_phones",
                                      "client_pims_id, number, type, texting, is_primary"};
constexpr pg::CopyTarget kStageEmails{"sync_emails", "client_pims_id, address, is_primary"};
constexpr pg::CopyTarget kStagePets{
    "sync_pets",
    "pims_id, client_pims_id, name, species, breed, sex, birth_date, active, deceased, deleted, "
    "hash"};
constexpr pg::Statement kSyncUpsertClients{
    "clients_sync_upsert",
    "WITH up AS (INSERT INTO clients.clients AS c (clinic_id, pims_id, pims_hash, first_name, "
    "last_name, last_visit_date, pims_active, pims_deleted) "
    "SELECT $1::uuid, pims_id, hash, first_name, last_name, last_visit, active, deleted "
    "FROM sync_clients ON CONFLICT (clinic_id, pims_id) DO UPDATE SET pims_hash = "
    "EXCLUDED.pims_hash, first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, "
    "last_visit_date = EXCLUDED.last_visit_date, pims_active = EXCLUDED.pims_active, "
    "pims_deleted = EXCLUDED.pims_deleted, updated_at = now() "
    "WHERE c.pims_hash IS DISTINCT FROM EXCLUDED.pims_hash "
    "RETURNING c.id, c.pims_id, (c.xmax = 0) AS inserted) "
    "INSERT INTO sync_changed SELECT id, pims_id, inserted FROM up"};
constexpr pg::Statement kSyncChangedCounts{
    "clients_sync_changed_counts",
    "SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) "
    "AS updated FROM sync_changed"};
// PIMS numbers that left the PIMS record go; numbers added in Vetline stay.
constexpr pg::Statement kSyncDropPhones{
    "clients_sync_drop_phones",
    "DELETE FROM clients.phones p USING sync_changed ch WHERE p.client_id = ch.id AND "
    "p.source = 'pims' AND NOT EXISTS (SELECT 1 FROM sync_phones sp WHERE sp.client_pims_id = "
    "ch.pims_id AND sp.number = p.number)"};
// A new client's numbers arrive with their primary flag set (one write per row); for
// existing clients the primary is settled by the two statements below. A number the
// carrier said cannot take texts stays not texting-capable whatever the PIMS says.
constexpr pg::Statement kSyncUpsertPhones{
    "clients_sync_upsert_phones",
    "INSERT INTO clients.phones (clinic_id, client_id, number, type, texting_capable, is_primary, "
    "primary_set_by, source) SELECT $1::uuid, ch.id, sp.number, sp.type, sp.texting, "
    "sp.is_primary AND ch.inserted, CASE WHEN sp.is_primary AND ch.inserted THEN 'pims' END, 'pims' "
    "FROM sync_phones sp JOIN sync_changed ch ON ch.pims_id = sp.client_pims_id "
    "ON CONFLICT (client_id, number) DO UPDATE SET type = EXCLUDED.type, texting_capable = "
    "EXCLUDED.texting_capable AND clients.phones.carrier_not_texting_at IS NULL"};
// A primary chosen by staff (primary_set_by = a user id) is never undone by a sync.
constexpr pg::Statement kSyncClearPimsPrimary{
    "clients_sync_clear_pims_primary",
    "UPDATE clients.phones p SET is_primary = false, primary_set_by = NULL FROM sync_changed ch "
    "WHERE p.client_id = ch.id AND p.is_primary AND coalesce(p.primary_set_by, 'pims') = 'pims'"};
constexpr pg::Statement kSyncSetPimsPrimary{
    "clients_sync_set_pims_primary",
    "UPDATE clients.phones p SET is_primary = true, primary_set_by = 'pims' FROM sync_phones sp "
    "JOIN sync_changed ch ON ch.pims_id = sp.client_pims_id WHERE sp.is_primary AND "
    "p.client_id = ch.id AND p.number = sp.number AND NOT EXISTS (SELECT 1 FROM clients.phones q "
    "WHERE q.client_id = ch.id AND q.is_primary)"};
constexpr pg::Statement kSyncDropEmails{
    "clients_sync_drop_emails",
    "DELETE FROM clients.emails e USING sync_changed ch WHERE e.client_id = ch.id AND "
    "e.source = 'pims' AND NOT EXISTS (SELECT 1 FROM sync_emails se WHERE se.client_pims_id = "
    "ch.pims_id AND se.address = e.address)"};
// A new client has no primary yet (and at most one record marked primary): the
// lookup is only needed for existing clients.
constexpr pg::Statement kSyncUpsertEmails{
    "clients_sync_upsert_emails",
    "INSERT INTO clients.emails (clinic_id, client_id, address, is_primary, source) "
    "SELECT $1::uuid, ch.id, se.address, se.is_primary AND (ch.inserted OR NOT EXISTS (SELECT 1 "
    "FROM clients.emails q WHERE q.client_id = ch.id AND q.is_primary)), 'pims' FROM sync_emails se "
    "JOIN sync_changed ch ON ch.pims_id = se.client_pims_id ON CONFLICT (client_id, address) "
    "DO NOTHING"};
constexpr pg::Statement kSyncOrphanPets{
    "clients_sync_orphan_pets",
    "SELECT s.pims_id, s.client_pims_id FROM sync_pets s WHERE NOT EXISTS (SELECT 1 FROM "
    "clients.clients c WHERE c.clinic_id = $1 AND c.pims_id = s.client_pims_id)"};
constexpr pg::Statement kSyncUpsertPets{
    "clients_sync_upsert_pets",
    "WITH up AS (INSERT INTO clients.pets AS p (clinic_id, client_id, pims_id, pims_hash, name, "
    "species, breed, sex, birth_date, active, deceased, pims_deleted) "
    "SELECT $1::uuid, c.id, s.pims_id, s.hash, s.name, s.species, s.breed, s.sex, s.birth_date, "
    "s.active, s.deceased, s.deleted FROM sync_pets s JOIN clients.clients c ON c.clinic_id = $1 "
    "AND c.pims_id = s.client_pims_id ON CONFLICT (clinic_id, pims_id) DO UPDATE SET "
    "client_id = EXCLUDED.client_id, pims_hash = EXCLUDED.pims_hash, name = EXCLUDED.name, "
    "species = EXCLUDED.species, breed = EXCLUDED.breed, sex = EXCLUDED.sex, birth_date = "
    "EXCLUDED.birth_date, active = EXCLUDED.active, deceased = EXCLUDED.deceased, pims_deleted = "
    "EXCLUDED.pims_deleted, updated_at = now() WHERE p.pims_hash IS DISTINCT FROM "
    "EXCLUDED.pims_hash RETURNING (p.xmax = 0) AS inserted) "
    "SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) "
    "AS updated FROM up"};

// The ids travel as one JSON array each, which needs no array-literal quoting.
constexpr pg::Statement kResolveClients{
    "clients_resolve_pims_clients",
    "SELECT pims_id, id FROM clients.clients WHERE clinic_id = $1 AND merged_into IS NULL AND "
    "pims_id IN (SELECT jsonb_array_elements_text($2::jsonb))"};
constexpr pg::Statement kResolvePets{
    "clients_resolve_pims_pets",
    "SELECT pims_id, id, client_id FROM clients.pets WHERE clinic_id = $1 AND "
    "pims_id IN (SELECT jsonb_array_elements_text($2::jsonb))"};

std::string UuidArray(const std::vector<std::string>& ids) {
  return absl::StrCat("{", absl::StrJoin(ids, ","), "}");
}

// --- Write-back (services/pims_sync): the PIMS ids of records made in Vetline.
constexpr pg::Statement kRecordClientPimsId{
    "clients_record_client_pims_id",
    "UPDATE clients.clients SET pims_id = $3, updated_at = now() WHERE clinic_id = $1 AND id = $2 "
    "AND (pims_id IS NULL OR pims_id = $3) RETURNING id"};
constexpr pg::Statement kRecordPetPimsId{
    "clients_record_pet_pims_id",
    "UPDATE clients.pets SET pims_id = $4, updated_at = now() WHERE clinic_id = $1 AND client_id = $2 "
    "AND id = $3 AND (pims_id IS NULL OR pims_id = $4) RETURNING id"};

v1::PhoneType PhoneTypeOf(const std::string& s) {
  if (s == "mobile") return v1::MOBILE;
  if (s == "home") return v1::HOME;
  if (s == "work") return v1::WORK;
  return v1::OTHER;
}

v1::Pet PetRow(const pg::Result& r, int i) {
  v1::Pet p;
  p.set_id(r.Text(i, "id"));
  p.set_client_id(r.Text(i, "client_id"));
  p.set_name(r.Text(i, "name"));
  p.set_species(r.Text(i, "species"));
  p.set_breed(r.Text(i, "breed"));
  p.set_sex(r.Text(i, "sex"));
  p.set_birth_date(r.Text(i, "birth_date"));
  p.set_pims_id(r.Text(i, "pims_id"));
  p.set_deceased(r.Bool(i, "deceased"));
  p.set_active(r.Bool(i, "active"));
  return p;
}

}  // namespace

std::string PhoneTypeText(v1::PhoneType t) {
  switch (t) {
    case v1::MOBILE: return "mobile";
    case v1::HOME: return "home";
    case v1::WORK: return "work";
    default: return "other";
  }
}

absl::StatusOr<std::vector<v1::Client>> ClientsRepository::Load(const std::string& clinic_id,
                                                                const std::vector<std::string>& ids,
                                                                absl::string_view field) {
  if (ids.empty()) return std::vector<v1::Client>{};
  std::string arr = UuidArray(ids);
  std::map<std::string, v1::Client> by_id;
  VL_RETURN_IF_ERROR(pool_->WithSession([&](pg::Session& s) -> absl::Status {
    // The four reads in one round trip.
    VL_ASSIGN_OR_RETURN(std::vector<pg::Result> all,
                        s.ExecBatch({{kLoadClients, {clinic_id, arr}},
                                     {kLoadPhones, {clinic_id, arr}},
                                     {kLoadEmails, {clinic_id, arr}},
                                     {kLoadPets, {clinic_id, arr}}}));
    const pg::Result &c = all[0], &ph = all[1], &em = all[2], &pets = all[3];
    for (int i = 0; i < c.rows(); ++i) {
      v1::Client& x = by_id[c.Text(i, "id")];
      x.set_id(c.Text(i, "id"));
      x.set_clinic_id(c.Text(i, "clinic_id"));
      x.set_first_name(c.Text(i, "first_name"));
      x.set_last_name(c.Text(i, "last_name"));
      x.set_pims_id(c.Text(i, "pims_id"));
      x.mutable_contact_options()->set_email_enabled(c.Bool(i, "email_enabled"));
      x.mutable_contact_options()->set_text_enabled(c.Bool(i, "text_enabled"));
      std::string push = c.Text(i, "push_status");
      x.mutable_contact_options()->set_push_status(push == "enabled"    ? v1::PUSH_ENABLED
                                                   : push == "disabled" ? v1::PUSH_DISABLED
                                                                        : v1::PUSH_NOT_INSTALLED);
      x.set_nps_survey_enabled(c.Bool(i, "nps_survey_enabled"));
      x.set_last_visit_date(c.Text(i, "last_visit"));
      std::string portal = c.Text(i, "portal_status");
      x.set_portal_status(portal == "active"    ? v1::ACTIVE
                          : portal == "invited" ? v1::INVITED
                                                : v1::NO_ACCOUNT);
      x.set_pims_active(c.Bool(i, "pims_active"));
      x.set_pims_deleted(c.Bool(i, "pims_deleted"));
      x.set_merged_into_id(c.Text(i, "merged_into"));
      *x.mutable_create_time() = ToTimestamp(c.Time(i, "created_at"));
      *x.mutable_update_time() = ToTimestamp(c.Time(i, "updated_at"));
    }
    for (int i = 0; i < ph.rows(); ++i) {
      v1::Phone* p = by_id[ph.Text(i, "client_id")].add_phones();
      p->set_id(ph.Text(i, "id"));
      p->set_number(ph.Text(i, "number"));
      p->set_type(PhoneTypeOf(ph.Text(i, "type")));
      p->set_texting_capable(ph.Bool(i, "texting_capable"));
      p->set_primary(ph.Bool(i, "is_primary"));
      p->set_primary_set_by(ph.Text(i, "primary_set_by"));
    }
    for (int i = 0; i < em.rows(); ++i) {
      v1::Email* e = by_id[em.Text(i, "client_id")].add_emails();
      e->set_id(em.Text(i, "id"));
      e->set_address(em.Text(i, "address"));
      e->set_primary(em.Bool(i, "is_primary"));
    }
    for (int i = 0; i < pets.rows(); ++i) *by_id[pets.Text(i, "client_id")].add_pets() = PetRow(pets, i);
    return absl::OkStatus();
  }));
  std::vector<v1::Client> out;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto it = by_id.find(ids[i]);
    if (it == by_id.end() || it->second.id().empty()) {
      if (field.empty()) return absl::NotFoundError("client not found");
      return NotFoundField(absl::StrCat(field, "[", i, "]"), "no client with this id in this clinic");
    }
    out.push_back(it->second);  // a copy: an id may be asked for twice
  }
  return out;
}

absl::StatusOr<v1::Client> ClientsRepository::Get(const std::string& clinic_id,
                                                  const std::string& id) {
  VL_ASSIGN_OR_RETURN(auto v, Load(clinic_id, {id}));
  return std::move(v.front());
}

absl::StatusOr<std::vector<v1::Client>> ClientsRepository::Search(const std::string& clinic_id,
                                                                  const SearchQuery& q, int limit) {
  std::vector<std::string> ids;
  VL_RETURN_IF_ERROR(pool_->WithSession([&](pg::Session& s) -> absl::Status {
    // Every text that starts with q.text sorts before this (byte-wise, as text_pattern_ops).
    std::string prefix_end = q.text + "\xF4\x8F\xBF\xBF";  // U+10FFFF
    pg::Query search = q.text.size() < 3
                           ? pg::Query(kSearchShort, {clinic_id, q.text, q.raw, limit, prefix_end})
                           : pg::Query(kSearch, {clinic_id, q.text, q.raw, q.digits, q.email, limit, q.names,
                                                 prefix_end});
    // One round trip; the reset runs even when the search fails, since the connection
    // goes back to the pool.
    VL_ASSIGN_OR_RETURN(std::vector<pg::Result> r, s.ExecBatch({{kGenericPlans}, std::move(search), {kDefaultPlans}}));
    for (int i = 0; i < r[1].rows(); ++i) ids.push_back(r[1].Text(i, "id"));
    return absl::OkStatus();
  }));
  return Load(clinic_id, ids);
}

absl::StatusOr<v1::Client> ClientsRepository::Create(
    const std::string& clinic_id, const std::string& first, const std::string& last,
    const std::vector<NewPhone>& phones, const std::vector<std::pair<std::string, bool>>& emails,
    const std::string& staff_user_id) {
  std::string id;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(pg::Result c, s.Exec(kInsertClient, {clinic_id, first, last}));
    id = c.Text(0, "id");
    bool any_primary = std::any_of(phones.begin(), phones.end(), [](auto& p) { return p.primary; });
    for (size_t i = 0; i < phones.size(); ++i) {
      bool primary = phones[i].primary || (!any_primary && i == 0);
      VL_RETURN_IF_ERROR(s.Exec(kInsertPhone, {clinic_id, id, phones[i].number, phones[i].type,
                                               phones[i].texting_capable, primary,
                                               primary ? std::optional<std::string>(staff_user_id)
                                                       : std::nullopt})
                             .status());
    }
    for (const auto& [address, primary] : emails) {
      VL_RETURN_IF_ERROR(s.Exec(kInsertEmail, {clinic_id, id, address, primary}).status());
    }
    return absl::OkStatus();
  }));
  return Get(clinic_id, id);
}

absl::Status ClientsRepository::Update(const std::string& clinic_id, const std::string& id,
                                       const std::optional<std::string>& first,
                                       const std::optional<std::string>& last,
                                       std::optional<bool> nps) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kUpdateClient, {clinic_id, id, first, last, nps}));
  return r.rows() == 0 ? absl::NotFoundError("client not found") : absl::OkStatus();
}

namespace {
// Serialises changes to one client's numbers (primary switching must not race) and
// refuses merged profiles, which are read-only history.
absl::Status LockLiveClient(pg::Session& s, const std::string& clinic_id, const std::string& id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kLockClient, {clinic_id, id}));
  if (r.rows() == 0) return absl::NotFoundError("client not found");
  if (!r.Text(0, "merged_into").empty()) {
    return absl::FailedPreconditionError("this profile was merged into " + r.Text(0, "merged_into") +
                                         " and can no longer be changed");
  }
  return absl::OkStatus();
}
}  // namespace

absl::Status ClientsRepository::AddPhone(const std::string& clinic_id, const std::string& client_id,
                                         const NewPhone& phone, const std::string& staff_user_id) {
  return pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(LockLiveClient(s, clinic_id, client_id));
    if (phone.primary) VL_RETURN_IF_ERROR(s.Exec(kClearPrimaryPhone, {clinic_id, client_id}).status());
    auto r = s.Exec(kInsertPhone, {clinic_id, client_id, phone.number, phone.type,
                                   phone.texting_capable, phone.primary,
                                   phone.primary ? std::optional<std::string>(staff_user_id) : std::nullopt});
    if (r.status().code() == absl::StatusCode::kAlreadyExists) {
      return AlreadyExistsField("number", "this client already has that number");
    }
    VL_RETURN_IF_ERROR(r.status());
    // A client's first number becomes the primary one.
    return s.Exec(kPromoteOldestPhone, {clinic_id, client_id, staff_user_id}).status();
  });
}

absl::Status ClientsRepository::UpdatePhone(const std::string& clinic_id,
                                            const std::string& client_id,
                                            const std::string& phone_id,
                                            const std::optional<std::string>& type,
                                            bool texting_capable) {
  return pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(LockLiveClient(s, clinic_id, client_id));
    VL_ASSIGN_OR_RETURN(pg::Result r,
                        s.Exec(kUpdatePhone, {clinic_id, client_id, phone_id, type, texting_capable}));
    return r.rows() == 0 ? absl::NotFoundError("phone not found") : absl::OkStatus();
  });
}

absl::Status ClientsRepository::SetPrimaryPhone(const std::string& clinic_id,
                                                const std::string& client_id,
                                                const std::string& phone_id,
                                                const std::string& staff_user_id) {
  return pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(LockLiveClient(s, clinic_id, client_id));
    VL_RETURN_IF_ERROR(s.Exec(kClearPrimaryPhone, {clinic_id, client_id}).status());
    VL_ASSIGN_OR_RETURN(pg::Result r,
                        s.Exec(kSetPrimaryPhone, {clinic_id, client_id, phone_id, staff_user_id}));
    return r.rows() == 0 ? absl::NotFoundError("phone not found") : absl::OkStatus();
  });
}

absl::Status ClientsRepository::RemovePhone(const std::string& clinic_id,
                                            const std::string& client_id,
                                            const std::string& phone_id) {
  return pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(LockLiveClient(s, clinic_id, client_id));
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kDeletePhone, {clinic_id, client_id, phone_id}));
    if (r.rows() == 0) return absl::NotFoundError("phone not found");
    if (r.Bool(0, "is_primary")) {
      VL_RETURN_IF_ERROR(s.Exec(kPromoteOldestPhone, {clinic_id, client_id, "vetline"}).status());
    }
    return absl::OkStatus();
  });
}

absl::Status ClientsRepository::AddEmail(const std::string& clinic_id, const std::string& client_id,
                                         const std::string& address, bool primary) {
  return pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(LockLiveClient(s, clinic_id, client_id));
    if (primary) VL_RETURN_IF_ERROR(s.Exec(kClearPrimaryEmail, {clinic_id, client_id}).status());
    auto r = s.Exec(kInsertEmail, {clinic_id, client_id, address, primary});
    if (r.status().code() == absl::StatusCode::kAlreadyExists) {
      return AlreadyExistsField("address", "this client already has that email address");
    }
    return r.status();
  });
}

absl::StatusOr<v1::Pet> ClientsRepository::AddPet(const std::string& clinic_id,
                                                  const std::string& client_id, const v1::Pet& pet) {
  v1::Pet out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(LockLiveClient(s, clinic_id, client_id));
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kInsertPet, {clinic_id, client_id, pet.name(), pet.species(),
                                                          pet.breed(), pet.sex(), pet.birth_date()}));
    out = PetRow(r, 0);
    return absl::OkStatus();
  }));
  return out;
}

absl::Status ClientsRepository::SetContactOptions(const std::string& clinic_id,
                                                  const std::string& client_id, bool email,
                                                  bool text) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kSetContact, {clinic_id, client_id, email, text}));
  return r.rows() == 0 ? absl::NotFoundError("client not found") : absl::OkStatus();
}

absl::Status ClientsRepository::Merge(const std::string& clinic_id, const std::string& survivor,
                                      const std::string& other, const std::string& staff_user_id) {
  return pool_->Transact([&](pg::Session& s) -> absl::Status {
    // Lock both in id order so two opposite merges cannot deadlock.
    MergeSide sides[2];
    const std::string* order[2] = {&survivor, &other};
    if (other < survivor) std::swap(order[0], order[1]);
    std::string other_last_visit;
    for (const std::string* id : order) {
      VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kLockClient, {clinic_id, *id}));
      if (r.rows() == 0) {
        absl::Status st = absl::NotFoundError("client not found");
        if (id == &other) st.SetPayload(kFieldPayload, absl::Cord("otherClientId"));
        return st;
      }
      MergeSide& side = sides[id == &survivor ? 0 : 1];
      side = {r.Text(0, "id"), r.Text(0, "name"), r.Text(0, "pims_id"), r.Text(0, "merged_into")};
      if (id == &other) other_last_visit = r.Text(0, "last_visit_date");
    }
    VL_RETURN_IF_ERROR(CheckMerge(sides[0], sides[1]));
    pg::Params move = {clinic_id, other, survivor};
    for (const pg::Statement* st : {&kMergeMovePets, &kMergeDropDuplicatePhones, &kMergeDemotePhones,
                                    &kMergeMovePhones, &kMergeDropDuplicateEmails,
                                    &kMergeDemoteEmails, &kMergeMoveEmails}) {
      VL_RETURN_IF_ERROR(s.Exec(*st, move).status());
    }
    VL_RETURN_IF_ERROR(s.Exec(kMergeMarkOther, {clinic_id, other, survivor, sides[1].pims_id}).status());
    VL_RETURN_IF_ERROR(s.Exec(kMergeUpdateSurvivor,
                              {clinic_id, survivor, sides[1].pims_id,
                               other_last_visit.empty() ? std::optional<std::string>()
                                                        : std::optional<std::string>(other_last_visit)})
                           .status());
    nlohmann::json event = {{"clinicId", clinic_id}, {"survivorId", survivor},
                            {"mergedId", other}, {"mergedBy", staff_user_id}};
    return outbox_.Add(s, "client.merged", event.dump());
  });
}

absl::StatusOr<SyncCounts> ClientsRepository::UpsertBatch(const std::string& clinic_id,
                                                          const std::vector<v1::SyncClient>& clients,
                                                          const std::vector<v1::SyncPet>& pets) {
  SyncCounts counts;
  // Stage every row with COPY (one round trip per table), then apply set-based.
  pg::CopyRows client_rows, phone_rows, email_rows, pet_rows;
  for (const v1::SyncClient& c : clients) {
    client_rows.Add(c.pims_id()).Add(c.first_name()).Add(c.last_name())
        .AddOrNull(c.last_visit_date()).Add(c.active()).Add(c.deleted()).Add(Digest(c)).EndRow();
    for (const v1::SyncPhone& p : c.phones()) {
      phone_rows.Add(c.pims_id()).Add(p.number()).Add(PhoneTypeText(p.type()))
          .Add(p.texting_capable()).Add(p.primary()).EndRow();
    }
    for (const v1::SyncEmail& e : c.emails()) {
      email_rows.Add(c.pims_id()).Add(e.address()).Add(e.primary()).EndRow();
    }
  }
  for (const v1::SyncPet& p : pets) {
    pet_rows.Add(p.pims_id()).Add(p.client_pims_id()).Add(p.name()).Add(p.species())
        .Add(p.breed()).Add(p.sex()).AddOrNull(p.birth_date()).Add(p.active()).Add(p.deceased())
        .Add(p.deleted()).Add(Digest(p)).EndRow();
  }
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    counts = SyncCounts();
    VL_RETURN_IF_ERROR(s.ExecRaw(kSyncTables).status());
    VL_RETURN_IF_ERROR(s.CopyIn(kStageClients, client_rows).status());
    VL_RETURN_IF_ERROR(s.CopyIn(kStagePhones, phone_rows).status());
    VL_RETURN_IF_ERROR(s.CopyIn(kStageEmails, email_rows).status());
    VL_RETURN_IF_ERROR(s.CopyIn(kStagePets, pet_rows).status());
    if (!clients.empty()) {
      VL_RETURN_IF_ERROR(s.Exec(kSyncUpsertClients, {clinic_id}).status());
      VL_ASSIGN_OR_RETURN(pg::Result n, s.Exec(kSyncChangedCounts));
      counts.clients.set_inserted(n.Int(0, "inserted"));
      counts.clients.set_updated(n.Int(0, "updated"));
      counts.clients.set_unchanged(static_cast<int64_t>(clients.size()) - counts.clients.inserted() -
                                   counts.clients.updated());
      // Phones and emails of the clients that changed: removals and primary clean-up
      // only matter for clients that existed before this batch.
      struct Step {
        const pg::Statement* st;
        bool needs_clinic;
        bool only_for_updates;
      };
      for (const Step& step : {Step{&kSyncDropPhones, false, true}, Step{&kSyncUpsertPhones, true, false},
                               Step{&kSyncClearPimsPrimary, false, true},
                               Step{&kSyncSetPimsPrimary, false, true}, Step{&kSyncDropEmails, false, true},
                               Step{&kSyncUpsertEmails, true, false}}) {
        if (counts.clients.inserted() + counts.clients.updated() == 0) break;
        if (step.only_for_updates && counts.clients.updated() == 0) continue;
        pg::Params params;
        if (step.needs_clinic) params = {clinic_id};
        VL_RETURN_IF_ERROR(s.Exec(*step.st, params).status());
      }
    }
    if (!pets.empty()) {
      VL_ASSIGN_OR_RETURN(pg::Result orphans, s.Exec(kSyncOrphanPets, {clinic_id}));
      for (int i = 0; i < orphans.rows(); ++i) {
        v1::RecordError e;
        e.set_entity("pet");
        e.set_pims_id(orphans.Text(i, "pims_id"));
        e.set_field("clientPimsId");
        e.set_message("owner " + orphans.Text(i, "client_pims_id") + " is not a synced client");
        counts.errors.push_back(std::move(e));
      }
      VL_ASSIGN_OR_RETURN(pg::Result n, s.Exec(kSyncUpsertPets, {clinic_id}));
      counts.pets.set_inserted(n.Int(0, "inserted"));
      counts.pets.set_updated(n.Int(0, "updated"));
      counts.pets.set_failed(orphans.rows());
      counts.pets.set_unchanged(static_cast<int64_t>(pets.size()) - orphans.rows() -
                                counts.pets.inserted() - counts.pets.updated());
    }
    return absl::OkStatus();
  }));
  return counts;
}

absl::StatusOr<v1::ResolvePimsIdsResponse> ClientsRepository::ResolvePimsIds(
    const std::string& clinic_id, const std::vector<std::string>& client_pims_ids,
    const std::vector<std::string>& patient_pims_ids) {
  v1::ResolvePimsIdsResponse out;
  VL_RETURN_IF_ERROR(pool_->WithSession([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(std::vector<pg::Result> r,
                        s.ExecBatch({{kResolveClients, {clinic_id, nlohmann::json(client_pims_ids).dump()}},
                                     {kResolvePets, {clinic_id, nlohmann::json(patient_pims_ids).dump()}}}));
    for (int i = 0; i < r[0].rows(); ++i) {
      v1::ResolvedPimsId* c = out.add_clients();
      c->set_pims_id(r[0].Text(i, "pims_id"));
      c->set_id(r[0].Text(i, "id"));
    }
    for (int i = 0; i < r[1].rows(); ++i) {
      v1::ResolvedPimsId* p = out.add_patients();
      p->set_pims_id(r[1].Text(i, "pims_id"));
      p->set_id(r[1].Text(i, "id"));
      p->set_client_id(r[1].Text(i, "client_id"));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::Status ClientsRepository::RecordPimsIds(const std::string& clinic_id, const std::string& client_id,
                                             const std::string& client_pims_id, const std::string& pet_id,
                                             const std::string& pet_pims_id) {
  absl::Status st = pool_->Transact([&](pg::Session& s) -> absl::Status {
    if (!client_pims_id.empty()) {
      VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kRecordClientPimsId, {clinic_id, client_id, client_pims_id}));
      if (r.rows() == 0) {
        return absl::FailedPreconditionError("the client is unknown or has another PIMS id");
      }
    }
    if (!pet_id.empty() && !pet_pims_id.empty()) {
      VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kRecordPetPimsId, {clinic_id, client_id, pet_id, pet_pims_id}));
      if (r.rows() == 0) return absl::FailedPreconditionError("the pet is unknown or has another PIMS id");
    }
    return absl::OkStatus();
  });
  if (st.code() == absl::StatusCode::kAlreadyExists) {
    return absl::FailedPreconditionError("another record of the clinic has this PIMS id");
  }
  return st;
}

}  // namespace vetline::clients
