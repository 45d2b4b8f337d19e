// Checks and digests of records arriving from a PIMS sync. Pure logic: the repository
// stores the digest and skips records whose digest did not change, which makes a
// repeated sync a no-op.
#pragma once

#include <optional>
#include <string>

#include "vetline/clients/v1/sync.pb.h"

namespace vetline::clients {

namespace v1 = ::vetline::clients::v1;

// A normalised copy of the record, or the reason it cannot be stored.
std::optional<v1::RecordError> CheckClient(v1::SyncClient& c);
std::optional<v1::RecordError> CheckPet(v1::SyncPet& p);

// Stable digest over every synced field (hex).
std::string Digest(const v1::SyncClient& c);
std::string Digest(const v1::SyncPet& p);

// "YYYY-MM-DD" (or empty) is a real calendar date.
bool IsIsoDate(const std::string& s);

}  // namespace vetline::clients
