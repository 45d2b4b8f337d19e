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
#include "vetline/booking/v1/booking_sync.grpc.pb.h"
#include "vetline/clients/v1/sync.grpc.pb.h"
#include "vetline/pims/v1/connector.grpc.pb.h"

namespace vetline::pims_sync {
namespace {

// What one run reads, in order: appointments after the clients, pets, types, providers
// and rooms they name. `name` is the entity's checkpoint and report name.
struct EntityStep {
  pv1::Entity entity;
  const char* name;
  bool schedule;  // written to the booking service, else to the clients service
};
constexpr EntityStep kSteps[] = {
    {pv1::CLIENTS, "clients", false},           {pv1::PATIENTS, "patients", false},
    {pv1::APPOINTMENT_TYPES, "appointment_types", true}, {pv1::PROVIDERS, "providers", true},
    {pv1::ROOMS, "rooms", true},                {pv1::BLOCK_OFFS, "block_offs", true},
    {pv1::APPOINTMENTS, "appointments", true}};
constexpr char kSettings[] = "settings";

// One connector batch, mapped and ready to store.
struct Mapped {
  cv1::UpsertBatch clients;         // clients or pets
  bv1::BookingSyncBatch schedule;   // or one of the schedule's entities
  std::vector<cv1::RecordError> errors;  // records the mapper refused
  int64_t failed = 0;
  int64_t position = 0, total = 0, records = 0;
  std::string cursor;  // Changes: where the stream continues after this batch
};

// What the store side acknowledged of one batch.
struct Stored {
  sv1::Counts counts;
  std::vector<cv1::RecordError> errors;
};

template <typename T, typename Add>
void Take(std::variant<T, cv1::RecordError> m, Mapped& out, Add add) {
  if (auto* x = std::get_if<T>(&m)) {
    add(std::move(*x));
  } else {
    out.errors.push_back(std::move(std::get<cv1::RecordError>(m)));
    ++out.failed;
  }
}

Mapped Map(const Mapper& mapper, pv1::Entity entity, const pv1::RecordBatch& in) {
  Mapped out;
  out.position = in.position();
  out.total = in.total();
  out.records = in.records_size();
  out.cursor = in.cursor();
  auto& c = out.clients;
  auto& s = out.schedule;
  for (const pv1::PimsRecord& r : in.records()) {
    switch (entity) {
      case pv1::CLIENTS: Take(mapper.Client(r), out, [&](auto x) { *c.add_clients() = std::move(x); }); break;
      case pv1::PATIENTS: Take(mapper.Patient(r), out, [&](auto x) { *c.add_pets() = std::move(x); }); break;
      case pv1::APPOINTMENT_TYPES:
        Take(mapper.AppointmentType(r), out, [&](auto x) { *s.add_appointment_types() = std::move(x); });
        break;
      case pv1::PROVIDERS: Take(mapper.Provider(r), out, [&](auto x) { *s.add_providers() = std::move(x); }); break;
      case pv1::ROOMS: Take(mapper.Room(r), out, [&](auto x) { *s.add_rooms() = std::move(x); }); break;
      case pv1::BLOCK_OFFS: Take(mapper.BlockOff(r), out, [&](auto x) { *s.add_block_offs() = std::move(x); }); break;
      case pv1::APPOINTMENTS:
        Take(mapper.Appointment(r), out, [&](auto x) { *s.add_appointments() = std::move(x); });
        break;
      default: break;
    }
  }
  return out;
}

template <typename C>
sv1::Counts CountsFrom(const C& c) {
  sv1::Counts out;
  out.set_inserted(c.inserted());
  out.set_updated(c.updated());
  out.set_unchanged(c.unchanged());
  out.set_failed(c.failed());
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

// Sends one mapped batch through a sync service's client stream (clients' or
// booking's Upsert); the reply is its acknowledgement.
template <typename Service, typename Summary, typename Batch>
absl::StatusOr<Summary> Send(grpc::Channel& channel, const auth::PrincipalSigner& signer,
                             const std::string& clinic_id, Batch batch) {
  auto stub = Service::NewStub(std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::ClientContext ctx;
  rpc::SetDeadline(ctx, absl::Seconds(120));
  api::Principal me;
  me.set_kind(api::Principal::SERVICE);
  me.set_user_id("pims-sync");
  me.set_clinic_id(clinic_id);
  rpc::AttachPrincipal(ctx, me, signer);
  Summary summary;
  auto writer = stub->Upsert(&ctx, &summary);
  batch.set_clinic_id(clinic_id);
  writer->Write(batch);
  writer->WritesDone();
  VL_RETURN_IF_ERROR(rpc::FromGrpc(writer->Finish()));
  return summary;
}

absl::StatusOr<Stored> StoreClients(grpc::Channel& channel, const auth::PrincipalSigner& signer,
                                    const std::string& clinic_id, pv1::Entity entity, cv1::UpsertBatch batch) {
  VL_ASSIGN_OR_RETURN(auto summary,
                      (Send<cv1::ClientSyncService, cv1::UpsertSummary>(channel, signer, clinic_id, std::move(batch))));
  Stored out{CountsFrom(entity == pv1::CLIENTS ? summary.clients() : summary.pets()), {}};
  out.errors.assign(summary.errors().begin(), summary.errors().end());
  return out;
}

absl::StatusOr<Stored> StoreSchedule(grpc::Channel& channel, const auth::PrincipalSigner& signer,
                                     const std::string& clinic_id, pv1::Entity entity, bv1::BookingSyncBatch batch) {
  VL_ASSIGN_OR_RETURN(auto summary, (Send<bv1::BookingSyncService, bv1::BookingSyncSummary>(
                                        channel, signer, clinic_id, std::move(batch))));
  Stored out;
  switch (entity) {
    case pv1::APPOINTMENT_TYPES: out.counts = CountsFrom(summary.appointment_types()); break;
    case pv1::PROVIDERS: out.counts = CountsFrom(summary.providers()); break;
    case pv1::ROOMS: out.counts = CountsFrom(summary.rooms()); break;
    case pv1::BLOCK_OFFS: out.counts = CountsFrom(summary.block_offs()); break;
    case pv1::APPOINTMENTS: out.counts = CountsFrom(summary.appointments()); break;
    default: break;  // settings only
  }
  for (const bv1::BookingRecordError& e : summary.errors()) {
    cv1::RecordError& x = out.errors.emplace_back();
    x.set_entity(e.entity());
    x.set_pims_id(e.pims_id());
    x.set_field(e.field());
    x.set_message(e.message());
  }
  return out;
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

absl::Status SyncRunner::ApplySettings(pv1::PimsConnector::StubInterface& pims, const Mapper& mapper,
                                      const std::string& clinic_id, const std::string& run_id) {
  VL_ASSIGN_OR_RETURN(Checkpoint cp, repo_.GetCheckpoint(run_id, kSettings));
  if (cp.done) return absl::OkStatus();
  if (!booking_) return repo_.MarkDone(run_id, kSettings, "this sync has no booking service to write the schedule to");
  pv1::SchedulingSettings settings;
  grpc::ClientContext ctx;
  rpc::SetDeadline(ctx, settings_.idle_timeout);
  absl::Status st = rpc::FromGrpc(pims.GetSchedulingSettings(&ctx, {}, &settings));
  if (st.code() == absl::StatusCode::kUnimplemented) {
    return repo_.MarkDone(run_id, kSettings, "the connector does not serve settings: " + std::string(st.message()));
  }
  if (!st.ok()) {
    return absl::UnavailableError("the PIMS connector did not give its scheduling settings: " +
                                  std::string(st.message()));
  }
  std::vector<cv1::RecordError> errors;
  bv1::BookingSyncBatch batch;
  *batch.mutable_settings() = mapper.Settings(settings, &errors);
  absl::Time started = absl::Now();
  absl::StatusOr<Stored> stored = StoreSchedule(*booking_, signer_, clinic_id, pv1::ENTITY_UNSPECIFIED, batch);
  if (!stored.ok()) {
    return absl::Status(stored.status().code(), "the booking service did not take the scheduling settings: " +
                                                    std::string(stored.status().message()));
  }
  for (auto& e : stored->errors) errors.push_back(std::move(e));
  VL_RETURN_IF_ERROR(repo_.SaveProgress(run_id, kSettings, {}, {}, errors, absl::ToDoubleSeconds(absl::Now() - started)));
  return repo_.MarkDone(run_id, kSettings);
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

  for (const EntityStep& step : kSteps) {
    const pv1::Entity entity = step.entity;
    const std::string name = step.name;
    VL_ASSIGN_OR_RETURN(Checkpoint cp, repo_.GetCheckpoint(run_id, name));
    if (cp.done) continue;
    if (step.schedule && !booking_) {
      VL_RETURN_IF_ERROR(repo_.MarkDone(run_id, name, "this sync has no booking service to write the schedule to"));
      continue;
    }
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
    // The schedule's batches go one at a time: a snapshot read while the PIMS changes
    // may hold an appointment twice, and booking refuses overlaps per batch in order.
    const size_t max_in_flight = full && !step.schedule ? 2 : 1;
    struct InFlight {
      Mapped mapped;
      std::future<absl::StatusOr<Stored>> summary;
    };
    std::deque<InFlight> in_flight;
    absl::Time last_settled = absl::Now();
    auto settle = [&](InFlight& f) -> absl::Status {
      absl::StatusOr<Stored> summary = f.summary.get();
      if (!summary.ok()) {
        return absl::Status(summary.status().code(),
                            absl::StrCat("the ", step.schedule ? "booking" : "clients", " service did not take a batch of ",
                                         name, ": ", summary.status().message()));
      }
      Mapped& m = f.mapped;
      summary->counts.set_failed(summary->counts.failed() + m.failed);
      for (auto& e : summary->errors) m.errors.push_back(std::move(e));
      done = full ? m.position : done + m.records;
      Checkpoint at = full ? Checkpoint{.position = m.position} : Checkpoint{.cursor = m.cursor};
      absl::Time now = absl::Now();  // storing time, not counting overlaps twice
      VL_RETURN_IF_ERROR(repo_.SaveProgress(run_id, name, at, summary->counts, m.errors,
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
      std::future<absl::StatusOr<Stored>> summary;
      if (step.schedule) {
        summary = std::async(std::launch::async, [this, &clinic_id, entity, batch = std::move(mapped->schedule)]() mutable {
          return StoreSchedule(*booking_, signer_, clinic_id, entity, std::move(batch));
        });
      } else {
        summary = std::async(std::launch::async, [this, &clinic_id, entity, batch = std::move(mapped->clients)]() mutable {
          return StoreClients(*clients_, signer_, clinic_id, entity, std::move(batch));
        });
      }
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
    if (st.code() == absl::StatusCode::kUnimplemented && done == cp.position) {
      // An agent without this entity (e.g. no scheduling): reported, not a failure.
      VL_RETURN_IF_ERROR(repo_.MarkDone(run_id, name, absl::StrCat("the connector does not serve ", name, ": ",
                                                                   st.message())));
      continue;
    }
    if (!st.ok()) {
      return fail(absl::UnavailableError(absl::StrCat("the PIMS connector stream of ", name,
                                                      " stopped at record ", done, ": ", st.message())));
    }
    VL_RETURN_IF_ERROR(repo_.MarkDone(run_id, name));
  }
  if (absl::Status st = ApplySettings(*pims, *mapper, clinic_id, run_id); !st.ok()) return fail(st);
  heartbeat->Stop();
  VL_RETURN_IF_ERROR(repo_.Finish(run_id, clinic_id, true, ""));
  return repo_.GetRun(clinic_id, run_id, false);
}

}  // namespace vetline::pims_sync
