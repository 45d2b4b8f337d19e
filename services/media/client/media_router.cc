#include "services/media/client/media_router.h"

#include <future>
#include <set>

#include "libs/core/ids.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"
#include "vetline/media/v1/media.grpc.pb.h"

namespace vetline::media {
namespace {

constexpr size_t kMaxCachedCalls = 100000;  // then the cache starts afresh

// Methods that touch a call's live state or tell its participants (events), by the
// request field naming the call. The others read and write the database only.
const std::map<std::string, std::string>& RoutedMethods() {
  static const auto* m = new std::map<std::string, std::string>{
      {"EndCall", "id"},          {"HostJoin", "call_id"},    {"Join", "call_id"},
      {"Admit", "call_id"},       {"Remove", "call_id"},      {"StartRecording", "call_id"},
      {"StopRecording", "call_id"}, {"SetMediaState", "call_id"}, {"Publish", "call_id"},
      {"Subscribe", "call_id"},   {"EndSession", "call_id"},  {"Leave", "call_id"},
      {"Watch", "call_id"}};
  return *m;
}

}  // namespace

MediaRouter::MediaRouter(std::shared_ptr<grpc::Channel> any, const auth::PrincipalSigner& signer,
                         absl::Duration deadline)
    : any_(std::move(any)), signer_(signer), deadline_(deadline) {}

std::string MediaRouter::CallIdOf(const std::string& method, const google::protobuf::Message& request) {
  static const std::string kPrefix = std::string("/") + v1::MediaService::service_full_name() + "/";
  if (method.compare(0, kPrefix.size(), kPrefix) != 0) return "";
  auto it = RoutedMethods().find(method.substr(kPrefix.size()));
  if (it == RoutedMethods().end()) return "";
  const auto* field = request.GetDescriptor()->FindFieldByName(it->second);
  if (!field || field->type() != google::protobuf::FieldDescriptor::TYPE_STRING) return "";
  std::string id = request.GetReflection()->GetString(request, field);
  // A malformed id goes to any replica, which names the bad field.
  return IsUuid(id) ? id : "";
}

std::shared_ptr<grpc::Channel> MediaRouter::ChannelTo(const std::string& address) {
  if (address.empty()) return any_;
  std::lock_guard<std::mutex> l(mu_);
  auto& channel = channels_[address];
  if (!channel) channel = rpc::Dial(address);
  return channel;
}

void MediaRouter::Pick(const std::string& call_id, Picked picked) {
  {
    std::unique_lock<std::mutex> l(mu_);
    if (auto it = owners_.find(call_id); it != owners_.end()) {
      std::string address = it->second;
      l.unlock();
      return picked(ChannelTo(address));
    }
  }
  struct Locating {
    grpc::ClientContext ctx;
    v1::LocateCallRequest req;
    v1::CallLocation resp;
    std::unique_ptr<v1::MediaService::Stub> stub;
  };
  auto op = std::make_shared<Locating>();
  op->req.set_call_id(call_id);
  op->stub = v1::MediaService::NewStub(any_);
  rpc::SetDeadline(op->ctx, deadline_);
  api::Principal router = rpc::ServiceForClinic("");
  router.set_user_id("media-router");
  rpc::AttachPrincipal(op->ctx, router, signer_);
  op->stub->async()->LocateCall(&op->ctx, &op->req, &op->resp,
                                [this, op, call_id, picked = std::move(picked)](grpc::Status st) {
    if (st.error_code() == grpc::StatusCode::UNAVAILABLE ||
        st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      return picked(absl::UnavailableError("the media service is unavailable: try again shortly"));
    }
    // Any other refusal (no such call, a bad id): a replica answers the request itself.
    if (!st.ok()) return picked(any_);
    {
      std::lock_guard<std::mutex> l(mu_);
      if (owners_.size() >= kMaxCachedCalls) owners_.clear();
      owners_[call_id] = op->resp.address();
    }
    picked(ChannelTo(op->resp.address()));
  });
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MediaRouter::ChannelFor(const std::string& call_id) {
  std::promise<absl::StatusOr<std::shared_ptr<grpc::Channel>>> done;
  auto answer = done.get_future();
  Pick(call_id, [&done](absl::StatusOr<std::shared_ptr<grpc::Channel>> c) { done.set_value(std::move(c)); });
  return answer.get();
}

void MediaRouter::Forget(const std::string& call_id) {
  std::lock_guard<std::mutex> l(mu_);
  owners_.erase(call_id);
}

}  // namespace vetline::media
