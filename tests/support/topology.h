// Test support: Vetline laid out as Kubernetes runs it, as processes on one machine —
// two replicas of every service (each its own binary), two gateways, one PostgreSQL
// database, the run's Redis and one shared blob directory. Every process names all
// replicas of the services it calls ("ipv4:127.0.0.1:a,127.0.0.1:b"), so calls are
// spread round robin as over a headless Service's pods. Logs go to files, not the test.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/auth/auth.h"
#include "libs/rpc/rpc.h"
#include "libs/testing/servers.h"
#include "tests/support/child_process.h"
#include "tests/support/http_client.h"
#include "tests/support/identity_stack.h"
#include "tests/support/service_process.h"

namespace vetline::testing {

// `vetline-gateway` as its own process, ready once /readyz answers 200 (every backend
// serving) within 30 s.
class GatewayProcess {
 public:
  GatewayProcess(const std::string& binary, int port, std::vector<std::string> env, const std::string& log_path)
      : port_(port) {
    env.push_back("VETLINE_HTTP_ADDRESS=127.0.0.1:" + std::to_string(port_));
    env.push_back(std::string("VETLINE_INTERNAL_SECRET=") + kTestInternalSecret);
    process_ = std::make_unique<ChildProcess>(std::vector<std::string>{binary}, env, log_path);
    ready_ = AwaitReadyz(port_);
  }
  bool ready() const { return ready_; }
  int port() const { return port_; }

 private:
  int port_;
  std::unique_ptr<ChildProcess> process_;
  bool ready_ = false;
};

class Topology {
 public:
  static constexpr int kReplicas = 2;
  // `binaries`: service name → its binary (every service of the system); `gateway`: the
  // gateway's. `env`: more VETLINE_* settings per service (e.g. conversations' SMTP), and
  // under "gateway" for the gateways.
  Topology(const std::string& conninfo, std::map<std::string, std::string> binaries,
           const std::string& gateway, std::map<std::string, std::vector<std::string>> env = {})
      : conninfo_(conninfo),
        dir_(std::filesystem::temp_directory_path() / ("vetline-topology-" + UniqueRedisPrefix().substr(5, 12))) {
    std::filesystem::create_directories(dir_);
    for (const auto& [service, binary] : binaries) {
      for (int i = 0; i < kReplicas; ++i) {
        ports_[service].push_back(FreePort());
        metrics_ports_[service].push_back(FreePort());
      }
    }
    for (int i = 0; i < kReplicas; ++i) gateway_ports_.push_back(FreePort());
    std::vector<std::string> common = {"VETLINE_REDIS=" + SharedRedis().address(), "VETLINE_PG_POOL_SIZE=4",
                                       "VETLINE_MIGRATE_TIMEOUT=60s",
                                       // Links in messages point at gateway 0.
                                       "VETLINE_PUBLIC_URL=http://127.0.0.1:" + std::to_string(gateway_ports_[0])};
    for (const auto& [service, ports] : ports_) {
      common.push_back(absl::StrCat("VETLINE_", absl::AsciiStrToUpper(service), "_ADDRESS=", Targets(service)));
    }
    // Services first (a gateway is ready only once they all serve); peers are dialled
    // lazily, so the order among services does not matter.
    for (const auto& [service, binary] : binaries) {
      for (int i = 0; i < kReplicas; ++i) {
        std::vector<std::string> e = common;
        const std::string own = (dir_ / absl::StrCat(service, i)).string();
        e.push_back("VETLINE_MEDIA_DATA_DIR=" + own);  // each media replica its own live tracks
        e.push_back("VETLINE_MEDIA_BLOB_DIR=" + (dir_ / "blobs").string());  // one shared store
        e.push_back("VETLINE_CONVERSATIONS_BLOB_DIR=" + (dir_ / "conversations").string());
        e.push_back("VETLINE_METRICS_ADDRESS=127.0.0.1:" + std::to_string(metrics_ports_[service][i]));
        for (const std::string& more : env[service]) e.push_back(more);  // later settings win
        replicas_[service].push_back(std::make_unique<ServiceProcess>(
            binary, conninfo, ports_[service][i], e, (dir_ / absl::StrCat(service, i, ".log")).string()));
        ready_ = ready_ && replicas_[service].back()->ready();
      }
    }
    std::vector<std::string> backends;
    for (const auto& [service, ports] : ports_) backends.push_back(service + "=" + Targets(service));
    for (int i = 0; i < kReplicas && ready_; ++i) {
      gateways_.push_back(std::make_unique<GatewayProcess>(
          gateway, gateway_ports_[i],
          Concat({"VETLINE_REDIS=" + SharedRedis().address(), "VETLINE_BACKENDS=" + absl::StrJoin(backends, ",")},
                 env["gateway"]),
          (dir_ / absl::StrCat("gateway", i, ".log")).string()));
      ready_ = gateways_.back()->ready();
    }
  }
  ~Topology() {
    gateways_.clear();
    replicas_.clear();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  bool ready() const { return ready_; }
  HttpClient Gateway(int i) const { return HttpClient(gateways_.at(i)->port()); }
  int gateway_port(int i) const { return gateways_.at(i)->port(); }
  // Every replica of `service`, as its callers name them.
  std::string Targets(const std::string& service) const {
    std::vector<std::string> hosts;
    for (int port : ports_.at(service)) hosts.push_back("127.0.0.1:" + std::to_string(port));
    return "ipv4:" + absl::StrJoin(hosts, ",");
  }
  std::string Address(const std::string& service, int replica) const {
    return "127.0.0.1:" + std::to_string(ports_.at(service).at(replica));
  }
  // The port of a replica's /metrics (Prometheus text).
  int metrics_port(const std::string& service, int replica) const { return metrics_ports_.at(service).at(replica); }
  const std::map<std::string, std::vector<int>>& services() const { return ports_; }
  // kill -9 of one replica, as a node failure or the OOM killer would.
  void Kill(const std::string& service, int replica) { replicas_.at(service).at(replica)->Kill(); }
  const std::filesystem::path& dir() const { return dir_; }

#ifdef VETLINE_BINARY
  // `vetline pims-sync run ARGS...` as its own process, as a CronJob's pod runs it, against
  // every replica of clients and booking; its log appended to `log`.
  std::unique_ptr<ChildProcess> PimsSyncRun(const std::vector<std::string>& args, const std::string& log) const {
    std::vector<std::string> argv = {VETLINE_BINARY, "pims-sync", "run", "--clients-address=" + Targets("clients"),
                                     "--booking-address=" + Targets("booking")};
    argv.insert(argv.end(), args.begin(), args.end());
    return std::make_unique<ChildProcess>(
        argv, std::vector<std::string>{"VETLINE_PG_DSN=" + conninfo_,
                                       std::string("VETLINE_INTERNAL_SECRET=") + kTestInternalSecret},
        log);
  }
#endif

  // A clinic made through identity's replicas, as the operator's seeder does, and its
  // admin's session from gateway `via`.
  struct Clinic {
    std::string id, token;
  };
  absl::StatusOr<Clinic> CreateClinic(const std::string& name, const std::string& admin_email,
                                      const std::string& password, int via = 0) const {
    auto stub = identity::v1::IdentityService::NewStub(rpc::Dial(Targets("identity")));
    auth::PrincipalSigner signer(auth::Key::FromSecret(kTestInternalSecret).value());
    identity::v1::CreateClinicRequest req;
    req.set_name(name);
    req.set_time_zone("America/Chicago");
    req.set_phone("+15551230000");
    req.set_admin_email(admin_email);
    req.set_admin_name("Admin of " + name);
    req.set_admin_password(password);
    identity::v1::CreateClinicResponse resp;
    grpc::ClientContext ctx;
    rpc::SetDeadline(ctx, absl::Seconds(10));
    rpc::AttachPrincipal(ctx, IdentityStack::Platform(), signer);
    if (grpc::Status st = stub->CreateClinic(&ctx, req, &resp); !st.ok()) return rpc::FromGrpc(st);
    HttpResponse login = Gateway(via).Post(
        "/v1/auth/login", nlohmann::json{{"email", admin_email}, {"password", password}}.dump());
    if (login.status != 200) return absl::UnavailableError("login: " + login.body);
    return Clinic{resp.clinic().id(), login.json()["token"]};
  }

 private:
  static std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }
  std::string conninfo_;
  std::filesystem::path dir_;
  std::map<std::string, std::vector<int>> ports_, metrics_ports_;
  std::vector<int> gateway_ports_;
  std::map<std::string, std::vector<std::unique_ptr<ServiceProcess>>> replicas_;
  std::vector<std::unique_ptr<GatewayProcess>> gateways_;
  bool ready_ = true;
};

#ifdef VETLINE_IDENTITY_BINARY
// The service binaries CMake's vetline_uses_topology() names for this target.
inline std::map<std::string, std::string> BuiltServiceBinaries() {
  return {{"identity", VETLINE_IDENTITY_BINARY},   {"clients", VETLINE_CLIENTS_BINARY},
          {"pims_sync", VETLINE_PIMS_SYNC_BINARY}, {"media", VETLINE_MEDIA_BINARY},
          {"conversations", VETLINE_CONVERSATIONS_BINARY}, {"booking", VETLINE_BOOKING_BINARY},
          {"payments", VETLINE_PAYMENTS_BINARY}};
}
#endif

}  // namespace vetline::testing
