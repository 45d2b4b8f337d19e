// bench_pims_sync: a full sync of a simulated practice (100k clients, ~150k pets) from
// the connector through the mapper and the clients service into PostgreSQL, beside a
// raw text-format COPY of the same mapped rows into the same tables (same indexes) in
// a fresh database. Target: sync throughput >= 50% of raw COPY.
// Last line: key=value pairs.
//
//   tools/bench pims-sync [--clients=100000] [--batch-size=5000]
#include <libpq-fe.h>

#include <cstdio>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "libs/core/log.h"
#include "libs/pg/migrations.h"
#include "libs/rpc/rpc.h"
#include "libs/testing/servers.h"
#include "services/clients/clients_component.h"
#include "services/clients/sync_records.h"
#include "services/pims_sync/mappers.h"
#include "services/pims_sync/sync_runner.h"
#include "tests/support/identity_stack.h"
#include "tools/pims_sim/connector_service.h"

using namespace vetline;
namespace cv1 = vetline::clients::v1;

namespace {

constexpr char kClinic[] = "11111111-1111-4111-8111-111111111111";

void Field(std::string& out, const std::string& v, bool last = false) {
  for (char c : v) {
    if (c == '\\' || c == '\t' || c == '\n' || c == '\r') out.push_back('\\');
    out.push_back(c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : c);
  }
  out.push_back(last ? '\n' : '\t');
}
void Null(std::string& out, bool last = false) {
  out += "\\N";
  out.push_back(last ? '\n' : '\t');
}
void Date(std::string& out, const std::string& v, bool last = false) {
  v.empty() ? Null(out, last) : Field(out, v, last);
}
std::string Bool(bool b) { return b ? "t" : "f"; }

bool Copy(PGconn* c, const std::string& sql, const std::string& data) {
  PGresult* r = PQexec(c, sql.c_str());
  bool ok = PQresultStatus(r) == PGRES_COPY_IN;
  PQclear(r);
  ok = ok && PQputCopyData(c, data.data(), static_cast<int>(data.size())) == 1 &&
       PQputCopyEnd(c, nullptr) == 1;
  while (PGresult* x = PQgetResult(c)) {
    ok = ok && PQresultStatus(x) == PGRES_COMMAND_OK;
    if (PQresultStatus(x) != PGRES_COMMAND_OK) std::fprintf(stderr, "COPY: %s", PQresultErrorMessage(x));
    PQclear(x);
  }
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 100000, batch = 5000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--clients=", 0) == 0) (void)absl::SimpleAtoi(a.substr(10), &n);
    if (a.rfind("--batch-size=", 0) == 0) (void)absl::SimpleAtoi(a.substr(13), &batch);
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
  auto pool = pg::Pool::Create({.conninfo = sync_db.conninfo(), .size = 4}).value();
  if (!pg::Migrate(*pool, "pims_sync", pg::pims_sync_migrations()).ok()) return 1;
  pims_sync::SyncRepository repo(pool);
  pims_sync::sv1::Connector c;
  c.set_clinic_id(kClinic);
  c.set_kind("cornerstone");
  c.set_address("127.0.0.1:" + std::to_string(port));
  if (!repo.SetConnector(c).ok()) return 1;
  auth::PrincipalSigner signer(auth::Key::FromSecret(testing::kTestInternalSecret).value());
  pims_sync::SyncRunner runner(repo, rpc::Dial("127.0.0.1:" + std::to_string(clients->server().port())),
                               signer, batch);
  std::fprintf(stderr, "full sync of %d clients / %lld pets...\n", n,
               static_cast<long long>(practice.Count(pims::v1::PATIENTS)));
  absl::Time t0 = absl::Now();
  auto run = runner.Run(kClinic, true, [](const pims_sync::Progress& p) {
    if (p.done == p.total) std::fprintf(stderr, "  %s done (%.0f rows/s)\n", p.entity.c_str(), p.rows_per_second);
  });
  double sync_s = absl::ToDoubleSeconds(absl::Now() - t0);
  if (!run.ok()) {
    std::fprintf(stderr, "sync failed: %s\n", run.status().ToString().c_str());
    return 1;
  }
  int64_t stored = run->clients().inserted() + run->pets().inserted();

  // --- Raw COPY of the same mapped rows into the same tables of a fresh database.
  auto mapper = pims_sync::MapperFor("cornerstone").value();
  std::string clients_rows, phone_rows, email_rows, pet_rows;
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
    Field(clients_rows, id); Field(clients_rows, kClinic); Field(clients_rows, cl->first_name());
    Field(clients_rows, cl->last_name()); Field(clients_rows, cl->pims_id());
    Field(clients_rows, clients::Digest(*cl)); Date(clients_rows, cl->last_visit_date());
    Field(clients_rows, Bool(cl->active())); Field(clients_rows, Bool(cl->deleted()), true);
    for (const auto& p : cl->phones()) {
      Field(phone_rows, kClinic); Field(phone_rows, id); Field(phone_rows, p.number());
      Field(phone_rows, p.type() == cv1::MOBILE ? "mobile" : "home");
      Field(phone_rows, Bool(p.texting_capable())); Field(phone_rows, Bool(p.primary()));
      p.primary() ? Field(phone_rows, "pims") : Null(phone_rows); Field(phone_rows, "pims", true);
    }
    for (const auto& e : cl->emails()) {
      Field(email_rows, kClinic); Field(email_rows, id); Field(email_rows, e.address());
      Field(email_rows, Bool(e.primary())); Field(email_rows, "pims", true);
    }
    ++copied;
  }
  for (int64_t j = 0; j < practice.Count(pims::v1::PATIENTS); ++j) {
    auto m = mapper->Patient(practice.Record(pims::v1::PATIENTS, j));
    auto* p = std::get_if<cv1::SyncPet>(&m);
    if (!p || clients::CheckPet(*p)) continue;
    auto owner = client_uuid.find(p->client_pims_id());
    if (owner == client_uuid.end()) continue;
    Field(pet_rows, kClinic); Field(pet_rows, owner->second); Field(pet_rows, p->pims_id());
    Field(pet_rows, clients::Digest(*p)); Field(pet_rows, p->name()); Field(pet_rows, p->species());
    Field(pet_rows, p->breed()); Field(pet_rows, p->sex()); Date(pet_rows, p->birth_date());
    Field(pet_rows, Bool(p->active())); Field(pet_rows, Bool(p->deceased()));
    Field(pet_rows, Bool(p->deleted()), true);
    ++copied;
  }
  testing::TestDatabase copy_db;
  auto copy_pool = pg::Pool::Create({.conninfo = copy_db.conninfo(), .size = 1}).value();
  if (!pg::Migrate(*copy_pool, "clients", pg::clients_migrations()).ok()) return 1;
  bool ok = true;
  std::fprintf(stderr, "raw COPY of the same %lld rows...\n", static_cast<long long>(copied));
  absl::Time t1 = absl::Now();
  (void)copy_pool->WithSession([&](pg::Session& s) {
    auto* conn = static_cast<PGconn*>(s.native());
    ok &= s.ExecRaw("BEGIN").ok();
    ok &= Copy(conn, "COPY clients.clients (id, clinic_id, first_name, last_name, pims_id, pims_hash, "
                     "last_visit_date, pims_active, pims_deleted) FROM STDIN", clients_rows);
    ok &= Copy(conn, "COPY clients.phones (clinic_id, client_id, number, type, texting_capable, "
                     "is_primary, primary_set_by, source) FROM STDIN", phone_rows);
    ok &= Copy(conn, "COPY clients.emails (clinic_id, client_id, address, is_primary, source) FROM STDIN",
               email_rows);
    ok &= Copy(conn, "COPY clients.pets (clinic_id, client_id, pims_id, pims_hash, name, species, breed, "
                     "sex, birth_date, active, deceased, pims_deleted) FROM STDIN", pet_rows);
    ok &= s.ExecRaw("COMMIT").ok();
    return absl::OkStatus();
  });
  double copy_s = absl::ToDoubleSeconds(absl::Now() - t1);
  if (!ok) return 1;
  sim->Shutdown();

  double sync_rps = stored / sync_s, copy_rps = copied / copy_s;
  std::printf("full PIMS sync, %d clients / %lld pets, 2-core machine\n", n,
              static_cast<long long>(practice.Count(pims::v1::PATIENTS)));
  std::printf("  sync (connector -> mapper -> clients service -> PostgreSQL): %lld rows in %.1f s = %.0f rows/s\n",
              static_cast<long long>(stored), sync_s, sync_rps);
  std::printf("  raw text COPY of the same rows into the same tables:        %lld rows in %.1f s = %.0f rows/s\n",
              static_cast<long long>(copied), copy_s, copy_rps);
  std::printf("  failed records reported: %lld clients, %lld pets\n",
              static_cast<long long>(run->clients().failed()), static_cast<long long>(run->pets().failed()));
  std::printf("sync_rows_per_s=%.0f copy_rows_per_s=%.0f ratio=%.3f clients=%d\n", sync_rps, copy_rps,
              sync_rps / copy_rps, n);
  return 0;
}
