#include "services/pims_sync/pims_sync_component.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/log.h"
#include "libs/metrics/metrics.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"
#include "libs/pg/migrations.h"
#include "libs/rpc/rpc.h"
#include "services/pims_sync/pims_sync_service.h"
#include "services/pims_sync/sync_runner.h"
#include "services/pims_sync/writeback_worker.h"
#include "nlohmann/json.hpp"

namespace vetline::pims_sync {
namespace {

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

// The gauges of every clinic's syncs, refreshed from the runs table. One series per
// clinic with a connector: bounded by the number of clinics a deployment serves.
void Refresh(SyncRepository& repo, SyncMetrics& metrics) {
  auto figures = repo.RunFigures();
  if (!figures.ok()) return;
  const double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  for (const ClinicRunFigures& f : *figures) {
    std::map<std::string, std::string> labels = {{"clinic", f.clinic_id}};
    if (f.last_success_unix) metrics.lag.Add(labels).Set(now - *f.last_success_unix);
    if (f.rows_per_second) metrics.rows.Add(labels).Set(*f.rows_per_second);
    metrics.failures.Add(labels).Set(static_cast<double>(f.failures_24h));
  }
}

struct Wiring {
  explicit Wiring(const rpc::ServiceContext& ctx)
      : signer(ctx.key()),
        repo(ctx.pool()),
        writebacks(ctx.pool()),
        service(repo, writebacks, signer, [this] { if (worker) worker->Wake(); }),
        metrics(ctx.registry()) {}
  auth::PrincipalSigner signer;
  SyncRepository repo;
  WritebackRepository writebacks;
  PimsSyncService service;
  SyncMetrics metrics;
  std::unique_ptr<WritebackWorker> worker;  // null without the booking and clients peers
};

// Booking's appointment events: one made, moved or cancelled in Vetline (not a PIMS
// appointment a sync stored) is queued for the clinic's PIMS, in the transaction that
// moves the feed cursor; the row's uniqueness makes a replayed event queue nothing new.
rpc::ConsumerSpec FollowAppointments(Wiring& w) {
  return {.source = "booking",
          .topics = {"appointment.created", "appointment.moved", "appointment.cancelled"},
          .handle = [&w](pg::Session& s, const std::string& topic, const std::string& payload) -> absl::Status {
            nlohmann::json e = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
            if (!e.is_object() || !e.value("clinicId", nlohmann::json()).is_string() ||
                !e.value("appointmentId", nlohmann::json()).is_string()) {
              log::Error("appointment event without its ids; skipped", {{"payload", payload}});
              return absl::OkStatus();  // a malformed event must not hold the rest back
            }
            const nlohmann::json source = e.value("source", nlohmann::json());
            if (source.is_string() && source.get<std::string>() == "pims") return absl::OkStatus();  // the PIMS's own
            // `newClient` comes with direct booking; older events lack it (false).
            const nlohmann::json nc = e.value("newClient", nlohmann::json(false));
            const bool new_client = nc.is_boolean() && nc.get<bool>();
            const std::string action = topic == "appointment.created" ? "create"
                                       : topic == "appointment.moved" ? "move" : "cancel";
            return w.writebacks.Enqueue(s, e["clinicId"].get<std::string>(), "appointment",
                                        e["appointmentId"].get<std::string>(), action, new_client)
                .status();
          },
          .after_commit = [&w] { if (w.worker) w.worker->Wake(); }};
}

// Conversations exported to the PIMS (S4), one client communication note each. The
// payload carries what to write: {"clinicId", "conversationId", "clientId", "exportId"
// (unique per export), "date" (YYYY-MM-DD), "text"}.
rpc::ConsumerSpec FollowExports(Wiring& w) {
  return {.source = "conversations",
          .topics = {"conversation.exported"},
          .handle = [&w](pg::Session& s, const std::string&, const std::string& payload) -> absl::Status {
            nlohmann::json e = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
            if (!e.is_object() || !e.value("clinicId", nlohmann::json()).is_string() ||
                !e.value("exportId", nlohmann::json()).is_string()) {
              log::Error("conversation.exported event without its ids; skipped", {{"payload", payload}});
              return absl::OkStatus();
            }
            return w.writebacks.Enqueue(s, e["clinicId"].get<std::string>(), "note", e["exportId"].get<std::string>(),
                                        "create", false, payload)
                .status();
          },
          .after_commit = [&w] { if (w.worker) w.worker->Wake(); }};
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
  int64_t changed = 0;
  for (auto [name, c] : {std::pair{"clients", &r.clients()}, std::pair{"pets", &r.pets()},
                         std::pair{"appointment types", &r.appointment_types()},
                         std::pair{"providers", &r.providers()}, std::pair{"rooms", &r.rooms()},
                         std::pair{"block-offs", &r.block_offs()}, std::pair{"appointments", &r.appointments()}}) {
    std::printf("  %-17s inserted %lld, updated %lld, unchanged %lld, failed %lld\n", name,
                (long long)c->inserted(), (long long)c->updated(), (long long)c->unchanged(),
                (long long)c->failed());
    changed += c->inserted() + c->updated();
  }
  for (const std::string& s : r.skipped()) std::printf("  skipped %s: the connector does not serve it\n", s.c_str());
  std::printf("  %.0f rows/s\n", r.rows_per_second());
  if (changed == 0) std::printf("  nothing changed\n");
}

}  // namespace

absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env, WritebackSettings settings) {
  return rpc::StartService(env, {
      .name = "pims_sync",
      .migrations = pg::pims_sync_migrations(),
      .wire = [settings](rpc::ServiceContext& ctx) -> absl::StatusOr<rpc::ServiceParts> {
        auto w = std::make_shared<Wiring>(ctx);
        Wiring* m = w.get();
        rpc::ServiceParts parts{
            .state = w,
            .services = {{&w->service, sv1::PimsSyncService::service_full_name()}},
            .workers = {{"figures", absl::Seconds(15), [m] {
                           Refresh(m->repo, m->metrics);
                           return PeriodicWorker::Next::kPause;
                         }}}};
        // Write-back needs booking (its feed, the appointments) and clients; a deployment
        // without them (staff API only) writes nothing.
        auto booking = ctx.Peer("booking");
        auto clients = ctx.Peer("clients");
        if (booking.ok() && clients.ok()) {
          w->worker = std::make_unique<WritebackWorker>(w->writebacks, *booking, *clients, w->signer, settings);
          parts.consumers.push_back(FollowAppointments(*w));
          if (ctx.Peer("conversations").ok()) parts.consumers.push_back(FollowExports(*w));
          // After the migrations: the worker reads its table from the first step.
          parts.before_serving = [m] {
            m->worker->Start();
            return absl::OkStatus();
          };
        }
        return parts;
      }});
}

rpc::ServiceDefinition Definition() {
  return {
      .name = "pims_sync",
      // Write-back: booking's appointment events and appointments, clients' records,
      // conversations' exports (optional).
      .peers = {"booking", "clients", "conversations"},
      .start = [](const rpc::ServiceEnv& env) { return Start(env); },
  };
}

int RunCommand(int argc, char** argv) {
  log::Init("pims-sync", log::Level::kWarning);
  std::string verb = argc > 2 ? argv[2] : "";
  if (verb != "run" && verb != "set-connector") {
    std::fprintf(stderr,
                 "usage: vetline pims-sync run (--clinic=ID | --all) [--full] [--clients-address=HOST:PORT]\n"
                 "                             [--booking-address=HOST:PORT]\n"
                 "       vetline pims-sync set-connector --clinic=ID --kind=cornerstone|avimark|none [--address=HOST:PORT]\n");
    return 2;
  }
  rpc::PlatformSettings platform;
  std::string clinic, clients_address, booking_address, kind, address;
  bool all = false, full = false;
  SyncSettings sync;
  ConfigParser p("vetline pims-sync " + verb);
  platform.Register(p);
  p.String("clinic", &clinic, "the clinic id", "");
  if (verb == "run") {
    p.Bool("all", &all, "every clinic with a connector", false);
    p.Bool("full", &full, "a full snapshot instead of the changes since the last run", false);
    p.String("clients-address", &clients_address, "the clients service", rpc::LocalAddresses().at("clients"));
    p.String("booking-address", &booking_address, "the booking service (the schedule)",
             rpc::LocalAddresses().at("booking"));
    p.Int("batch-size", &sync.batch_size, "records per batch (and per checkpoint)", 5000, 1, 5000);
    sync.Register(p);
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
  if (absl::Status st = sync.Validate(); !st.ok()) {
    std::fprintf(stderr, "vetline pims-sync run: %s\n", std::string(st.message()).c_str());
    return 2;
  }
  auto key = auth::Key::FromSecret(platform.internal_secret);
  // The runner holds a session for the clinic's lock while it stores batches.
  platform.pg_pool_size = std::max(2, platform.pg_pool_size);
  auto pool = key.ok() ? rpc::OpenDatabase(platform, "pims_sync", pg::pims_sync_migrations())
                       : key.status();
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
  SyncRunner runner(repo, rpc::Dial(clients_address), rpc::Dial(booking_address), signer, sync);
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
