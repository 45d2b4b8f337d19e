#include "libs/testing/servers.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace vetline::testing {
namespace fs = std::filesystem;
namespace {

constexpr char kPgBin[] = "/usr/lib/postgresql/15/bin";

// PostgreSQL refuses to run as root: its tools run as the `postgres` user then.
std::string AsPostgres(const std::string& cmd) {
  if (geteuid() != 0) return cmd;
  return "setpriv --reuid=postgres --regid=postgres --clear-groups -- " + cmd;
}

absl::Status Run(const std::string& cmd) {
  int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  if (rc != 0) return absl::InternalError(absl::StrCat("command failed (", rc, "): ", cmd));
  return absl::OkStatus();
}

absl::Status WriteFile(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::trunc);
  f << text;
  return f ? absl::OkStatus() : absl::InternalError("cannot write " + p.string());
}

absl::StatusOr<int> ReadPort(const fs::path& p) {
  std::ifstream f(p);
  int port = 0;
  if (!(f >> port) || port <= 0) return absl::NotFoundError("no server recorded in " + p.string());
  return port;
}

bool Exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

// The data directory lives under /tmp, named after `dir`, because the postgres user may
// not be able to traverse the checkout (e.g. under /root); `dir` keeps only the port.
fs::path DataDir(const std::string& dir) {
  return fs::path(absl::StrFormat("/tmp/vetline-pg-%016x", std::hash<std::string>{}(
                                                             fs::absolute(dir).string())));
}

absl::Status PrepareForPostgres(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError("cannot create " + dir.string() + ": " + ec.message());
  if (geteuid() == 0 && std::system(("chown postgres:postgres '" + dir.string() + "'").c_str()) != 0) {
    return absl::InternalError("cannot chown " + dir.string());
  }
  return absl::OkStatus();
}

bool Bindable(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// Below the kernel's ephemeral range (32768-60999 by default): the outgoing connections of
// tests running in parallel take ephemeral ports, and one of them could take a port chosen
// here before its server binds it.
constexpr int kPortsFrom = 20000, kPortsTo = 32767;

// Ports this process has handed out. A port is free until its server binds it, so without
// this two picks of one topology (30 ports of about 12,800) met one run in thirty.
std::mutex handed_mu;
std::set<int> handed;

// Takes `port` for the caller if no earlier pick of this process has it.
bool Take(int port) {
  std::lock_guard<std::mutex> lock(handed_mu);
  return handed.insert(port).second;
}

}  // namespace

int FreePort() {
  thread_local absl::BitGen gen;  // seeded apart in every process
  for (int attempt = 0; attempt < 500; ++attempt) {
    int port = absl::Uniform<int>(absl::IntervalClosed, gen, kPortsFrom, kPortsTo);
    if (Bindable(port) && Take(port)) return port;
  }
  return 0;
}

int FreePortRange(int count) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    int base = FreePort();
    if (base <= 0 || base + count > kPortsTo) continue;
    bool all = true;
    for (int p = base + 1; p < base + count && all; ++p) all = Bindable(p) && Take(p);
    if (all) return base;
  }
  return 0;
}

// ---------------------------------------------------------------- PostgreSQL

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(const std::string& dir) {
  fs::path root(dir);
  if (auto attached = Attach(dir); attached.ok()) return attached;
  std::error_code ec;
  fs::create_directories(root, ec);
  fs::path data = DataDir(dir);
  if (!Exists(data / "PG_VERSION")) {
    if (auto st = PrepareForPostgres(data); !st.ok()) return st;
    auto st = Run(AsPostgres(absl::StrCat(kPgBin, "/initdb -D '", data.string(),
                                          "' -U postgres -A trust --no-sync -E UTF8")));
    if (!st.ok()) return st;
  }
  std::unique_ptr<PostgresServer> s(new PostgresServer(dir, FreePort(), /*owned=*/true));
  if (auto st = s->StartProcess(); !st.ok()) return st;
  if (auto st = WriteFile(root / "pg.port", std::to_string(s->port_)); !st.ok()) return st;
  return s;
}

absl::Status PostgresServer::StartProcess() {
  fs::path data = DataDir(dir_);
  std::string opts = absl::StrFormat(
      "-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories= -c fsync=off "
      "-c synchronous_commit=off -c full_page_writes=off -c max_connections=400 "
      "-c shared_buffers=256MB",
      port_);
  return Run(AsPostgres(absl::StrCat(kPgBin, "/pg_ctl -D '", data.string(), "' -w -t 60 -l '",
                                     data.string(), "/server.log' -o '", opts, "' start")));
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Attach(const std::string& dir) {
  auto port = ReadPort(fs::path(dir) / "pg.port");
  if (!port.ok()) return port.status();
  std::unique_ptr<PostgresServer> s(new PostgresServer(dir, *port, /*owned=*/false));
  PGconn* c = PQconnectdb(s->ConnInfo().c_str());
  bool ok = PQstatus(c) == CONNECTION_OK;
  PQfinish(c);
  if (!ok) return absl::UnavailableError("no PostgreSQL answers in " + dir);
  return s;
}

PostgresServer::~PostgresServer() {
  if (owned_) (void)Discard();
}

absl::Status PostgresServer::Discard() {
  absl::Status st = Stop();
  std::error_code ec;
  fs::remove_all(DataDir(dir_), ec);
  fs::remove(fs::path(dir_) / "pg.port", ec);
  return st;
}

std::string PostgresServer::ConnInfo(const std::string& dbname) const {
  return absl::StrCat("host=127.0.0.1 port=", port_, " user=postgres dbname=", dbname,
                      " connect_timeout=5");
}

absl::Status PostgresServer::Stop() {
  fs::path data = DataDir(dir_);
  if (!Exists(data / "postmaster.pid")) return absl::OkStatus();
  return Run(AsPostgres(absl::StrCat(kPgBin, "/pg_ctl -D '", data.string(),
                                     "' -m fast -w -t 60 stop")));
}

absl::Status PostgresServer::Restart() {
  if (auto st = Stop(); !st.ok()) return st;
  return StartProcess();
}

// ---------------------------------------------------------------- Redis

namespace {

// A daemonised redis-server on `port`, answering PING.
absl::Status StartRedisProcess(const fs::path& root, int port) {
  auto st = Run(absl::StrCat("redis-server --bind 127.0.0.1 --port ", port,
                             " --daemonize yes --save '' --appendonly no --dir '", root.string(),
                             "' --pidfile '", (root / "redis.pid").string(), "' --logfile '",
                             (root / "redis.log").string(), "'"));
  if (!st.ok()) return st;
  for (int i = 0; i < 100; ++i) {
    if (Run(absl::StrCat("redis-cli -p ", port, " ping")).ok()) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::UnavailableError("Redis did not start in " + root.string());
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(const std::string& dir) {
  if (auto attached = Attach(dir); attached.ok()) return attached;
  fs::path root(dir);
  std::error_code ec;
  fs::create_directories(root, ec);
  int port = FreePort();
  if (auto st = StartRedisProcess(root, port); !st.ok()) return st;
  if (auto w = WriteFile(root / "redis.port", std::to_string(port)); !w.ok()) return w;
  return std::unique_ptr<RedisServer>(new RedisServer(dir, port, /*owned=*/true));
}

absl::Status RedisServer::Restart() { return StartRedisProcess(fs::path(dir_), port_); }

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Attach(const std::string& dir) {
  auto port = ReadPort(fs::path(dir) / "redis.port");
  if (!port.ok()) return port.status();
  if (!Run(absl::StrCat("redis-cli -p ", *port, " ping")).ok()) {
    return absl::UnavailableError("no Redis answers in " + dir);
  }
  return std::unique_ptr<RedisServer>(new RedisServer(dir, *port, /*owned=*/false));
}

RedisServer::~RedisServer() {
  if (owned_) (void)Stop();
}

std::string RedisServer::address() const { return absl::StrCat("127.0.0.1:", port_); }

absl::Status RedisServer::Stop() {
  fs::path pidfile = fs::path(dir_) / "redis.pid";
  (void)Run(absl::StrCat("redis-cli -p ", port_, " shutdown nosave"));
  // A daemon is reaped slowly here: wait for its pidfile to go, not for kill -0.
  for (int i = 0; i < 200 && Exists(pidfile); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- shared servers

namespace {

struct Shared {
  std::once_flag once;
  std::unique_ptr<PostgresServer> pg;
  std::unique_ptr<RedisServer> redis;
  std::string private_dir;  // set when this process started its own pair
};

Shared& TheShared() {
  static Shared* s = new Shared;  // never destroyed: servers are stopped at exit below
  return *s;
}

void StopPrivateServers() {
  Shared& s = TheShared();
  s.redis.reset();
  s.pg.reset();
  if (!s.private_dir.empty()) {
    std::error_code ec;
    fs::remove_all(s.private_dir, ec);
  }
}

void EnsureShared() {
  Shared& s = TheShared();
  std::call_once(s.once, [&s] {
    const char* env = std::getenv("VETLINE_TEST_SERVERS");
    if (env && *env) {
      auto pg = PostgresServer::Attach(std::string(env) + "/pg");
      auto redis = RedisServer::Attach(std::string(env) + "/redis");
      if (pg.ok() && redis.ok()) {
        s.pg = std::move(*pg);
        s.redis = std::move(*redis);
        return;
      }
    }
    // Run by hand: a private pair for this process, removed at exit.
    char tmpl[] = "/tmp/vetline-test-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    s.private_dir = tmpl;
    auto pg = PostgresServer::Start(s.private_dir + "/pg");
    if (!pg.ok()) throw std::runtime_error(pg.status().ToString());
    auto redis = RedisServer::Start(s.private_dir + "/redis");
    if (!redis.ok()) throw std::runtime_error(redis.status().ToString());
    s.pg = std::move(*pg);
    s.redis = std::move(*redis);
    std::atexit(StopPrivateServers);
  });
}

absl::Status Exec(const std::string& conninfo, const std::string& sql) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string err = PQerrorMessage(c);
    PQfinish(c);
    return absl::UnavailableError(err);
  }
  PGresult* r = PQexec(c, sql.c_str());
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
  std::string err = PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
  return ok ? absl::OkStatus() : absl::InternalError(err);
}

std::string RandomSuffix() {
  thread_local absl::BitGen gen;
  return absl::StrFormat("%d_%016x", getpid(), absl::Uniform<uint64_t>(gen));
}

}  // namespace

PostgresServer& SharedPostgres() {
  EnsureShared();
  return *TheShared().pg;
}

RedisServer& SharedRedis() {
  EnsureShared();
  return *TheShared().redis;
}

TestDatabase::TestDatabase() : name_("t_" + RandomSuffix()) {
  auto st = Exec(SharedPostgres().ConnInfo(), "CREATE DATABASE " + name_ + " TEMPLATE template0");
  if (!st.ok()) throw std::runtime_error("CREATE DATABASE: " + st.ToString());
}

TestDatabase::~TestDatabase() {
  (void)Exec(SharedPostgres().ConnInfo(), "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
}

std::string TestDatabase::conninfo() const { return SharedPostgres().ConnInfo(name_); }

std::string UniqueRedisPrefix() { return "test:" + RandomSuffix() + ":"; }

}  // namespace vetline::testing
