// The PIMS note of a conversation: what staff will read in the practice's records.
#include <catch2/catch.hpp>

#include "libs/core/time.h"
#include "services/conversations/pims_export_rules.h"

using namespace vetline;
using namespace vetline::conversations;
namespace v1 = vetline::conversations::v1;

namespace {

absl::TimeZone NewYork() {
  absl::TimeZone z;
  REQUIRE(absl::LoadTimeZone("America/New_York", &z));
  return z;
}

v1::Message Msg(v1::Author author, const std::string& text, absl::Time at) {
  v1::Message m;
  m.set_id("m");
  m.set_author(author);
  m.set_text(text);
  m.set_received_via(v1::PORTAL);
  *m.mutable_create_time() = ToTimestamp(at);
  return m;
}

// 2026-12-01 14:00 UTC is 09:00 in New York.
absl::Time At(int minute) { return absl::FromUnixSeconds(1796133600) + absl::Minutes(minute); }

}  // namespace

TEST_CASE("a PIMS note lists each message in the clinic's time with its author and how it came",
          "[conversations][pims-export]") {
  std::vector<v1::Message> ms;
  ms.push_back(Msg(v1::CLIENT, "Is Rex due for shots?", At(0)));
  ms.back().set_received_via(v1::TEXT);
  ms.push_back(Msg(v1::STAFF, "Yes, next week.\nBring his records.", At(5)));
  ms.push_back(Msg(v1::STAFF, "Check the chart first", At(6)));
  ms.back().set_internal_note(true);
  ms.push_back(Msg(v1::CLIENT, "Thanks", At(7)));
  ms.back().set_received_via(v1::EMAIL);
  rules::PimsNote note = rules::RenderPimsNote(ms, NewYork(), "America/New_York");
  CHECK(note.message_count == 4);
  CHECK(note.text ==
        "Conversation from Vetline, 4 messages, 2026-12-01 09:00 to 2026-12-01 09:07 (America/New_York)\n"
        "2026-12-01 09:00 Client (text): Is Rex due for shots?\n"
        "2026-12-01 09:05 Staff: Yes, next week.\n"
        "    Bring his records.\n"
        "2026-12-01 09:06 Staff (internal note): Check the chart first\n"
        "2026-12-01 09:07 Client (email): Thanks\n");
}

TEST_CASE("a PIMS note names attachments and the video call record but carries no media",
          "[conversations][pims-export]") {
  std::vector<v1::Message> ms;
  ms.push_back(Msg(v1::CLIENT, "Here is the rash", At(0)));
  v1::FileAttachment* f = ms.back().add_attachments()->mutable_file();
  f->set_filename("rash.jpg");
  f->set_category("image");
  f->set_size_bytes(1536 * 1024);
  f->set_download_url("https://vetline.example/v1/files/secret-link");
  ms.push_back(Msg(v1::SYSTEM, "", At(30)));
  v1::CallRecord* r = ms.back().add_attachments()->mutable_call_record();
  r->set_duration_seconds(725);
  r->add_participants("Dr. Lee");
  r->add_participants("Ann Smith");
  r->set_recorded(true);
  r->set_recording_url("https://vetline.example/recording");
  rules::PimsNote note = rules::RenderPimsNote(ms, NewYork(), "America/New_York");
  CHECK(note.text.find("2026-12-01 09:00 Client: Here is the rash [file rash.jpg, image, 1.5 MB]\n") !=
        std::string::npos);
  CHECK(note.text.find("2026-12-01 09:30 Vetline: [video call, 12 min 5 s, with Dr. Lee, Ann Smith, recorded "
                       "(the recording stays in Vetline)]\n") != std::string::npos);
  // Links expire and lead to media; the PIMS gets neither.
  CHECK(note.text.find("https://") == std::string::npos);
}

TEST_CASE("a PIMS note stops before the message that would overfill it and always holds the first",
          "[conversations][pims-export]") {
  std::vector<v1::Message> ms;
  for (int i = 0; i < 10; ++i) ms.push_back(Msg(v1::CLIENT, std::string(100, 'a' + i), At(i)));
  rules::PimsNote note = rules::RenderPimsNote(ms, NewYork(), "America/New_York", 450);
  CHECK(note.message_count == 3);  // each line is 100 letters and about 27 of time and author
  CHECK(note.text.find(std::string(100, 'c')) != std::string::npos);
  CHECK(note.text.find(std::string(100, 'd')) == std::string::npos);
  CHECK(note.text.find("3 messages, 2026-12-01 09:00 to 2026-12-01 09:02") != std::string::npos);
  rules::PimsNote tiny = rules::RenderPimsNote(ms, NewYork(), "America/New_York", 10);
  CHECK(tiny.message_count == 1);
  CHECK(rules::RenderPimsNote({}, NewYork(), "America/New_York").message_count == 0);
}
