#include "libs/pg/migrations.h"

#include <sodium.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/core/status.h"

namespace vetline::pg {
namespace {

bool ValidSchema(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string Checksum(const std::string& sql) {
  unsigned char h[16];
  crypto_generichash(h, sizeof(h), reinterpret_cast<const unsigned char*>(sql.data()), sql.size(),
                     nullptr, 0);
  return absl::BytesToHexString(std::string(reinterpret_cast<char*>(h), sizeof(h)));
}

}  // namespace

absl::StatusOr<int> Migrate(Pool& pool, const std::string& schema,
                            const std::vector<Migration>& migrations) {
  if (!ValidSchema(schema)) return absl::InvalidArgumentError("invalid schema name: " + schema);
  if (sodium_init() < 0) return absl::InternalError("libsodium unavailable");
  int applied = 0;
  // One session holds the advisory lock while every migration runs in its own
  // transaction on that session; concurrent starters wait, then find nothing to do.
  absl::Status st = pool.WithSession([&](Session& s) -> absl::Status {
    std::string lock_key = "vetline.migrations." + schema;
    VL_RETURN_IF_ERROR(s.ExecRaw("SELECT pg_advisory_lock(hashtext($1))", {lock_key}).status());
    absl::Status body = [&]() -> absl::Status {
      VL_RETURN_IF_ERROR(s.ExecRaw(absl::StrCat("CREATE SCHEMA IF NOT EXISTS ", schema)).status());
      VL_RETURN_IF_ERROR(s.ExecRaw(absl::StrCat("CREATE TABLE IF NOT EXISTS ", schema,
                                                ".schema_migrations (name text PRIMARY KEY, "
                                                "checksum text NOT NULL, applied_at timestamptz "
                                                "NOT NULL DEFAULT now())"))
                             .status());
      VL_ASSIGN_OR_RETURN(
          Result done,
          s.ExecRaw(absl::StrCat("SELECT name, checksum FROM ", schema, ".schema_migrations")));
      std::map<std::string, std::string> recorded;
      for (int i = 0; i < done.rows(); ++i) recorded[done.Text(i, "name")] = done.Text(i, "checksum");
      std::vector<const Migration*> ordered;
      for (const Migration& m : migrations) ordered.push_back(&m);
      std::sort(ordered.begin(), ordered.end(),
                [](const Migration* a, const Migration* b) { return a->name < b->name; });
      for (const Migration* m : ordered) {
        std::string sum = Checksum(m->sql);
        if (auto it = recorded.find(m->name); it != recorded.end()) {
          if (it->second != sum) {
            return absl::FailedPreconditionError(absl::StrCat(
                "migration ", schema, "/", m->name,
                " was changed after it was applied; add a new migration instead"));
          }
          continue;
        }
        VL_RETURN_IF_ERROR(s.ExecRaw("BEGIN").status());
        absl::Status run = s.ExecRaw(m->sql).status();
        if (run.ok()) {
          run = s.ExecRaw(absl::StrCat("INSERT INTO ", schema,
                                       ".schema_migrations (name, checksum) VALUES ($1, $2)"),
                          {m->name, sum})
                    .status();
        }
        if (run.ok()) run = s.ExecRaw("COMMIT").status();
        if (!run.ok()) {
          (void)s.ExecRaw("ROLLBACK");
          return absl::Status(run.code(), absl::StrCat("migration ", schema, "/", m->name,
                                                       " failed: ", run.message()));
        }
        log::Info("migration applied", {{"schema", schema}, {"name", m->name}});
        ++applied;
      }
      return absl::OkStatus();
    }();
    (void)s.ExecRaw("SELECT pg_advisory_unlock(hashtext($1))", {lock_key});
    return body;
  });
  VL_RETURN_IF_ERROR(st);
  return applied;
}

}  // namespace vetline::pg
