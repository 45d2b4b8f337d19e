#include "libs/pg/pg.h"

#include <libpq-fe.h>
#include <poll.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <map>
#include <thread>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace vetline::pg {
namespace {

// Connections idle longer than this are checked before use: the server may have gone.
constexpr absl::Duration kCheckIdleAfter = absl::Seconds(10);

absl::Status ErrorFromResultText(PGconn* conn, const PGresult* res) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = res ? PQresultErrorMessage(res) : "";
  if (message.empty()) message = PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  if (PQstatus(conn) != CONNECTION_OK || !state) return absl::UnavailableError(message);
  std::string code(state);
  const char* constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
  std::string with_constraint =
      constraint ? absl::StrCat(message, " (constraint ", constraint, ")") : message;
  if (code == "23505") return absl::AlreadyExistsError(with_constraint);
  if (code.rfind("23", 0) == 0) return absl::FailedPreconditionError(with_constraint);
  if (code == "40001" || code == "40P01") return absl::AbortedError(message);
  if (code.rfind("08", 0) == 0 || code == "57P01" || code == "57P02" || code == "57P03") {
    return absl::UnavailableError(message);
  }
  if (code.rfind("22", 0) == 0) return absl::InvalidArgumentError(message);
  return absl::InternalError(absl::StrCat(message, " [", code, "]"));
}

// Every error this library writes is marked as library text (see status.h).
absl::Status ErrorFromResult(PGconn* conn, const PGresult* res) {
  return FromLibrary(ErrorFromResultText(conn, res), "pg");
}

// libpq takes parameters as C strings: a NUL inside one would silently cut the stored
// value short, so such a statement is refused instead.
absl::Status CheckNoNul(const Params& params) {
  for (size_t i = 0; i < params.size(); ++i) {
    const auto& v = params[i].value();
    if (v && v->find('\0') != std::string::npos) {
      return FromLibrary(absl::InvalidArgumentError(absl::StrCat(
                             "parameter $", i + 1, " contains a NUL byte")), "pg");
    }
  }
  return absl::OkStatus();
}

class Connection final : public Session {
 public:
  explicit Connection(PGconn* c) : conn_(c), last_used_(absl::Now()) {}
  ~Connection() override { PQfinish(conn_); }

  absl::StatusOr<Result> Exec(const Statement& st, const Params& params) override {
    VL_RETURN_IF_ERROR(Prepare(st));
    VL_RETURN_IF_ERROR(CheckNoNul(params));
    std::vector<const char*> values = Values(params);
    return Check(PQexecPrepared(conn_, st.name, static_cast<int>(values.size()), values.data(),
                                nullptr, nullptr, 0));
  }

  absl::StatusOr<std::vector<Result>> ExecBatch(const std::vector<Query>& queries) override {
    for (const Query& q : queries) {
      VL_RETURN_IF_ERROR(CheckNoNul(q.params));
      if (q.statement) VL_RETURN_IF_ERROR(Prepare(*q.statement));
    }
    if (PQenterPipelineMode(conn_) != 1) return ErrorFromResult(conn_, nullptr);
    // A sync after each query: each stands alone, and an error ends only its own.
    bool sent = true;
    for (const Query& q : queries) {
      std::vector<const char*> values = Values(q.params);
      const int n = static_cast<int>(values.size());
      std::string sql(q.sql);
      sent = sent && (q.statement ? PQsendQueryPrepared(conn_, q.statement->name, n, values.data(), nullptr, nullptr, 0)
                                  : PQsendQueryParams(conn_, sql.c_str(), n, nullptr, values.data(), nullptr, nullptr, 0)) == 1;
      sent = sent && PQpipelineSync(conn_) == 1;
    }
    std::vector<Result> out;
    absl::Status first_error;
    for (size_t i = 0; sent && i < queries.size(); ++i) {
      PGresult* r = PQgetResult(conn_);
      if (!r) {
        sent = false;  // the connection went away
        break;
      }
      absl::StatusOr<Result> one = Check(r);
      while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);  // then NULL: query done
      PGresult* sync = PQgetResult(conn_);
      const bool synced = sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
      PQclear(sync);
      if (one.ok()) {
        out.push_back(std::move(*one));
      } else if (first_error.ok()) {
        first_error = one.status();
      }
      sent = synced;
    }
    if (!sent) {
      absl::Status lost = ErrorFromResult(conn_, nullptr);
      poisoned_ = true;  // mid-pipeline there is no telling what it holds: never lent again
      return lost.ok() ? absl::UnavailableError("PostgreSQL connection lost") : lost;
    }
    if (PQexitPipelineMode(conn_) != 1) return ErrorFromResult(conn_, nullptr);
    if (!first_error.ok()) return first_error;
    return out;
  }

  absl::StatusOr<Result> ExecRaw(std::string_view sql, const Params& params = {}) override {
    std::string text(sql);
    if (params.empty()) return Check(PQexec(conn_, text.c_str()));
    VL_RETURN_IF_ERROR(CheckNoNul(params));
    std::vector<const char*> values = Values(params);
    return Check(PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr,
                              values.data(), nullptr, nullptr, 0));
  }

  absl::StatusOr<int64_t> CopyIn(const CopyTarget& target, const CopyRows& rows) override {
    return CopyInSql(absl::StrCat("COPY ", target.table, " (", target.columns, ") FROM STDIN"), rows);
  }

  absl::StatusOr<int64_t> CopyInSql(std::string_view copy_sql, const CopyRows& rows) override {
    VL_RETURN_IF_ERROR(rows.status());
    if (rows.empty()) return 0;
    std::string sql(copy_sql);
    PGresult* start = PQexec(conn_, sql.c_str());
    ExecStatusType started = PQresultStatus(start);
    if (started != PGRES_COPY_IN) {
      absl::Status err = started == PGRES_FATAL_ERROR || started == PGRES_BAD_RESPONSE || !start
                             ? ErrorFromResult(conn_, start)
                             : absl::InvalidArgumentError("not a COPY ... FROM STDIN statement: " + sql);
      PQclear(start);
      Drain();
      return err;
    }
    PQclear(start);
    // Sent in pieces: PQputCopyData takes an int length, and large buffers gain nothing.
    constexpr size_t kChunk = 1 << 20;
    const std::string& data = rows.data();
    bool sent = true;
    for (size_t at = 0; at < data.size() && sent; at += kChunk) {
      size_t n = std::min(kChunk, data.size() - at);
      sent = PQputCopyData(conn_, data.data() + at, static_cast<int>(n)) == 1;
    }
    if (!sent || PQputCopyEnd(conn_, nullptr) != 1) {
      std::string message = PQerrorMessage(conn_);
      Drain();
      return absl::UnavailableError("COPY into PostgreSQL failed: " + message);
    }
    absl::StatusOr<int64_t> out = absl::InternalError("COPY ended without a result");
    bool first = true;
    while (PGresult* r = PQgetResult(conn_)) {
      if (first) {
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
          const char* n = PQcmdTuples(r);
          out = n && *n ? std::strtoll(n, nullptr, 10) : rows.rows();
        } else {
          out = ErrorFromResult(conn_, r);
        }
        first = false;
      }
      PQclear(r);
    }
    return out;
  }

  bool broken() const { return poisoned_ || PQstatus(conn_) != CONNECTION_OK; }
  // An idle connection has nothing to read; if its socket is readable, the server sent
  // a goodbye (restart, termination) or closed it, so it is not lent out again.
  bool alive() {
    if (broken()) return false;
    pollfd p{PQsocket(conn_), POLLIN, 0};
    return poll(&p, 1, 0) == 0;
  }
  absl::Time last_used() const { return last_used_; }
  void touch() { last_used_ = absl::Now(); }

 private:
  // Prepares `st` on this connection the first time it is used here.
  absl::Status Prepare(const Statement& st) {
    auto known = prepared_.find(st.name);
    if (known != prepared_.end()) {
      // One name, two texts: the second would silently run the first's SQL.
      if (known->second != st.sql) {
        return absl::InternalError(std::string("statement name reused for different SQL: ") + st.name);
      }
      return absl::OkStatus();
    }
    PGresult* r = PQprepare(conn_, st.name, st.sql, 0, nullptr);
    absl::Status s = PQresultStatus(r) == PGRES_COMMAND_OK ? absl::OkStatus() : ErrorFromResult(conn_, r);
    PQclear(r);
    VL_RETURN_IF_ERROR(s);
    prepared_.emplace(st.name, st.sql);
    return absl::OkStatus();
  }

  // Reads and drops whatever results are left, so the connection is ready again.
  void Drain() {
    while (PGresult* r = PQgetResult(conn_)) PQclear(r);
  }

  static std::vector<const char*> Values(const Params& params) {
    std::vector<const char*> v;
    v.reserve(params.size());
    for (const Param& p : params) v.push_back(p.value() ? p.value()->c_str() : nullptr);
    return v;
  }

  absl::StatusOr<Result> Check(PGresult* r) {
    ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_COPY_IN ||
        s == PGRES_COPY_OUT) {
      return Result(r);
    }
    absl::Status err = ErrorFromResult(conn_, r);
    PQclear(r);
    return err;
  }

  PGconn* conn_;
  std::map<std::string, std::string> prepared_;  // name -> SQL
  bool poisoned_ = false;
  absl::Time last_used_;
};

struct PoolMetrics {
  PoolMetrics(prometheus::Registry& r, const std::string& name)
      : open(prometheus::BuildGauge()
                 .Name("vetline_pg_pool_connections")
                 .Help("Open PostgreSQL connections per pool")
                 .Register(r)
                 .Add({{"pool", name}})),
        in_use(prometheus::BuildGauge()
                   .Name("vetline_pg_pool_in_use")
                   .Help("PostgreSQL connections lent out per pool")
                   .Register(r)
                   .Add({{"pool", name}})),
        waiting(prometheus::BuildGauge()
                    .Name("vetline_pg_pool_waiting")
                    .Help("Callers waiting for a PostgreSQL connection")
                    .Register(r)
                    .Add({{"pool", name}})),
        timeouts(prometheus::BuildCounter()
                     .Name("vetline_pg_pool_acquire_timeouts_total")
                     .Help("Callers that gave up waiting for a connection")
                     .Register(r)
                     .Add({{"pool", name}})) {}
  prometheus::Gauge& open;
  prometheus::Gauge& in_use;
  prometheus::Gauge& waiting;
  prometheus::Counter& timeouts;
};

class PoolImpl final : public Pool {
 public:
  explicit PoolImpl(PoolOptions o) : options_(std::move(o)) {
    if (options_.registry) metrics_.emplace(*options_.registry, options_.name);
  }
  ~PoolImpl() override = default;

  absl::StatusOr<Result> Exec(const Statement& st, const Params& params) override {
    absl::StatusOr<Result> out = absl::InternalError("unset");
    VL_RETURN_IF_ERROR(WithSession([&](Session& s) -> absl::Status {
      out = s.Exec(st, params);
      return out.status();
    }));
    return out;
  }

  absl::Status Transact(const std::function<absl::Status(Session&)>& fn, Isolation isolation,
                        int max_attempts) override {
    const char* begin = isolation == Isolation::kSerializable
                            ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                        : isolation == Isolation::kRepeatableRead
                            ? "BEGIN ISOLATION LEVEL REPEATABLE READ"
                            : "BEGIN";
    thread_local absl::BitGen gen;
    absl::Status last;
    for (int attempt = 1; attempt <= max_attempts; ++attempt) {
      last = WithSession([&](Session& s) -> absl::Status {
        VL_RETURN_IF_ERROR(s.ExecRaw(begin).status());
        absl::Status st = fn(s);
        if (st.ok()) st = s.ExecRaw("COMMIT").status();
        if (!st.ok()) (void)s.ExecRaw("ROLLBACK");
        return st;
      });
      if (last.code() != absl::StatusCode::kAborted) return last;
      // Serialization failure or deadlock: back off a little, with jitter, and retry.
      absl::SleepFor(absl::Milliseconds(absl::Uniform(gen, 1, 10 * attempt)));
    }
    return last;
  }

  absl::Status WithSession(const std::function<absl::Status(Session&)>& fn) override {
    VL_ASSIGN_OR_RETURN(std::unique_ptr<Connection> c, Acquire());
    absl::Status st = fn(*c);
    Release(std::move(c));
    return st;
  }

  absl::Status Ping() override {
    return WithSession([](Session& s) { return s.ExecRaw("SELECT 1").status(); });
  }

  Stats stats() const override {
    std::lock_guard<std::mutex> l(mu_);
    return {open_, open_ - static_cast<int>(idle_.size()), waiting_};
  }

 private:
  absl::StatusOr<std::unique_ptr<Connection>> Acquire() {
    std::unique_lock<std::mutex> l(mu_);
    auto deadline = std::chrono::steady_clock::now() +
                    absl::ToChronoMicroseconds(options_.acquire_timeout);
    ++waiting_;
    UpdateGauges();
    while (idle_.empty() && open_ >= options_.size) {
      if (cv_.wait_until(l, deadline) == std::cv_status::timeout && idle_.empty() &&
          open_ >= options_.size) {
        --waiting_;
        if (metrics_) metrics_->timeouts.Increment();
        UpdateGauges();
        return absl::UnavailableError(absl::StrCat(
            "no PostgreSQL connection free in pool '", options_.name, "' after ",
            absl::FormatDuration(options_.acquire_timeout), " (", options_.size, " in use)"));
      }
    }
    --waiting_;
    std::unique_ptr<Connection> c;
    if (!idle_.empty()) {
      c = std::move(idle_.front());
      idle_.pop_front();
    } else {
      ++open_;  // reserve the slot before dialling outside the lock
    }
    UpdateGauges();
    l.unlock();

    if (c && !c->alive()) c.reset();
    if (c && absl::Now() - c->last_used() > kCheckIdleAfter && !c->ExecRaw("SELECT 1").ok()) {
      c.reset();  // stale after a long idle: replaced in the same slot, not lent out
    }
    if (!c) {
      auto fresh = Dial();
      if (!fresh.ok()) {
        std::lock_guard<std::mutex> g(mu_);
        --open_;
        UpdateGauges();
        cv_.notify_one();
        return fresh.status();
      }
      c = std::move(*fresh);
    }
    return c;
  }

  void Release(std::unique_ptr<Connection> c) {
    std::lock_guard<std::mutex> l(mu_);
    if (c->broken()) {
      --open_;  // dropped; the next caller dials a new one
    } else {
      c->touch();
      idle_.push_front(std::move(c));  // most recently used first: keeps others idle
    }
    UpdateGauges();
    cv_.notify_one();
  }

  absl::StatusOr<std::unique_ptr<Connection>> Dial() {
    // `dbname` is expanded as the configured conninfo (keywords or URI); the keywords
    // after it add a connect timeout and pin the session time zone to UTC.
    std::string timeout =
        std::to_string(std::max<int64_t>(1, absl::ToInt64Seconds(options_.connect_timeout)));
    const char* keys[] = {"dbname", "connect_timeout", "options", nullptr};
    const char* values[] = {options_.conninfo.c_str(), timeout.c_str(), "-c TimeZone=UTC",
                            nullptr};
    PGconn* c = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (PQstatus(c) != CONNECTION_OK) {
      std::string err = PQerrorMessage(c);
      PQfinish(c);
      while (!err.empty() && err.back() == '\n') err.pop_back();
      return FromLibrary(absl::UnavailableError("cannot connect to PostgreSQL: " + err), "pg");
    }
    return std::make_unique<Connection>(c);
  }

  void UpdateGauges() {
    if (!metrics_) return;
    metrics_->open.Set(open_);
    metrics_->in_use.Set(open_ - static_cast<double>(idle_.size()));
    metrics_->waiting.Set(waiting_);
  }

  PoolOptions options_;
  std::optional<PoolMetrics> metrics_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Connection>> idle_;
  int open_ = 0;
  int waiting_ = 0;
};

}  // namespace

void CopyRows::Separate() {
  if (fields_in_row_++ > 0) data_.push_back('\t');
}

CopyRows& CopyRows::Add(std::string_view text) {
  Separate();
  for (char c : text) {
    switch (c) {
      case '\\': data_ += "\\\\"; break;
      case '\t': data_ += "\\t"; break;
      case '\n': data_ += "\\n"; break;
      case '\r': data_ += "\\r"; break;
      case '\0':
        if (status_.ok()) {
          status_ = absl::InvalidArgumentError(absl::StrCat(
              "COPY row ", rows_ + 1, " field ", fields_in_row_, " contains a NUL byte"));
        }
        break;
      default: data_.push_back(c);
    }
  }
  return *this;
}

CopyRows& CopyRows::Add(std::nullopt_t) {
  Separate();
  data_ += "\\N";
  return *this;
}

CopyRows& CopyRows::Add(int64_t v) {
  Separate();
  data_ += std::to_string(v);
  return *this;
}

void CopyRows::EndRow() {
  if (width_ < 0) width_ = fields_in_row_;
  if (fields_in_row_ != width_ && status_.ok()) {
    status_ = absl::InvalidArgumentError(absl::StrCat("COPY row ", rows_ + 1, " has ", fields_in_row_,
                                                      " fields, the first row ", width_));
  }
  data_.push_back('\n');
  ++rows_;
  fields_in_row_ = 0;
}

Param::Param(absl::Time t)
    : value_(absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone())) {}

Result::Result(void* r) : res_(r) {}
Result::Result(Result&& o) noexcept : res_(o.res_) { o.res_ = nullptr; }
Result& Result::operator=(Result&& o) noexcept {
  if (this != &o) {
    if (res_) PQclear(static_cast<PGresult*>(res_));
    res_ = o.res_;
    o.res_ = nullptr;
  }
  return *this;
}
Result::~Result() {
  if (res_) PQclear(static_cast<PGresult*>(res_));
}

namespace {
const PGresult* R(void* r) { return static_cast<const PGresult*>(r); }
}  // namespace

int Result::rows() const { return res_ ? PQntuples(R(res_)) : 0; }
int Result::affected() const {
  const char* n = res_ ? PQcmdTuples(const_cast<PGresult*>(R(res_))) : "";
  return n && *n ? std::atoi(n) : 0;
}
int Result::column(std::string_view name) const {
  return res_ ? PQfnumber(R(res_), std::string(name).c_str()) : -1;
}
bool Result::IsNull(int row, int col) const {
  return col < 0 || PQgetisnull(R(res_), row, col);
}
std::string Result::Text(int row, int col) const {
  if (IsNull(row, col)) return "";
  return std::string(PQgetvalue(R(res_), row, col), PQgetlength(R(res_), row, col));
}
std::string Result::Text(int row, std::string_view col) const { return Text(row, column(col)); }
int64_t Result::Int(int row, std::string_view col) const {
  int c = column(col);
  return IsNull(row, c) ? 0 : std::strtoll(PQgetvalue(R(res_), row, c), nullptr, 10);
}
bool Result::Bool(int row, std::string_view col) const {
  int c = column(col);
  return !IsNull(row, c) && PQgetvalue(R(res_), row, c)[0] == 't';
}
absl::Time Result::Time(int row, std::string_view col) const {
  int c = column(col);
  if (IsNull(row, c)) return absl::InfinitePast();
  // Sessions run in UTC (see Dial), so values look like "2026-11-24 23:41:00.123456+00".
  std::string text = PQgetvalue(R(res_), row, c);
  if (text.size() > 3 && text.compare(text.size() - 3, 3, "+00") == 0) text.resize(text.size() - 3);
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%d %H:%M:%E*S", text, absl::UTCTimeZone(), &t, &err)) {
    return absl::InfinitePast();
  }
  return t;
}
std::optional<std::string> Result::Optional(int row, std::string_view col) const {
  int c = column(col);
  if (IsNull(row, c)) return std::nullopt;
  return Text(row, c);
}

absl::StatusOr<std::shared_ptr<Pool>> Pool::Create(PoolOptions options) {
  if (options.conninfo.empty()) return absl::InvalidArgumentError("PostgreSQL conninfo is empty");
  if (options.size < 1) return absl::InvalidArgumentError("pool size must be at least 1");
  // Connections are dialled lazily: a service may start before its database.
  return std::shared_ptr<Pool>(std::make_shared<PoolImpl>(std::move(options)));
}

}  // namespace vetline::pg
