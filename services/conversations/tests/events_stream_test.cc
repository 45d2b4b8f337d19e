// Conversation events end to end below the gateway: events appended in a transaction
// (AppendEvent) and announced over a real Redis reach WatchEvents streams of the real
// service over gRPC — by clinic, by client, redacted, resumable from the log, whole
// across a Redis restart and a lost announcement; a watcher that falls behind is dropped.
#include <catch2/catch.hpp>

#include <atomic>
#include <random>
#include <thread>

#include "services/conversations/event_hub.h"
#include "services/conversations/tests/events_fixture.h"

using namespace vetline;
using conversations::LoggedEvent;
using testing::EventsFixture;
using testing::NewUuid;

namespace {

std::vector<std::string> Seq(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back(std::to_string(i));
  return out;
}

}  // namespace

TEST_CASE("events: staff get every event of their clinic, in order, and none of another clinic's", "[events]") {
  EventsFixture f;
  const std::string a = NewUuid(), b = NewUuid(), client = NewUuid();
  auto staff_a = f.WatchAs(testing::StaffPrincipal(a));
  auto staff_b = f.WatchAs(testing::StaffPrincipal(b));
  REQUIRE(staff_a->WaitFor(1));
  REQUIRE(staff_b->WaitFor(1));
  CHECK(staff_a->events()[0].type() == "snapshot");
  CHECK(staff_a->events()[0].id() == "0");  // the clinic's head: nothing yet
  f.Append({EventsFixture::Message(a, client, "a1"), EventsFixture::Message(a, client, "note", true)});
  f.Append({EventsFixture::Message(b, client, "b1")});
  f.Append({EventsFixture::Message(a, client, "a2")});
  REQUIRE(staff_a->WaitFor(4));
  REQUIRE(staff_b->WaitFor(2));
  CHECK(staff_a->ids() == Seq(1, 3));
  std::vector<std::string> texts;
  for (const auto& e : staff_a->events()) texts.push_back(e.message().text());
  CHECK(texts == std::vector<std::string>{"", "a1", "note", "a2"});  // staff see internal notes
  CHECK(staff_a->events()[1].conversation().assignee_user_id() == "staff-user-1");
  // Clinic B's own sequence, and only its event.
  CHECK(staff_b->ids() == Seq(1, 1));
  CHECK(staff_b->events()[1].message().text() == "b1");
  f.Append({EventsFixture::Message(b, client, "b2")});
  REQUIRE(staff_b->WaitFor(3));
  CHECK(staff_a->events().size() == 4);  // nothing of B's reached A
}

TEST_CASE("events: a client gets only their own conversations, never staff-only events, redacted", "[events]") {
  EventsFixture f;
  const std::string clinic = NewUuid(), me = NewUuid(), other = NewUuid();
  auto mine = f.WatchAs(testing::ClientPrincipal(clinic, me));
  auto staff = f.WatchAs(testing::StaffPrincipal(clinic));
  REQUIRE(mine->WaitFor(1));
  REQUIRE(staff->WaitFor(1));
  f.Append({EventsFixture::Message(clinic, me, "hello"), EventsFixture::Message(clinic, other, "not yours"),
            EventsFixture::Message(clinic, me, "internal note", true), EventsFixture::Message(clinic, me, "again")});
  REQUIRE(staff->WaitFor(5));
  REQUIRE(mine->WaitFor(3));
  CHECK(mine->ids() == std::vector<std::string>{"1", "4"});
  for (const auto& e : mine->events()) {
    if (e.type() == "snapshot") continue;
    CHECK(e.conversation().client_id() == me);
    CHECK(e.conversation().assignee_user_id().empty());   // staff-only fields are gone
    CHECK(e.conversation().staff_unread() == 0);
    CHECK(e.conversation().last_message_preview().empty());
    CHECK(e.message().deliveries_size() == 0);
    CHECK_FALSE(e.message().internal_note());
  }
  // A resume replays through the same rule.
  auto resumed = f.WatchAs(testing::ClientPrincipal(clinic, me), "0");
  REQUIRE(resumed->WaitFor(3));
  CHECK(resumed->ids() == std::vector<std::string>{"1", "4"});
  CHECK(resumed->events()[1].conversation().assignee_user_id().empty());
  // A portal account not linked to a client record, and a service, may not watch.
  api::Principal prospect = testing::ClientPrincipal(clinic, me);
  prospect.clear_client_id();
  auto refused = f.WatchAs(prospect);
  REQUIRE(refused->WaitEnded());
  CHECK(refused->status().error_code() == grpc::StatusCode::PERMISSION_DENIED);
  auto service = f.WatchAs(testing::ServicePrincipal(clinic));
  REQUIRE(service->WaitEnded());
  CHECK(service->status().error_code() == grpc::StatusCode::PERMISSION_DENIED);
}

TEST_CASE("events: Last-Event-ID replays exactly the missed events, then goes live", "[events]") {
  EventsFixture f;
  const std::string clinic = NewUuid(), client = NewUuid();
  std::vector<LoggedEvent> batch;
  for (int i = 1; i <= 5; ++i) batch.push_back(EventsFixture::Message(clinic, client, "m" + std::to_string(i)));
  f.Append(batch);
  auto w = f.WatchAs(testing::StaffPrincipal(clinic), "2");
  REQUIRE(w->WaitFor(4));
  CHECK(w->events()[0].type() == "snapshot");
  CHECK(w->events()[0].id() == "2");  // where it resumes: reconnecting now loses nothing
  CHECK(w->ids() == Seq(3, 5));
  f.Append({EventsFixture::Message(clinic, client, "m6")});
  REQUIRE(w->WaitFor(5));
  CHECK(w->ids() == Seq(3, 6));
  // Without Last-Event-ID: a snapshot at the head, then only what is new.
  auto fresh = f.WatchAs(testing::StaffPrincipal(clinic));
  REQUIRE(fresh->WaitFor(1));
  CHECK(fresh->events()[0].id() == "6");
  f.Append({EventsFixture::Message(clinic, client, "m7")});
  REQUIRE(fresh->WaitFor(2));
  CHECK(fresh->ids() == Seq(7, 7));
  // A replay longer than one page of the log comes whole and in order.
  std::vector<LoggedEvent> many;
  for (int i = 0; i < 1200; ++i) many.push_back(EventsFixture::Message(clinic, client, "bulk"));
  f.Append(many);
  auto from_start = f.WatchAs(testing::StaffPrincipal(clinic), "0");
  REQUIRE(from_start->WaitFor(1 + 1207, absl::Seconds(30)));
  CHECK(from_start->ids() == Seq(1, 1207));
  REQUIRE(w->WaitFor(5 + 1201, absl::Seconds(30)));
  CHECK(w->ids() == Seq(3, 1207));  // live watchers got the burst once each, in order
}

TEST_CASE("events: a garbled Last-Event-ID is a field error on lastEventId", "[events]") {
  EventsFixture f;
  const std::string clinic = NewUuid();
  for (const char* bad : {"abc", "-1", "1.5", "12345678901234567890", " 7"}) {
    INFO(bad);
    auto w = f.WatchAs(testing::StaffPrincipal(clinic), bad);
    REQUIRE(w->WaitEnded());
    CHECK(w->status().error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(w->status().error_details() == "lastEventId");
    CHECK(w->events().empty());
  }
}

TEST_CASE("events: committed while Redis is down still arrive after it is back, in order, once", "[events]") {
  EventsFixture f;
  const std::string clinic = NewUuid(), client = NewUuid();
  auto w = f.WatchAs(testing::StaffPrincipal(clinic));
  REQUIRE(w->WaitFor(1));
  f.Append({EventsFixture::Message(clinic, client, "before")});
  REQUIRE(w->WaitFor(2));
  REQUIRE(f.redis().Stop().ok());
  for (int i = 0; i < 3; ++i) f.Append({EventsFixture::Message(clinic, client, "while down")});
  REQUIRE(f.redis().Restart().ok());
  REQUIRE(w->WaitFor(5, absl::Seconds(20)));
  f.Append({EventsFixture::Message(clinic, client, "after")});  // announced again once Redis is back
  REQUIRE(w->WaitFor(6, absl::Seconds(20)));
  CHECK(w->ids() == Seq(1, 5));
}

TEST_CASE("events: a lost announcement is read from the log before anything newer", "[events]") {
  EventsFixture f;
  const std::string clinic = NewUuid(), client = NewUuid();
  auto w = f.WatchAs(testing::StaffPrincipal(clinic));
  REQUIRE(w->WaitFor(1));
  f.Append({EventsFixture::Message(clinic, client, "announced")});
  f.Append({EventsFixture::Message(clinic, client, "lost")}, /*announce=*/false);
  f.Append({EventsFixture::Message(clinic, client, "next")});
  REQUIRE(w->WaitFor(4));
  CHECK(w->ids() == Seq(1, 3));
  // A loss at the tail (no later announcement to show the gap) is caught up too.
  f.Append({EventsFixture::Message(clinic, client, "lost at the tail")}, /*announce=*/false);
  REQUIRE(w->WaitFor(5));
  CHECK(w->ids() == Seq(1, 4));
}

TEST_CASE("events: a watcher that falls too far behind is dropped and the others keep going", "[events]") {
  EventsFixture f;
  const std::string clinic = NewUuid(), client = NewUuid();
  conversations::EventLog log(f.pool_ptr());
  conversations::EventHub hub(log, /*max_queued=*/8);
  auto slow = hub.Watch(clinic, {.staff = true}, [] {}).value();  // never takes anything
  std::atomic<int> taken{0};
  std::shared_ptr<conversations::EventHub::Watcher> fast;
  fast = hub.Watch(clinic, {.staff = true}, [&] {
           while (fast && fast->Take()) ++taken;
         }).value();
  auto events = f.Append(std::vector<LoggedEvent>(20, EventsFixture::Message(clinic, client, "x")), false);
  for (const auto& e : events) hub.Deliver(e);
  CHECK(slow->closed().code() == absl::StatusCode::kResourceExhausted);
  CHECK(slow->Take() == nullptr);  // its queue is discarded
  CHECK(fast->closed().ok());
  CHECK(taken == 20);
  CHECK(hub.size() == 1);
}

TEST_CASE("events: transactions appending to several clinics at once never deadlock and keep each clinic's seqs whole", "[events]") {
  EventsFixture f;
  std::vector<std::string> clinics;
  for (int i = 0; i < 8; ++i) clinics.push_back(NewUuid());
  const std::string client = NewUuid();
  // No retry: a deadlock would surface as a failed transaction instead of being hidden.
  auto pool = pg::Pool::Create({.conninfo = f.conninfo(), .size = 4}).value();
  constexpr int kThreads = 4, kRounds = 15;
  std::atomic<int> failed{0};
  std::mutex mu;
  std::string first_failure;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t + 1);
      for (int round = 0; round < kRounds; ++round) {
        std::vector<std::string> order = clinics;
        std::shuffle(order.begin(), order.end(), rng);  // as a batch of deliveries comes
        std::vector<LoggedEvent> events;
        for (const std::string& c : order) events.push_back(EventsFixture::Message(c, client, "delivery"));
        absl::Status st = pool->Transact([&](pg::Session& s) { return conversations::AppendEvents(s, events); },
                                         pg::Isolation::kReadCommitted, /*max_attempts=*/1);
        if (!st.ok()) {
          ++failed;
          std::lock_guard<std::mutex> l(mu);
          if (first_failure.empty()) first_failure = st.ToString();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  INFO(first_failure);
  CHECK(failed == 0);
  conversations::EventLog log(f.pool_ptr());
  for (const std::string& c : clinics) {
    auto events = log.After(c, 0, 1000);
    REQUIRE(events.ok());
    REQUIRE(events->size() == size_t{kThreads * kRounds});
    for (size_t i = 0; i < events->size(); ++i) CHECK((*events)[i].seq == static_cast<int64_t>(i + 1));
  }

  // Within one clinic the events keep the order they were given in.
  const std::string a = NewUuid(), b = NewUuid();
  auto appended = f.Append({EventsFixture::Message(b, client, "b1"), EventsFixture::Message(a, client, "a1"),
                            EventsFixture::Message(b, client, "b2")}, /*announce=*/false);
  std::map<std::string, int64_t> seq_of;
  for (const auto& e : appended) seq_of[e.event.message().text()] = e.seq;
  CHECK(seq_of["b1"] == 1);
  CHECK(seq_of["b2"] == 2);
  CHECK(seq_of["a1"] == 1);
}
