// twilio-sim: a loopback stand-in for Twilio Programmable Messaging. Prints `port=N` as
// its first line.
//
//   twilio-sim [--port=0] [--account-sid=AC...] [--auth-token=...] [--inbound-url=URL]
//              [--landlines=+15550001,+15550002] [--callback-threads=2] [--callback-delay=0s]
//
// Twilio's API:  POST /2010-04-01/Accounts/{Sid}/Messages.json (form To, From, Body,
//                StatusCallback; basic auth) → 201 Message, or Twilio's error JSON;
//                GET  /2010-04-01/Accounts/{Sid}/Messages/{MessageSid}.json.
//                Then signed status callbacks to StatusCallback: queued, sent, delivered
//                (undelivered + ErrorCode=30006 for landlines).
// Control:       GET /_sim/messages, /_sim/callbacks, /_sim/stats;
//                POST /_sim/inbound (form From, To, Body[, Url][, BadSignature=true]) posts
//                a signed inbound-text webhook and answers its HTTP status (after a
//                STOP, sends to that From number are refused with 21610 until START);
//                POST /_sim/down?seconds=N (503 for N seconds, 0: back up);
//                POST /_sim/slow?ms=N (answer creates after N ms);
//                POST /_sim/numbers?number=+1...&kind=mobile|landline|not_mobile|unsubscribed;
//                POST /_sim/reset.
#include <cstdio>

#include "absl/strings/str_split.h"
#include "libs/core/config.h"
#include "tools/twilio_sim/twilio_sim.h"

int main(int argc, char** argv) {
  using namespace vetline;
  twilio_sim::Options o;
  std::string host, landlines;
  int port;
  ConfigParser p("twilio-sim");
  p.String("host", &host, "listen address", "127.0.0.1");
  p.Int("port", &port, "listen port (0: any free port)", 0, 0, 65535);
  p.String("account-sid", &o.account_sid, "the account sid requests must use", o.account_sid);
  p.String("auth-token", &o.auth_token, "the auth token (basic auth, webhook signatures)", o.auth_token);
  p.String("inbound-url", &o.inbound_url, "webhook for injected inbound texts", "");
  p.String("landlines", &landlines, "comma-separated numbers that end undelivered (30006)", "");
  p.Int("callback-threads", &o.callback_threads, "threads sending status callbacks", 2, 1, 64);
  p.Duration("callback-delay", &o.callback_delay, "pause between one message's callbacks", absl::ZeroDuration());
  if (absl::Status st = p.Parse(argc, argv); !st.ok()) {
    std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    return 2;
  }
  for (absl::string_view n : absl::StrSplit(landlines, ',', absl::SkipEmpty())) o.landlines.emplace_back(n);
  twilio_sim::TwilioSim sim(o);
  return http::ServeStandIn("twilio-sim", host, port, [&sim](const http::StandInRequest& r) {
    return sim.Handle(r.method, r.target, r.header("authorization"), r.body);
  });
}
