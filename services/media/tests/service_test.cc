// The media edge over real gRPC (in process, real PostgreSQL): who may join after a
// removal, when a call starts, Call History's durations, and how bad input is refused.
#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "libs/core/time.h"
#include "services/media/tests/media_fixture.h"

using namespace vetline;
using testing::MediaFixture;
namespace v1 = media::v1;

namespace {

absl::StatusOr<v1::CallHistoryResponse> History(MediaFixture& f, int page_size = 0, const std::string& token = "",
                                                const std::string& client_id = "") {
  v1::CallHistoryRequest req;
  req.set_page_size(page_size);
  req.set_page_token(token);
  req.set_client_id(client_id);
  v1::CallHistoryResponse out;
  grpc::Status s = f.stub->CallHistory(f.As(MediaFixture::Staff()).get(), req, &out);
  if (!s.ok()) return rpc::FromGrpc(s);
  return out;
}

absl::StatusOr<v1::Recording> Record(MediaFixture& f, const std::string& call_id, bool start) {
  v1::RecordingRequest req;
  req.set_call_id(call_id);
  v1::Recording out;
  auto ctx = f.As(MediaFixture::Staff());
  grpc::Status s = start ? f.stub->StartRecording(ctx.get(), req, &out) : f.stub->StopRecording(ctx.get(), req, &out);
  if (!s.ok()) return rpc::FromGrpc(s);
  return out;
}

absl::Status SetMuted(MediaFixture& f, const std::string& call_id, const std::string& token) {
  v1::SetMediaStateRequest req;
  req.set_call_id(call_id);
  req.set_participant_token(token);
  req.set_muted(true);
  v1::Participant out;
  return rpc::FromGrpc(f.stub->SetMediaState(f.Anonymous().get(), req, &out));
}

}  // namespace

TEST_CASE("media edge: removing a guest of the shared link shuts out that guest only") {
  MediaFixture f;
  auto hosted = f.HostedCall();
  REQUIRE(hosted.ok());
  const std::string call = hosted->id;
  const v1::Invitation& invitation = hosted->created.invitation();
  const std::string shared = invitation.direct_token();

  auto first = f.Join(call, shared, "Guest One");
  REQUIRE(first.ok());
  REQUIRE(f.Admit(call, first->participant().id()).ok());
  REQUIRE(f.Admit(call, first->participant().id(), /*remove=*/true).ok());
  // The removed guest's own token is dead.
  CHECK(SetMuted(f, call, first->participant_token()).code() == absl::StatusCode::kPermissionDenied);

  // The next guest on the same link is let into the waiting room and can be admitted.
  auto second = f.Join(call, shared, "Guest Two");
  INFO(second.status().ToString());
  REQUIRE(second.ok());
  CHECK(second->participant().state() == "waiting");
  REQUIRE(f.Admit(call, second->participant().id()).ok());
  CHECK(SetMuted(f, call, second->participant_token()).ok());

  // The client's personal link is theirs alone: removing them revokes it.
  auto client = f.Join(call, invitation.join_token(), "Sam Owner");
  REQUIRE(client.ok());
  REQUIRE(f.Admit(call, client->participant().id(), /*remove=*/true).ok());
  auto again = f.Join(call, invitation.join_token(), "Sam again");
  CHECK(again.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK(f.Join(call, shared, "Guest Three").ok());
}

TEST_CASE("media edge: join links open the client portal's join screen with their own invitation") {
  MediaFixture f;
  auto created = f.CreateCall();
  REQUIRE(created.ok());
  const v1::Invitation& inv = created->invitation();
  // The portal (web/src/portal/video) serves /portal/video/<call>; the console owns "/".
  const std::string base = "http://localhost:8080/portal/video/" + created->call().id() + "?invitation=";
  CHECK(inv.join_url() == base + inv.join_token());
  CHECK(inv.direct_url() == base + inv.direct_token());
  CHECK(inv.join_token() != inv.direct_token());
}

TEST_CASE("media edge: a call starts when a second participant is admitted, and recording alone is refused") {
  MediaFixture f;
  auto created = f.CreateCall();
  REQUIRE(created.ok());
  const std::string call = created->call().id();
  auto host = f.HostJoin(call);
  REQUIRE(host.ok());
  auto alone = f.GetCall(call);
  REQUIRE(alone.ok());
  CHECK(alone->state() == "waiting");
  CHECK_FALSE(alone->has_start_time());  // the host's waiting is not call time

  auto refused = Record(f, call, true);
  CHECK(refused.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(refused.status().message(), "second participant"));

  auto client = f.Join(call, created->invitation().join_token(), "Sam Owner");
  REQUIRE(client.ok());
  CHECK(f.GetCall(call)->state() == "waiting");  // waiting in the waiting room does not start it
  const absl::Time before_admit = absl::Now();
  REQUIRE(f.Admit(call, client->participant().id()).ok());
  auto live = f.GetCall(call);
  REQUIRE(live.ok());
  CHECK(live->state() == "live");
  REQUIRE(live->has_start_time());
  CHECK(FromTimestamp(live->start_time()) >= before_admit - absl::Seconds(1));
  REQUIRE(Record(f, call, true).ok());
  REQUIRE(Record(f, call, false).ok());
}

TEST_CASE("media edge: a call admitted before the host joins starts when the host joins") {
  MediaFixture f;
  auto created = f.CreateCall();
  REQUIRE(created.ok());
  const std::string call = created->call().id();
  auto client = f.Join(call, created->invitation().join_token(), "Sam Owner");
  REQUIRE(client.ok());
  REQUIRE(f.Admit(call, client->participant().id()).ok());
  CHECK(f.GetCall(call)->state() == "waiting");  // one participant in
  REQUIRE(f.HostJoin(call).ok());
  CHECK(f.GetCall(call)->state() == "live");
}

TEST_CASE("media edge: Call History's duration is the exact time between start and end") {
  MediaFixture f;
  auto hosted = f.HostedCall();
  REQUIRE(hosted.ok());
  const std::string call = hosted->id;
  auto client = f.Join(call, hosted->created.invitation().join_token(), "Sam Owner");
  REQUIRE(client.ok());
  REQUIRE(f.Admit(call, client->participant().id()).ok());
  v1::EndCallRequest end;
  end.set_id(call);
  v1::Call ended;
  REQUIRE(f.stub->EndCall(f.As(MediaFixture::Staff()).get(), end, &ended).ok());
  const double exact = absl::ToDoubleSeconds(FromTimestamp(ended.end_time()) - FromTimestamp(ended.start_time()));
  REQUIRE(exact > 0);

  auto history = History(f);
  REQUIRE(history.ok());
  REQUIRE(history->calls_size() == 1);
  CHECK(history->calls(0).duration_seconds() == Approx(exact).margin(1e-6));
}

TEST_CASE("media edge: Call History of one client lists only that client's calls") {
  MediaFixture f;
  const std::string sam = "7a1e3c55-1111-4e2a-9b0c-5d6e7f8a9b0c", ana = "9c3a5e77-3333-4a4b-9d2e-7f8a9b0c1d2e";
  const std::string birch_client = "8b2f4d66-2222-4f3b-8c1d-6e7f8a9b0c1d";
  f.clients.Add(testing::kMapleClinic, sam);
  f.clients.Add(testing::kMapleClinic, ana);
  f.clients.Add(testing::kBirchClinic, birch_client);
  std::map<std::string, std::vector<std::string>> made;  // client -> call ids, oldest first
  for (const std::string& client : {sam, ana, sam, std::string()}) {
    v1::CreateCallRequest req;
    req.set_client_id(client);
    auto created = f.CreateCall(req);
    REQUIRE(created.ok());
    made[client].push_back(created->call().id());
  }
  auto sams = History(f, 0, "", sam);
  REQUIRE(sams.ok());
  REQUIRE(sams->calls_size() == 2);
  CHECK(sams->calls(0).call().id() == made[sam][1]);  // newest first
  CHECK(sams->calls(1).call().id() == made[sam][0]);
  CHECK(History(f, 0, "", ana)->calls_size() == 1);
  CHECK(History(f)->calls_size() == 4);
  // A client of another clinic, or no client at all, is refused naming the field.
  CHECK(History(f, 0, "", birch_client).status().code() == absl::StatusCode::kNotFound);
  CHECK(FieldOf(History(f, 0, "", birch_client).status()) == "clientId");
  CHECK(FieldOf(History(f, 0, "", "not-an-id").status()) == "clientId");
}

TEST_CASE("media edge: bad input is refused naming its JSON field, and nothing is created") {
  MediaFixture f;
  const std::string maple_client = "7a1e3c55-1111-4e2a-9b0c-5d6e7f8a9b0c";
  const std::string birch_client = "8b2f4d66-2222-4f3b-8c1d-6e7f8a9b0c1d";
  f.clients.Add(testing::kMapleClinic, maple_client);
  f.clients.Add(testing::kBirchClinic, birch_client);

  auto refused = [&](v1::CreateCallRequest req) { return f.CreateCall(req).status(); };
  v1::CreateCallRequest req;
  req.set_conversation_id(std::string(64 * 1024, 'a'));
  CHECK(FieldOf(refused(req)) == "conversationId");
  req.set_conversation_id("not-an-id");
  CHECK(FieldOf(refused(req)) == "conversationId");
  req.clear_conversation_id();
  req.set_client_id(birch_client);  // another clinic's client
  CHECK(FieldOf(refused(req)) == "clientId");
  req.set_client_id("9c3a5e77-3333-4a4c-9d2e-7f8a9b0c1d2e");  // made up
  CHECK(FieldOf(refused(req)) == "clientId");
  req.set_client_id("x");
  CHECK(FieldOf(refused(req)) == "clientId");
  *req.mutable_scheduled_start() = ToTimestamp(absl::Now() - absl::Hours(48));
  req.clear_client_id();
  CHECK(FieldOf(refused(req)) == "scheduledStart");
  REQUIRE(History(f)->calls_size() == 0);  // nothing was stored

  // A conversation of another clinic, or a made-up one: a field error.
  const std::string maple_conversation = "5e6f7a88-4444-4b5d-8e3f-8a9b0c1d2e3f";
  const std::string birch_conversation = "6f7a8b99-5555-4c6e-9f4a-9b0c1d2e3f4a";
  f.conversations.Add(testing::kMapleClinic, maple_conversation);
  f.conversations.Add(testing::kBirchClinic, birch_conversation);
  req.clear_scheduled_start();
  req.set_conversation_id(birch_conversation);
  CHECK(FieldOf(refused(req)) == "conversationId");
  req.set_conversation_id("0d1e2f3a-6666-4d7f-8a5b-0c1d2e3f4a5b");
  CHECK(FieldOf(refused(req)) == "conversationId");
  REQUIRE(History(f)->calls_size() == 0);

  v1::CreateCallRequest good;
  good.set_client_id(maple_client);
  good.set_conversation_id(maple_conversation);
  auto created = f.CreateCall(good);
  REQUIRE(created.ok());
  CHECK(created->call().client_id() == maple_client);
  const std::string call = created->call().id();

  // Only staff create calls; a portal client is refused.
  api::Principal portal;
  portal.set_kind(api::Principal::CLIENT);
  portal.set_clinic_id(testing::kMapleClinic);
  portal.set_user_id(maple_client);
  CHECK(f.CreateCall({}, portal).status().code() == absl::StatusCode::kPermissionDenied);

  auto host = f.HostJoin(call);
  REQUIRE(host.ok());
  v1::PublishRequest publish;
  publish.set_call_id(call);
  publish.set_kind("microphone");
  publish.set_participant_token(host->participant_token());
  publish.set_sdp_offer("v=0");
  v1::SessionResponse session;
  CHECK(FieldOf(rpc::FromGrpc(f.stub->Publish(f.Anonymous().get(), publish, &session))) == "kind");
  publish.set_kind("camera");
  publish.set_sdp_offer(std::string(70 * 1024, 'v'));
  CHECK(FieldOf(rpc::FromGrpc(f.stub->Publish(f.Anonymous().get(), publish, &session))) == "sdpOffer");
  publish.set_sdp_offer("hello");
  CHECK(FieldOf(rpc::FromGrpc(f.stub->Publish(f.Anonymous().get(), publish, &session))) == "sdpOffer");

  CHECK(FieldOf(f.Join(call, created->invitation().join_token(), "Sam\x01Owner").status()) == "displayName");
  CHECK(FieldOf(f.Join(call, created->invitation().join_token(), std::string(81, 'a')).status()) == "displayName");
  CHECK(FieldOf(f.Join(call, "", "Sam").status()) == "invitationToken");
  CHECK(FieldOf(f.Join(call, std::string(4096, 't'), "Sam").status()) == "invitationToken");
  CHECK(FieldOf(f.Join("nope", created->invitation().join_token(), "Sam").status()) == "callId");
  CHECK(FieldOf(f.Admit(call, "nope").status()) == "participantId");
  CHECK(FieldOf(f.GetCall("nope").status()) == "id");
  CHECK(FieldOf(History(f, 500).status()) == "pageSize");
  CHECK(FieldOf(History(f, -1).status()) == "pageSize");
  CHECK(FieldOf(History(f, 0, "-5").status()) == "pageToken");
  CHECK(FieldOf(History(f, 0, "99999999999999999999").status()) == "pageToken");
  CHECK(History(f)->calls_size() == 1);
}
