#include "services/clients/sync_records.h"

#include <sodium.h>

#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"

namespace vetline::clients {
namespace {

v1::RecordError Error(const char* entity, const std::string& pims_id, const char* field,
                      std::string message) {
  v1::RecordError e;
  e.set_entity(entity);
  e.set_pims_id(pims_id);
  e.set_field(field);
  e.set_message(std::move(message));
  return e;
}

std::string Hex(const std::string& bytes) {
  unsigned char h[16];
  crypto_generichash(h, sizeof(h), reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size(), nullptr, 0);
  return absl::BytesToHexString(std::string(reinterpret_cast<char*>(h), sizeof(h)));
}

}  // namespace

bool IsIsoDate(const std::string& s) {
  if (s.empty()) return true;
  absl::CivilDay day;
  return s.size() == 10 && absl::ParseCivilTime(s, &day);
}

std::optional<v1::RecordError> CheckClient(v1::SyncClient& c) {
  if (c.pims_id().empty()) return Error("client", "", "pimsId", "record has no PIMS id");
  auto first = validate::Name("firstName", c.first_name());
  auto last = validate::Name("lastName", c.last_name());
  if (!last.ok()) return Error("client", c.pims_id(), "lastName", "last name is missing or invalid");
  if (!first.ok()) return Error("client", c.pims_id(), "firstName", "first name is missing or invalid");
  c.set_first_name(*first);
  c.set_last_name(*last);
  if (!IsIsoDate(c.last_visit_date())) {
    return Error("client", c.pims_id(), "lastVisitDate", "last visit date is not YYYY-MM-DD");
  }
  int primaries = 0;
  for (auto& p : *c.mutable_phones()) {
    auto n = validate::Phone("phones", p.number());
    if (!n.ok()) return Error("client", c.pims_id(), "phones", "phone number '" + p.number() + "' is not valid");
    p.set_number(*n);
    primaries += p.primary();
  }
  if (primaries > 1) return Error("client", c.pims_id(), "phones", "more than one primary phone");
  primaries = 0;
  for (auto& e : *c.mutable_emails()) {
    auto a = validate::Email("emails", e.address());
    if (!a.ok()) return Error("client", c.pims_id(), "emails", "email '" + e.address() + "' is not valid");
    e.set_address(*a);
    primaries += e.primary();
  }
  if (primaries > 1) return Error("client", c.pims_id(), "emails", "more than one primary email");
  return std::nullopt;
}

std::optional<v1::RecordError> CheckPet(v1::SyncPet& p) {
  if (p.pims_id().empty()) return Error("pet", "", "pimsId", "record has no PIMS id");
  if (p.client_pims_id().empty()) return Error("pet", p.pims_id(), "clientPimsId", "pet has no owner");
  auto name = validate::Name("name", p.name());
  if (!name.ok()) return Error("pet", p.pims_id(), "name", "pet name is missing or invalid");
  p.set_name(*name);
  if (!IsIsoDate(p.birth_date())) return Error("pet", p.pims_id(), "birthDate", "birth date is not YYYY-MM-DD");
  for (std::string* s : {p.mutable_species(), p.mutable_breed(), p.mutable_sex()}) {
    if (!validate::IsUtf8(*s) || s->size() > 100) return Error("pet", p.pims_id(), "species", "text field invalid");
  }
  return std::nullopt;
}

// Deterministic serialisation: proto3 without maps serialises the same fields the same way.
std::string Digest(const v1::SyncClient& c) { return Hex(c.SerializeAsString()); }
std::string Digest(const v1::SyncPet& p) { return Hex(p.SerializeAsString()); }

}  // namespace vetline::clients
