// vetline_test_servers start|stop DIR — one PostgreSQL and one Redis for a whole ctest
// run (the `test_servers` fixture); test binaries attach through $VETLINE_TEST_SERVERS.
#include <cstdio>
#include <cstring>
#include <string>

#include "libs/testing/servers.h"

using namespace vetline::testing;

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "start") != 0 && std::strcmp(argv[1], "stop") != 0)) {
    std::fprintf(stderr, "usage: vetline_test_servers start|stop DIR\n");
    return 2;
  }
  std::string dir = argv[2];
  if (std::strcmp(argv[1], "start") == 0) {
    auto pg = PostgresServer::Start(dir + "/pg");
    if (!pg.ok()) {
      std::fprintf(stderr, "PostgreSQL: %s\n", pg.status().ToString().c_str());
      return 1;
    }
    auto redis = RedisServer::Start(dir + "/redis");
    if (!redis.ok()) {
      std::fprintf(stderr, "Redis: %s\n", redis.status().ToString().c_str());
      return 1;
    }
    std::printf("PostgreSQL on 127.0.0.1:%d, Redis on %s\n", (*pg)->port(),
                (*redis)->address().c_str());
    // Leave both running for the run: skip the destructors that would stop them.
    std::fflush(stdout);
    std::_Exit(0);
  }
  if (auto pg = PostgresServer::Attach(dir + "/pg"); pg.ok()) (void)(*pg)->Discard();
  if (auto redis = RedisServer::Attach(dir + "/redis"); redis.ok()) (void)(*redis)->Stop();
  std::printf("stopped\n");
  return 0;
}
