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
