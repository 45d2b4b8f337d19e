// stripe-sim: a loopback stand-in for Stripe's API (Checkout, PaymentIntents, Refunds,
// Events, webhooks). Prints `port=N` as its first line.
//
//   stripe-sim [--port=0] [--secret-key=sk_test_...] [--webhook-url=URL]
//              [--webhook-secret=whsec_...] [--retry-base=1s]
//
// Stripe's API (bearer secret key, form bodies, Idempotency-Key on POSTs):
//   POST /v1/checkout/sessions            mode=payment, success_url, line_items[i][...]
//   GET  /v1/checkout/sessions[/{id}]     list (created[gte], limit) or one
//   POST /v1/checkout/sessions/{id}/expire
//   GET  /v1/payment_intents/{id}
//   POST /v1/refunds                      payment_intent | charge, amount?, reason?, metadata
//   GET  /v1/refunds                      list (payment_intent, limit, starting_after)
//   GET  /v1/events[/{id}]                newest first (created[gte], type, limit, starting_after)
// The pay link:  GET /pay/{id} (a page, "Back" to cancel_url), POST /pay/{id} (pays: payment_intent.succeeded,
//                charge.succeeded, checkout.session.completed events; the page returns to success_url).
// Webhooks:      each event POSTed to --webhook-url with Stripe-Signature; non-2xx answers
//                are retried after retry-base, doubling (at most an hour apart).
// Control:       GET /_sim/state, /_sim/deliveries;
//                POST /_sim/fail-after-commit?count=N (the next N idempotent POSTs are done
//                but answered 500), /_sim/webhooks?duplicate=true&reorder=true&url=...,
//                /_sim/down?seconds=N (503 for N seconds).
#include <cstdio>

#include "libs/core/config.h"
#include "tools/stripe_sim/stripe_sim.h"

int main(int argc, char** argv) {
  using namespace vetline;
  stripe_sim::Options o;
  std::string host;
  int port;
  ConfigParser p("stripe-sim");
  p.String("host", &host, "listen address", "127.0.0.1");
  p.Int("port", &port, "listen port (0: any free port)", 0, 0, 65535);
  p.String("secret-key", &o.secret_key, "the secret key requests must carry", o.secret_key);
  p.String("webhook-url", &o.webhook_url, "where events are delivered (empty: nowhere)", "");
  p.String("webhook-secret", &o.webhook_secret, "the webhook signing secret", o.webhook_secret);
  p.String("public-url", &o.public_url, "base of pay links (default: this server)", "");
  p.Duration("retry-base", &o.retry_base, "first webhook retry delay (doubles)", absl::Seconds(1));
  if (absl::Status st = p.Parse(argc, argv); !st.ok()) {
    std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    return 2;
  }
  const bool own_url = o.public_url.empty();
  stripe_sim::StripeSim sim(o);
  return http::ServeStandIn("stripe-sim", host, port, [&sim, own_url, host](const http::StandInRequest& r) {
    if (own_url && r.header("host").size()) sim.set_public_url("http://" + r.header("host"));
    return sim.Handle(r);
  });
}
