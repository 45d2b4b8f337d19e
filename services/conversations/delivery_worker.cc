#include "services/conversations/delivery_worker.h"

#include <map>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "libs/core/log.h"
#include "nlohmann/json.hpp"
#include "services/conversations/inbound_email_rules.h"

namespace vetline::conversations {
namespace {

std::string EscapeHtml(const std::string& text) {
  return absl::StrReplaceAll(text, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"},
                                    {"\n", "<br>\n"}});
}

std::string DomainOf(const std::string& address) {
  size_t at = address.rfind('@');
  return at == std::string::npos ? "vetline.invalid" : address.substr(at + 1);
}

// Push payloads must fit one encrypted record; cut on a UTF-8 boundary.
std::string CutUtf8(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n) + "…";
}

}  // namespace

DeliveryWorker::DeliveryWorker(DeliveryRepository& repo, DeliverySenders senders,
                               DeliveryOptions options, auth::LinkSigner links,
                               std::function<double()> jitter)
    : repo_(repo), senders_(senders), options_(std::move(options)), links_(links),
      jitter_(std::move(jitter)) {
  if (!jitter_) {
    jitter_ = [gen = std::make_shared<absl::BitGen>()] { return absl::Uniform(*gen, 0.5, 1.5); };
  }
}

std::string DeliveryWorker::PortalLink(const DueDelivery& d) const {
  std::string token = links_.Sign("portal", d.clinic_id + "/" + d.client_id,
                                  absl::Now() + options_.portal_link_ttl);
  return absl::StrCat(options_.public_url, "/portal/conversations/", d.conversation_id,
                      "?link=", token);
}

channels::SendOutcome DeliveryWorker::Send(const DueDelivery& d) {
  channels::SendOutcome outcome =
      channels::SendOutcome::Failed("this channel is not set up for this deployment");
  const std::string link = PortalLink(d);
  if (d.channel == "text" && senders_.sms) {
    if (d.sms_from.empty()) {
      outcome = channels::SendOutcome::Failed("the clinic has no texting number set up");
    } else {
      // Attachments and invitations are opened in the portal: the text carries the link.
      std::string body = d.has_attachments ? absl::StrCat(d.body, "\n", link) : d.body;
      outcome = senders_.sms->Send({.from = d.sms_from,
                                    .to = d.destination,
                                    .body = body,
                                    .status_callback = options_.public_url + "/v1/webhooks/twilio/status"});
    }
  } else if (d.channel == "email" && senders_.email) {
    const std::string from = d.email_from_address.empty() ? options_.email_from : d.email_from_address;
    if (from.empty()) {
      outcome = channels::SendOutcome::Failed("the clinic has no sender email address set up");
    } else {
      channels::Email e;
      e.from = {.name = d.email_from_name, .address = from};
      e.to = {.name = "", .address = d.destination};
      if (!options_.reply_domain.empty()) {
        e.reply_to = {.name = d.email_from_name,
                      .address = inbound::ReplyAddressFor(d.conversation_id, options_.reply_domain)};
      }
      e.subject = d.email_from_name.empty() ? "A new message from your veterinary clinic"
                                            : absl::StrCat("A new message from ", d.email_from_name);
      e.text = absl::StrCat(d.body, "\n\n--\nReply to this email, or read and answer in your portal: ",
                            link, "\n");
      e.html = absl::StrCat("<p>", EscapeHtml(d.body), "</p><p><a href=\"", EscapeHtml(link),
                            "\">Open the conversation in your portal</a></p>");
      // Stable across retries, so a receiver can tell a repeat from a new message.
      e.message_id = absl::StrCat("d", d.id, ".", d.message_id, "@", DomainOf(from));
      outcome = senders_.email->Send(e);
    }
  } else if (d.channel == "push" && senders_.push) {
    if (d.push_p256dh.empty()) {
      outcome = channels::SendOutcome::Failed("the push subscription was removed");
    } else {
      nlohmann::json payload = {{"title", d.email_from_name.empty() ? "New message" : d.email_from_name},
                                {"body", CutUtf8(d.body, 3000)},
                                {"url", link},
                                {"conversationId", d.conversation_id}};
      outcome = senders_.push->Send({.endpoint = d.destination, .p256dh = d.push_p256dh, .auth = d.push_auth},
                                    payload.dump());
    }
  }
  return outcome;
}

DeliveryResult DeliveryWorker::Later(const DueDelivery& d, const std::string& reason) {
  if (GivesUp(options_.retry, d.attempts)) {
    return {.id = d.id, .state = "failed", .reason = GaveUpReason(d.attempts, reason)};
  }
  return {.id = d.id, .state = "queued", .reason = reason,
          .retry_at = absl::Now() + RetryDelay(options_.retry, d.attempts, jitter_())};
}

DeliveryResult DeliveryWorker::Result(const DueDelivery& d, const channels::SendOutcome& outcome) {
  DeliveryResult r{.id = d.id};
  switch (outcome.kind) {
    case channels::SendOutcome::kSent:
      r.state = "sent";
      r.provider_id = outcome.provider_id;
      break;
    case channels::SendOutcome::kFailed:
      r.state = "failed";
      r.reason = outcome.reason;
      r.drop_subscription = outcome.subscription_gone;
      break;
    case channels::SendOutcome::kRetry:
      r = Later(d, outcome.reason);
      break;
  }
  return r;
}

PeriodicWorker::Next DeliveryWorker::Step() {
  auto claimed = repo_.Claim(options_.batch, options_.lease);
  if (!claimed.ok()) {
    log::Warn("delivery claim failed", {{"error", claimed.status().ToString()}});
    return PeriodicWorker::Next::kPause;
  }
  if (claimed->empty()) return PeriodicWorker::Next::kPause;
  std::vector<DeliveryResult> results;
  results.reserve(claimed->size());
  // A provider that said it is unavailable is not asked again in this batch: the rest of
  // its channel waits out the backoff too. One timeout per batch instead of one per
  // message, and texts do not queue behind a mail server that hangs.
  std::map<std::string, std::string> unavailable;  // channel → what its provider said
  for (const DueDelivery& d : *claimed) {
    // Planning skips opted-out numbers; this catches a staff retry, or a text queued while
    // the STOP was committing.
    if (d.opted_out) {
      results.push_back({.id = d.id, .state = "cancelled", .reason = "the client texted STOP"});
      continue;
    }
    if (auto down = unavailable.find(d.channel); down != unavailable.end()) {
      results.push_back(Later(d, down->second));
      continue;
    }
    const channels::SendOutcome outcome = Send(d);
    if (outcome.kind == channels::SendOutcome::kRetry && outcome.provider_unavailable) {
      unavailable.emplace(d.channel, outcome.reason);
    }
    results.push_back(Result(d, outcome));
  }
  // A failure here leaves the rows leased: they are tried again when the lease ends.
  if (absl::Status st = repo_.Record(*claimed, results); !st.ok()) {
    log::Warn("delivery record failed", {{"error", st.ToString()}});
    return PeriodicWorker::Next::kPause;
  }
  return static_cast<int>(claimed->size()) == options_.batch ? PeriodicWorker::Next::kAgain
                                                              : PeriodicWorker::Next::kPause;
}

}  // namespace vetline::conversations
