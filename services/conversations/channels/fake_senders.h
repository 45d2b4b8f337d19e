// Fakes of the three senders for unit tests of the delivery worker: they record what
// was sent and answer scripted outcomes (kSent with a made-up id when nothing is
// scripted). Thread-safe.
#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "services/conversations/channels/email.h"
#include "services/conversations/channels/sms.h"
#include "services/conversations/channels/web_push.h"

namespace vetline::conversations::channels {

template <typename Item>
class ScriptedSender {
 public:
  // The next sends answer these, in order; then kSent again.
  void Script(std::vector<SendOutcome> outcomes) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& o : outcomes) script_.push_back(std::move(o));
  }
  std::vector<Item> sent() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }
  size_t count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_.size();
  }

 protected:
  SendOutcome Record(Item item, const char* id_prefix) {
    std::lock_guard<std::mutex> lock(mu_);
    sent_.push_back(std::move(item));
    if (script_.empty()) return SendOutcome::Sent(id_prefix + std::to_string(sent_.size()));
    SendOutcome o = std::move(script_.front());
    script_.pop_front();
    return o;
  }

 private:
  mutable std::mutex mu_;
  std::deque<SendOutcome> script_;
  std::vector<Item> sent_;
};

class FakeSmsSender final : public SmsSender, public ScriptedSender<Sms> {
 public:
  SendOutcome Send(const Sms& sms) override { return Record(sms, "SMfake"); }
};

class FakeEmailSender final : public EmailSender, public ScriptedSender<Email> {
 public:
  SendOutcome Send(const Email& email) override { return Record(email, "fake-message-id-"); }
};

struct SentPush {
  PushSubscription subscription;
  std::string payload;
};

class FakePushSender final : public PushSender, public ScriptedSender<SentPush> {
 public:
  SendOutcome Send(const PushSubscription& s, std::string_view payload) override {
    return Record({s, std::string(payload)}, "fake-push-");
  }
};

}  // namespace vetline::conversations::channels
