// bench_events: realtime conversation events through the whole stack on loopback.
// 50 clinics, 1,000 SSE subscribers (20 staff streams per clinic, each its own keep-alive
// connection to GET /v1/events), 500 messages/s sent through the REST API (POST
// /v1/conversations/{id}/messages, spread over the clinics). Latency is measured from
// each send's HTTP answer to the message's receipt on every subscriber of its clinic
// (a receipt before the answer counts as 0). Redis carries the announcements, as in
// production. Target: p99 <= 25 ms at the asked rate (95% of it achieved). The last line
// is key=value pairs with targets_met.
//
// With --send=append the REST send is replaced by what it ends with — AppendEvent in a
// transaction, then the announcer — timed from the commit: the realtime path alone.
//
//   tools/bench events [--clinics=50] [--per-clinic=20] [--rate=500] [--seconds=20]
//                      [--send=rest|append]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "libs/core/config.h"
#include "libs/core/log.h"
#include "libs/rpc/rpc.h"
#include "libs/testing/servers.h"
#include "services/clients/clients_component.h"
#include "services/conversations/conversations_component.h"
#include "services/conversations/event_log.h"
#include "services/conversations/redis_announcer.h"
#include "services/gateway/gateway.h"
#include "services/identity/identity_component.h"
#include "tests/support/http_client.h"
#include "tests/support/identity_stack.h"

using namespace vetline;

namespace {

constexpr char kPassword[] = "correct horse battery";

template <typename T>
T Must(absl::StatusOr<T> v, const char* what) {
  if (!v.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, v.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*v);
}

std::string Address(rpc::RunningService& s) { return "127.0.0.1:" + std::to_string(s.server().port()); }

int64_t NowUs() { return absl::ToUnixMicros(absl::Now()); }

// Receipt times of each message id, across every subscriber.
struct Receipts {
  std::mutex mu;
  std::unordered_map<std::string, std::vector<int64_t>> at;
};

// Many SSE streams read by one epoll thread: chunked framing undone, each `data:` line's
// message id noted with the time it arrived.
class Subscribers {
 public:
  Subscribers(int port, Receipts& receipts, size_t capacity)
      : port_(port), receipts_(receipts), ep_(epoll_create1(0)) {
    conns_.reserve(capacity);  // never reallocated while the reader runs
    thread_ = std::thread([this] { Run(); });
  }
  ~Subscribers() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (auto& c : conns_) close(c.fd);
    close(ep_);
  }

  bool Open(const std::string& token) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return close(fd), false;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::string req = "GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                      "Authorization: Bearer " + token + "\r\n\r\n";
    if (send(fd, req.data(), req.size(), 0) != static_cast<ssize_t>(req.size())) return close(fd), false;
    if (conns_.size() == conns_.capacity()) return close(fd), false;
    conns_.push_back({fd});
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = conns_.size() - 1;
    epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
    return true;
  }

  int snapshots() const { return snapshots_; }
  int closed() const { return closed_; }

 private:
  struct Conn {
    int fd;
    bool head_done = false;
    std::string raw;   // undecoded bytes
    std::string text;  // decoded SSE text
    bool open = true;
  };

  void Run() {
    epoll_event evs[256];
    char buf[65536];
    while (!stop_) {
      int n = epoll_wait(ep_, evs, 256, 100);
      int64_t now = NowUs();
      for (int i = 0; i < n; ++i) {
        Conn& c = conns_[evs[i].data.u64];
        ssize_t got = recv(c.fd, buf, sizeof buf, 0);
        if (got <= 0) {
          if (c.open) ++closed_;
          c.open = false;
          epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
          continue;
        }
        c.raw.append(buf, static_cast<size_t>(got));
        Decode(c, now);
      }
    }
  }

  void Decode(Conn& c, int64_t now) {
    if (!c.head_done) {
      size_t end = c.raw.find("\r\n\r\n");
      if (end == std::string::npos) return;
      c.raw.erase(0, end + 4);
      c.head_done = true;
    }
    for (;;) {  // chunks: size CRLF data CRLF
      size_t eol = c.raw.find("\r\n");
      if (eol == std::string::npos) break;
      size_t size = std::strtoul(c.raw.substr(0, eol).c_str(), nullptr, 16);
      if (c.raw.size() < eol + 2 + size + 2) break;
      c.text.append(c.raw, eol + 2, size);
      c.raw.erase(0, eol + 2 + size + 2);
    }
    for (;;) {
      size_t end = c.text.find("\n\n");
      if (end == std::string::npos) break;
      std::string_view block(c.text.data(), end);
      if (block.find("event: snapshot") != std::string_view::npos) {
        ++snapshots_;
      } else if (size_t m = block.find("\"message\":{\"id\":\""); m != std::string_view::npos) {
        size_t from = m + 17, to = block.find('"', from);
        std::lock_guard<std::mutex> l(receipts_.mu);
        receipts_.at[std::string(block.substr(from, to - from))].push_back(now);
      }
      c.text.erase(0, end + 2);
    }
  }

  const int port_;
  Receipts& receipts_;
  const int ep_;
  std::vector<Conn> conns_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> snapshots_{0}, closed_{0};
};

double LoadAverage() {
  std::ifstream f("/proc/loadavg");
  double one = 0;
  f >> one;
  return one;
}

}  // namespace

int main(int argc, char** argv) {
  int clinics, per_clinic, rate, seconds;
  std::string send;
  ConfigParser flags("bench_events");
  flags.Int("clinics", &clinics, "clinics, each with one conversation", 50, 1, 200);
  flags.Int("per-clinic", &per_clinic, "SSE subscribers per clinic (its staff consoles)", 20, 1, 100);
  flags.Int("rate", &rate, "messages sent per second, over all clinics", 500, 1, 5000);
  flags.Int("seconds", &seconds, "how long messages are sent", 20, 1, 60);
  flags.String("send", &send, "rest (POST .../messages) or append (AppendEvent + announce)", "rest");
  if (absl::Status st = flags.Parse(argc, argv); !st.ok()) {
    std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    return 2;
  }
  if (send != "rest" && send != "append") return std::fprintf(stderr, "--send is rest or append\n"), 2;
  const bool rest = send == "rest";
  log::Init("bench", log::Level::kWarning);

  std::fprintf(stderr, "starting PostgreSQL, Redis, identity, clients, conversations and the gateway...\n");
  testing::TestDatabase db;
  auto env = [&] { return testing::TestServiceEnv(db.conninfo(), /*with_redis=*/true, /*pool_size=*/8); };
  auto clients = Must(clients::Start(env(), {}), "clients");
  rpc::ServiceEnv identity_env = env();
  identity_env.peers["clients"] = Address(*clients);
  auto identity = Must(identity::Start(identity_env, {}), "identity");
  rpc::ServiceEnv conv_env = env();
  conv_env.peers = {{"clients", Address(*clients)}, {"identity", Address(*identity)}, {"media", "127.0.0.1:1"}};
  char blob_dir[] = "/tmp/vetline-bench-events-XXXXXX";
  if (!mkdtemp(blob_dir)) return std::fprintf(stderr, "mkdtemp failed\n"), 1;
  conversations::ConversationsOptions conv_options;
  conv_options.blob_dir = blob_dir;
  auto conversations = Must(conversations::Start(conv_env, conv_options), "conversations");
  gateway::GatewayOptions g;
  g.http_address = "127.0.0.1:0";
  g.backends = {{"identity", Address(*identity)},
                {"clients", Address(*clients)},
                {"conversations", Address(*conversations)}};
  g.redis = testing::SharedRedis().address();
  g.rate_limit_prefix = testing::UniqueRedisPrefix();
  g.login_ip_burst = g.login_ip_per_minute = 100000;  // 50 admins sign in from one address
  g.internal_secret = testing::kTestInternalSecret;
  g.registry = std::make_shared<prometheus::Registry>();
  g.proto_files = {"vetline/identity/v1/identity.proto", "vetline/clients/v1/clients.proto",
                   "vetline/conversations/v1/conversations.proto", "vetline/conversations/v1/events.proto"};
  auto gw = Must(gateway::Gateway::Start(g), "gateway");
  const int port = gw->port();

  std::fprintf(stderr, "setting up %d clinics (admin, client, conversation)...\n", clinics);
  auto identity_stub = identity::v1::IdentityService::NewStub(rpc::Dial(Address(*identity)));
  auth::PrincipalSigner signer(auth::Key::FromSecret(testing::kTestInternalSecret).value());
  struct Clinic {
    std::string id, token, client_id, conversation_id;
  };
  std::vector<Clinic> setup(clinics);
  for (int c = 0; c < clinics; ++c) {
    identity::v1::CreateClinicRequest req;
    req.set_name("Bench Clinic " + std::to_string(c));
    req.set_time_zone("America/Chicago");
    req.set_phone("+1555123" + std::to_string(1000 + c));
    req.set_pims_kind(identity::v1::CORNERSTONE);
    std::string email = "admin" + std::to_string(c) + "@bench.example";
    req.set_admin_email(email);
    req.set_admin_name("Admin " + std::to_string(c));
    req.set_admin_password(kPassword);
    identity::v1::CreateClinicResponse resp;
    grpc::ClientContext ctx;
    rpc::SetDeadline(ctx, absl::Seconds(30));
    rpc::AttachPrincipal(ctx, testing::IdentityStack::Platform(), signer);
    grpc::Status st = identity_stub->CreateClinic(&ctx, req, &resp);
    if (!st.ok()) return std::fprintf(stderr, "CreateClinic: %s\n", st.error_message().c_str()), 1;
    testing::HttpClient http(port);
    auto login = http.Post("/v1/auth/login", nlohmann::json{{"email", email}, {"password", kPassword}}.dump());
    if (login.status != 200) return std::fprintf(stderr, "login: %s\n", login.body.c_str()), 1;
    setup[c].id = resp.clinic().id();
    setup[c].token = login.json()["token"];
    auto auth = testing::Bearer(setup[c].token);
    auto client = http.Post("/v1/clients", R"({"firstName":"Pat","lastName":"Owner"})", auth);
    if (client.status != 200) return std::fprintf(stderr, "create client: %s\n", client.body.c_str()), 1;
    setup[c].client_id = client.json()["id"];
    if (!rest) continue;
    auto conv = http.Post("/v1/clients/" + setup[c].client_id + "/conversations", "{}", auth);
    if (conv.status != 200) return std::fprintf(stderr, "start conversation: %s\n", conv.body.c_str()), 1;
    setup[c].conversation_id = conv.json()["id"];
  }

  std::fprintf(stderr, "opening %d SSE subscribers...\n", clinics * per_clinic);
  Receipts receipts;
  const int subscribers = clinics * per_clinic;
  Subscribers subs(port, receipts, subscribers);
  // A clinic at a time: each console's first request asks identity for its session, and
  // a thousand at once would meet the gateway's cap on backend calls (503).
  for (int c = 0; c < clinics; ++c) {
    for (int s = 0; s < per_clinic; ++s) {
      if (!subs.Open(setup[c].token)) return std::fprintf(stderr, "cannot connect a subscriber\n"), 1;
    }
    for (int i = 0; i < 500 && subs.snapshots() < (c + 1) * per_clinic && subs.closed() == 0; ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
  }
  for (int i = 0; i < 1000 && subs.snapshots() < subscribers && subs.closed() == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  if (subs.snapshots() < subscribers) {
    return std::fprintf(stderr, "only %d of %d subscribers got their snapshot (%d streams closed)\n",
                        subs.snapshots(), subscribers, subs.closed()),
           1;
  }

  // Senders: message i goes out at start + i / rate (open loop), from a few threads.
  const int total = static_cast<int>(rate * seconds);
  const int sender_threads = std::clamp(rate / 60, 2, 16);
  std::mutex answers_mu;
  std::unordered_map<std::string, std::pair<int64_t, int>> answered;  // message id -> (time, clinic)
  std::atomic<int> errors{0}, late{0};
  std::fprintf(stderr, "sending %d messages at %d/s from %d threads (%s)...\n", total, rate, sender_threads,
               send.c_str());
  std::shared_ptr<pg::Pool> pool;
  std::unique_ptr<conversations::RedisAnnouncer> announcer;
  if (!rest) {
    pool = Must(pg::Pool::Create({.conninfo = db.conninfo(), .size = sender_threads}), "pool");
    announcer = std::make_unique<conversations::RedisAnnouncer>(
        Must(redis::Pool::Create(Must(redis::ParseAddress(testing::SharedRedis().address()), "redis")), "redis"));
  }
  // One message the way the inbox ends a send: its event appended last in the
  // transaction, announced after commit. Returns the message id ("" on failure).
  auto append = [&](int c, int i) -> std::string {
    conversations::LoggedEvent e{.clinic_id = setup[c].id, .client_id = setup[c].client_id};
    e.event.set_type("message.created");
    e.event.mutable_message()->set_id("bench-" + std::to_string(i));
    e.event.mutable_message()->set_text("bench message " + std::to_string(i));
    if (!pool->Transact([&](pg::Session& s) { return conversations::AppendEvent(s, e); }).ok()) return "";
    announcer->Announce({e});
    return e.event.message().id();
  };
  const double load_before = LoadAverage();
  const absl::Time start = absl::Now() + absl::Milliseconds(100);
  std::vector<std::thread> senders;
  for (int t = 0; t < sender_threads; ++t) {
    senders.emplace_back([&, t] {
      testing::HttpClient http(port);
      std::vector<std::map<std::string, std::string>> auth;
      for (const auto& c : setup) auth.push_back(testing::Bearer(c.token));
      for (int i = t; i < total; i += sender_threads) {
        absl::Time due = start + absl::Seconds(static_cast<double>(i) / rate);
        if (absl::Now() < due) {
          absl::SleepFor(due - absl::Now());
        } else if (absl::Now() - due > absl::Milliseconds(50)) {
          ++late;
        }
        int c = i % clinics;
        std::string id;
        if (rest) {
          auto r = http.Post("/v1/conversations/" + setup[c].conversation_id + "/messages",
                             R"({"text":"bench message )" + std::to_string(i) + R"("})", auth[c]);
          if (r.status == 200) id = r.json()["id"];
        } else {
          id = append(c, i);
        }
        int64_t at = NowUs();
        if (id.empty()) {
          ++errors;
          continue;
        }
        std::lock_guard<std::mutex> l(answers_mu);
        answered[id] = {at, c};
      }
    });
  }
  for (auto& th : senders) th.join();
  const double sent_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double load_during = LoadAverage();
  // Let the last receipts arrive (bounded).
  const size_t expected = answered.size() * per_clinic;
  for (int i = 0; i < 500; ++i) {
    size_t got = 0;
    {
      std::lock_guard<std::mutex> l(receipts.mu);
      for (const auto& [id, v] : receipts.at) got += v.size();
    }
    if (got >= expected) break;
    absl::SleepFor(absl::Milliseconds(10));
  }

  std::vector<int64_t> latencies;
  latencies.reserve(expected);
  size_t missing = 0;
  {
    std::lock_guard<std::mutex> l(receipts.mu);
    for (const auto& [id, sent] : answered) {
      auto it = receipts.at.find(id);
      size_t got = it == receipts.at.end() ? 0 : it->second.size();
      if (got < static_cast<size_t>(per_clinic)) missing += per_clinic - got;
      if (it == receipts.at.end()) continue;
      for (int64_t at : it->second) latencies.push_back(std::max<int64_t>(0, at - sent.first));
    }
  }
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) -> double {
    if (latencies.empty()) return 0;
    return latencies[std::min(latencies.size() - 1, static_cast<size_t>(latencies.size() * p))] / 1000.0;
  };
  const double p50 = pct(0.50), p99 = pct(0.99), max = latencies.empty() ? 0 : latencies.back() / 1000.0;
  const double achieved = answered.size() / sent_seconds;
  const bool p99_ok = p99 <= 25.0 && !latencies.empty();
  const bool complete = missing == 0 && errors == 0 && subs.closed() == 0;
  // The latency only counts at the asked rate: a sender that falls behind makes it easy.
  const bool rate_ok = achieved >= 0.95 * rate;
  const bool met = p99_ok && complete && rate_ok;

  std::printf("events: %d clinics, %d SSE subscribers (%d per clinic), %d messages/s for %d s, loopback, "
              "sent %s\n",
              clinics, subscribers, per_clinic, rate, seconds,
              rest ? "through POST /v1/conversations/{id}/messages" : "as AppendEvent + announce (no REST)");
  std::printf("  sent %zu (%.0f/s achieved, target %d/s %s; %d errors, %d sent >50 ms late)\n", answered.size(),
              achieved, rate, rate_ok ? "ok" : "MISSED", errors.load(), late.load());
  std::printf("  deliveries %zu of %zu (missing %zu), streams closed %d %s\n", latencies.size(), expected, missing,
              subs.closed(), complete ? "ok" : "INCOMPLETE");
  std::printf(rest ? "  send answer -> receipt:" : "  commit -> receipt:");
  std::printf(" p50 %.1f ms, p99 %.1f ms (target <= 25 ms) %s, max %.1f ms\n", p50, p99,
              p99_ok ? "ok" : "MISSED", max);
  std::printf("  load average %.2f before, %.2f after sending (2 cores, shared)\n", load_before, load_during);
  std::printf("send=%s subscribers=%d rate=%d sent=%zu achieved_rate=%.0f errors=%d missing=%zu p50_ms=%.1f p99_ms=%.1f "
              "max_ms=%.1f load=%.2f targets_met=%s\n",
              send.c_str(), subscribers, rate, answered.size(), achieved, errors.load(), missing, p50, p99, max,
              load_during,
              met ? "yes" : "no");
  gw.reset();
  std::filesystem::remove_all(blob_dir);
  return 0;
}
