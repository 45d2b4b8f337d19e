// Test support: a conversations schema with one clinic and N queued deliveries per
// channel (each to its own number or address, so arrivals at a stand-in are countable),
// for the delivery tests and `tools/bench delivery`.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "libs/outbox/outbox.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pg.h"
#include "services/conversations/event_log.h"

namespace vetline::testing {

// A test's own SQL on `pool` (setup and checks); throws with the error.
inline pg::Result RunSql(pg::Pool& pool, const std::string& sql, const pg::Params& params = {}) {
  pg::Result out(nullptr);
  absl::Status st = pool.WithSession([&](pg::Session& s) -> absl::Status {
    auto r = s.ExecRaw(sql, params);
    if (!r.ok()) return r.status();
    out = std::move(*r);
    return absl::OkStatus();
  });
  if (!st.ok()) throw std::runtime_error(st.ToString());
  return out;
}

// For tests of the delivery worker alone: events stay in the log, no one is told.
struct SilentAnnouncer : conversations::EventAnnouncer {
  void Announce(const std::vector<conversations::LoggedEvent>&) override {}
};

class DeliveryQueueDb {
 public:
  static constexpr char kClinic[] = "11111111-1111-1111-1111-111111111111";

  explicit DeliveryQueueDb(const std::string& conninfo, int pool_size = 8)
      : pool_(pg::Pool::Create({.conninfo = conninfo, .size = pool_size, .name = "conversations"}).value()) {
    // With the service's outbox, as the service kit applies it (a dropped push endpoint
    // writes push.unsubscribed there).
    std::vector<pg::Migration> migrations = pg::conversations_migrations();
    migrations.push_back(outbox::Outbox("conversations").Migration());
    (void)pg::Migrate(*pool_, "conversations", migrations).value();
    Sql("INSERT INTO conversations.clinics (clinic_id, sms_from_number, email_from_name, "
        "email_from_address) VALUES ($1, '+15550001111', 'Maple Vets', 'hello@maple.example')",
        {kClinic});
    std::string status = Sql("INSERT INTO conversations.statuses (clinic_id, name) VALUES ($1, 'Open') "
                             "RETURNING id", {kClinic}).Text(0, "id");
    conversation_ = Sql("INSERT INTO conversations.conversations (clinic_id, client_id, status_id) "
                        "VALUES ($1, gen_random_uuid(), $2) RETURNING id", {kClinic, status})
                        .Text(0, "id");
  }

  const std::shared_ptr<pg::Pool>& pool() const { return pool_; }

  // `each` staff messages, each queued as a text to +1555<n> and an email to client<n>@.
  void QueueTextsAndEmails(int each) {
    Sql("WITH m AS (INSERT INTO conversations.messages (clinic_id, conversation_id, author, body) "
        "SELECT $1, $2, 'staff', 'Reminder ' || g FROM generate_series(1, $3::int) g RETURNING id, body) "
        "INSERT INTO conversations.deliveries (clinic_id, message_id, channel, destination, state) "
        "SELECT $1, id, 'text', '+1555' || lpad(split_part(body, ' ', 2), 7, '0'), 'queued' FROM m "
        "UNION ALL SELECT $1, id, 'email', 'client' || split_part(body, ' ', 2) || '@example.com', "
        "'queued' FROM m",
        {kClinic, conversation_, each});
  }

  // One staff message queued on one channel; its id.
  std::string Queue(const std::string& channel, const std::string& destination,
                    const std::string& body) {
    std::string m = Sql("INSERT INTO conversations.messages (clinic_id, conversation_id, author, body) "
                        "VALUES ($1, $2, 'staff', $3) RETURNING id", {kClinic, conversation_, body})
                        .Text(0, "id");
    Sql("INSERT INTO conversations.deliveries (clinic_id, message_id, channel, destination, state) "
        "VALUES ($1, $2, $3, $4, 'queued')", {kClinic, m, channel, destination});
    return m;
  }
  const std::string& conversation_id() const { return conversation_; }

  int64_t CountInState(const std::string& state) {
    return Sql("SELECT count(*) AS n FROM conversations.deliveries WHERE state = $1", {state}).Int(0, "n");
  }
  int64_t CountTriedAtLeast(int attempts) {
    return Sql("SELECT count(*) AS n FROM conversations.deliveries WHERE attempts >= $1", {attempts})
        .Int(0, "n");
  }

  pg::Result Sql(const std::string& sql, const pg::Params& params = {}) {
    return RunSql(*pool_, sql, params);
  }

 private:
  std::shared_ptr<pg::Pool> pool_;
  std::string conversation_;
};

}  // namespace vetline::testing
