// The inbox over real gRPC against real PostgreSQL/Redis, with the real clients and
// identity services answering its lookups: statuses, start chat, the queue, messages,
// notes, deliveries, files, templates, search, and the client-portal side.
#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "libs/core/ids.h"
#include "services/conversations/tests/inbox_fixture.h"

using namespace vetline;
using testing::InboxFixture;
namespace cv1 = vetline::conversations::v1;

namespace {

struct Maple : InboxFixture {
  Clinic maple = MakeClinic("Maple Vet", "maple.example");
  clients::v1::Client pat = MakeClient(maple, "Pat", "Lee", "+13125550100", "pat@pets.example");
  api::Principal pat_portal = testing::ClientPrincipal(maple.id, pat.id(), "pa-pat");
};

std::string MadeUpId() { return "0b5e7a52-1c1d-4e9a-8f3b-6d2c9e4a7b10"; }

std::vector<cv1::ConversationStatus> Statuses(InboxFixture& f, const api::Principal& who) {
  cv1::ListStatusesResponse resp;
  grpc::Status st = f.settings->ListStatuses(f.As(who).get(), {}, &resp);
  INFO(st.error_message());
  REQUIRE(st.ok());
  return {resp.statuses().begin(), resp.statuses().end()};
}

std::vector<std::string> Ids(const cv1::ListConversationsResponse& r) {
  std::vector<std::string> out;
  for (const auto& c : r.conversations()) out.push_back(c.id());
  return out;
}

cv1::ListConversationsResponse Queue(InboxFixture& f, const api::Principal& who,
                                     cv1::ListConversationsRequest req = {}) {
  cv1::ListConversationsResponse resp;
  grpc::Status st = f.inbox->ListConversations(f.As(who).get(), req, &resp);
  INFO(st.error_message());
  REQUIRE(st.ok());
  return resp;
}

}  // namespace

TEST_CASE_METHOD(Maple, "inbox statuses: first use seeds Open and Closed once even when concurrent",
                 "[conversations]") {
  std::vector<std::vector<cv1::ConversationStatus>> seen(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      cv1::ListStatusesResponse resp;
      if (settings->ListStatuses(As(maple.staff).get(), {}, &resp).ok()) {
        seen[i] = {resp.statuses().begin(), resp.statuses().end()};
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& s : seen) {
    REQUIRE(s.size() == 2);
    CHECK(s[0].name() == "Open");
    CHECK_FALSE(s[0].closed());
    CHECK(s[1].name() == "Closed");
    CHECK(s[1].closed());
    CHECK(s[0].id() == seen[0][0].id());
  }
  CHECK(Count("SELECT count(*) AS n FROM conversations.statuses") == 2);
  CHECK(Count("SELECT count(*) AS n FROM conversations.clinics") == 1);
  // A new conversation starts Open.
  CHECK(Start(maple.staff, pat.id()).status_id() == seen[0][0].id());
}

TEST_CASE_METHOD(Maple, "inbox statuses: admins change them - names unique colours checked in-use ones retired not deleted",
                 "[conversations]") {
  cv1::CreateStatusRequest create;
  create.set_name("Telemedicine");
  create.set_color("#1A2B3C");
  create.set_position(2);
  cv1::ConversationStatus tele;
  CHECK(settings->CreateStatus(As(maple.staff).get(), create, &tele).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  REQUIRE(settings->CreateStatus(As(maple.admin).get(), create, &tele).ok());
  CHECK(tele.color() == "#1a2b3c");
  create.set_name("  telemedicine ");
  grpc::Status dup = settings->CreateStatus(As(maple.admin).get(), create, &tele);
  CHECK(dup.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK(dup.error_details() == "name");
  create.set_name("Awaiting deposit");
  create.set_color("red");
  cv1::ConversationStatus ignored;
  grpc::Status colour = settings->CreateStatus(As(maple.admin).get(), create, &ignored);
  CHECK(colour.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(colour.error_details() == "color");
  CHECK(Statuses(*this, maple.staff).size() == 3);

  // In use: deleting is refused with the way out; retiring keeps it on the conversation.
  cv1::Conversation c = Start(maple.staff, pat.id());
  cv1::SetStatusRequest set;
  set.set_id(c.id());
  set.set_status_id(tele.id());
  cv1::Conversation updated;
  REQUIRE(inbox->SetStatus(As(maple.staff).get(), set, &updated).ok());
  CHECK(updated.status_id() == tele.id());
  cv1::DeleteStatusRequest del;
  del.set_id(tele.id());
  cv1::DeleteStatusResponse deleted;
  grpc::Status in_use = settings->DeleteStatus(As(maple.admin).get(), del, &deleted);
  CHECK(in_use.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(absl::StrContains(in_use.error_message(), "retire"));
  cv1::UpdateStatusRequest retire;
  retire.set_id(tele.id());
  retire.set_retired(true);
  retire.set_set_retired(true);
  cv1::ConversationStatus retired;
  REQUIRE(settings->UpdateStatus(As(maple.admin).get(), retire, &retired).ok());
  CHECK(retired.retired());
  CHECK(retired.name() == "Telemedicine");  // nothing else changed
  CHECK(Get(maple.staff, c.id()).status_id() == tele.id());
  // A retired status cannot be chosen again.
  cv1::Conversation other = Start(maple.staff, MakeClient(maple, "Sam", "Ray", "", "").id());
  set.set_id(other.id());
  grpc::Status choose = inbox->SetStatus(As(maple.staff).get(), set, &updated);
  CHECK(choose.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(choose.error_details() == "statusId");
  // Unused: deleted. The default one cannot go.
  cv1::CreateStatusRequest spare;
  spare.set_name("Spare");
  cv1::ConversationStatus s;
  REQUIRE(settings->CreateStatus(As(maple.admin).get(), spare, &s).ok());
  del.set_id(s.id());
  CHECK(settings->DeleteStatus(As(maple.admin).get(), del, &deleted).ok());
  del.set_id(Statuses(*this, maple.staff)[0].id());
  CHECK(settings->DeleteStatus(As(maple.admin).get(), del, &deleted).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);
  // Another clinic's status is not found.
  Clinic oak = MakeClinic("Oak Vet", "oak.example");
  del.set_id(tele.id());
  CHECK(settings->DeleteStatus(As(oak.admin).get(), del, &deleted).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  set.set_status_id(Statuses(*this, oak.staff)[0].id());
  grpc::Status foreign = inbox->SetStatus(As(maple.staff).get(), set, &updated);
  CHECK(foreign.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(foreign.error_details() == "statusId");
}

TEST_CASE_METHOD(Maple, "inbox start chat: the latest non-archived conversation or a new one - concurrent starts make one",
                 "[conversations]") {
  // Two replicas, three concurrent starts on each.
  auto second = AddReplica();
  std::vector<std::string> ids(6);
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      cv1::StartConversationRequest req;
      req.set_client_id(pat.id());
      cv1::Conversation c;
      auto& stub = i % 2 == 0 ? *inbox : *second;
      if (stub.StartConversation(As(maple.staff).get(), req, &c).ok()) ids[i] = c.id();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& id : ids) CHECK(id == ids[0]);
  CHECK(Count("SELECT count(*) AS n FROM conversations.conversations") == 1);
  // Archived: the next start makes a new one; the old one stays (never deleted).
  cv1::ArchiveRequest archive;
  archive.set_id(ids[0]);
  cv1::Conversation archived;
  REQUIRE(inbox->Archive(As(maple.staff).get(), archive, &archived).ok());
  CHECK(archived.archived());
  cv1::Conversation fresh = Start(maple.staff, pat.id());
  CHECK(fresh.id() != ids[0]);
  CHECK(Start(maple.staff, pat.id()).id() == fresh.id());
  CHECK(Count("SELECT count(*) AS n FROM conversations.conversations") == 2);
  // The client's portal "start chat" finds the same one.
  CHECK(Start(pat_portal, pat.id()).id() == fresh.id());
}

TEST_CASE_METHOD(Maple, "inbox start chat: the client is checked in the clinic the pet must be theirs",
                 "[conversations]") {
  Clinic oak = MakeClinic("Oak Vet", "oak.example");
  clients::v1::Client oak_client = MakeClient(oak, "Kim", "Oak", "", "");
  clients::v1::Client sam = MakeClient(maple, "Sam", "Ray", "", "");
  clients::v1::Pet rex = AddPet(maple, pat.id(), "Rex");
  clients::v1::Pet sams_cat = AddPet(maple, sam.id(), "Tom");
  cv1::Conversation out;
  for (const std::string& id : {oak_client.id(), MadeUpId()}) {
    cv1::StartConversationRequest req;
    req.set_client_id(id);
    grpc::Status st = inbox->StartConversation(As(maple.staff).get(), req, &out);
    CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(st.error_details() == "clientId");
  }
  cv1::StartConversationRequest req;
  req.set_client_id(pat.id());
  req.set_pet_id(sams_cat.id());
  grpc::Status st = inbox->StartConversation(As(maple.staff).get(), req, &out);
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(st.error_details() == "petId");
  req.set_client_id("not-an-id");
  CHECK(inbox->StartConversation(As(maple.staff).get(), req, &out).error_details() == "clientId");
  CHECK(Count("SELECT count(*) AS n FROM conversations.conversations") == 0);
  CHECK(Start(maple.staff, pat.id(), rex.id()).pet_id() == rex.id());
  // A client may start only their own.
  req.set_client_id(sam.id());
  req.clear_pet_id();
  CHECK(inbox->StartConversation(As(pat_portal).get(), req, &out).error_code() ==
        grpc::StatusCode::NOT_FOUND);
}

TEST_CASE_METHOD(Maple, "inbox messages: staff write the client reads - internal notes never reach the client (messages preview search)",
                 "[conversations]") {
  cv1::Conversation c = Start(maple.staff, pat.id());
  MustSend(maple.staff, c.id(), "Rex's x-ray looks good");
  MustSend(maple.staff, c.id(), "Owner seemed worried about the invoice", /*note=*/true);
  // Staff see both, newest first, with the note's preview.
  auto staff_view = Messages(maple.staff, c.id());
  REQUIRE(staff_view.size() == 2);
  CHECK(staff_view[0].internal_note());
  CHECK(staff_view[1].text() == "Rex's x-ray looks good");
  CHECK(Get(maple.staff, c.id()).last_message_preview() == "Owner seemed worried about the invoice");
  CHECK(Get(maple.staff, c.id()).client_unread() == 1);  // the note is not news to the client
  // The client sees only the message, without deliveries or staff-only fields.
  auto client_view = Messages(pat_portal, c.id());
  REQUIRE(client_view.size() == 1);
  CHECK(client_view[0].text() == "Rex's x-ray looks good");
  CHECK(client_view[0].deliveries().empty());
  CHECK_FALSE(staff_view[1].deliveries().empty());
  cv1::Conversation seen = Get(pat_portal, c.id());
  CHECK(seen.last_message_preview() == "Rex's x-ray looks good");
  CHECK(seen.staff_unread() == 0);
  CHECK(seen.assignee_user_id().empty());
  cv1::ListConversationsResponse list = Queue(*this, pat_portal);
  REQUIRE(list.conversations_size() == 1);
  CHECK(list.conversations(0).last_message_preview() == "Rex's x-ray looks good");
  cv1::SearchMessagesRequest search;
  search.set_query("invoice");
  cv1::SearchMessagesResponse found;
  REQUIRE(inbox->SearchMessages(As(pat_portal).get(), search, &found).ok());
  CHECK(found.hits().empty());
  REQUIRE(inbox->SearchMessages(As(maple.staff).get(), search, &found).ok());
  CHECK(found.hits_size() == 1);
  // A client answering: staff unread counts up; the client cannot write notes.
  MustSend(pat_portal, c.id(), "Thank you!");
  CHECK(Get(maple.staff, c.id()).staff_unread() == 1);
  cv1::Message ignored;
  grpc::Status note = Send(pat_portal, c.id(), "sneaky", &ignored, /*note=*/true);
  CHECK(note.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(note.error_details() == "internalNote");
  // Each side marks its own side read.
  cv1::MarkReadRequest read;
  read.set_id(c.id());
  cv1::Conversation after;
  REQUIRE(inbox->MarkRead(As(pat_portal).get(), read, &after).ok());
  CHECK(after.client_unread() == 0);
  CHECK(Get(maple.staff, c.id()).staff_unread() == 1);
  REQUIRE(inbox->MarkRead(As(maple.staff).get(), read, &after).ok());
  CHECK(after.staff_unread() == 0);
}

TEST_CASE_METHOD(Maple, "inbox messages: empty or oversized text refused naming text - nothing written",
                 "[conversations]") {
  cv1::Conversation c = Start(maple.staff, pat.id());
  // (Broken UTF-8 cannot travel in a proto string; the gateway and rules_test cover it.)
  for (const std::string& text : {std::string(), std::string("  \n "), std::string(10001, 'a')}) {
    cv1::Message m;
    grpc::Status st = Send(maple.staff, c.id(), text, &m);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(st.error_details() == "text");
  }
  cv1::Message m;
  CHECK(Send(maple.staff, MadeUpId(), "hello", &m).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(Send(maple.staff, "nope", "hello", &m).error_details() == "conversationId");
  CHECK(Count("SELECT count(*) AS n FROM conversations.messages") == 0);
  CHECK(Count("SELECT count(*) AS n FROM conversations.events WHERE payload IS NOT NULL "
              "AND seq > 1") == 0);  // only the conversation's creation
  CHECK(Send(maple.staff, c.id(), std::string(10000, 'a'), &m).ok());
}

TEST_CASE_METHOD(Maple, "inbox deliveries: a staff message is queued per the client's contact options - notes and client messages are not",
                 "[conversations]") {
  cv1::Conversation c = Start(maple.staff, pat.id());
  cv1::Message sent = MustSend(maple.staff, c.id(), "Your results are in");
  REQUIRE(sent.deliveries_size() == 2);
  CHECK(sent.deliveries(0).channel() == cv1::TEXT);
  CHECK(sent.deliveries(0).destination() == "+13125550100");
  CHECK(sent.deliveries(0).state() == cv1::QUEUED);
  CHECK(sent.deliveries(1).channel() == cv1::EMAIL);
  CHECK(sent.deliveries(1).destination() == "pat@pets.example");
  MustSend(maple.staff, c.id(), "note to self", /*note=*/true);
  MustSend(pat_portal, c.id(), "ok");
  CHECK(Count("SELECT count(*) AS n FROM conversations.deliveries") == 2);
  // Opting out of texts leaves only email for the next message.
  clients::v1::UpdateContactOptionsRequest opt;
  opt.set_client_id(pat.id());
  opt.set_text_enabled(false);
  opt.set_email_enabled(true);
  clients::v1::Client updated;
  REQUIRE(clients->UpdateContactOptions(As(maple.staff).get(), opt, &updated).ok());
  cv1::Message second = MustSend(maple.staff, c.id(), "Second");
  REQUIRE(second.deliveries_size() == 1);
  CHECK(second.deliveries(0).channel() == cv1::EMAIL);
}

TEST_CASE_METHOD(Maple, "inbox send: a failure mid-way (a file that cannot be attached) leaves no message delivery or event",
                 "[conversations]") {
  cv1::Conversation c = Start(maple.staff, pat.id());
  cv1::UploadFileRequest up;
  up.set_conversation_id(c.id());
  up.set_filename("notes.txt");
  up.set_content("Rex: 12 kg\n");
  cv1::UploadFileResponse file;
  REQUIRE(inbox->UploadFile(As(maple.staff).get(), up, &file).ok());
  const int64_t events_before = Count("SELECT count(*) AS n FROM conversations.events");
  cv1::Message m;
  // The good file is attached inside the transaction before the made-up one is found.
  grpc::Status st = Send(maple.staff, c.id(), "see attached", &m, false,
                         {file.file().file_id(), MadeUpId()});
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_details() == "fileIds");
  CHECK(Count("SELECT count(*) AS n FROM conversations.messages") == 0);
  CHECK(Count("SELECT count(*) AS n FROM conversations.deliveries") == 0);
  CHECK(Count("SELECT count(*) AS n FROM conversations.events") == events_before);
  CHECK(Count("SELECT count(*) AS n FROM conversations.files WHERE message_id IS NULL") == 1);
  CHECK(Get(maple.staff, c.id()).client_unread() == 0);
  // The same file then goes out fine, once.
  cv1::Message ok = MustSend(maple.staff, c.id(), "see attached", false, {file.file().file_id()});
  REQUIRE(ok.attachments_size() == 1);
  CHECK(ok.attachments(0).file().filename() == "notes.txt");
  CHECK(Send(maple.staff, c.id(), "again", &m, false, {file.file().file_id()}).error_details() ==
        "fileIds");
}

TEST_CASE_METHOD(Maple, "inbox concurrent sends into one conversation on two replicas keep unread counts exact",
                 "[conversations]") {
  cv1::Conversation c = Start(maple.staff, pat.id());
  auto second = AddReplica();
  constexpr int kThreads = 4, kEach = 5;  // within the client's send burst
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Clients and staff, each on both replicas.
      auto& stub = t < 2 ? *inbox : *second;
      for (int i = 0; i < kEach; ++i) {
        cv1::SendMessageRequest req;
        req.set_conversation_id(c.id());
        req.set_text("m" + std::to_string(t) + "-" + std::to_string(i));
        cv1::Message m;
        const api::Principal& who = t % 2 == 0 ? pat_portal : maple.staff;
        if (!stub.SendMessage(As(who).get(), req, &m).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  cv1::Conversation after = Get(maple.staff, c.id());
  CHECK(after.staff_unread() == kThreads / 2 * kEach);
  CHECK(after.client_unread() == kThreads / 2 * kEach);
  CHECK(Messages(maple.staff, c.id()).size() == kThreads * kEach);
  // The conversation's activity is its newest message's time.
  CHECK(after.last_activity_time().seconds() ==
        Messages(maple.staff, c.id())[0].create_time().seconds());
}

TEST_CASE_METHOD(Maple, "inbox queue: newest activity first filters and pages that stay stable while messages arrive",
                 "[conversations]") {
  std::vector<cv1::Conversation> convs;
  for (int i = 0; i < 7; ++i) {
    clients::v1::Client cl = MakeClient(maple, "C" + std::to_string(i), "Lee", "", "");
    convs.push_back(Start(maple.staff, cl.id()));
    MustSend(maple.staff, convs.back().id(), "hello " + std::to_string(i));
  }
  cv1::ListConversationsRequest req;
  req.set_page_size(3);
  cv1::ListConversationsResponse page1 = Queue(*this, maple.staff, req);
  REQUIRE(page1.conversations_size() == 3);
  CHECK(page1.conversations(0).id() == convs[6].id());  // newest on top
  CHECK_FALSE(page1.next_page_token().empty());
  // New messages arrive in conversations of page 1 and of later pages meanwhile.
  MustSend(maple.staff, convs[5].id(), "moves to the top");
  MustSend(maple.staff, convs[1].id(), "also moves to the top");
  req.set_page_token(page1.next_page_token());
  cv1::ListConversationsResponse page2 = Queue(*this, maple.staff, req);
  std::vector<std::string> seen = Ids(page1);
  for (auto& id : Ids(page2)) seen.push_back(id);
  if (!page2.next_page_token().empty()) {
    req.set_page_token(page2.next_page_token());
    for (auto& id : Ids(Queue(*this, maple.staff, req))) seen.push_back(id);
  }
  std::set<std::string> unique(seen.begin(), seen.end());
  CHECK(unique.size() == seen.size());  // no duplicates
  // Every conversation that did not move is there, in order (4, 3, 2, 0).
  std::vector<std::string> unmoved;
  for (const auto& id : seen) {
    if (id != convs[6].id() && id != convs[5].id() && id != convs[1].id()) unmoved.push_back(id);
  }
  CHECK(unmoved ==
        std::vector<std::string>{convs[4].id(), convs[3].id(), convs[2].id(), convs[0].id()});
  // Filters: assignee, unread, client, archived.
  cv1::AssignRequest assign;
  assign.set_id(convs[2].id());
  assign.set_user_id(maple.staff_id);
  cv1::Conversation assigned;
  REQUIRE(inbox->Assign(As(maple.admin).get(), assign, &assigned).ok());
  CHECK(assigned.assignee_user_id() == maple.staff_id);
  cv1::ListConversationsRequest mine;
  mine.set_assignee_filter(cv1::ASSIGNED_TO_ME);
  CHECK(Ids(Queue(*this, maple.staff, mine)) == std::vector<std::string>{convs[2].id()});
  mine.set_assignee_filter(cv1::ASSIGNED_TO_USER);
  mine.set_assignee_id(maple.staff_id);
  CHECK(Ids(Queue(*this, maple.admin, mine)) == std::vector<std::string>{convs[2].id()});
  mine.set_assignee_filter(cv1::UNASSIGNED);
  mine.clear_assignee_id();
  CHECK(Queue(*this, maple.staff, mine).conversations_size() == 6);
  MustSend(testing::ClientPrincipal(maple.id, convs[3].client_id()), convs[3].id(), "question");
  cv1::ListConversationsRequest unread;
  unread.set_unread_only(true);
  CHECK(Ids(Queue(*this, maple.staff, unread)) == std::vector<std::string>{convs[3].id()});
  cv1::ListConversationsRequest by_client;
  by_client.set_client_id(convs[4].client_id());
  CHECK(Ids(Queue(*this, maple.staff, by_client)) == std::vector<std::string>{convs[4].id()});
  cv1::ArchiveRequest archive;
  archive.set_id(convs[0].id());
  cv1::Conversation a;
  REQUIRE(inbox->Archive(As(maple.staff).get(), archive, &a).ok());
  cv1::ListConversationsRequest archived;
  archived.set_archived(true);
  CHECK(Ids(Queue(*this, maple.staff, archived)) == std::vector<std::string>{convs[0].id()});
  CHECK(Queue(*this, maple.staff).conversations_size() == 6);
  // A client's message reopens an archived conversation.
  MustSend(testing::ClientPrincipal(maple.id, convs[0].client_id()), convs[0].id(), "back again");
  CHECK_FALSE(Get(maple.staff, convs[0].id()).archived());
  // Assigning to a team, and clearing.
  identity::v1::CreateTeamRequest team_req;
  team_req.set_name("Front desk");
  identity::v1::Team team;
  REQUIRE(identity->stub().CreateTeam(identity->As(&maple.admin).get(), team_req, &team).ok());
  assign.set_user_id("");
  assign.set_team_id(team.id());
  REQUIRE(inbox->Assign(As(maple.staff).get(), assign, &assigned).ok());
  CHECK(assigned.assignee_team_id() == team.id());
  CHECK(assigned.assignee_user_id().empty());
  assign.set_team_id("");
  REQUIRE(inbox->Assign(As(maple.staff).get(), assign, &assigned).ok());
  CHECK(assigned.assignee_team_id().empty());
  // Both a user and a team: refused, nothing changes.
  assign.set_user_id(maple.staff_id);
  assign.set_team_id(team.id());
  grpc::Status both = inbox->Assign(As(maple.staff).get(), assign, &assigned);
  CHECK(both.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(both.error_details() == "teamId");
  CHECK(Get(maple.staff, convs[2].id()).assignee_user_id().empty());
  assign.set_team_id("");
  // Another clinic's user or team, or a made-up one, is a field error; nothing changes.
  Clinic oak = MakeClinic("Oak Vet", "oak.example");
  for (const std::string& id : {oak.staff_id, MadeUpId()}) {
    assign.set_user_id(id);
    grpc::Status st = inbox->Assign(As(maple.staff).get(), assign, &assigned);
    CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(st.error_details() == "userId");
  }
  // Garbled page tokens are a field error.
  req.set_page_token(page1.next_page_token() + "x");
  cv1::ListConversationsResponse bad;
  grpc::Status st = inbox->ListConversations(As(maple.staff).get(), req, &bad);
  CHECK(st.error_details() == "pageToken");
}

TEST_CASE_METHOD(Maple, "inbox client portal: only their own conversations - other ids are 404 - a prospect sees nothing",
                 "[conversations]") {
  clients::v1::Client sam = MakeClient(maple, "Sam", "Ray", "", "");
  cv1::Conversation pats = Start(maple.staff, pat.id());
  cv1::Conversation sams = Start(maple.staff, sam.id());
  MustSend(maple.staff, sams.id(), "for Sam only");
  cv1::AssignRequest assign;
  assign.set_id(pats.id());
  assign.set_user_id(maple.staff_id);
  cv1::Conversation assigned;
  REQUIRE(inbox->Assign(As(maple.staff).get(), assign, &assigned).ok());
  CHECK(Ids(Queue(*this, pat_portal)) == std::vector<std::string>{pats.id()});
  CHECK(Get(pat_portal, pats.id()).assignee_user_id().empty());  // staff-only field cleared
  Clinic oak = MakeClinic("Oak Vet", "oak.example");
  clients::v1::Client kim = MakeClient(oak, "Kim", "Oak", "", "");
  cv1::Conversation kims = Start(oak.staff, kim.id());
  for (const std::string& id : {sams.id(), kims.id(), MadeUpId()}) {
    cv1::GetConversationRequest get;
    get.set_id(id);
    cv1::Conversation c;
    CHECK(inbox->GetConversation(As(pat_portal).get(), get, &c).error_code() ==
          grpc::StatusCode::NOT_FOUND);
    cv1::ListMessagesRequest list;
    list.set_conversation_id(id);
    cv1::ListMessagesResponse msgs;
    CHECK(inbox->ListMessages(As(pat_portal).get(), list, &msgs).error_code() ==
          grpc::StatusCode::NOT_FOUND);
    cv1::Message m;
    CHECK(Send(pat_portal, id, "hi", &m).error_code() == grpc::StatusCode::NOT_FOUND);
    cv1::MarkReadRequest read;
    read.set_id(id);
    CHECK(inbox->MarkRead(As(pat_portal).get(), read, &c).error_code() ==
          grpc::StatusCode::NOT_FOUND);
  }
  // Staff of another clinic do not see Maple's conversations either.
  cv1::GetConversationRequest get;
  get.set_id(pats.id());
  cv1::Conversation c;
  CHECK(inbox->GetConversation(As(oak.staff).get(), get, &c).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  // Staff-only actions are refused to clients.
  cv1::ArchiveRequest archive;
  archive.set_id(pats.id());
  CHECK(inbox->Archive(As(pat_portal).get(), archive, &c).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  // A prospect (no client record yet) sees nothing.
  api::Principal prospect = testing::ClientPrincipal(maple.id, "", "pa-prospect");
  CHECK(Queue(*this, prospect).conversations().empty());
  CHECK(inbox->GetConversation(As(prospect).get(), get, &c).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  cv1::SearchMessagesRequest search;
  search.set_query("Sam");
  cv1::SearchMessagesResponse found;
  REQUIRE(inbox->SearchMessages(As(prospect).get(), search, &found).ok());
  CHECK(found.hits().empty());
  REQUIRE(inbox->SearchMessages(As(pat_portal).get(), search, &found).ok());
  CHECK(found.hits().empty());  // Sam's message is Sam's
}

TEST_CASE_METHOD(Maple, "inbox files: type from the content size limit signed expiring downloads",
                 "[conversations]") {
  cv1::Conversation c = Start(maple.staff, pat.id());
  cv1::UploadFileRequest up;
  up.set_conversation_id(c.id());
  up.set_filename("../xray.exe");
  std::string png = std::string("\x89PNG\r\n\x1A\n", 8) + std::string(100000, '\x42');
  up.set_content(png);
  cv1::UploadFileResponse file;
  grpc::Status st = inbox->UploadFile(As(pat_portal).get(), up, &file);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(file.file().content_type() == "image/png");
  CHECK(file.file().category() == "image");
  CHECK(file.file().filename() == "xray.exe.png");
  CHECK(file.file().size_bytes() == static_cast<int64_t>(png.size()));
  REQUIRE(absl::StartsWith(file.file().download_url(), "http://vet.example/v1/files/"));
  // Not an allowed type, whatever the name says; nothing stored.
  up.set_filename("photo.jpg");
  up.set_content(std::string("MZ\x90\0\x03", 5));
  cv1::UploadFileResponse refused;
  st = inbox->UploadFile(As(maple.staff).get(), up, &refused);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_details() == "content");
  // Another client's conversation: 404.
  cv1::Conversation sams = Start(maple.staff, MakeClient(maple, "Sam", "Ray", "", "").id());
  up.set_conversation_id(sams.id());
  up.set_content("plain text");
  CHECK(inbox->UploadFile(As(pat_portal).get(), up, &refused).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  CHECK(Count("SELECT count(*) AS n FROM conversations.files") == 1);
  // Download through the signed link: the exact bytes.
  const std::string url = file.file().download_url();
  const std::string token = url.substr(url.find("token=") + 6);
  auto download = [&](const std::string& id, const std::string& tok, std::string* body) {
    cv1::DownloadFileRequest req;
    req.set_file_id(id);
    req.set_token(tok);
    grpc::ClientContext ctx;
    rpc::SetDeadline(ctx);
    auto reader = inbox->DownloadFile(&ctx, req);
    cv1::FileChunk chunk;
    while (reader->Read(&chunk)) body->append(chunk.data());
    return reader->Finish();
  };
  std::string body;
  REQUIRE(download(file.file().file_id(), token, &body).ok());
  CHECK(body == png);
  std::string forged = token;
  forged[forged.size() / 2] = forged[forged.size() / 2] == 'A' ? 'B' : 'A';
  body.clear();
  CHECK(download(file.file().file_id(), forged, &body).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  CHECK(download(MadeUpId(), token, &body).error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(body.empty());
  auth::LinkSigner links(auth::Key::FromSecret(testing::kTestInternalSecret).value());
  std::string expired = links.Sign("conversation-file", maple.id + "/" + file.file().file_id(),
                                   absl::Now() - absl::Seconds(1));
  CHECK(download(file.file().file_id(), expired, &body).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  // Attached and sent by the client: staff see it with a fresh link.
  MustSend(pat_portal, c.id(), "", false, {file.file().file_id()});
  auto staff_view = Messages(maple.staff, c.id());
  REQUIRE(staff_view.size() == 1);
  REQUIRE(staff_view[0].attachments_size() == 1);
  CHECK_FALSE(staff_view[0].attachments(0).file().download_url().empty());
  CHECK(Get(maple.staff, c.id()).last_message_preview() == "\xF0\x9F\x93\x8E xray.exe.png");
}

TEST_CASE("inbox files: over the size limit is refused naming content", "[conversations]") {
  conversations::ConversationsOptions o;
  o.max_file_mib = 1;
  InboxFixture f(o);
  auto maple = f.MakeClinic("Maple Vet", "maple.example");
  auto pat = f.MakeClient(maple, "Pat", "Lee", "", "");
  cv1::Conversation c = f.Start(maple.staff, pat.id());
  cv1::UploadFileRequest up;
  up.set_conversation_id(c.id());
  up.set_filename("big.txt");
  up.set_content(std::string((1 << 20) + 1, 'a'));
  cv1::UploadFileResponse out;
  grpc::Status st = f.inbox->UploadFile(f.As(maple.staff).get(), up, &out);
  CHECK(st.error_code() == grpc::StatusCode::OUT_OF_RANGE);
  CHECK(st.error_details() == "content");
  up.set_content(std::string(1 << 20, 'a'));
  CHECK(f.inbox->UploadFile(f.As(maple.staff).get(), up, &out).ok());
}

TEST_CASE_METHOD(Maple, "inbox templates: variables checked on save rendered from the client pet and clinic",
                 "[conversations]") {
  cv1::CreateTemplateRequest create;
  create.set_name("Ready");
  create.set_body("Hi {client.first_name}, {pet.name} is ready at {clinic.name} ({clinic.phone}).");
  cv1::MessageTemplate t;
  REQUIRE(settings->CreateTemplate(As(maple.staff).get(), create, &t).ok());
  cv1::MessageTemplate dup;
  grpc::Status st = settings->CreateTemplate(As(maple.staff).get(), create, &dup);
  CHECK(st.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK(st.error_details() == "name");
  create.set_name("Bad");
  create.set_body("Hi {client.nickname}");
  st = settings->CreateTemplate(As(maple.staff).get(), create, &dup);
  CHECK(st.error_details() == "body");
  CHECK(absl::StrContains(st.error_message(), "{client.nickname}"));
  clients::v1::Pet rex = AddPet(maple, pat.id(), "Rex");
  cv1::Conversation with_pet = Start(maple.staff, pat.id(), rex.id());
  cv1::RenderTemplateRequest render;
  render.set_conversation_id(with_pet.id());
  render.set_template_id(t.id());
  cv1::RenderTemplateResponse text;
  st = settings->RenderTemplate(As(maple.staff).get(), render, &text);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(text.text() == "Hi Pat, Rex is ready at Maple Vet (+15551230000).");
  // A conversation without a pet: the missing value is named.
  clients::v1::Client sam = MakeClient(maple, "Sam", "Ray", "", "");
  render.set_conversation_id(Start(maple.staff, sam.id()).id());
  st = settings->RenderTemplate(As(maple.staff).get(), render, &text);
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(absl::StrContains(st.error_message(), "{pet.name}"));
  // Update, list, delete; another clinic's template is not found.
  cv1::UpdateTemplateRequest update;
  update.set_id(t.id());
  update.set_body("Bye {client.last_name}");
  cv1::MessageTemplate changed;
  REQUIRE(settings->UpdateTemplate(As(maple.staff).get(), update, &changed).ok());
  CHECK(changed.name() == "Ready");
  REQUIRE(settings->RenderTemplate(As(maple.staff).get(), render, &text).ok());
  CHECK(text.text() == "Bye Ray");
  Clinic oak = MakeClinic("Oak Vet", "oak.example");
  cv1::DeleteTemplateRequest del;
  del.set_id(t.id());
  cv1::DeleteTemplateResponse deleted;
  CHECK(settings->DeleteTemplate(As(oak.staff).get(), del, &deleted).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  cv1::ListTemplatesResponse list;
  REQUIRE(settings->ListTemplates(As(maple.staff).get(), {}, &list).ok());
  CHECK(list.templates_size() == 1);
  REQUIRE(settings->DeleteTemplate(As(maple.staff).get(), del, &deleted).ok());
  REQUIRE(settings->ListTemplates(As(maple.staff).get(), {}, &list).ok());
  CHECK(list.templates().empty());
}

TEST_CASE_METHOD(Maple, "inbox settings: admins set the clinic's texting number - checked unique across clinics clearable",
                 "[conversations]") {
  auto number_of = [&](const api::Principal& who) {
    cv1::ConversationSettings out;
    grpc::Status st = settings->GetConversationSettings(As(who).get(), {}, &out);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return out.sms_from_number();
  };
  auto set = [&](const api::Principal& who, const std::string& number) {
    cv1::UpdateConversationSettingsRequest req;
    req.set_sms_from_number(number);
    cv1::ConversationSettings out;
    grpc::Status st = settings->UpdateConversationSettings(As(who).get(), req, &out);
    if (st.ok()) CHECK(out.sms_from_number() == number_of(who));
    return st;
  };
  CHECK(number_of(maple.admin).empty());
  // Separators are dropped; the stored number is what inbound texts are matched on.
  REQUIRE(set(maple.admin, "+1 (555) 000-1111").ok());
  CHECK(number_of(maple.admin) == "+15550001111");
  CHECK(Count("SELECT count(*) AS n FROM conversations.clinics "
              "WHERE sms_from_number = '+15550001111'") == 1);
  // Only admins: staff and clients are refused and nothing changes.
  cv1::ConversationSettings ignored;
  CHECK(settings->GetConversationSettings(As(maple.staff).get(), {}, &ignored).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  CHECK(set(maple.staff, "+15550002222").error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(set(pat_portal, "+15550002222").error_code() == grpc::StatusCode::PERMISSION_DENIED);
  // Not E.164 (no +, letters, 7 digits, 16 digits): named, nothing changed.
  for (const char* bad : {"15550002222", "+1555abc2222", "+1234567", "+1234567890123456"}) {
    INFO(bad);
    grpc::Status st = set(maple.admin, bad);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(st.error_details() == "smsFromNumber");
  }
  CHECK(set(maple.admin, "+12345678").ok());  // 8 digits is the shortest accepted
  REQUIRE(set(maple.admin, "+15550001111").ok());
  // Another clinic cannot take it while Maple has it (inbound texts find the clinic by it).
  Clinic oak = MakeClinic("Oak Vet", "oak.example");
  grpc::Status taken = set(oak.admin, "+1 555 000 1111");
  CHECK(taken.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK(taken.error_details() == "smsFromNumber");
  CHECK_FALSE(absl::StrContains(taken.error_message(), "clinics_by_sms_number"));
  CHECK(number_of(oak.admin).empty());
  // Setting one's own number again is fine; clearing it frees it for Oak.
  CHECK(set(maple.admin, "+15550001111").ok());
  REQUIRE(set(maple.admin, "").ok());
  CHECK(number_of(maple.admin).empty());
  REQUIRE(set(oak.admin, "+15550001111").ok());
  CHECK(number_of(oak.admin) == "+15550001111");
}

TEST_CASE_METHOD(Maple, "inbox search: full-text within the clinic headlines stable pages",
                 "[conversations]") {
  cv1::Conversation c = Start(maple.staff, pat.id());
  for (int i = 0; i < 5; ++i) {
    MustSend(maple.staff, c.id(), "Vaccination reminder number " + std::to_string(i) +
                                      " for the rabies booster");
  }
  MustSend(maple.staff, c.id(), "Unrelated note about payment");
  Clinic oak = MakeClinic("Oak Vet", "oak.example");
  clients::v1::Client kim = MakeClient(oak, "Kim", "Oak", "", "");
  MustSend(oak.staff, Start(oak.staff, kim.id()).id(), "rabies booster at Oak");
  cv1::SearchMessagesRequest req;
  req.set_query("rabies booster");
  req.set_page_size(3);
  cv1::SearchMessagesResponse page1;
  REQUIRE(inbox->SearchMessages(As(maple.staff).get(), req, &page1).ok());
  REQUIRE(page1.hits_size() == 3);
  CHECK(absl::StrContains(page1.hits(0).headline(), "<b>rabies</b>"));
  CHECK(page1.hits(0).message().text() == "Vaccination reminder number 4 for the rabies booster");
  req.set_page_token(page1.next_page_token());
  MustSend(maple.staff, c.id(), "one more rabies booster");  // arrives between pages
  cv1::SearchMessagesResponse page2;
  REQUIRE(inbox->SearchMessages(As(maple.staff).get(), req, &page2).ok());
  REQUIRE(page2.hits_size() == 2);  // 1 and 0, nothing repeated, Oak's never
  CHECK(page2.hits(1).message().text() == "Vaccination reminder number 0 for the rabies booster");
  CHECK(page2.next_page_token().empty());
  // A token for another query is refused.
  req.set_query("payment");
  cv1::SearchMessagesResponse other;
  CHECK(inbox->SearchMessages(As(maple.staff).get(), req, &other).error_details() == "pageToken");
  req.clear_page_token();
  REQUIRE(inbox->SearchMessages(As(maple.staff).get(), req, &other).ok());
  CHECK(other.hits_size() == 1);
  req.set_query(std::string("bad\0query", 9));
  CHECK(inbox->SearchMessages(As(maple.staff).get(), req, &other).error_details() == "query");
}

TEST_CASE_METHOD(Maple, "inbox retry: a failed delivery goes back to queued - others cannot be retried",
                 "[conversations]") {
  cv1::Conversation c = Start(maple.staff, pat.id());
  cv1::Message m = MustSend(maple.staff, c.id(), "Your invoice");
  cv1::RetryDeliveryRequest retry;
  retry.set_conversation_id(c.id());
  retry.set_message_id(m.id());
  retry.set_channel(cv1::TEXT);
  cv1::Message out;
  grpc::Status st = inbox->RetryDelivery(As(maple.staff).get(), retry, &out);
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);  // still queued
  REQUIRE(Sql("UPDATE conversations.deliveries SET state = 'failed', reason = 'carrier said no', "
              "attempts = 5 WHERE channel = 'text'")
              .ok());
  REQUIRE(inbox->RetryDelivery(As(maple.staff).get(), retry, &out).ok());
  CHECK(out.deliveries(0).state() == cv1::QUEUED);
  CHECK(out.deliveries(0).attempts() == 0);
  retry.set_channel(cv1::PUSH);  // never sent on push
  CHECK(inbox->RetryDelivery(As(maple.staff).get(), retry, &out).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  retry.set_channel(static_cast<cv1::Channel>(99));
  CHECK(inbox->RetryDelivery(As(maple.staff).get(), retry, &out).error_details() == "channel");
  retry.set_channel(cv1::TEXT);
  CHECK(inbox->RetryDelivery(As(pat_portal).get(), retry, &out).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
}

TEST_CASE_METHOD(Maple, "inbox link client: an unknown sender's conversations move to the client",
                 "[conversations]") {
  (void)Statuses(*this, maple.staff);  // the clinic's statuses exist
  // As the inbound-text path opens them: no client, the sender's number.
  for (const char* archived : {"false", "true"}) {
    REQUIRE(Sql("INSERT INTO conversations.conversations (clinic_id, status_id, unknown_sender, "
                "sender_address, archived) SELECT '" + maple.id + "', default_status_id, true, "
                "'+13125550177', " + archived + " FROM conversations.clinics")
                .ok());
  }
  cv1::ListConversationsResponse q = Queue(*this, maple.staff);
  REQUIRE(q.conversations_size() == 1);
  CHECK(q.conversations(0).unknown_sender());
  // Answering the unknown sender goes back by text to where they wrote from.
  cv1::Message m = MustSend(maple.staff, q.conversations(0).id(), "Who is this?");
  REQUIRE(m.deliveries_size() == 1);
  CHECK(m.deliveries(0).destination() == "+13125550177");
  cv1::LinkClientRequest link;
  link.set_id(q.conversations(0).id());
  link.set_client_id(pat.id());
  cv1::Conversation linked;
  REQUIRE(inbox->LinkClient(As(maple.staff).get(), link, &linked).ok());
  CHECK(linked.client_id() == pat.id());
  CHECK_FALSE(linked.unknown_sender());
  CHECK(Count("SELECT count(*) AS n FROM conversations.conversations WHERE client_id = '" +
              pat.id() + "'") == 2);
  CHECK(Messages(pat_portal, linked.id()).size() == 1);  // the client now sees it
  // Already linked: refused. Another clinic's client: a field error.
  grpc::Status again = inbox->LinkClient(As(maple.staff).get(), link, &linked);
  CHECK(again.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  Clinic oak = MakeClinic("Oak Vet", "oak.example");
  link.set_client_id(MakeClient(oak, "Kim", "Oak", "", "").id());
  CHECK(inbox->LinkClient(As(maple.staff).get(), link, &linked).error_details() == "clientId");
}

TEST_CASE("inbox rate limit: a client sending too fast is told to wait", "[conversations]") {
  conversations::ConversationsOptions o;
  o.client_send_burst = 3;
  o.client_sends_per_minute = 1;
  InboxFixture f(o);
  auto maple = f.MakeClinic("Maple Vet", "maple.example");
  auto pat = f.MakeClient(maple, "Pat", "Lee", "", "");
  auto portal = testing::ClientPrincipal(maple.id, pat.id());
  cv1::Conversation c = f.Start(maple.staff, pat.id());
  for (int i = 0; i < 3; ++i) CHECK(f.Send(portal, c.id(), "hi").ok());
  cv1::Message m;
  grpc::Status st = f.Send(portal, c.id(), "hi", &m);
  CHECK(st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(absl::StrContains(st.error_message(), "try again"));
  // Staff are not limited by the client's bucket; another client has their own.
  CHECK(f.Send(maple.staff, c.id(), "staff answer").ok());
  auto sam = f.MakeClient(maple, "Sam", "Ray", "", "");
  cv1::Conversation sams = f.Start(maple.staff, sam.id());
  CHECK(f.Send(testing::ClientPrincipal(maple.id, sam.id()), sams.id(), "hi").ok());
  CHECK(f.Messages(maple.staff, c.id()).size() == 4);
}

TEST_CASE_METHOD(Maple, "inbox events: every change appends its event - notes and assignment are staff-only",
                 "[conversations]") {
  cv1::Conversation c = Start(maple.staff, pat.id());
  MustSend(maple.staff, c.id(), "hello");
  MustSend(maple.staff, c.id(), "note", /*note=*/true);
  cv1::AssignRequest assign;
  assign.set_id(c.id());
  assign.set_user_id(maple.staff_id);
  cv1::Conversation out;
  REQUIRE(inbox->Assign(As(maple.staff).get(), assign, &out).ok());
  CHECK(Count("SELECT count(*) AS n FROM conversations.events") == 4);
  CHECK(Count("SELECT count(*) AS n FROM conversations.events WHERE staff_only") == 2);
  CHECK(Count("SELECT count(*) AS n FROM conversations.events WHERE client_id = '" + pat.id() +
              "'") == 4);
  CHECK(Count("SELECT max(seq) AS n FROM conversations.events") == 4);
}
