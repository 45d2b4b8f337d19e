// PostgreSQL access over libpq: a bounded, health-checked, reconnecting pool; named
// statements prepared once per connection; transactions retried on serialization
// failure and deadlock. Every statement is a named constant with $1 parameters.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace prometheus { class Registry; }

namespace vetline::pg {

// A statement with a stable name: prepared on first use on each connection.
struct Statement {
  const char* name;
  const char* sql;
};

// One parameter in PostgreSQL text format; std::nullopt is SQL NULL.
class Param {
 public:
  Param(std::nullopt_t) {}
  Param(const char* s) : value_(s) {}
  Param(std::string s) : value_(std::move(s)) {}
  Param(std::string_view s) : value_(std::string(s)) {}
  Param(int v) : value_(std::to_string(v)) {}
  Param(int64_t v) : value_(std::to_string(v)) {}
  Param(bool v) : value_(v ? "true" : "false") {}
  Param(absl::Time t);  // timestamptz, RFC 3339 UTC
  template <typename T>
  Param(const std::optional<T>& v) {
    if (v) value_ = Param(*v).value_;
  }
  const std::optional<std::string>& value() const { return value_; }

 private:
  std::optional<std::string> value_;
};
using Params = std::vector<Param>;

// One query of a batch (Session::ExecBatch): a prepared statement, or unnamed SQL.
struct Query {
  Query(const Statement& st, Params p = {}) : statement(&st), params(std::move(p)) {}
  Query(std::string_view raw_sql, Params p = {}) : sql(raw_sql), params(std::move(p)) {}
  const Statement* statement = nullptr;
  std::string_view sql;  // when statement is null
  Params params;
};

// A query result; columns are addressed by name or index.
class Result {
 public:
  explicit Result(void* pg_result);  // takes ownership of a PGresult
  Result(Result&&) noexcept;
  Result& operator=(Result&&) noexcept;
  ~Result();

  int rows() const;
  int affected() const;  // rows changed by INSERT/UPDATE/DELETE
  int column(std::string_view name) const;  // -1 when absent
  bool IsNull(int row, int col) const;
  std::string Text(int row, int col) const;            // "" for NULL
  std::string Text(int row, std::string_view col) const;
  int64_t Int(int row, std::string_view col) const;     // 0 for NULL
  bool Bool(int row, std::string_view col) const;       // 't' is true
  absl::Time Time(int row, std::string_view col) const; // timestamptz; InfinitePast for NULL
  std::optional<std::string> Optional(int row, std::string_view col) const;

 private:
  void* res_;
};

// Where `COPY ... FROM STDIN` writes: a table and its column list, both constants of
// the repository (never input), like a Statement's SQL.
struct CopyTarget {
  const char* table;    // "clients.pets" or a temporary table
  const char* columns;  // "pims_id, name, born"
};

// Rows for COPY in PostgreSQL's text format, escaped as fields are added:
//   CopyRows rows;
//   rows.Add(pims_id).Add(name).Add(std::nullopt).EndRow();
// Every row must have as many fields as the first. Text may not contain NUL (PostgreSQL
// text cannot); such a row makes CopyIn fail with InvalidArgument before sending.
class CopyRows {
 public:
  CopyRows& Add(std::string_view text);
  CopyRows& Add(const char* text) { return Add(std::string_view(text)); }
  CopyRows& Add(const std::string& text) { return Add(std::string_view(text)); }
  CopyRows& Add(std::nullopt_t);  // SQL NULL
  CopyRows& Add(bool v) { return Add(std::string_view(v ? "t" : "f")); }
  CopyRows& Add(int v) { return Add(static_cast<int64_t>(v)); }
  CopyRows& Add(int64_t v);
  template <typename T>
  CopyRows& Add(const std::optional<T>& v) {
    return v ? Add(*v) : Add(std::nullopt);
  }
  // An empty string as NULL (optional dates and numbers kept as text).
  CopyRows& AddOrNull(std::string_view text) { return text.empty() ? Add(std::nullopt) : Add(text); }
  void EndRow();

  int64_t rows() const { return rows_; }
  bool empty() const { return rows_ == 0; }
  const std::string& data() const { return data_; }
  // The first problem found while adding (a NUL byte, a row of the wrong width).
  const absl::Status& status() const { return status_; }

 private:
  void Separate();
  std::string data_;
  int64_t rows_ = 0;
  int fields_in_row_ = 0;
  int width_ = -1;  // fields per row, fixed by the first row
  absl::Status status_;
};

// A connection borrowed from the pool for the duration of a call or transaction.
class Session {
 public:
  virtual ~Session() = default;
  virtual absl::StatusOr<Result> Exec(const Statement& st, const Params& params = {}) = 0;
  // Unnamed, unprepared: for DDL, migrations and one-off statements.
  virtual absl::StatusOr<Result> ExecRaw(std::string_view sql, const Params& params = {}) = 0;
  // Sends every query before reading an answer (libpq's pipeline mode): one round trip
  // for the lot instead of one each. Each query stands alone as if run by Exec/ExecRaw in
  // turn (outside a transaction each commits by itself; one failing does not stop the
  // next). Returns the results in order, or the first query's error after all ran. For a
  // handful of small queries: a batch's answers are only read after all is sent.
  virtual absl::StatusOr<std::vector<Result>> ExecBatch(const std::vector<Query>& queries) = 0;
  // COPY target (columns) FROM STDIN with `rows`; returns the number of rows stored.
  // Errors map like Exec's (a bad value is InvalidArgument, a duplicate AlreadyExists
  // naming the constraint, a lost connection Unavailable). Empty rows: nothing is sent.
  virtual absl::StatusOr<int64_t> CopyIn(const CopyTarget& target, const CopyRows& rows) = 0;
  // The same with the whole COPY statement given ("COPY t (a, b) FROM STDIN (FORMAT text)").
  virtual absl::StatusOr<int64_t> CopyInSql(std::string_view copy_sql, const CopyRows& rows) = 0;
};

enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

struct PoolOptions {
  std::string conninfo;                          // libpq keyword/value string or URI
  int size = 8;                                  // upper bound on open connections
  absl::Duration acquire_timeout = absl::Seconds(5);  // then Unavailable
  absl::Duration connect_timeout = absl::Seconds(3);
  std::string name = "default";                  // metrics label
  prometheus::Registry* registry = nullptr;      // pool gauges/counters when set
};

// Errors: a connection-level failure is Unavailable (retry the call); a constraint
// violation is AlreadyExists (unique) or FailedPrecondition (check/foreign key/exclusion)
// with the constraint name in the message; serialization failure/deadlock is Aborted.
class Pool {
 public:
  static absl::StatusOr<std::shared_ptr<Pool>> Create(PoolOptions options);
  virtual ~Pool() = default;

  // Runs one statement on any healthy connection (autocommit).
  virtual absl::StatusOr<Result> Exec(const Statement& st, const Params& params = {}) = 0;

  // Runs `fn` inside BEGIN/COMMIT; rolls back when fn fails; retries the whole function
  // (up to `max_attempts`) when the server reports a serialization failure or deadlock.
  virtual absl::Status Transact(const std::function<absl::Status(Session&)>& fn,
                                Isolation isolation = Isolation::kReadCommitted,
                                int max_attempts = 5) = 0;

  // Borrows a connection outside a transaction (LISTEN, COPY, advisory locks).
  virtual absl::Status WithSession(const std::function<absl::Status(Session&)>& fn) = 0;

  // Checks a connection with a trivial query; Unavailable when the server is down.
  virtual absl::Status Ping() = 0;

  struct Stats {
    int open = 0, in_use = 0, waiting = 0;
  };
  virtual Stats stats() const = 0;
};

}  // namespace vetline::pg
