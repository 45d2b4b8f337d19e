#include "services/pims_sync/sync_runner.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/log.h"
#include "libs/core/periodic_worker.h"
#include "libs/core/status.h"
#include "libs/rpc/rpc.h"
#include "services/pims_sync/mappers.h"
#include "vetline/clients/v1/sync.grpc.pb.h"
#include "vetline/pims/v1/connector.grpc.pb.h"

namespace vetline::pims_sync {
namespace {

const char* EntityName(pv1::Entity e) { return e == pv1::CLIENTS ? "clients" : "patients"; }

// One connector batch, mapped and ready to store.
struct Mapped {
  cv1::UpsertBatch batch;
  std::vector<cv1::RecordError> errors;  // records the mapper refused
  int64_t failed_clients = 0, failed_pets = 0;
  int64_t position = 0, total = 0, records = 0;
  std::string cursor;  // Changes: where the stream continues after this batch
};

Mapped Map(const Mapper& mapper, pv1::Entity entity, const pv1::RecordBatch& in) {
  Mapped out;
  out.position = in.position();
  out.total = in.total();
  out.records = in.records_size();
  out.cursor = in.cursor();
  for (const pv1::PimsRecord& r : in.records()) {
    if (entity == pv1::CLIENTS) {
      auto m = mapper.Client(r);
      if (auto* c = std::get_if<cv1::SyncClient>(&m)) {
        *out.batch.add_clients() = std::move(*c);
      } else {
        out.errors.push_back(std::get<cv1::RecordError>(m));
        ++out.failed_clients;
      }
    } else {
      auto m = mapper.Patient(r);
      if (auto* p = std::get_if<cv1::SyncPet>(&m)) {
        *out.batch.add_pets() = std::move(*p);
      } else {
        out.errors.push_back(std::get<cv1::RecordError>(m));
        ++out.failed_pets;
      }
    }
  }
  return out;
}

// A small bounded hand-off between the reading and the storing thread.
class MappedQueue {
 public:
  explicit MappedQueue(size_t capacity) : capacity_(capacity) {}
  bool Push(Mapped m) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    items_.push_back(std::move(m));
    cv_.notify_all();
    return true;
  }
  std::optional<Mapped> Pop() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    Mapped m = std::move(items_.front());
    items_.pop_front();
    cv_.notify_all();
    return m;
  }
  void Close() {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    cv_.notify_all();
  }

 private:
  size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Mapped> items_;
  bool closed_ = false;
};

// Cancels a connector stream that sends nothing for `idle`, so a hung connector cannot
// hold the clinic's lock forever. Only time spent waiting on the connector counts, not
// time the reader is held back by a slow store.
class IdleWatch {
 public:
  IdleWatch(grpc::ClientContext& ctx, absl::Duration idle)
      : ctx_(ctx),
        idle_ns_(absl::ToInt64Nanoseconds(idle)),
        worker_(PeriodicWorker::Every("pims-idle-watch",
                                      std::clamp(idle / 4, absl::Milliseconds(10), absl::Seconds(1)),
                                      [this] { Check(); })) {}
  void Waiting() { waiting_since_ns_ = absl::GetCurrentTimeNanos(); }
  void Received() { waiting_since_ns_ = 0; }
  bool fired() const { return fired_; }

 private:
  void Check() {
    int64_t since = waiting_since_ns_;
    if (since != 0 && absl::GetCurrentTimeNanos() - since > idle_ns_ && !fired_.exchange(true)) {
      ctx_.TryCancel();
    }
  }
  grpc::ClientContext& ctx_;
  const int64_t idle_ns_;
  std::atomic<int64_t> waiting_since_ns_{0};
  std::atomic<bool> fired_{false};
  std::unique_ptr<PeriodicWorker> worker_;  // last: stopped before the rest goes
};

// Sends one mapped batch through the clients service; the reply is its acknowledgement.
absl::StatusOr<cv1::UpsertSummary> Upsert(grpc::Channel& channel, const auth::PrincipalSigner& signer,
                                          const std::string& clinic_id, cv1::UpsertBatch batch) {
  auto stub = cv1::ClientSyncService::NewStub(std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::ClientContext ctx;
  rpc::SetDeadline(ctx, absl::Seconds(120));
  api::Principal me;
  me.set_kind(api::Principal::SERVICE);
  me.set_user_id("pims-sync");
  me.set_clinic_id(clinic_id);
  rpc::AttachPrincipal(ctx, me, signer);
  cv1::UpsertSummary summary;
  auto writer = stub->Upsert(&ctx, &summary);
  batch.set_clinic_id(clinic_id);
  writer->Write(batch);
  writer->WritesDone();
  VL_RETURN_IF_ERROR(rpc::FromGrpc(writer->Finish()));
  return summary;
}

}  // namespace

void SyncSettings::Register(ConfigParser& p) {
  p.Duration("connector-idle-timeout", &idle_timeout,
             "fail a run whose PIMS connector stream sends nothing for this long", idle_timeout);
  p.Duration("run-lease", &lease,
             "a run not renewed for this long (process killed) reads as interrupted", lease);
}

absl::Status SyncSettings::Validate() const {
  if (batch_size < 1 || batch_size > 5000) return absl::InvalidArgumentError("batch-size must be 1..5000");
  if (idle_timeout < absl::Milliseconds(10)) {
    return absl::InvalidArgumentError("connector-idle-timeout must be at least 10ms");
  }
  if (lease < absl::Milliseconds(300)) return absl::InvalidArgumentError("run-lease must be at least 300ms");
  return absl::OkStatus();
}

absl::StatusOr<sv1::Run> SyncRunner::Run(const std::string& clinic_id, bool full,
                                         const std::function<void(const Progress&)>& progress) {
  VL_RETURN_IF_ERROR(settings_.Validate());
  absl::StatusOr<sv1::Run> out = absl::InternalError("unset");
  VL_RETURN_IF_ERROR(repo_.WithClinicLock(clinic_id, [&](ClinicLock& lock) {
    out = RunLocked(lock, clinic_id, full, progress);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<sv1::Run> SyncRunner::RunLocked(ClinicLock& lock, const std::string& clinic_id, bool full,
                                               const std::function<void(const Progress&)>& progress) {
  VL_ASSIGN_OR_RETURN(sv1::Connector connector, repo_.GetConnector(clinic_id));
  if (connector.kind() == "none") {
    return absl::FailedPreconditionError("this clinic has no PIMS: Vetline is its source of truth");
  }
  VL_ASSIGN_OR_RETURN(std::unique_ptr<Mapper> mapper, MapperFor(connector.kind()));
  auto pims = pv1::PimsConnector::NewStub(rpc::Dial(connector.address()));

  VL_ASSIGN_OR_RETURN(std::optional<std::string> cursor, repo_.Cursor(clinic_id));
  if (!cursor) full = true;  // never synced: start with a full snapshot

  // We hold the lock, so a run still marked running has no process: it was killed.
  VL_RETURN_IF_ERROR(repo_.MarkInterrupted(clinic_id));
  // Continue an unfinished run, else start a new run at the connector's cursor.
  VL_ASSIGN_OR_RETURN(std::optional<sv1::Run> run, repo_.UnfinishedRun(clinic_id, full));
  if (run) {
    full = run->mode() == "full";
    VL_RETURN_IF_ERROR(repo_.Resume(run->id(), settings_.lease));
    log::Info("resuming pims sync", {{"run", run->id()}, {"mode", run->mode()},
                                     {"attempt", run->attempts() + 1}});
  } else {
    pv1::PracticeInfo info;
    grpc::ClientContext ctx;
    rpc::SetDeadline(ctx, absl::Seconds(10));
    absl::Status st = rpc::FromGrpc(pims->Describe(&ctx, {}, &info));
    if (!st.ok()) return absl::UnavailableError("the PIMS connector does not answer: " + std::string(st.message()));
    if (info.kind() != connector.kind()) {
      return absl::FailedPreconditionError(absl::StrCat("the connector serves a ", info.kind(),
                                                        " practice but the clinic is set to ", connector.kind()));
    }
    VL_ASSIGN_OR_RETURN(run, repo_.CreateRun(clinic_id, full ? "full" : "incremental", info.cursor(),
                                             settings_.lease));
  }
  const std::string run_id = run->id();

  // The lease is renewed on the lock's connection while this run lives.
  std::atomic<bool> lease_lost{false};
  auto heartbeat = PeriodicWorker::Every("pims-run-lease", settings_.lease / 3, [&] {
    absl::Status st = lock.RenewLease(run_id, settings_.lease);
    if (!st.ok() && !lease_lost.exchange(true)) {
      log::Warn("pims sync lost its lock connection", {{"run", run_id}, {"error", st.ToString()}});
    }
  });

  auto fail = [&](const absl::Status& st) -> absl::StatusOr<sv1::Run> {
    (void)repo_.Finish(run_id, clinic_id, false, std::string(st.message()));
    return absl::Status(st.code(), absl::StrCat(st.message(), " (run ", run_id,
                                                "; the next run continues from its checkpoint)"));
  };

  for (pv1::Entity entity : {pv1::CLIENTS, pv1::PATIENTS}) {
    const std::string name = EntityName(entity);
    VL_ASSIGN_OR_RETURN(Checkpoint cp, repo_.GetCheckpoint(run_id, name));
    if (cp.done) continue;
    grpc::ClientContext ctx;
    IdleWatch watch(ctx, settings_.idle_timeout);
    std::unique_ptr<grpc::ClientReaderInterface<pv1::RecordBatch>> reader;
    if (full) {
      pv1::SnapshotRequest req;
      req.set_entity(entity);
      req.set_after_position(cp.position);
      req.set_batch_size(settings_.batch_size);
      reader = pims->Snapshot(&ctx, req);
    } else {
      pv1::ChangesRequest req;
      req.set_entity(entity);
      req.set_cursor(cp.cursor.empty() ? *cursor : cp.cursor);
      req.set_batch_size(settings_.batch_size);
      reader = pims->Changes(&ctx, req);
    }
    // Reading and mapping the next batch overlaps with storing the previous one; the
    // store side still acknowledges, counts and checkpoints strictly in order.
    MappedQueue queue(2);
    std::thread producer([&] {
      pv1::RecordBatch in;
      for (watch.Waiting(); reader->Read(&in); watch.Waiting()) {
        watch.Received();
        if (!queue.Push(Map(*mapper, entity, in))) break;  // the consumer gave up
      }
      watch.Received();
      queue.Close();
    });
    int64_t done = cp.position;
    absl::Time started = absl::Now();
    absl::Status store_error;
    // A snapshot keeps two batches in flight, so the clients service checks and stages
    // one while PostgreSQL applies the other (both cores busy). Its records are distinct,
    // so the order of applying does not matter; changes are applied strictly in order
    // (a record may change twice). Acknowledgements are counted and checkpointed in
    // order, so a kill re-sends at most the batches in flight (idempotent).
    const size_t max_in_flight = full ? 2 : 1;
    struct InFlight {
      Mapped mapped;
      std::future<absl::StatusOr<cv1::UpsertSummary>> summary;
    };
    std::deque<InFlight> in_flight;
    absl::Time last_settled = absl::Now();
    auto settle = [&](InFlight& f) -> absl::Status {
      absl::StatusOr<cv1::UpsertSummary> summary = f.summary.get();
      if (!summary.ok()) {
        return absl::Status(summary.status().code(), "the clients service did not take a batch: " +
                                                         std::string(summary.status().message()));
      }
      Mapped& m = f.mapped;
      summary->mutable_clients()->set_failed(summary->clients().failed() + m.failed_clients);
      summary->mutable_pets()->set_failed(summary->pets().failed() + m.failed_pets);
      for (const auto& e : summary->errors()) m.errors.push_back(e);
      done = full ? m.position : done + m.records;
      Checkpoint at = full ? Checkpoint{.position = m.position} : Checkpoint{.cursor = m.cursor};
      absl::Time now = absl::Now();  // storing time, not counting overlaps twice
      VL_RETURN_IF_ERROR(repo_.SaveProgress(run_id, name, at, *summary, m.errors,
                                            absl::ToDoubleSeconds(now - last_settled)));
      last_settled = absl::Now();
      if (progress) {
        double secs = absl::ToDoubleSeconds(last_settled - started);
        progress({name, done, full ? m.total : done, secs > 0 ? (done - cp.position) / secs : 0});
      }
      return absl::OkStatus();
    };
    while (auto mapped = queue.Pop()) {
      if (lease_lost) {
        store_error = absl::AbortedError("the sync lost its database connection holding the clinic's lock");
        break;
      }
      if (in_flight.empty()) last_settled = absl::Now();
      cv1::UpsertBatch batch = std::move(mapped->batch);
      auto summary = std::async(std::launch::async, [this, &clinic_id, batch = std::move(batch)]() mutable {
        return Upsert(*clients_, signer_, clinic_id, std::move(batch));
      });
      in_flight.push_back({std::move(*mapped), std::move(summary)});
      if (in_flight.size() >= max_in_flight) {
        store_error = settle(in_flight.front());
        in_flight.pop_front();
        if (!store_error.ok()) break;
      }
    }
    for (; !in_flight.empty(); in_flight.pop_front()) {
      if (store_error.ok()) {
        store_error = settle(in_flight.front());
      } else {
        in_flight.front().summary.wait();  // nothing may outlive this run's state
      }
    }
    if (!store_error.ok()) {
      ctx.TryCancel();
      queue.Close();
      producer.join();
      (void)reader->Finish();
      return fail(store_error);
    }
    producer.join();
    absl::Status st = rpc::FromGrpc(reader->Finish());
    if (watch.fired()) {
      return fail(absl::DeadlineExceededError(absl::StrCat(
          "the PIMS connector sent nothing for ", absl::FormatDuration(settings_.idle_timeout),
          " while streaming ", name, " (connector idle timeout), after record ", done)));
    }
    if (!st.ok()) {
      return fail(absl::UnavailableError(absl::StrCat("the PIMS connector stream of ", name,
                                                      " stopped at record ", done, ": ", st.message())));
    }
    VL_RETURN_IF_ERROR(repo_.MarkDone(run_id, name));
  }
  heartbeat->Stop();
  VL_RETURN_IF_ERROR(repo_.Finish(run_id, clinic_id, true, ""));
  return repo_.GetRun(clinic_id, run_id, false);
}

}  // namespace vetline::pims_sync
