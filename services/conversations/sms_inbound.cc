#include "services/conversations/sms_inbound.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"
#include "nlohmann/json.hpp"

namespace vetline::conversations {
namespace {

using channels::DeliveryState;

std::optional<DeliveryState> StateNamed(const std::string& name) {
  for (DeliveryState s : {DeliveryState::kQueued, DeliveryState::kSent, DeliveryState::kDelivered,
                          DeliveryState::kFailed}) {
    if (channels::DeliveryStateName(s) == name) return s;
  }
  return std::nullopt;  // cancelled (STOP): nothing moves it
}

bool Advances(const std::string& stored, const std::string& incoming) {
  std::optional<DeliveryState> a = StateNamed(stored), b = StateNamed(incoming);
  return a && b && channels::DeliveryStateAdvances(*a, *b);
}

// How long a status callback waits for the worker to record the provider id it names.
constexpr int kUnknownIdLookups = 20;
constexpr absl::Duration kUnknownIdPause = absl::Milliseconds(100);

}  // namespace

GrpcClientsByPhone::GrpcClientsByPhone(std::shared_ptr<grpc::ChannelInterface> clients,
                                       auth::PrincipalSigner signer)
    : stub_(clients::v1::ClientsService::NewStub(std::move(clients))), signer_(signer) {}

absl::StatusOr<std::string> GrpcClientsByPhone::Find(const std::string& clinic_id,
                                                     const std::string& phone) const {
  grpc::ClientContext ctx;
  rpc::AttachPrincipal(ctx, rpc::ServiceForClinic(clinic_id), signer_);
  rpc::SetDeadline(ctx, refs::kDefaultDeadline);
  clients::v1::SearchClientsRequest req;
  req.set_query(phone);
  req.set_page_size(50);
  clients::v1::SearchClientsResponse resp;
  if (grpc::Status st = stub_->SearchClients(&ctx, req, &resp); !st.ok()) {
    log::Warn("client lookup by phone failed",
              {{"code", rpc::CodeName(st.error_code())}, {"detail", st.error_message()}});
    return absl::UnavailableError("the clients service cannot answer right now; try again");
  }
  std::string any;
  for (const clients::v1::Client& c : resp.clients()) {
    for (const clients::v1::Phone& p : c.phones()) {
      if (p.number() != phone) continue;
      if (p.primary()) return c.id();
      if (any.empty()) any = c.id();
    }
  }
  return any;
}

std::string KeywordReply(channels::SmsKeyword k, const std::string& clinic_name,
                         const std::string& clinic_phone) {
  const std::string name = clinic_name.empty() ? "Your veterinary clinic" : clinic_name;
  switch (k) {
    case channels::SmsKeyword::kOptOut:
      return absl::StrCat(name, ": you will get no more texts from us. Reply START to get them again.");
    case channels::SmsKeyword::kOptIn:
      return absl::StrCat(name, ": you will get our texts again. Reply STOP to stop them.");
    case channels::SmsKeyword::kHelp:
      return absl::StrCat(name, ": texts about your pets' care.",
                          clinic_phone.empty() ? "" : absl::StrCat(" Call us at ", clinic_phone, "."),
                          " Reply STOP to stop texts, START to get them again.");
    case channels::SmsKeyword::kNone: break;
  }
  return "";
}

std::string TwiML(const std::string& reply) {
  constexpr char kHead[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
  if (reply.empty()) return absl::StrCat(kHead, "<Response/>");
  return absl::StrCat(kHead, "<Response><Message>",
                      absl::StrReplaceAll(reply, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"},
                                                  {"\"", "&quot;"}, {"'", "&apos;"}}),
                      "</Message></Response>");
}

std::string InboundMessageText(const channels::TwilioInboundText& t) {
  std::string text = t.body;
  for (const std::string& url : t.media_urls) absl::StrAppend(&text, text.empty() ? "" : "\n", url);
  return text;
}

absl::StatusOr<std::string> SmsInbound::Receive(const channels::TwilioInboundText& t) {
  VL_ASSIGN_OR_RETURN(std::string clinic_id, repo_.ClinicForNumber(t.to));
  InboundText in{.clinic_id = clinic_id,
                 .message_sid = t.message_sid,
                 .from = t.from,
                 .text = InboundMessageText(t),
                 .keyword = channels::ClassifySmsKeyword(t.body)};
  nlohmann::json media = nlohmann::json::array();
  for (size_t i = 0; i < t.media_urls.size(); ++i) {
    media.push_back({{"url", t.media_urls[i]}, {"contentType", t.media_types[i]}});
  }
  in.media_json = media.dump();
  VL_ASSIGN_OR_RETURN(in.client_id, clients_.Find(clinic_id, t.from));
  VL_ASSIGN_OR_RETURN(InboundRecorded rec, repo_.RecordInbound(in));
  log::Info("inbound text", {{"clinic", clinic_id}, {"message", rec.message_id},
                             {"duplicate", rec.duplicate ? "yes" : "no"},
                             {"cancelled_texts", std::to_string(rec.cancelled_texts)}});
  if (in.keyword == channels::SmsKeyword::kNone) return TwiML("");
  std::string name, phone;
  if (auto clinic = clinics_.Clinic(rpc::ServiceForClinic(clinic_id)); clinic.ok()) {
    name = clinic->name();
    phone = clinic->phone();
  }  // else: the generic name; the text is recorded and must be answered anyway
  return TwiML(KeywordReply(in.keyword, name, phone));
}

absl::Status SmsInbound::Status(const channels::TwilioStatusUpdate& u) {
  std::string reason;
  if (u.state == DeliveryState::kFailed) {
    reason = absl::StrCat("Twilio: ", u.twilio_status,
                          u.error_code ? absl::StrCat(", error ", u.error_code) : "",
                          u.not_texting_capable ? " (the number cannot take texts)" : "");
  }
  const std::string state(channels::DeliveryStateName(u.state));
  absl::Status st;
  for (int i = 0; i < kUnknownIdLookups; ++i) {
    st = repo_.RecordStatus(u.message_sid, state, reason, u.not_texting_capable, Advances);
    if (!absl::IsNotFound(st)) return st;
    absl::SleepFor(kUnknownIdPause);
  }
  return NotFoundField("MessageSid", "no text we sent has this MessageSid");
}

}  // namespace vetline::conversations
