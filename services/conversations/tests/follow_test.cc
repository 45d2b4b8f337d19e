// Conversations follows the clients service's merges through the outbox feed: the
// merged profile's conversations move to the survivor with every message, once.
#include <catch2/catch.hpp>

#include "libs/testing/wait.h"
#include "services/conversations/tests/inbox_fixture.h"

using namespace vetline;
using testing::InboxFixture;
namespace cv1 = vetline::conversations::v1;

TEST_CASE("follow: a client merge moves the merged profile's conversations to the survivor",
          "[conversations][feed]") {
  InboxFixture fx;
  auto clinic = fx.MakeClinic("Maple Vets", "maple.example");
  auto ann = fx.MakeClient(clinic, "Ann", "Lee", "+15557650001", "ann@example.com");
  auto twin = fx.MakeClient(clinic, "Ann", "Lee", "+15557650002", "ann.lee@example.com");
  auto ann_chat = fx.Start(clinic.staff, ann.id());
  auto twin_chat = fx.Start(clinic.staff, twin.id());
  fx.MustSend(clinic.staff, ann_chat.id(), "Bella's vaccines are due");
  fx.MustSend(clinic.staff, twin_chat.id(), "Your invoice is ready");
  fx.MustSend(clinic.staff, twin_chat.id(), "Front desk: call back", /*note=*/true);

  clients::v1::MergeClientsRequest merge;
  merge.set_id(ann.id());
  merge.set_other_client_id(twin.id());
  clients::v1::Client merged;
  grpc::Status st = fx.clients->MergeClients(fx.As(clinic.staff).get(), merge, &merged);
  INFO(st.error_message());
  REQUIRE(st.ok());

  auto of = [&](const std::string& client_id) {
    cv1::ListConversationsRequest req;
    req.set_client_id(client_id);
    cv1::ListConversationsResponse resp;
    REQUIRE(fx.inbox->ListConversations(fx.As(clinic.staff).get(), req, &resp).ok());
    return resp.conversations_size();
  };
  REQUIRE(testing::WaitUntil([&] { return fx.Get(clinic.staff, twin_chat.id()).client_id() == ann.id(); },
                             absl::Seconds(20)));
  CHECK(of(ann.id()) == 2);
  CHECK(fx.Count("SELECT count(*) AS n FROM conversations.conversations WHERE client_id = '" + twin.id() +
                 "'") == 0);
  // Nothing lost or duplicated: the moved conversation keeps its messages, note included.
  CHECK(fx.Messages(clinic.staff, twin_chat.id()).size() == 2);
  CHECK(fx.Count("SELECT count(*) AS n FROM conversations.messages") == 3);
  // The move is in the event log for consoles, as any conversation change is.
  CHECK(fx.Count("SELECT count(*) AS n FROM conversations.events e WHERE e.client_id = '" + ann.id() +
                 "'") >= 1);
}
