// The clients service over real gRPC against a real PostgreSQL (and Redis for events).
#include <catch2/catch.hpp>

#include <mutex>
#include <thread>

#include "libs/pg/pg.h"
#include "nlohmann/json.hpp"
#include "libs/redis/redis.h"
#include "libs/rpc/rpc.h"
#include "libs/testing/servers.h"
#include "services/clients/clients_component.h"
#include "services/clients/texting_repository.h"
#include "tests/support/identity_stack.h"

using namespace vetline;
namespace v1 = vetline::clients::v1;

namespace {

constexpr char kClinicA[] = "11111111-1111-4111-8111-111111111111";
constexpr char kClinicB[] = "22222222-2222-4222-8222-222222222222";

class Stack {
 public:
  Stack() : signer_(auth::Key::FromSecret(testing::kTestInternalSecret).value()) {
    running_ = clients::Start(testing::TestServiceEnv(db_.conninfo(), /*with_redis=*/true, 6), {}).value();
    auto channel = rpc::Dial("127.0.0.1:" + std::to_string(running_->server().port()));
    stub_ = v1::ClientsService::NewStub(channel);
    sync_ = v1::ClientSyncService::NewStub(channel);
    pool_ = pg::Pool::Create({.conninfo = db_.conninfo(), .size = 2}).value();
  }

  static api::Principal Staff(const std::string& clinic, const std::string& user = "u-1") {
    api::Principal p;
    p.set_kind(api::Principal::STAFF);
    p.set_clinic_id(clinic);
    p.set_user_id(user);
    p.set_role("staff");
    return p;
  }
  std::unique_ptr<grpc::ClientContext> As(const api::Principal& p) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    rpc::SetDeadline(*ctx, absl::Seconds(30));
    rpc::AttachPrincipal(*ctx, p, signer_);
    return ctx;
  }
  v1::ClientsService::Stub& stub() { return *stub_; }
  v1::ClientSyncService::Stub& sync() { return *sync_; }
  pg::Pool& db() { return *pool_; }
  const auth::PrincipalSigner& signer() const { return signer_; }

  v1::Client Create(const std::string& clinic, const std::string& first, const std::string& last,
                    const std::vector<std::string>& phones = {},
                    const std::vector<std::string>& emails = {}) {
    v1::CreateClientRequest req;
    req.set_first_name(first);
    req.set_last_name(last);
    for (const auto& n : phones) {
      auto* p = req.add_phones();
      p->set_number(n);
      p->set_type(v1::MOBILE);
      p->set_texting_capable(true);
    }
    for (const auto& e : emails) req.add_emails()->set_address(e);
    v1::Client out;
    grpc::Status st = stub_->CreateClient(As(Staff(clinic)).get(), req, &out);
    REQUIRE(st.ok());
    return out;
  }

  v1::UpsertSummary Upsert(const std::string& clinic, const std::vector<v1::UpsertBatch>& batches,
                           const api::Principal* caller = nullptr) {
    api::Principal service;
    service.set_kind(api::Principal::SERVICE);
    service.set_clinic_id(clinic);
    auto ctx = As(caller ? *caller : service);
    v1::UpsertSummary summary;
    auto writer = sync_->Upsert(ctx.get(), &summary);
    for (auto b : batches) {
      b.set_clinic_id(clinic);
      writer->Write(b);
    }
    writer->WritesDone();
    last_status_ = writer->Finish();
    return summary;
  }
  grpc::Status last_status_;

 private:
  testing::TestDatabase db_;
  auth::PrincipalSigner signer_;
  std::unique_ptr<rpc::RunningService> running_;
  std::unique_ptr<v1::ClientsService::Stub> stub_;
  std::unique_ptr<v1::ClientSyncService::Stub> sync_;
  std::shared_ptr<pg::Pool> pool_;
};

int Primaries(const v1::Client& c) {
  int n = 0;
  for (const auto& p : c.phones()) n += p.primary();
  return n;
}

v1::SyncClient SyncClient(const std::string& id, const std::string& first, const std::string& last,
                          const std::string& phone = "") {
  v1::SyncClient c;
  c.set_pims_id(id);
  c.set_first_name(first);
  c.set_last_name(last);
  c.set_active(true);
  if (!phone.empty()) {
    auto* p = c.add_phones();
    p->set_number(phone);
    p->set_type(v1::MOBILE);
    p->set_texting_capable(true);
    p->set_primary(true);
  }
  return c;
}

v1::SyncPet SyncPet(const std::string& id, const std::string& owner, const std::string& name) {
  v1::SyncPet p;
  p.set_pims_id(id);
  p.set_client_pims_id(owner);
  p.set_name(name);
  p.set_species("Canine");
  p.set_active(true);
  return p;
}

int64_t Count(pg::Pool& db, const char* table) {
  pg::Statement st{table, table};
  return db.Exec(st)->Int(0, "n");
}

}  // namespace

TEST_CASE("clients: creating validates every field and writes nothing on error", "[clients]") {
  Stack s;
  auto staff = Stack::Staff(kClinicA);
  struct Bad {
    std::function<void(v1::CreateClientRequest&)> mutate;
    std::string field;
  };
  for (const Bad& bad : std::vector<Bad>{
           {[](auto& r) { r.set_last_name(" "); }, "lastName"},
           {[](auto& r) { r.add_phones()->set_number("555-CALL"); }, "phones"},
           {[](auto& r) { r.add_emails()->set_address("pat@"); }, "emails"},
           {[](auto& r) {
              r.add_phones()->set_number("+13125550100");
              r.mutable_phones(0)->set_primary(true);
              r.add_phones()->set_number("+13125550101");
              r.mutable_phones(1)->set_primary(true);
            }, "phones"},
       }) {
    v1::CreateClientRequest req;
    req.set_first_name("Pat");
    req.set_last_name("Lee");
    bad.mutate(req);
    v1::Client out;
    grpc::Status st = s.stub().CreateClient(s.As(staff).get(), req, &out);
    INFO(bad.field);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(st.error_details() == bad.field);
  }
  CHECK(Count(s.db(), "SELECT count(*) AS n FROM clients.clients") == 0);
  v1::Client c = s.Create(kClinicA, "Pat", "Lee", {"+1 312 555 0100", "+13125550101"}, {"Pat@x.com"});
  CHECK(c.phones_size() == 2);
  CHECK(Primaries(c) == 1);
  CHECK(c.phones(0).number() == "+13125550100");
  CHECK(c.emails(0).address() == "pat@x.com");
  CHECK(c.contact_options().email_enabled());  // on unless the client opted out
  CHECK(c.contact_options().text_enabled());
  CHECK(c.contact_options().push_status() == v1::PUSH_NOT_INSTALLED);
}

TEST_CASE("clients: a new primary phone clears the old one, even under concurrency",
          "[clients]") {
  Stack s;
  v1::Client c = s.Create(kClinicA, "Pat", "Lee", {"+13125550100", "+13125550101", "+13125550102"});
  REQUIRE(c.phones(0).primary());
  v1::SetPrimaryPhoneRequest req;
  req.set_client_id(c.id());
  req.set_id(c.phones(2).id());
  v1::Client out;
  REQUIRE(s.stub().SetPrimaryPhone(s.As(Stack::Staff(kClinicA, "u-7")).get(), req, &out).ok());
  CHECK(Primaries(out) == 1);
  for (const auto& p : out.phones()) {
    if (p.primary()) {
      CHECK(p.id() == c.phones(2).id());
      CHECK(p.primary_set_by() == "u-7");  // who chose it is recorded
    }
  }
  // Two staff members pick different primaries at the same moment: exactly one wins.
  for (int round = 0; round < 5; ++round) {
    std::vector<std::thread> threads;
    std::vector<grpc::Status> results(2);
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        v1::SetPrimaryPhoneRequest r;
        r.set_client_id(c.id());
        r.set_id(c.phones(t).id());
        v1::Client o;
        results[t] = s.stub().SetPrimaryPhone(s.As(Stack::Staff(kClinicA)).get(), r, &o);
      });
    }
    for (auto& t : threads) t.join();
    CHECK(results[0].ok());
    CHECK(results[1].ok());
    v1::GetClientRequest g;
    g.set_id(c.id());
    REQUIRE(s.stub().GetClient(s.As(Stack::Staff(kClinicA)).get(), g, &out).ok());
    CHECK(Primaries(out) == 1);
  }
  // Removing the primary number promotes another one.
  v1::RemovePhoneRequest rm;
  rm.set_client_id(c.id());
  for (const auto& p : out.phones()) {
    if (p.primary()) rm.set_id(p.id());
  }
  REQUIRE(s.stub().RemovePhone(s.As(Stack::Staff(kClinicA)).get(), rm, &out).ok());
  CHECK(out.phones_size() == 2);
  CHECK(Primaries(out) == 1);
}

TEST_CASE("clients: another clinic's clients are invisible", "[clients][tenancy]") {
  Stack s;
  v1::Client a = s.Create(kClinicA, "Pat", "Lee", {"+13125550100"});
  s.Create(kClinicB, "Sam", "Lee", {"+13125550199"});
  auto b_staff = Stack::Staff(kClinicB);
  v1::GetClientRequest g;
  g.set_id(a.id());
  v1::Client out;
  CHECK(s.stub().GetClient(s.As(b_staff).get(), g, &out).error_code() == grpc::StatusCode::NOT_FOUND);
  v1::AddPhoneRequest ap;
  ap.set_client_id(a.id());
  ap.set_number("+13125550111");
  CHECK(s.stub().AddPhone(s.As(b_staff).get(), ap, &out).error_code() == grpc::StatusCode::NOT_FOUND);
  v1::SearchClientsRequest q;
  q.set_query("lee");
  v1::SearchClientsResponse found;
  REQUIRE(s.stub().SearchClients(s.As(b_staff).get(), q, &found).ok());
  REQUIRE(found.clients_size() == 1);
  CHECK(found.clients(0).first_name() == "Sam");
  q.set_query("3125550100");
  REQUIRE(s.stub().SearchClients(s.As(b_staff).get(), q, &found).ok());
  CHECK(found.clients_size() == 0);
  // Non-staff callers are refused outright.
  api::Principal owner;
  owner.set_kind(api::Principal::CLIENT);
  owner.set_clinic_id(kClinicA);
  CHECK(s.stub().GetClient(s.As(owner).get(), g, &out).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
}

TEST_CASE("clients: a batch of profiles comes back in the order asked and only from the caller's clinic",
          "[clients][tenancy]") {
  Stack s;
  v1::Client pat = s.Create(kClinicA, "Pat", "Lee", {"+13125550100"});
  v1::Client kim = s.Create(kClinicA, "Kim", "Ng", {"+13125550101"});
  v1::Client sam = s.Create(kClinicB, "Sam", "Lee", {"+13125550199"});
  auto staff = Stack::Staff(kClinicA);
  v1::BatchGetClientsRequest req;
  for (const auto* c : {&kim, &pat, &kim}) req.add_ids(c->id());
  v1::BatchGetClientsResponse out;
  REQUIRE(s.stub().BatchGetClients(s.As(staff).get(), req, &out).ok());
  REQUIRE(out.clients_size() == 3);
  CHECK(out.clients(0).first_name() == "Kim");
  CHECK(out.clients(1).first_name() == "Pat");
  CHECK(out.clients(1).phones(0).number() == "+13125550100");
  CHECK(out.clients(2).id() == kim.id());

  // Another clinic's client is not found, and the answer names which id.
  req.add_ids(sam.id());
  grpc::Status st = s.stub().BatchGetClients(s.As(staff).get(), req, &out);
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(st.error_details() == "ids[3]");
  CHECK(st.error_message().find("Sam") == std::string::npos);

  v1::BatchGetClientsRequest bad;
  bad.add_ids(pat.id());
  bad.add_ids("not-an-id");
  st = s.stub().BatchGetClients(s.As(staff).get(), bad, &out);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_details() == "ids[1]");
  v1::BatchGetClientsRequest none;
  CHECK(s.stub().BatchGetClients(s.As(staff).get(), none, &out).error_details() == "ids");
  v1::BatchGetClientsRequest many;
  for (int i = 0; i < 101; ++i) many.add_ids(pat.id());
  st = s.stub().BatchGetClients(s.As(staff).get(), many, &out);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_details() == "ids");
}

TEST_CASE("clients: one search box finds names, pets, phones, emails and PIMS ids",
          "[clients][search]") {
  Stack s;
  s.Upsert(kClinicA, {[] {
             v1::UpsertBatch b;
             *b.add_clients() = SyncClient("CS-1042", "Patricia", "Smith", "+13125550100");
             *b.add_clients() = SyncClient("CS-2000", "John", "Smithers", "+13125550200");
             *b.add_clients() = SyncClient("CS-3000", "Mary", "Jones", "+13125550300");
             *b.add_pets() = SyncPet("PT-9", "CS-3000", "Smithy");
             return b;
           }()});
  REQUIRE(s.last_status_.ok());
  v1::Client mary_added = s.Create(kClinicA, "Maria", "Olsen", {}, {"maria@olsen.example"});
  auto search = [&](const std::string& q) {
    v1::SearchClientsRequest req;
    req.set_query(q);
    v1::SearchClientsResponse resp;
    grpc::Status st = s.stub().SearchClients(s.As(Stack::Staff(kClinicA)).get(), req, &resp);
    REQUIRE(st.ok());
    std::vector<std::string> names;
    for (const auto& c : resp.clients()) names.push_back(c.first_name() + " " + c.last_name());
    return names;
  };
  CHECK(search("CS-2000").front() == "John Smithers");         // PIMS id first
  CHECK(search("PT-9").front() == "Mary Jones");               // pet PIMS id
  CHECK(search("(312) 555-0300").front() == "Mary Jones");     // formatted phone
  CHECK(search("5550100").front() == "Patricia Smith");        // partial number
  CHECK(search("MARIA@olsen.example").front() == "Maria Olsen");
  auto smith = search("smith");
  REQUIRE(smith.size() == 3);                                  // two owners and a pet
  CHECK(smith[0] == "Patricia Smith");                         // closest name first
  CHECK(search("smithy").front() == "Mary Jones");             // pet name
  CHECK(search("patrica smith").front() == "Patricia Smith");  // a typo still finds her
  CHECK(search("Jo").front() == "Mary Jones");                 // short prefix of a last name
  CHECK(search("zebra").empty());
  (void)mary_added;
}

// Near misses are ranked over each clinic's list of distinct names, so every way a
// name is written (created, renamed, a pet added, a PIMS sync) must reach that list.
TEST_CASE("clients: a typo finds names however they were written, nearest first",
          "[clients][search]") {
  Stack s;
  auto staff = Stack::Staff(kClinicA);
  auto search = [&](const std::string& q) {
    v1::SearchClientsRequest req;
    req.set_query(q);
    v1::SearchClientsResponse resp;
    REQUIRE(s.stub().SearchClients(s.As(staff).get(), req, &resp).ok());
    std::vector<std::string> names;
    for (const auto& c : resp.clients()) names.push_back(c.first_name() + " " + c.last_name());
    return names;
  };
  v1::Client rosalind = s.Create(kClinicA, "Rosalind", "Okonkwo", {});
  CHECK(search("rosalnd okonkwo") == std::vector<std::string>{"Rosalind Okonkwo"});

  v1::UpdateClientRequest rename;
  rename.set_id(rosalind.id());
  rename.set_last_name("Achebe");
  v1::Client renamed;
  REQUIRE(s.stub().UpdateClient(s.As(staff).get(), rename, &renamed).ok());
  CHECK(search("rosalind achebee") == std::vector<std::string>{"Rosalind Achebe"});
  CHECK(search("rosalnd okonkwo").empty());  // the old name matches no one now

  v1::AddPetRequest pet;
  pet.set_client_id(rosalind.id());
  pet.set_name("Pumpernickel");
  v1::Pet added;
  REQUIRE(s.stub().AddPet(s.As(staff).get(), pet, &added).ok());
  CHECK(search("pumpernikel") == std::vector<std::string>{"Rosalind Achebe"});

  s.Upsert(kClinicA, {[] {
             v1::UpsertBatch b;
             *b.add_clients() = SyncClient("CS-1", "Kathrin", "Zeta", "+13125550101");
             *b.add_clients() = SyncClient("CS-2", "Catherine", "Zeta", "+13125550102");
             *b.add_clients() = SyncClient("CS-3", "Katherine", "Zeta", "+13125550103");
             return b;
           }()});
  REQUIRE(s.last_status_.ok());
  CHECK(search("katherin zeta") ==
        std::vector<std::string>{"Katherine Zeta", "Kathrin Zeta", "Catherine Zeta"});
  s.Upsert(kClinicA, {[] {
             v1::UpsertBatch b;
             *b.add_clients() = SyncClient("CS-1", "Kathrin", "Zetterberg", "+13125550101");
             return b;
           }()});
  REQUIRE(s.last_status_.ok());
  CHECK(search("kathrin zetterbrg") == std::vector<std::string>{"Kathrin Zetterberg"});
}

TEST_CASE("clients: merging moves everything to the survivor and keeps history",
          "[clients][merge]") {
  Stack s;
  auto staff = Stack::Staff(kClinicA, "u-merger");
  v1::Client a = s.Create(kClinicA, "Pat", "Lee", {"+13125550100"}, {"pat@lee.example"});
  v1::Client b = s.Create(kClinicA, "Patricia", "Lee", {"+13125550100", "+13125550111"},
                          {"patricia@lee.example"});
  v1::AddPetRequest pet;
  pet.set_client_id(b.id());
  pet.set_name("Biscuit");
  v1::Pet biscuit;
  REQUIRE(s.stub().AddPet(s.As(staff).get(), pet, &biscuit).ok());

  // Events reach Redis through the outbox.
  std::mutex mu;
  std::vector<std::string> events;
  auto sub = redis::Subscriber::Start(redis::ParseAddress(testing::SharedRedis().address()).value(),
                                      {"vetline.events.client.merged"},
                                      [&](const std::string&, const std::string& payload) {
                                        std::lock_guard<std::mutex> l(mu);
                                        events.push_back(payload);
                                      })
                 .value();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  v1::MergeClientsRequest req;
  req.set_id(a.id());
  req.set_other_client_id(b.id());
  v1::Client merged;
  REQUIRE(s.stub().MergeClients(s.As(staff).get(), req, &merged).ok());
  CHECK(merged.pets_size() == 1);
  CHECK(merged.pets(0).name() == "Biscuit");
  CHECK(merged.phones_size() == 2);  // the shared number is not duplicated
  CHECK(Primaries(merged) == 1);
  CHECK(merged.emails_size() == 2);
  int primary_emails = 0;
  for (const auto& e : merged.emails()) primary_emails += e.primary();
  CHECK(primary_emails == 1);

  v1::GetClientRequest g;
  g.set_id(b.id());
  v1::Client history;
  REQUIRE(s.stub().GetClient(s.As(staff).get(), g, &history).ok());
  CHECK(history.merged_into_id() == a.id());  // readable, resolving to the survivor
  CHECK(history.pets_size() == 0);

  // Refusals leave everything as it was.
  v1::Client out;
  grpc::Status again = s.stub().MergeClients(s.As(staff).get(), req, &out);
  CHECK(again.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  req.set_other_client_id(a.id());
  CHECK(s.stub().MergeClients(s.As(staff).get(), req, &out).error_details() == "otherClientId");
  v1::AddPhoneRequest ap;
  ap.set_client_id(b.id());
  ap.set_number("+13125550999");
  CHECK(s.stub().AddPhone(s.As(staff).get(), ap, &out).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);  // history is read-only

  bool seen = false;
  for (int i = 0; i < 50 && !seen; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::lock_guard<std::mutex> l(mu);
    for (const auto& e : events) {
      auto j = nlohmann::json::parse(e);
      seen |= j["survivorId"] == a.id() && j["mergedId"] == b.id() && j["mergedBy"] == "u-merger";
    }
  }
  CHECK(seen);
  CHECK(Count(s.db(), "SELECT count(*) AS n FROM clients.outbox WHERE published_at IS NOT NULL") == 1);
}

TEST_CASE("clients: profiles linked to different PIMS records are not merged", "[clients][merge]") {
  Stack s;
  v1::UpsertBatch batch;
  *batch.add_clients() = SyncClient("CS-1", "Pat", "Lee");
  *batch.add_clients() = SyncClient("CS-2", "Pat", "Lee");
  s.Upsert(kClinicA, {batch});
  v1::SearchClientsRequest q;
  q.set_query("pat lee");
  v1::SearchClientsResponse found;
  REQUIRE(s.stub().SearchClients(s.As(Stack::Staff(kClinicA)).get(), q, &found).ok());
  REQUIRE(found.clients_size() == 2);
  v1::MergeClientsRequest req;
  req.set_id(found.clients(0).id());
  req.set_other_client_id(found.clients(1).id());
  v1::Client out;
  grpc::Status st = s.stub().MergeClients(s.As(Stack::Staff(kClinicA)).get(), req, &out);
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(st.error_message(), Catch::Contains("CS-1") && Catch::Contains("CS-2"));
  CHECK(Count(s.db(), "SELECT count(*) AS n FROM clients.clients WHERE merged_into IS NOT NULL") == 0);
}

TEST_CASE("clients: PIMS upserts count changes, are idempotent and skip bad records",
          "[clients][sync]") {
  Stack s;
  v1::UpsertBatch first;
  *first.add_clients() = SyncClient("CS-1", "Pat", "Lee", "+13125550100");
  *first.add_clients() = SyncClient("CS-2", "Sam", "Ray", "+1 (312) 555-0200");
  *first.add_clients() = SyncClient("CS-3", "", "Nameless");     // bad: no first name
  *first.add_clients() = SyncClient("CS-4", "Bo", "Phone", "12"); // bad: phone
  v1::UpsertBatch pets;
  *pets.add_pets() = SyncPet("P-1", "CS-1", "Biscuit");
  *pets.add_pets() = SyncPet("P-2", "CS-404", "Ghost");            // owner not synced
  auto sum = s.Upsert(kClinicA, {first, pets});
  REQUIRE(s.last_status_.ok());
  CHECK(sum.clients().inserted() == 2);
  CHECK(sum.clients().failed() == 2);
  CHECK(sum.pets().inserted() == 1);
  CHECK(sum.pets().failed() == 1);
  REQUIRE(sum.errors_size() == 3);
  std::set<std::string> failed_ids;
  for (const auto& e : sum.errors()) failed_ids.insert(e.pims_id());
  CHECK(failed_ids == std::set<std::string>{"CS-3", "CS-4", "P-2"});

  // The same data again changes nothing and says so.
  int64_t updated_before = Count(s.db(), "SELECT count(*) AS n FROM clients.clients WHERE updated_at > created_at");
  auto again = s.Upsert(kClinicA, {first, pets});
  CHECK(again.clients().inserted() == 0);
  CHECK(again.clients().updated() == 0);
  CHECK(again.clients().unchanged() == 2);
  CHECK(again.pets().unchanged() == 1);
  CHECK(Count(s.db(), "SELECT count(*) AS n FROM clients.clients WHERE updated_at > created_at") ==
        updated_before);

  // A change in the PIMS is an update; a primary chosen in Vetline survives it.
  v1::SearchClientsRequest q;
  q.set_query("CS-1");
  v1::SearchClientsResponse found;
  REQUIRE(s.stub().SearchClients(s.As(Stack::Staff(kClinicA)).get(), q, &found).ok());
  v1::Client pat = found.clients(0);
  v1::AddPhoneRequest ap;
  ap.set_client_id(pat.id());
  ap.set_number("+13125550777");
  ap.set_texting_capable(true);
  ap.set_primary(true);
  REQUIRE(s.stub().AddPhone(s.As(Stack::Staff(kClinicA, "u-front")).get(), ap, &pat).ok());
  v1::UpsertBatch changed;
  *changed.add_clients() = SyncClient("CS-1", "Patricia", "Lee", "+13125550100");
  auto upd = s.Upsert(kClinicA, {changed});
  CHECK(upd.clients().updated() == 1);
  v1::GetClientRequest g;
  g.set_id(pat.id());
  REQUIRE(s.stub().GetClient(s.As(Stack::Staff(kClinicA)).get(), g, &pat).ok());
  CHECK(pat.first_name() == "Patricia");
  for (const auto& p : pat.phones()) {
    if (p.primary()) {
      CHECK(p.number() == "+13125550777");
      CHECK(p.primary_set_by() == "u-front");
    }
  }
  CHECK(Primaries(pat) == 1);
}

TEST_CASE("clients: a sync for one clinic never touches another", "[clients][sync][tenancy]") {
  Stack s;
  v1::UpsertBatch b;
  *b.add_clients() = SyncClient("CS-1", "Pat", "Lee");
  s.Upsert(kClinicA, {b});
  *b.mutable_clients(0) = SyncClient("CS-1", "Other", "Person");
  auto sum = s.Upsert(kClinicB, {b});
  CHECK(sum.clients().inserted() == 1);  // same PIMS id, different clinic: a new client
  v1::SearchClientsRequest q;
  q.set_query("CS-1");
  v1::SearchClientsResponse found;
  REQUIRE(s.stub().SearchClients(s.As(Stack::Staff(kClinicA)).get(), q, &found).ok());
  CHECK(found.clients(0).first_name() == "Pat");
  // A principal scoped to clinic A cannot write clinic B; staff cannot use the bulk API.
  api::Principal scoped;
  scoped.set_kind(api::Principal::SERVICE);
  scoped.set_clinic_id(kClinicA);
  s.Upsert(kClinicB, {b}, &scoped);
  CHECK(s.last_status_.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  auto staff = Stack::Staff(kClinicA);
  s.Upsert(kClinicA, {b}, &staff);
  CHECK(s.last_status_.error_code() == grpc::StatusCode::PERMISSION_DENIED);
}

TEST_CASE("clients: a number the carrier said cannot take texts stays so through later syncs until staff say otherwise",
          "[clients][sync][texting]") {
  Stack s;
  v1::UpsertBatch b;
  *b.add_clients() = SyncClient("CS-7", "Pat", "Lee", "+13125550177");
  s.Upsert(kClinicA, {b});
  REQUIRE(s.last_status_.ok());
  auto phone = [&]() {
    v1::SearchClientsRequest q;
    q.set_query("CS-7");
    v1::SearchClientsResponse found;
    REQUIRE(s.stub().SearchClients(s.As(Stack::Staff(kClinicA)).get(), q, &found).ok());
    REQUIRE(found.clients_size() == 1);
    v1::GetClientRequest get;
    get.set_id(found.clients(0).id());
    v1::Client c;
    REQUIRE(s.stub().GetClient(s.As(Stack::Staff(kClinicA)).get(), get, &c).ok());
    REQUIRE(c.phones_size() == 1);
    return std::make_pair(c.id(), c.phones(0));
  };
  REQUIRE(phone().second.texting_capable());
  // The carrier's answer, as the conversations feed consumer applies it.
  REQUIRE(s.db().Transact([&](pg::Session& session) {
    return clients::MarkNotTextingCapable(session, kClinicA, "+13125550177").status();
  }).ok());
  CHECK_FALSE(phone().second.texting_capable());
  // The PIMS still says texting-capable, and the record changed (so the sync rewrites it).
  b.mutable_clients(0)->set_last_name("Lee-Smith");
  s.Upsert(kClinicA, {b});
  REQUIRE(s.last_status_.ok());
  CHECK_FALSE(phone().second.texting_capable());
  // Staff who know the number texts again mark it; then the PIMS value counts again.
  auto [client_id, p] = phone();
  v1::UpdatePhoneRequest update;
  update.set_client_id(client_id);
  update.set_id(p.id());
  update.set_texting_capable(true);
  v1::Client updated;
  REQUIRE(s.stub().UpdatePhone(s.As(Stack::Staff(kClinicA)).get(), update, &updated).ok());
  b.mutable_clients(0)->set_last_name("Lee");
  s.Upsert(kClinicA, {b});
  REQUIRE(s.last_status_.ok());
  CHECK(phone().second.texting_capable());
}

TEST_CASE("clients: the portal link is signed, expiring and names the client", "[clients]") {
  Stack s;
  v1::Client c = s.Create(kClinicA, "Pat", "Lee");
  v1::SendPortalLinkRequest req;
  req.set_client_id(c.id());
  v1::SendPortalLinkResponse resp;
  REQUIRE(s.stub().SendPortalLink(s.As(Stack::Staff(kClinicA)).get(), req, &resp).ok());
  auth::LinkSigner links(auth::Key::FromSecret(testing::kTestInternalSecret).value());
  CHECK(*links.Verify(resp.link(), "portal", absl::Now()) == std::string(kClinicA) + "/" + c.id());
  CHECK_FALSE(links.Verify(resp.link(), "portal", absl::Now() + absl::Hours(73)).ok());
}
