// Per-service schema migrations: applied in file-name order at start, under a
// PostgreSQL advisory lock (so concurrent starters do not race), each in its own
// transaction, and recorded in <schema>.schema_migrations with a checksum. An applied
// migration whose text changed is an error (FailedPrecondition), not silently skipped.
#pragma once

#include <string>
#include <vector>

#include "libs/pg/pg.h"

namespace vetline::pg {

struct Migration {
  std::string name;  // e.g. "0001_init.sql"
  std::string sql;
};

// Creates `schema` if needed and applies the migrations not yet recorded there.
// Returns how many were applied by this call.
absl::StatusOr<int> Migrate(Pool& pool, const std::string& schema,
                            const std::vector<Migration>& migrations);

// Generated per service by vetline_embed_migrations() in CMake.
const std::vector<Migration>& identity_migrations();
const std::vector<Migration>& clients_migrations();
const std::vector<Migration>& pims_sync_migrations();
const std::vector<Migration>& media_migrations();
const std::vector<Migration>& conversations_migrations();
const std::vector<Migration>& booking_migrations();
const std::vector<Migration>& payments_migrations();

}  // namespace vetline::pg
