// A server stream on the gRPC callback API that holds no thread while idle (media's call
// events, conversation events): one write in flight at a time; whenever it is free, the
// stream asks its subclass what comes next — a message to write, nothing yet (idle until
// the next Pump(), e.g. from a hub's ready hook) or the end. Next() is never run twice at
// once and never under a lock of this class, so it may read a database or take a hub's
// lock. The stream owns itself from Begin() until gRPC is done with it.
#pragma once

#include <memory>
#include <mutex>

#include <grpcpp/grpcpp.h>

namespace vetline::rpc {

template <typename T>
class WatchWriter : public grpc::ServerWriteReactor<T> {
 public:
  struct Step {
    enum Kind { kWrite, kIdle, kFinish } kind = kIdle;
    const T* message = nullptr;  // kWrite: stays valid until the write is done
    grpc::Status status;         // kFinish
  };
  static Step Write(const T* m) { return {Step::kWrite, m, {}}; }
  static Step Idle() { return {}; }
  static Step End(grpc::Status s) { return {Step::kFinish, nullptr, std::move(s)}; }

  // Writes `first` (a snapshot) and keeps the stream alive through `self` until OnDone.
  void Begin(std::shared_ptr<WatchWriter> self, const T* first) {
    self_ = std::move(self);
    this->StartWrite(first);
  }

  // Starts the next write or finishes, unless a write is in flight (its end pumps again).
  void Pump() {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (writing_ || finished_) return;
      if (pumping_) {
        again_ = true;  // the thread pumping now looks once more
        return;
      }
      pumping_ = true;
    }
    for (;;) {
      Step s = gone() ? End(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away")) : Next();
      std::unique_lock<std::mutex> l(mu_);
      if (s.kind == Step::kIdle && again_) {
        again_ = false;
        continue;
      }
      pumping_ = false;
      if (s.kind == Step::kWrite) writing_ = true;
      if (s.kind == Step::kFinish) finished_ = true;
      l.unlock();
      if (s.kind == Step::kWrite) this->StartWrite(s.message);
      if (s.kind == Step::kFinish) this->Finish(s.status);
      return;
    }
  }

  void OnWriteDone(bool ok) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      writing_ = false;
      if (!ok) gone_ = true;  // the client is not reading any more
    }
    Pump();
  }
  void OnCancel() override {
    {
      std::lock_guard<std::mutex> l(mu_);
      gone_ = true;
    }
    Released();  // at once, not when the stream is torn down
    Pump();
  }
  void OnDone() override {
    Released();
    std::shared_ptr<WatchWriter> last_reference = std::move(self_);  // may delete this on return
  }

 protected:
  WatchWriter() = default;
  // What to do next; runs on whichever thread pumps, one at a time.
  virtual Step Next() = 0;
  // Leave the hub (may run twice: on cancel and when done).
  virtual void Released() = 0;

 private:
  bool gone() {
    std::lock_guard<std::mutex> l(mu_);
    return gone_;
  }

  std::shared_ptr<WatchWriter> self_;
  std::mutex mu_;
  bool writing_ = true;  // Begin's first write goes out before anything else
  bool pumping_ = false, again_ = false, gone_ = false, finished_ = false;
};

}  // namespace vetline::rpc
