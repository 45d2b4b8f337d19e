// Random identifiers for requests and opaque tokens (row ids come from PostgreSQL).
#pragma once

#include <string>

namespace vetline {

// 32 lowercase hex characters (128 random bits).
std::string NewRequestId();

// A random (version 4) uuid, for a row id chosen before the row exists (when a blob key
// must carry it).
std::string NewUuid();

// True for the canonical 8-4-4-4-12 hex form PostgreSQL prints for uuid columns.
bool IsUuid(std::string_view s);

}  // namespace vetline
