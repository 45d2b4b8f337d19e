#include "services/pims_sync/pims_sync_component.h"

#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <thread>

#include "absl/strings/str_format.h"
#include "libs/core/log.h"
#include "libs/metrics/metrics.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"
#include "libs/pg/migrations.h"
#include "libs/rpc/rpc.h"
#include "services/pims_sync/pims_sync_service.h"
#include "services/pims_sync/sync_runner.h"

namespace vetline::pims_sync {
namespace {

// Per-clinic gauges refreshed from the runs table. One series per clinic with a
// connector: bounded by the number of clinics a deployment serves.
constexpr pg::Statement kRunFigures{
    "pims_run_figures",
    "SELECT c.clinic_id, extract(epoch FROM cur.last_success_at) AS last_success, "
    "(SELECT count(*) FROM pims_sync.runs r WHERE r.clinic_id = c.clinic_id AND r.state = 'failed' "
    " AND r.started_at > now() - interval '1 day') AS failures_24h, "
    "(SELECT (clients_inserted + clients_updated + clients_unchanged + clients_failed + pets_inserted "
    " + pets_updated + pets_unchanged + pets_failed) / greatest(active_seconds, 0.001) "
    " FROM pims_sync.runs r WHERE r.clinic_id = c.clinic_id AND r.state = 'succeeded' "
    " ORDER BY finished_at DESC LIMIT 1) AS rows_per_second "
    "FROM pims_sync.connectors c LEFT JOIN pims_sync.cursors cur ON cur.clinic_id = c.clinic_id "
    "WHERE c.kind <> 'none'"};

struct SyncMetrics {
  explicit SyncMetrics(prometheus::Registry& r)
      : lag(prometheus::BuildGauge().Name("vetline_pims_sync_lag_seconds")
                .Help("Seconds since the clinic's last successful PIMS sync").Register(r)),
        rows(prometheus::BuildGauge().Name("vetline_pims_sync_rows_per_second")
                 .Help("Throughput of the clinic's last successful PIMS sync").Register(r)),
        failures(prometheus::BuildGauge().Name("vetline_pims_sync_failed_runs_24h")
                     .Help("Failed PIMS sync runs of the clinic in the last 24 hours").Register(r)) {}
  prometheus::Family<prometheus::Gauge>& lag;
  prometheus::Family<prometheus::Gauge>& rows;
  prometheus::Family<prometheus::Gauge>& failures;
};

class RunningSync final : public rpc::RunningService {
 public:
  RunningSync(std::shared_ptr<pg::Pool> pool, auth::Key key, prometheus::Registry& registry)
      : pool_(std::move(pool)), signer_(key), repo_(pool_), service_(repo_, signer_), metrics_(registry) {}
  ~RunningSync() override {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (refresher_.joinable()) refresher_.join();
    if (server_) server_->Shutdown();
  }
  rpc::Server& server() override { return *server_; }

  void StartRefresh() {
    refresher_ = std::thread([this] {
      std::unique_lock<std::mutex> l(mu_);
      while (!stop_) {
        l.unlock();
        Refresh();
        l.lock();
        cv_.wait_for(l, std::chrono::seconds(15), [this] { return stop_; });
      }
    });
  }

  void Refresh() {
    auto r = pool_->Exec(kRunFigures);
    if (!r.ok()) return;
    double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
    for (int i = 0; i < r->rows(); ++i) {
      std::map<std::string, std::string> labels = {{"clinic", r->Text(i, "clinic_id")}};
      if (auto last = r->Optional(i, "last_success")) metrics_.lag.Add(labels).Set(now - std::stod(*last));
      if (auto rps = r->Optional(i, "rows_per_second")) metrics_.rows.Add(labels).Set(std::stod(*rps));
      metrics_.failures.Add(labels).Set(static_cast<double>(r->Int(i, "failures_24h")));
    }
  }

  std::shared_ptr<pg::Pool> pool_;
  auth::PrincipalSigner signer_;
  SyncRepository repo_;
  PimsSyncService service_;
  SyncMetrics metrics_;
  std::unique_ptr<rpc::Server> server_;
  std::thread refresher_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

absl::StatusOr<std::shared_ptr<pg::Pool>> MigratedPool(const rpc::PlatformSettings& platform,
                                                      prometheus::Registry* registry) {
  VL_ASSIGN_OR_RETURN(auto pool, pg::Pool::Create({.conninfo = platform.pg_dsn,
                                                   .size = std::max(2, platform.pg_pool_size),
                                                   .name = "pims_sync",
                                                   .registry = registry}));
  VL_RETURN_IF_ERROR(rpc::RetryUntil(platform.migrate_timeout, "pims_sync migrations", [&] {
    return pg::Migrate(*pool, "pims_sync", pg::pims_sync_migrations()).status();
  }));
  return pool;
}

// A progress line on a terminal, or a line per tenth of the work otherwise.
class ProgressPrinter {
 public:
  void operator()(const Progress& p) {
    bool tty = isatty(STDERR_FILENO);
    int pct = p.total > 0 ? static_cast<int>(100 * p.done / p.total) : 100;
    if (tty) {
      int filled = pct / 4;
      std::fprintf(stderr, "\r%-9s [%-25s] %3d%% %lld/%lld  %.0f rows/s   ", p.entity.c_str(),
                   std::string(filled, '#').c_str(), pct, static_cast<long long>(p.done),
                   static_cast<long long>(p.total), p.rows_per_second);
      if (p.done >= p.total) std::fprintf(stderr, "\n");
    } else if (p.entity != entity_ || pct / 10 != last_decile_ || p.done >= p.total) {
      if (p.entity == entity_ && pct / 10 == last_decile_ && p.done < p.total) return;
      std::fprintf(stderr, "%s: %lld/%lld (%d%%), %.0f rows/s\n", p.entity.c_str(),
                   static_cast<long long>(p.done), static_cast<long long>(p.total), pct, p.rows_per_second);
    }
    entity_ = p.entity;
    last_decile_ = pct / 10;
  }

 private:
  std::string entity_;
  int last_decile_ = -1;
};

void PrintReport(const sv1::Run& r) {
  std::printf("run %s (%s, attempt %d): %s\n", r.id().c_str(), r.mode().c_str(), r.attempts(), r.state().c_str());
  for (auto [name, c] : {std::pair{"clients", &r.clients()}, std::pair{"pets", &r.pets()}}) {
    std::printf("  %-8s inserted %lld, updated %lld, unchanged %lld, failed %lld\n", name,
                (long long)c->inserted(), (long long)c->updated(), (long long)c->unchanged(),
                (long long)c->failed());
  }
  std::printf("  %.0f rows/s\n", r.rows_per_second());
  if (r.clients().inserted() + r.clients().updated() + r.pets().inserted() + r.pets().updated() == 0) {
    std::printf("  nothing changed\n");
  }
}

}  // namespace

rpc::ServiceDefinition Definition() {
  return {
      .name = "pims_sync",
      .default_port = 50053,
      .register_flags = nullptr,
      .start = [](const rpc::ServiceEnv& env) -> absl::StatusOr<std::unique_ptr<rpc::RunningService>> {
        VL_ASSIGN_OR_RETURN(auth::Key key, auth::Key::FromSecret(env.platform.internal_secret));
        VL_ASSIGN_OR_RETURN(auto pool, pg::Pool::Create({.conninfo = env.platform.pg_dsn,
                                                         .size = env.platform.pg_pool_size,
                                                         .name = "pims_sync",
                                                         .registry = env.registry.get()}));
        auto running = std::make_unique<RunningSync>(pool, key, *env.registry);
        VL_ASSIGN_OR_RETURN(running->server_,
                            rpc::Server::Start({.name = "pims_sync",
                                                .address = env.grpc_address,
                                                .registry = env.registry,
                                                .health_services = {sv1::PimsSyncService::service_full_name()}},
                                               {&running->service_}));
        VL_RETURN_IF_ERROR(rpc::RetryUntil(env.platform.migrate_timeout, "pims_sync migrations", [&] {
          return pg::Migrate(*pool, "pims_sync", pg::pims_sync_migrations()).status();
        }));
        running->StartRefresh();
        running->server_->SetServing(true);
        return std::unique_ptr<rpc::RunningService>(std::move(running));
      },
  };
}

int RunCommand(int argc, char** argv) {
  log::Init("pims-sync", log::Level::kWarning);
  std::string verb = argc > 2 ? argv[2] : "";
  if (verb != "run" && verb != "set-connector") {
    std::fprintf(stderr,
                 "usage: vetline pims-sync run (--clinic=ID | --all) [--full] [--clients-address=HOST:PORT]\n"
                 "       vetline pims-sync set-connector --clinic=ID --kind=cornerstone|avimark|none [--address=HOST:PORT]\n");
    return 2;
  }
  rpc::PlatformSettings platform;
  std::string clinic, clients_address, kind, address;
  bool all = false, full = false;
  int batch_size = 5000;
  ConfigParser p("vetline pims-sync " + verb);
  platform.Register(p);
  p.String("clinic", &clinic, "the clinic id", "");
  if (verb == "run") {
    p.Bool("all", &all, "every clinic with a connector", false);
    p.Bool("full", &full, "a full snapshot instead of the changes since the last run", false);
    p.String("clients-address", &clients_address, "the clients service", "127.0.0.1:50052");
    p.Int("batch-size", &batch_size, "records per batch (and per checkpoint)", 5000, 1, 5000);
  } else {
    p.String("kind", &kind, "cornerstone, avimark or none", "", true);
    p.String("address", &address, "host:port of the connector agent", "");
  }
  if (absl::Status st = p.Parse(argc, argv, 3); !st.ok()) {
    std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    return 2;
  }
  if (all == !clinic.empty() && verb == "run") {
    std::fprintf(stderr, "vetline pims-sync run: give exactly one of --clinic=ID or --all\n");
    return 2;
  }
  auto key = auth::Key::FromSecret(platform.internal_secret);
  auto pool = key.ok() ? MigratedPool(platform, nullptr) : key.status();
  if (!pool.ok()) {
    std::fprintf(stderr, "vetline pims-sync: %s\n", pool.status().ToString().c_str());
    return 1;
  }
  SyncRepository repo(*pool);
  if (verb == "set-connector") {
    absl::Status st = validate::Id("clinic", clinic);
    if (st.ok()) st = ValidateConnector(kind, address);
    sv1::Connector c;
    c.set_clinic_id(clinic);
    c.set_kind(kind);
    c.set_address(address);
    if (st.ok()) st = repo.SetConnector(c);
    if (!st.ok()) {
      std::fprintf(stderr, "vetline pims-sync: %s\n", std::string(st.message()).c_str());
      return 1;
    }
    std::printf("connector of %s: %s %s\n", clinic.c_str(), kind.c_str(), address.c_str());
    return 0;
  }
  std::vector<std::string> clinics;
  if (all) {
    auto connectors = repo.ListConnectors();
    if (!connectors.ok()) {
      std::fprintf(stderr, "vetline pims-sync: %s\n", connectors.status().ToString().c_str());
      return 1;
    }
    for (const auto& c : *connectors) clinics.push_back(c.clinic_id());
  } else {
    clinics.push_back(clinic);
  }
  auth::PrincipalSigner signer(*key);
  SyncRunner runner(repo, rpc::Dial(clients_address), signer, batch_size);
  int failures = 0;
  for (const std::string& id : clinics) {
    std::fprintf(stderr, "syncing clinic %s (%s)\n", id.c_str(), full ? "full" : "incremental");
    ProgressPrinter progress;
    auto report = runner.Run(id, full, [&](const Progress& pr) { progress(pr); });
    if (!report.ok()) {
      std::fprintf(stderr, "clinic %s: %s\n", id.c_str(), std::string(report.status().message()).c_str());
      ++failures;
      continue;
    }
    PrintReport(*report);
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace vetline::pims_sync
