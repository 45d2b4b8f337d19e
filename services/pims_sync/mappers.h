// One mapper per PIMS kind: a record in the PIMS's own shape becomes Vetline's
// (vetline.clients.v1 sync records), or a RecordError saying what is wrong with it.
// Pure logic, unit-tested against each PIMS's conventions.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "absl/status/statusor.h"
#include "vetline/clients/v1/sync.pb.h"
#include "vetline/pims/v1/connector.pb.h"

namespace vetline::pims_sync {

namespace cv1 = ::vetline::clients::v1;
namespace pv1 = ::vetline::pims::v1;

class Mapper {
 public:
  virtual ~Mapper() = default;
  virtual std::variant<cv1::SyncClient, cv1::RecordError> Client(const pv1::PimsRecord& r) const = 0;
  virtual std::variant<cv1::SyncPet, cv1::RecordError> Patient(const pv1::PimsRecord& r) const = 0;
};

// "cornerstone" or "avimark"; InvalidArgument otherwise ("none" has nothing to map).
absl::StatusOr<std::unique_ptr<Mapper>> MapperFor(const std::string& kind);

// US-style numbers ("(312) 555-0100", "312.555.0100", "1-312-555-0100") to E.164;
// empty when the text is not a phone number.
std::string UsPhoneToE164(const std::string& text);
// "MM/DD/YYYY" or "YYYYMMDD" to "YYYY-MM-DD"; empty input stays empty; nullopt if invalid.
std::optional<std::string> IsoDate(const std::string& text, const std::string& format);
// "SMITH" / "o'brien" -> "Smith" / "O'Brien" (PIMS systems that store upper case).
std::string NameCase(const std::string& text);

}  // namespace vetline::pims_sync
