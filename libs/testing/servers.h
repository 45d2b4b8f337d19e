// Throwaway PostgreSQL 15 and Redis 7 for tests, on loopback, never the machine's own.
//
// One pair serves a whole test run: the ctest fixture `test_servers` starts them with
// `vetline_test_servers start DIR` and tests find them through $VETLINE_TEST_SERVERS.
// A test binary run by hand starts its own pair on first use and stops it at exit.
// Each test gets its own database (TestDatabase), so tests can run in parallel.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace vetline::testing {

// A PostgreSQL server in its own data directory (initdb as the `postgres` user when run
// as root, fsync off), listening on 127.0.0.1 on a free port.
class PostgresServer {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start(const std::string& dir);
  // Attaches to a server started earlier in `dir` (does not stop it on destruction).
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Attach(const std::string& dir);
  ~PostgresServer();

  int port() const { return port_; }
  std::string ConnInfo(const std::string& dbname = "postgres") const;
  absl::Status Stop();     // fast shutdown, waits until it is gone
  absl::Status Restart();  // same port, same data: for reconnect tests
  absl::Status Discard();  // stops and deletes the data directory

 private:
  PostgresServer(std::string dir, int port, bool owned)
      : dir_(std::move(dir)), port_(port), owned_(owned) {}
  absl::Status StartProcess();
  std::string dir_;
  int port_;
  bool owned_;
};

class RedisServer {
 public:
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(const std::string& dir);
  static absl::StatusOr<std::unique_ptr<RedisServer>> Attach(const std::string& dir);
  ~RedisServer();
  int port() const { return port_; }
  std::string address() const;  // "127.0.0.1:PORT"
  absl::Status Stop();
  absl::Status Restart();  // same port, empty: for reconnect tests

 private:
  RedisServer(std::string dir, int port, bool owned)
      : dir_(std::move(dir)), port_(port), owned_(owned) {}
  std::string dir_;
  int port_;
  bool owned_;
};

// The run's shared servers (attached from $VETLINE_TEST_SERVERS or started privately).
PostgresServer& SharedPostgres();
RedisServer& SharedRedis();

// A fresh, empty database on the shared server, dropped when the object goes away.
class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  const std::string& name() const { return name_; }
  std::string conninfo() const;

 private:
  std::string name_;
};

// A Redis key prefix unique to this test, so tests sharing one Redis do not collide.
std::string UniqueRedisPrefix();

// A free TCP port on 127.0.0.1, chosen at random below the ephemeral range (so no
// outgoing connection takes it before the caller binds it).
int FreePort();
// The first of `count` consecutive free ports (a `--grpc-base-port` for every service).
int FreePortRange(int count);

}  // namespace vetline::testing
