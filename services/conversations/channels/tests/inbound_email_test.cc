// Inbound email parsing with GMime, on messages shaped like the ones Gmail, Outlook and
// Apple Mail send, and the reply trimming on its own.
#include "services/conversations/channels/inbound_email.h"

#include <catch2/catch.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "libs/core/status.h"

namespace ch = vetline::conversations::channels;

namespace {

std::string Crlf(std::string s) { return absl::StrReplaceAll(s, {{"\n", "\r\n"}}); }

const char kGmail[] = R"(Delivered-To: c-7f3a@reply.vet.example
MIME-Version: 1.0
References: <CAB-older@mail.gmail.com> <m-0001.c-7f3a@vet.example>
In-Reply-To: <m-0001.c-7f3a@vet.example>
From: =?UTF-8?B?Wm/DqyDDkcO6w7Fleg==?= <zoe.nunez@gmail.com>
Date: Tue, 1 Dec 2026 10:42:17 +0100
Message-ID: <CAB+reply-42=xyz@mail.gmail.com>
Subject: Re: =?UTF-8?Q?R=C3=A9sultats_d=27analyse_pour_Luna?=
To: =?UTF-8?Q?Cl=C3=ADnica_Veterin=C3=A1ria?= <c-7f3a@reply.vet.example>
Cc: Pablo <pablo@example.org>
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f6"

--000000000000a1b2c3d4e5f6
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

Merci docteur, quel soulagement !
Can Luna eat tonight? =F0=9F=90=B1

On Tue, Dec 1, 2026 at 10:00=E2=80=AFAM Cl=C3=ADnica Veterin=C3=A1ria <
clinic@vet.example> wrote:

> Bonjour Zo=C3=AB,
>
> Luna's results are in: all normal.
>

--000000000000a1b2c3d4e5f6
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr">Merci docteur, quel soulagement&nbsp;!<div>Can Luna eat to=
night? =F0=9F=90=B1</div></div><br><div class=3D"gmail_quote"><div dir=3D"ltr" =
class=3D"gmail_attr">On Tue, Dec 1, 2026 at 10:00=E2=80=AFAM Cl=C3=ADnica &lt;<a h=
ref=3D"mailto:clinic@vet.example">clinic@vet.example</a>&gt; wrote:<br></div><bl=
ockquote class=3D"gmail_quote"><p>Bonjour Zo=C3=AB,</p><p>Luna's results are in=
: all normal.</p></blockquote></div>

--000000000000a1b2c3d4e5f6--
)";

const char kOutlook[] = R"(From: "Müller, Hans" <hans.mueller@outlook.com>
To: "Clinic" <c-9b21@reply.vet.example>
Subject: AW: Befund Bello
Thread-Topic: Befund Bello
Date: Tue, 1 Dec 2026 09:15:02 +0000
Message-ID: <AM0PR01MB1234ABCD@AM0PR01MB1234.eurprd01.prod.exchangelabs.com>
In-Reply-To: <m-0002.c-9b21@vet.example>
Content-Language: de-DE
Content-Type: multipart/mixed; boundary="_004_AM0PR01MB1234_"
MIME-Version: 1.0

--_004_AM0PR01MB1234_
Content-Type: multipart/alternative; boundary="_000_AM0PR01MB1234_"

--_000_AM0PR01MB1234_
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

Hallo Frau Dr. Lee,

anbei der Befund vom Tierarzt in M=FCnchen.

Gr=FC=DFe
Hans

________________________________
From: Clinic <clinic@vet.example>
Sent: Monday, November 30, 2026 6:00 PM
To: M=FCller, Hans <hans.mueller@outlook.com>
Subject: Befund Bello

Please send us Bello's previous results.

--_000_AM0PR01MB1234_
Content-Type: text/html; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

<html><head><style>p {margin:0}</style></head><body><p>Hallo Frau Dr. Lee,</p></body></html>

--_000_AM0PR01MB1234_--

--_004_AM0PR01MB1234_
Content-Type: application/pdf; name="=?iso-8859-1?Q?Befund_M=FCller.pdf?="
Content-Description: Befund.pdf
Content-Disposition: attachment; filename*=UTF-8''Befund%20M%C3%BCller.pdf; size=12
Content-Transfer-Encoding: base64

JVBERi0xLjQKJeLjz9M=

--_004_AM0PR01MB1234_--
)";

std::string AppleMail() {
  const std::string text =
      "Yes, Tuesday at 10 works for Max.\n\nSent from my iPhone\n\n"
      "On Dec 1, 2026, at 10:00, Clínica Veterinária <clinic@vet.example> wrote:\n\n"
      "> Could you bring Max in on Tuesday?\n";
  return absl::StrCat(R"(Content-Type: multipart/mixed; boundary=Apple-Mail-5A1B
Content-Transfer-Encoding: 7bit
From: Ana Lima <ana.lima@icloud.com>
Mime-Version: 1.0 (1.0)
Date: Tue, 1 Dec 2026 10:05:00 -0500
Subject: Re: Appointment for Max
Message-Id: <5A1B2C3D-APPLE@icloud.com>
References: <m-0003.c-1111@vet.example>
In-Reply-To: <m-0003.c-1111@vet.example>
To: c-1111@reply.vet.example

--Apple-Mail-5A1B
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

)", absl::Base64Escape(text), R"(

--Apple-Mail-5A1B
Content-Type: image/jpeg; name=IMG_0042.jpeg
Content-Disposition: inline; filename=IMG_0042.jpeg
Content-Transfer-Encoding: base64

/9j/4AAQSkZJRgABAQ==

--Apple-Mail-5A1B--
)");
}

absl::Status StatusOf(std::string_view raw) { return ch::ParseInboundEmail(raw).status(); }
std::string Field(const absl::Status& s) {
  auto p = s.GetPayload(vetline::kFieldPayload);
  return p ? std::string(*p) : "";
}

}  // namespace

TEST_CASE("channels: a Gmail reply gives sender, reply address, threading ids and the new text") {
  for (const std::string& raw : {std::string(kGmail), Crlf(kGmail)}) {
    auto m = ch::ParseInboundEmail(raw);
    REQUIRE(m.ok());
    CHECK(m->from.name == "Zoë Ñúñez");
    CHECK(m->from.address == "zoe.nunez@gmail.com");
    REQUIRE(m->to.size() == 1);
    CHECK(m->to[0].address == "c-7f3a@reply.vet.example");
    CHECK(m->to[0].name == "Clínica Veterinária");
    REQUIRE(m->cc.size() == 1);
    CHECK(m->cc[0].address == "pablo@example.org");
    CHECK(m->subject == "Re: Résultats d'analyse pour Luna");
    CHECK(m->message_id == "CAB+reply-42=xyz@mail.gmail.com");
    CHECK(m->in_reply_to == "m-0001.c-7f3a@vet.example");
    CHECK(m->references == std::vector<std::string>{"CAB-older@mail.gmail.com", "m-0001.c-7f3a@vet.example"});
    REQUIRE(m->date.has_value());
    CHECK(absl::ToUnixSeconds(*m->date) == 1796118137);  // 2026-12-01T09:42:17Z
    CHECK(m->text.find("> Luna's results are in: all normal.") != std::string::npos);  // text/plain chosen
    CHECK(m->reply == "Merci docteur, quel soulagement !\nCan Luna eat tonight? 🐱");
    CHECK(m->attachments.empty());
  }
}

TEST_CASE("channels: an Outlook reply is decoded from Latin-1, its From/Sent block trimmed, the PDF kept") {
  auto m = ch::ParseInboundEmail(kOutlook);
  REQUIRE(m.ok());
  CHECK(m->from.name == "Müller, Hans");
  CHECK(m->from.address == "hans.mueller@outlook.com");
  CHECK(m->subject == "AW: Befund Bello");
  CHECK(m->in_reply_to == "m-0002.c-9b21@vet.example");
  CHECK(m->reply == "Hallo Frau Dr. Lee,\n\nanbei der Befund vom Tierarzt in München.\n\nGrüße\nHans");
  REQUIRE(m->attachments.size() == 1);
  CHECK(m->attachments[0].filename == "Befund Müller.pdf");
  CHECK(m->attachments[0].content_type == "application/pdf");
  CHECK(m->attachments[0].bytes == "%PDF-1.4\n%\xE2\xE3\xCF\xD3");
}

TEST_CASE("channels: an Apple Mail reply: base64 text, 'Sent from my iPhone' and the quote trimmed, photo kept") {
  auto m = ch::ParseInboundEmail(AppleMail());
  REQUIRE(m.ok());
  CHECK(m->from.address == "ana.lima@icloud.com");
  CHECK(m->to.at(0).address == "c-1111@reply.vet.example");
  CHECK(m->message_id == "5A1B2C3D-APPLE@icloud.com");
  CHECK(m->reply == "Yes, Tuesday at 10 works for Max.");
  REQUIRE(m->attachments.size() == 1);
  CHECK(m->attachments[0].filename == "IMG_0042.jpeg");
  CHECK(m->attachments[0].content_type == "image/jpeg");
  CHECK(m->attachments[0].bytes == std::string("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01", 13));
}

TEST_CASE("channels: an HTML-only reply becomes text and its blockquote history is trimmed") {
  const std::string raw = R"(From: client@example.com
To: c-2222@reply.vet.example
Subject: Re: Rex
Content-Type: text/html; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

<html><head><title>x</title><style>.a{color:red}</style><script>alert(1)</script></head>
<body><div>Rex is doing gr=E9at &amp; eating again&hellip;</div>
<div>Thanks&nbsp;a lot, Dr.&nbsp;Lee</div><br>
<blockquote><div>How is Rex today?</div></blockquote></body></html>
)";
  auto m = ch::ParseInboundEmail(raw);
  REQUIRE(m.ok());
  CHECK(m->text == "Rex is doing gréat & eating again…\nThanks a lot, Dr. Lee\n\n> How is Rex today?");
  CHECK(m->reply == "Rex is doing gréat & eating again…\nThanks a lot, Dr. Lee");
}

TEST_CASE("channels: a forwarded message travels as a message/rfc822 attachment") {
  const std::string raw = R"(From: a@example.com
To: c-3@reply.vet.example
Subject: Fwd: lab results
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b1

--b1
Content-Type: text/plain

See below.
--b1
Content-Type: message/rfc822

From: lab@example.com
Subject: Results

All clear.
--b1--
)";
  auto m = ch::ParseInboundEmail(raw);
  REQUIRE(m.ok());
  CHECK(m->reply == "See below.");
  REQUIRE(m->attachments.size() == 1);
  CHECK(m->attachments[0].content_type == "message/rfc822");
  CHECK(m->attachments[0].filename == "Results.eml");
  CHECK(m->attachments[0].bytes.find("All clear.") != std::string::npos);
}

TEST_CASE("channels: input that is not an email is InvalidArgument on raw, in our own words") {
  for (const std::string& raw : {std::string(""), std::string("  \r\n "), std::string("this is not an email at all"),
                                 std::string("\x00\x01\x02\x03 binary", 11), std::string("<html><body>hi</body></html>"),
                                 std::string("Subject: hi\nTo: c-1@reply.vet.example\n\nno sender here\n")}) {
    INFO(raw);
    absl::Status s = StatusOf(raw);
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(Field(s) == "raw");
    CHECK(s.message().find("mime") == std::string::npos);
    CHECK(s.message().find("GMime") == std::string::npos);
  }
}

TEST_CASE("channels: quoted history, attributions, separators and signatures are trimmed from replies") {
  CHECK(ch::TrimQuotedReply("Sure!\n\n> Can you come?\n> Thanks") == "Sure!");
  CHECK(ch::TrimQuotedReply("Sure!\nOn Mon, Nov 30, 2026 at 9:00 AM Clinic <a@b.c>\nwrote:\n> hi") == "Sure!");
  CHECK(ch::TrimQuotedReply("Ja.\n\nAm 30.11.2026 um 09:00 schrieb Clinic <a@b.c>:\n> hi") == "Ja.");
  CHECK(ch::TrimQuotedReply("Oui.\n\nLe lun. 30 nov. 2026 à 09:00, Clinic <a@b.c> a écrit :\n> hi") == "Oui.");
  CHECK(ch::TrimQuotedReply("OK\n\n-----Original Message-----\nFrom: Clinic\nSent: Monday\n\nold") == "OK");
  CHECK(ch::TrimQuotedReply("OK\r\n\r\nFrom: Clinic <a@b.c>\r\nSent: Monday, 9:00\r\nTo: me\r\n\r\nold") == "OK");
  CHECK(ch::TrimQuotedReply("Thanks\n-- \nAna Lima\n+1 555 0100") == "Thanks");
  CHECK(ch::TrimQuotedReply("Thanks\n\nGet Outlook for iOS\n") == "Thanks");
  // Written below the quote: the quote goes, the answer stays (up to the signature).
  CHECK(ch::TrimQuotedReply("On Mon, Clinic <a@b.c> wrote:\n> Tuesday?\n\nTuesday is fine.\n-- \nAna") ==
        "Tuesday is fine.");
  // Text that merely mentions these words is kept whole.
  CHECK(ch::TrimQuotedReply("From: my side all good.\nI wrote: nothing.\nOn Monday we come.") ==
        "From: my side all good.\nI wrote: nothing.\nOn Monday we come.");
  CHECK(ch::TrimQuotedReply("  \n\nplain reply  \n\n") == "plain reply");
}

TEST_CASE("channels: HTML becomes text with entities decoded and blocks as lines") {
  CHECK(ch::HtmlToText("<p>a&lt;b &amp;&#233;&#x1F436;</p><p>second</p>") == "a<b &é🐶\nsecond");
  CHECK(ch::HtmlToText("one<br>two<br/>three") == "one\ntwo\nthree");
  CHECK(ch::HtmlToText("<ul><li>x</li><li>y</li></ul>") == "x\ny");
  CHECK(ch::HtmlToText("a <!-- hidden --> b") == "a b");
  CHECK(ch::HtmlToText("<blockquote>q1<blockquote>q2</blockquote></blockquote>after") == "> q1\n> > q2\nafter");
}

TEST_CASE("channels: bodies come out as UTF-8 whatever their label says (or does not say)") {
  auto body = [](const std::string& content_type, const std::string& cte, const std::string& bytes) {
    const std::string raw = "From: a@example.com\nTo: c@reply.vet.example\nSubject: x\nContent-Type: " +
                            content_type + "\nContent-Transfer-Encoding: " + cte + "\n\n" + bytes + "\n";
    auto m = ch::ParseInboundEmail(raw);
    REQUIRE(m.ok());
    return m->reply;  // `text` less the line end
  };
  // No charset, 8-bit Latin-1: read as Windows-1252 (the bytes are not UTF-8).
  CHECK(body("text/plain", "8bit", "Bell\xE9 va tr\xE8s bien") == "Bellé va très bien");
  // No charset but valid UTF-8: kept.
  CHECK(body("text/plain", "8bit", "Bellé") == "Bellé");
  // Labelled UTF-8 but written in Latin-1 (a common mislabel): nothing dropped.
  CHECK(body("text/plain; charset=utf-8", "8bit", "Gr\xFC\xDF" "e") == "Grüße");
  // ISO-8859-1 labels are read as Windows-1252, as browsers do: 0x80 is the euro sign.
  CHECK(body("text/plain; charset=iso-8859-1", "quoted-printable", "5 =80 f=FCr Rex") == "5 € für Rex");
  CHECK(body("text/plain; charset=\"latin1\"", "8bit", "M\xFCnchen") == "München");
  // us-ascii with 8-bit bytes (mislabelled) and an unknown charset: not dropped.
  CHECK(body("text/plain; charset=us-ascii", "8bit", "caf\xE9") == "café");
  CHECK(body("text/plain; charset=x-unknown-charset", "8bit", "caf\xE9") == "café");
  // Other charsets through iconv; base64 of UTF-8.
  CHECK(body("text/plain; charset=koi8-r", "8bit", "\xF0\xD2\xC9\xD7\xC5\xD4") == "Привет");
  CHECK(body("text/plain; charset=iso-8859-15", "quoted-printable", "=A4 5") == "€ 5");
  CHECK(body("text/plain; charset=utf-8", "base64", absl::Base64Escape("Привет 🐶")) == "Привет 🐶");
  // An HTML-only Latin-1 reply without a charset.
  CHECK(body("text/html", "8bit", "<p>Gr\xFC\xDF" "e</p>") == "Grüße");
  // NUL bytes never reach the text (PostgreSQL text cannot hold them).
  CHECK(body("text/plain; charset=utf-8", "base64", absl::Base64Escape(std::string("a\0b", 3))) == "ab");
}

TEST_CASE("channels: headers are UTF-8: encoded words, raw 8-bit Latin-1 and UTF-8, attachment names") {
  const std::string raw =
      "From: =?iso-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.de>\n"
      "To: Cl\xC3\xADnica <c@reply.vet.example>\n"
      "Subject: =?utf-8?B?UmU6IEx1bmEg8J+QsQ==?= und =?iso-8859-1?q?Gr=FC=DFe?=\n"
      "Delivered-To: reply+abc@reply.vet.example\n"
      "X-Original-To: Other <other@reply.vet.example>\n"
      "Delivered-To: c@reply.vet.example\n"
      "Message-ID: <m\xE9-1@example.de>\n"
      "MIME-Version: 1.0\n"
      "Content-Type: multipart/mixed; boundary=zz\n\n"
      "--zz\nContent-Type: text/plain; charset=utf-8\n\nhi\n"
      "--zz\nContent-Type: application/pdf; name=\"=?iso-8859-1?Q?R=F6ntgen.pdf?=\"\n"
      "Content-Disposition: attachment; filename=\"=?iso-8859-1?Q?R=F6ntgen.pdf?=\"\n"
      "Content-Transfer-Encoding: base64\n\nJVBERi0=\n--zz--\n";
  auto m = ch::ParseInboundEmail(raw);
  REQUIRE(m.ok());
  CHECK(m->from.name == "Jörg Müller");
  CHECK(m->to.at(0).name == "Clínica");
  CHECK(m->subject == "Re: Luna 🐱 und Grüße");
  CHECK(m->delivered_to ==
        std::vector<std::string>{"reply+abc@reply.vet.example", "other@reply.vet.example", "c@reply.vet.example"});
  CHECK(m->message_id == "mé-1@example.de");
  REQUIRE(m->attachments.size() == 1);
  CHECK(m->attachments[0].filename == "Röntgen.pdf");
  // A raw Latin-1 header (no encoded word) becomes UTF-8 too.
  auto latin = ch::ParseInboundEmail("From: a@example.com\nSubject: Gr\xFC\xDF" "e\n\nx\n");
  REQUIRE(latin.ok());
  CHECK(latin->subject == "Grüße");
}

TEST_CASE("channels: TextAsUtf8 keeps UTF-8 and reads anything else as Windows-1252") {
  CHECK(ch::TextAsUtf8("plain") == "plain");
  CHECK(ch::TextAsUtf8("Zoë 🐱") == "Zoë 🐱");
  CHECK(ch::TextAsUtf8("Zo\xEB \x93quoted\x94 \x80") == "Zoë “quoted” €");
  CHECK(ch::TextAsUtf8("\xED\xA0\x80") == "í\xC2\xA0€");  // a surrogate is not UTF-8
  CHECK(ch::TextAsUtf8(std::string("a\0b", 3)) == "ab");
}
