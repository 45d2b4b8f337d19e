// `vetline-media` as its own process (as Kubernetes runs it), for the crash test and the
// benchmark, plus a signed staff principal to call it with.
#pragma once

#include <string>

#include "libs/auth/auth.h"
#include "libs/rpc/rpc.h"
#include "tests/support/identity_stack.h"
#include "tests/support/service_process.h"
#include "tests/support/webrtc_peer.h"
#include "vetline/media/v1/media.grpc.pb.h"

namespace vetline::testing {

class MediaProcess : public ServiceProcess {
 public:
  // Starts the binary on `port` with its files under `dir`; `env` adds VETLINE_* settings.
  MediaProcess(const std::string& binary, const std::string& conninfo, const std::string& dir, int port,
               std::vector<std::string> env = {})
      : ServiceProcess(binary, conninfo, port, With(dir, std::move(env))) {}
  std::unique_ptr<media::v1::MediaService::Stub> Stub() { return media::v1::MediaService::NewStub(channel()); }

 private:
  static std::vector<std::string> With(const std::string& dir, std::vector<std::string> env) {
    std::vector<std::string> out = {"VETLINE_REDIS=", "VETLINE_MEDIA_DATA_DIR=" + dir + "/data",
                                    "VETLINE_MEDIA_BLOB_DIR=" + dir + "/blobs"};
    out.insert(out.end(), env.begin(), env.end());  // later settings win
    return out;
  }
};

// Signs a staff principal of one clinic onto client contexts.
class StaffCaller {
 public:
  StaffCaller() : signer_(auth::Key::FromSecret(kTestInternalSecret).value()) {
    p_.set_kind(api::Principal::STAFF);
    p_.set_clinic_id("6f0b8f8e-4d7e-4b1a-9d55-0c3a1f2e9b10");
    p_.set_user_id("0d9f3a55-8a4e-4bb8-b4a4-2f6c7e1d5a22");
    p_.set_role("admin");
  }
  void Sign(grpc::ClientContext& ctx) const { rpc::AttachPrincipal(ctx, p_, signer_); }

 private:
  auth::PrincipalSigner signer_;
  api::Principal p_;
};

// WHIP/WHEP straight over gRPC (no gateway): a peer's Signal. `session` gets the id.
inline Signal GrpcSignal(media::v1::MediaService::Stub& stub, const std::string& call_id,
                         const std::string& token, const std::string& kind_or_publication,
                         bool publish, std::string* session = nullptr) {
  return [&stub, call_id, token, kind_or_publication, publish, session](
             const std::string& offer) -> absl::StatusOr<std::string> {
    grpc::ClientContext ctx;
    rpc::SetDeadline(ctx, absl::Seconds(20));
    media::v1::SessionResponse resp;
    grpc::Status s;
    if (publish) {
      media::v1::PublishRequest req;
      req.set_call_id(call_id);
      req.set_kind(kind_or_publication);
      req.set_participant_token(token);
      req.set_sdp_offer(offer);
      s = stub.Publish(&ctx, req, &resp);
    } else {
      media::v1::SubscribeRequest req;
      req.set_call_id(call_id);
      req.set_publication_id(kind_or_publication);
      req.set_participant_token(token);
      req.set_sdp_offer(offer);
      s = stub.Subscribe(&ctx, req, &resp);
    }
    if (!s.ok()) return rpc::FromGrpc(s);
    if (session) *session = resp.session_id();
    return resp.sdp_answer();
  };
}

}  // namespace vetline::testing
