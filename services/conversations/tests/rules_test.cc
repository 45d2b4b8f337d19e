// The inbox's pure parts alone: the file-type sniffer and filename rule, the template
// renderer, the delivery-channel rule, previews and message limits.
#include <catch2/catch.hpp>

#include "libs/core/status.h"
#include "libs/core/validate.h"
#include "services/conversations/file_types.h"
#include "services/conversations/inbox_rules.h"
#include "services/conversations/message_templates.h"

using namespace vetline;
using namespace vetline::conversations;

namespace {

void Le16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xFF));
  s.push_back(static_cast<char>(v >> 8));
}
void Le32(std::string& s, uint32_t v) {
  Le16(s, static_cast<uint16_t>(v & 0xFFFF));
  Le16(s, static_cast<uint16_t>(v >> 16));
}

// A zip (stored, empty entries) with these names: enough structure for the sniffer,
// which reads the central directory.
std::string Zip(const std::vector<std::string>& names) {
  std::string out, central;
  for (const std::string& name : names) {
    uint32_t offset = static_cast<uint32_t>(out.size());
    Le32(out, 0x04034b50);
    Le16(out, 20); Le16(out, 0); Le16(out, 0); Le16(out, 0); Le16(out, 0);
    Le32(out, 0); Le32(out, 0); Le32(out, 0);
    Le16(out, static_cast<uint16_t>(name.size())); Le16(out, 0);
    out += name;
    Le32(central, 0x02014b50);
    Le16(central, 20); Le16(central, 20); Le16(central, 0); Le16(central, 0);
    Le16(central, 0); Le16(central, 0);
    Le32(central, 0); Le32(central, 0); Le32(central, 0);
    Le16(central, static_cast<uint16_t>(name.size())); Le16(central, 0); Le16(central, 0);
    Le16(central, 0); Le16(central, 0); Le32(central, 0); Le32(central, offset);
    central += name;
  }
  uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  Le32(out, 0x06054b50);
  Le16(out, 0); Le16(out, 0);
  Le16(out, static_cast<uint16_t>(names.size())); Le16(out, static_cast<uint16_t>(names.size()));
  Le32(out, static_cast<uint32_t>(central.size())); Le32(out, cd_offset);
  Le16(out, 0);
  return out;
}

std::string Bytes(std::initializer_list<int> b, std::string tail = "") {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s + tail;
}

std::string Ftyp(const std::string& brand) {
  return Bytes({0, 0, 0, 0x18}, "ftyp" + brand + std::string(12, '\0'));
}

std::string TypeOf(const std::string& content) {
  auto t = SniffFileType(content);
  return t.ok() ? t->content_type : "refused";
}

}  // namespace

TEST_CASE("inbox file types: decided from the content's magic bytes", "[conversations][rules]") {
  CHECK(TypeOf(Bytes({0xFF, 0xD8, 0xFF, 0xE0}, "JFIF")) == "image/jpeg");
  CHECK(TypeOf(Bytes({0x89}, "PNG\r\n\x1A\n....")) == "image/png");
  CHECK(TypeOf("GIF89a......") == "image/gif");
  CHECK(TypeOf("GIF87a......") == "image/gif");
  CHECK(TypeOf(std::string("RIFF\x10\0\0\0WEBPVP8 ", 16) + std::string(8, '\0')) == "image/webp");
  CHECK(TypeOf(Ftyp("heic")) == "image/heic");
  CHECK(TypeOf(Ftyp("mif1")) == "image/heic");
  CHECK(TypeOf(Ftyp("isom")) == "video/mp4");
  CHECK(TypeOf(Ftyp("mp42")) == "video/mp4");
  CHECK(TypeOf(Ftyp("qt  ")) == "video/quicktime");
  CHECK(TypeOf(Bytes({0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84},
                     "webm\x42\x87")) == "video/webm");
  CHECK(TypeOf("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n") == "application/pdf");
  CHECK(TypeOf("Rex ate a sock.\nPlease call back.\n") == "text/plain");
  CHECK(TypeOf("Caf\xC3\xA9 \xF0\x9F\x90\xB6\tok") == "text/plain");
  CHECK(TypeOf(Zip({"[Content_Types].xml", "_rels/.rels", "word/document.xml"})) ==
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  CHECK(TypeOf(Zip({"[Content_Types].xml", "xl/workbook.xml"})) ==
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
  auto t = SniffFileType(Bytes({0xFF, 0xD8, 0xFF}));
  REQUIRE(t.ok());
  CHECK(t->category == "image");
  CHECK(SniffFileType("%PDF-1.4")->category == "document");
  CHECK(SniffFileType(Ftyp("isom"))->category == "video");
}

TEST_CASE("inbox file types: anything else is refused naming content whatever its name",
          "[conversations][rules]") {
  for (const std::string& bad : {
           std::string(),                                          // nothing
           std::string("MZ\x90\0\x03\0\0\0", 8),                    // a Windows executable
           std::string("\x7F" "ELF\x02\x01\x01", 7),                // an ELF binary
           Zip({"evil.exe"}),                                      // a plain zip
           Zip({"[Content_Types].xml", "ppt/presentation.xml"}),   // not DOCX/XLSX
           std::string("PK\x03\x04garbage-without-directory"),     // a broken zip
           Bytes({0x1A, 0x45, 0xDF, 0xA3, 0x42, 0x82, 0x88}, "matroska"),  // MKV, not WebM
           Ftyp("XXXX"),                                           // unknown ISO brand
           std::string("text with a NUL\0 inside", 23),            // binary-ish text
           std::string("\xC3\x28 broken utf-8"),
       }) {
    auto t = SniffFileType(bad);
    INFO(bad.substr(0, 20));
    CHECK(t.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(FieldOf(t.status()) == "content");
  }
  // A zip whose directory claims more entries than it holds: refused, never read past.
  std::string truncated = Zip({"[Content_Types].xml", "word/document.xml"});
  truncated[truncated.size() - 12] = 9;  // entries on this disk
  truncated[truncated.size() - 10] = 9;  // entries in total
  CHECK_FALSE(SniffFileType(truncated).ok());
}

TEST_CASE("inbox file names: no paths or special characters and the real extension",
          "[conversations][rules]") {
  FileType pdf{"application/pdf", "document", "pdf"};
  FileType jpg{"image/jpeg", "image", "jpg"};
  CHECK(SanitizeFilename("invoice.pdf", pdf) == "invoice.pdf");
  CHECK(SanitizeFilename("Invoice.PDF", pdf) == "Invoice.PDF");
  CHECK(SanitizeFilename("invoice.exe", pdf) == "invoice.exe.pdf");
  CHECK(SanitizeFilename("../../etc/passwd", pdf) == "passwd.pdf");
  CHECK(SanitizeFilename("C:\\Users\\pat\\xray.jpeg", jpg) == "xray.jpeg");
  CHECK(SanitizeFilename("a<b>c|d\x01.jpg", jpg) == "a_b_c_d_.jpg");
  CHECK(SanitizeFilename("", jpg) == "file.jpg");
  CHECK(SanitizeFilename("...", jpg) == "file.jpg");
  CHECK(SanitizeFilename(" .hidden", pdf) == "hidden.pdf");
  CHECK(SanitizeFilename("caf\xC3\xA9.pdf", pdf) == "caf\xC3\xA9.pdf");
  CHECK(SanitizeFilename("bad\xC3.pdf", pdf) == "bad.pdf");
  std::string long_name = SanitizeFilename(std::string(500, 'x') + ".pdf", pdf);
  CHECK(long_name.size() <= 200);
  CHECK(long_name.substr(long_name.size() - 4) == ".pdf");
  // A multi-byte character at the cut is kept whole or dropped, never split.
  std::string cut = SanitizeFilename(std::string(194, 'x') + "\xC3\xA9\xC3\xA9", pdf);
  CHECK(validate::IsUtf8(cut));
}

TEST_CASE("inbox templates: variables are filled in - unknown or empty ones are named",
          "[conversations][rules]") {
  std::map<std::string, std::string> values = {{"client.first_name", "Pat"},
                                               {"client.last_name", "Lee"},
                                               {"pet.name", "Rex"},
                                               {"clinic.name", "Maple Vet"},
                                               {"clinic.phone", "+15551230000"}};
  CHECK(RenderTemplate("Hi {client.first_name}, {pet.name} is ready at {clinic.name}. "
                       "Call {clinic.phone}.",
                       values, "templateId")
            .value() == "Hi Pat, Rex is ready at Maple Vet. Call +15551230000.");
  // Braces that are not variables stay as they are.
  CHECK(RenderTemplate("{ not one } {} {{client.last_name}} {", values, "templateId").value() ==
        "{ not one } {} {Lee} {");
  auto unknown = RenderTemplate("Hi {client.nickname}", values, "templateId");
  CHECK(unknown.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(FieldOf(unknown.status()) == "templateId");
  CHECK(unknown.status().message().find("{client.nickname}") != std::string::npos);
  values.erase("pet.name");
  auto missing = RenderTemplate("{pet.name} is ready", values, "templateId");
  CHECK(missing.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(missing.status().message().find("{pet.name}") != std::string::npos);
  values["client.first_name"] = "";
  CHECK(RenderTemplate("Hi {client.first_name}", values, "x").status().code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(RenderTemplate("No variables at all", {}, "x").value() == "No variables at all");

  CHECK(CheckTemplate("Hi {client.first_name} from {clinic.name}", "body").ok());
  absl::Status bad = CheckTemplate("Hi {owner}", "body");
  CHECK(FieldOf(bad) == "body");
  CHECK(bad.message().find("{owner}") != std::string::npos);
  CHECK(VariablesIn("{pet.name} and {pet.name} {clinic.name}") ==
        std::vector<std::string>{"pet.name", "clinic.name"});
}

TEST_CASE("inbox deliveries: text to the primary texting number email to the primary address push when enabled",
          "[conversations][rules]") {
  using rules::Channel;
  rules::Contacts c;
  c.client_id = "c-1";
  c.text_enabled = c.email_enabled = true;
  c.phones = {{"+13125550100", true, false}, {"+13125550101", true, true}};
  c.emails = {{"old@pets.example", false}, {"pat@pets.example", true}};
  CHECK(rules::ChooseDeliveries(c) ==
        std::vector<rules::Target>{{Channel::kText, "+13125550101"},
                                   {Channel::kEmail, "pat@pets.example"}});
  // The primary cannot take texts: no text at all, never the other number.
  c.phones = {{"+13125550100", true, false}, {"+13125550101", false, true}};
  CHECK(rules::ChooseDeliveries(c) ==
        std::vector<rules::Target>{{Channel::kEmail, "pat@pets.example"}});
  // Opted out of text and email.
  c.phones[1].texting_capable = true;
  c.text_enabled = c.email_enabled = false;
  CHECK(rules::ChooseDeliveries(c).empty());
  // Push needs a subscription, and goes to each one (every device of the client).
  c.push_enabled = true;
  CHECK(rules::ChooseDeliveries(c).empty());
  c.push_endpoints = {"https://fcm.googleapis.com/fcm/send/a", "https://web.push.apple.com/b"};
  CHECK(rules::ChooseDeliveries(c) ==
        std::vector<rules::Target>{{Channel::kPush, "https://fcm.googleapis.com/fcm/send/a"},
                                   {Channel::kPush, "https://web.push.apple.com/b"}});
  c.push_enabled = false;  // switched off: none, subscriptions or not
  CHECK(rules::ChooseDeliveries(c).empty());
  c.push_enabled = true;
  c.push_endpoints = {"https://web.push.apple.com/b"};
  // No primary email: no email.
  c.email_enabled = true;
  c.emails = {{"pat@pets.example", false}};
  CHECK(rules::ChooseDeliveries(c) ==
        std::vector<rules::Target>{{Channel::kPush, "https://web.push.apple.com/b"}});
}

TEST_CASE("inbox messages: empty and oversized text refused naming text - previews one line",
          "[conversations][rules]") {
  CHECK(FieldOf(rules::CheckMessage("", 0)) == "text");
  CHECK(FieldOf(rules::CheckMessage("   \n", 0)) == "text");
  CHECK(rules::CheckMessage("", 1).ok());
  CHECK(rules::CheckMessage(std::string(10000, 'a'), 0).ok());
  CHECK(FieldOf(rules::CheckMessage(std::string(10001, 'a'), 0)) == "text");
  std::string dogs;
  for (int i = 0; i < 10000; ++i) dogs += "\xF0\x9F\x90\xB6";  // 10,000 characters, 40 KB
  CHECK(rules::CheckMessage(dogs, 0).ok());
  CHECK(FieldOf(rules::CheckMessage("\xC3\x28", 0)) == "text");
  CHECK(FieldOf(rules::CheckMessage(std::string("a\0b", 3), 0)) == "text");

  CHECK(rules::Preview("  Hello\nthere  ", "") == "Hello there");
  CHECK(rules::Preview("", "xray.png") == "\xF0\x9F\x93\x8E xray.png");
  std::string preview = rules::Preview(dogs, "");
  CHECK(preview == dogs.substr(0, 140 * 4) + "\xE2\x80\xA6");

  CHECK(rules::CheckColor("color", "#1a2B3c").ok());
  for (const char* bad : {"1a2b3c", "#1a2b3", "#1a2b3g", "red", "", "#1a2b3c0"}) {
    CHECK(FieldOf(rules::CheckColor("color", bad)) == "color");
  }
}

TEST_CASE("a call's length reads in seconds then minutes then hours", "[conversations][rules]") {
  CHECK(rules::CallDuration(45) == "45 s");
  CHECK(rules::CallDuration(725) == "12 min 5 s");
  CHECK(rules::CallDuration(3780) == "1 h 3 min");
}
