// bench_pims_sync: a full sync of a simulated practice (100k clients, ~150k pets) from
// the connector through the mapper and the clients service into PostgreSQL, beside a
// raw text-format COPY of the same mapped rows into the same tables (same indexes) in
// a fresh database, measured in the same run. Target: sync throughput >= 0.6x raw COPY
// (clients and pets). The same run then syncs the practice's schedule (appointment types,
// providers, rooms, block-offs, ~1 appointment per client) through the real booking
// service; its rows/s per entity are reported (no target yet).
// Each figure is printed beside its target; the last line is key=value pairs ending in
// targets_met=yes|no.
//
//   tools/bench pims-sync [--clients=100000] [--batch-size=5000]
#include <cstdio>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "libs/core/config.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/pg/migrations.h"
#include "libs/rpc/rpc.h"
#include "libs/testing/servers.h"
#include "services/booking/booking_component.h"
#include "services/clients/clients_component.h"
#include "services/clients/sync_records.h"
#include "services/pims_sync/mappers.h"
#include "services/pims_sync/sync_runner.h"
#include "tests/support/identity_stack.h"
#include "tools/pims_sim/connector_service.h"

using namespace vetline;
namespace cv1 = vetline::clients::v1;

namespace {

constexpr double kTargetRatio = 0.6;  // sync rows/s over raw COPY rows/s

constexpr pg::CopyTarget kClients{
    "clients.clients",
    "id, clinic_id, first_name, last_name, pims_id, pims_hash, last_visit_date, pims_active, "
    "pims_deleted"};
constexpr pg::CopyTarget kPhones{
    "clients.phones",
    "clinic_id, client_id, number, type, texting_capable, is_primary, primary_set_by, source"};
constexpr pg::CopyTarget kEmails{"clients.emails", "clinic_id, client_id, address, is_primary, source"};
constexpr pg::CopyTarget kPets{
    "clients.pets",
    "clinic_id, client_id, pims_id, pims_hash, name, species, breed, sex, birth_date, active, "
    "deceased, pims_deleted"};

}  // namespace

int main(int argc, char** argv) {
  int n, batch;
  ConfigParser flags("bench_pims_sync");
  flags.Int("clients", &n, "clients in the simulated practice", 100000, 1, 10'000'000);
  flags.Int("batch-size", &batch, "records per batch", 5000, 1, 5000);
  if (absl::Status st = flags.Parse(argc, argv); !st.ok()) {
    std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    return 2;
  }
  log::Init("bench", log::Level::kWarning);
  pims_sim::Practice practice({pims_sim::Kind::kCornerstone, n, 7});
  pims_sim::ConnectorService connector(practice, {});
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&connector);
  auto sim = builder.BuildAndStart();

  // --- The sync, end to end.
  testing::TestDatabase sync_db;
  auto clients = clients::Start(testing::TestServiceEnv(sync_db.conninfo()), {}).value();
  const std::string clients_address = "127.0.0.1:" + std::to_string(clients->server().port());
  // The schedule goes to booking, which asks identity for the clinic's time zone.
  testing::IdentityStack identity;
  const std::string kClinic =
      identity.CreateClinic("Bench clinic", "admin@bench.example", "correct horse battery staple").clinic().id();
  rpc::ServiceEnv booking_env = testing::TestServiceEnv(sync_db.conninfo());
  booking_env.peers = {{"clients", clients_address}, {"identity", identity.address()}};
  auto booking = booking::Start(booking_env).value();
  auto pool = pg::Pool::Create({.conninfo = sync_db.conninfo(), .size = 4}).value();
  if (!pg::Migrate(*pool, "pims_sync", pg::pims_sync_migrations()).ok()) return 1;
  pims_sync::SyncRepository repo(pool);
  pims_sync::sv1::Connector c;
  c.set_clinic_id(kClinic);
  c.set_kind("cornerstone");
  c.set_address("127.0.0.1:" + std::to_string(port));
  if (!repo.SetConnector(c).ok()) return 1;
  auth::PrincipalSigner signer(auth::Key::FromSecret(testing::kTestInternalSecret).value());
  pims_sync::SyncRunner runner(repo, rpc::Dial(clients_address),
                               rpc::Dial("127.0.0.1:" + std::to_string(booking->server().port())), signer,
                               pims_sync::SyncSettings{.batch_size = batch});
  std::fprintf(stderr, "full sync of %d clients / %lld pets...\n", n,
               static_cast<long long>(practice.Count(pims::v1::PATIENTS)));
  absl::Time t0 = absl::Now();
  double sync_s = 0;  // clients and pets, for the ratio
  std::vector<std::pair<std::string, pims_sync::Progress>> entities;  // the last progress of each
  auto run = runner.Run(kClinic, true, [&](const pims_sync::Progress& p) {
    if (entities.empty() || entities.back().first != p.entity) entities.push_back({p.entity, p});
    entities.back().second = p;
    if (p.entity == "patients") sync_s = absl::ToDoubleSeconds(absl::Now() - t0);
    if (p.done == p.total) std::fprintf(stderr, "  %s done (%.0f rows/s)\n", p.entity.c_str(), p.rows_per_second);
  });
  double run_s = absl::ToDoubleSeconds(absl::Now() - t0);
  if (!run.ok()) {
    std::fprintf(stderr, "sync failed: %s\n", run.status().ToString().c_str());
    return 1;
  }
  int64_t stored = run->clients().inserted() + run->pets().inserted();

  // --- Raw COPY of the same mapped rows into the same tables of a fresh database.
  auto mapper = pims_sync::MapperFor("cornerstone").value();
  pg::CopyRows client_rows, phone_rows, email_rows, pet_rows;
  std::map<std::string, std::string> client_uuid;
  int64_t copied = 0;
  auto uuid = [](int64_t k, int kind) {
    return absl::StrFormat("%08x-0000-4000-8000-%012x", kind, k);
  };
  for (int64_t i = 0; i < practice.Count(pims::v1::CLIENTS); ++i) {
    auto m = mapper->Client(practice.Record(pims::v1::CLIENTS, i));
    auto* cl = std::get_if<cv1::SyncClient>(&m);
    if (!cl || clients::CheckClient(*cl)) continue;
    std::string id = uuid(i, 1);
    client_uuid[cl->pims_id()] = id;
    client_rows.Add(id).Add(kClinic).Add(cl->first_name()).Add(cl->last_name()).Add(cl->pims_id())
        .Add(clients::Digest(*cl)).AddOrNull(cl->last_visit_date()).Add(cl->active())
        .Add(cl->deleted()).EndRow();
    for (const auto& p : cl->phones()) {
      phone_rows.Add(kClinic).Add(id).Add(p.number()).Add(p.type() == cv1::MOBILE ? "mobile" : "home")
          .Add(p.texting_capable()).Add(p.primary())
          .Add(p.primary() ? std::optional<std::string>("pims") : std::nullopt).Add("pims").EndRow();
    }
    for (const auto& e : cl->emails()) {
      email_rows.Add(kClinic).Add(id).Add(e.address()).Add(e.primary()).Add("pims").EndRow();
    }
    ++copied;
  }
  for (int64_t j = 0; j < practice.Count(pims::v1::PATIENTS); ++j) {
    auto m = mapper->Patient(practice.Record(pims::v1::PATIENTS, j));
    auto* p = std::get_if<cv1::SyncPet>(&m);
    if (!p || clients::CheckPet(*p)) continue;
    auto owner = client_uuid.find(p->client_pims_id());
    if (owner == client_uuid.end()) continue;
    pet_rows.Add(kClinic).Add(owner->second).Add(p->pims_id()).Add(clients::Digest(*p)).Add(p->name())
        .Add(p->species()).Add(p->breed()).Add(p->sex()).AddOrNull(p->birth_date()).Add(p->active())
        .Add(p->deceased()).Add(p->deleted()).EndRow();
    ++copied;
  }
  testing::TestDatabase copy_db;
  auto copy_pool = pg::Pool::Create({.conninfo = copy_db.conninfo(), .size = 1}).value();
  if (!pg::Migrate(*copy_pool, "clients", pg::clients_migrations()).ok()) return 1;
  std::fprintf(stderr, "raw COPY of the same %lld rows...\n", static_cast<long long>(copied));
  absl::Time t1 = absl::Now();
  absl::Status copy_status = copy_pool->Transact([&](pg::Session& s) -> absl::Status {
    for (auto [target, rows] : {std::pair{&kClients, &client_rows}, std::pair{&kPhones, &phone_rows},
                                std::pair{&kEmails, &email_rows}, std::pair{&kPets, &pet_rows}}) {
      VL_RETURN_IF_ERROR(s.CopyIn(*target, *rows).status());
    }
    return absl::OkStatus();
  });
  double copy_s = absl::ToDoubleSeconds(absl::Now() - t1);
  if (!copy_status.ok()) {
    std::fprintf(stderr, "raw COPY failed: %s\n", copy_status.ToString().c_str());
    return 1;
  }
  sim->Shutdown();

  double sync_rps = stored / sync_s, copy_rps = copied / copy_s;
  double ratio = sync_rps / copy_rps;
  bool met = ratio >= kTargetRatio;
  std::printf("full PIMS sync, %d clients / %lld pets, 2-core machine\n", n,
              static_cast<long long>(practice.Count(pims::v1::PATIENTS)));
  std::printf("  sync (connector -> mapper -> clients service -> PostgreSQL): %lld rows in %.1f s = %.0f rows/s\n",
              static_cast<long long>(stored), sync_s, sync_rps);
  std::printf("  raw text COPY of the same rows into the same tables:        %lld rows in %.1f s = %.0f rows/s\n",
              static_cast<long long>(copied), copy_s, copy_rps);
  std::printf("  ratio %.3f (target >= %.2f: %s)\n", ratio, kTargetRatio, met ? "met" : "MISSED");
  std::printf("  failed records reported: %lld clients, %lld pets\n",
              static_cast<long long>(run->clients().failed()), static_cast<long long>(run->pets().failed()));
  std::printf("  the whole run with the schedule (booking service): %.1f s; per entity:\n", run_s);
  std::string per_entity;
  for (const auto& [name, p] : entities) {
    std::printf("    %-17s %8lld rows  %8.0f rows/s\n", name.c_str(), static_cast<long long>(p.done),
                p.rows_per_second);
    per_entity += absl::StrFormat("%s_rows_per_s=%.0f ", name, p.rows_per_second);
  }
  std::printf("  schedule failed records reported: %lld appointments, %lld block-offs\n",
              static_cast<long long>(run->appointments().failed()), static_cast<long long>(run->block_offs().failed()));
  std::printf("sync_rows_per_s=%.0f copy_rows_per_s=%.0f ratio=%.3f target_ratio=%.2f clients=%d %s"
              "targets_met=%s\n",
              sync_rps, copy_rps, ratio, kTargetRatio, n, per_entity.c_str(), met ? "yes" : "no");
  return 0;
}
