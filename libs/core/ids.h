// Random identifiers for requests and opaque tokens (row ids come from PostgreSQL).
#pragma once

#include <string>

namespace vetline {

// 32 lowercase hex characters (128 random bits).
std::string NewRequestId();

// True for the canonical 8-4-4-4-12 hex form PostgreSQL prints for uuid columns.
bool IsUuid(std::string_view s);

}  // namespace vetline
