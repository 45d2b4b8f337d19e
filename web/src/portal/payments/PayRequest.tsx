// Paying a payment request from the portal (/portal/payments/<id>): what the clinic asks
// for, how much and its status, and a Pay button to Stripe's hosted Checkout page. Stripe
// sends the client back here (?paid=1 after paying, no flag after "Back"); the payment is
// confirmed by Stripe's webhook a moment later, so the page asks again for a short while.
import { useCallback, useEffect, useState } from "react";
import { api, ApiError, must, type Me } from "../../api/client";
import type { components } from "../../api/schema";
import { formatDateTime } from "../../shared/format";
import { formatMinor } from "../../shared/money";
import { Link, usePath } from "../../shared/router";

type PaymentRequest = components["schemas"]["vetline.payments.v1.PaymentRequest"];

const KIND: Record<string, string> = { DEPOSIT: "Deposit", INVOICE: "Invoice", CONSULTATION: "Consultation" };
// Asking after Stripe sent the client back: every second, for at most this many times.
const CONFIRM_TRIES = 30;

export function PayRequest({ id, me }: { id: string; me: Me }) {
  const { query } = usePath();
  const returned = query.get("paid") === "1";
  const [p, setP] = useState<PaymentRequest>();
  const [error, setError] = useState<string>();
  const [tries, setTries] = useState(0);

  const load = useCallback(async () => {
    try {
      setP(await must(api.GET("/v1/payments/requests/{id}", { params: { path: { id } } })));
    } catch (e) {
      setError(e instanceof ApiError && (e.status === 404 || e.status === 400)
        ? "This payment request does not exist, or it is not yours. Open it from your clinic's message."
        : "The payment request cannot be shown right now. Try again in a moment.");
    }
  }, [id]);

  useEffect(() => {
    void load();
  }, [load]);

  // Back from paying and not confirmed yet: ask again, a bounded number of times.
  const waiting = returned && p?.status === "REQUESTED";
  useEffect(() => {
    if (!waiting || tries >= CONFIRM_TRIES) return;
    const t = window.setTimeout(() => {
      setTries((n) => n + 1);
      void load();
    }, 1000);
    return () => window.clearTimeout(t);
  }, [waiting, tries, load]);

  const clinic = me.clinic?.name ?? "your clinic";
  if (error) {
    return (
      <main className="page pay-page">
        <h1>Payment</h1>
        <p className="alert error" role="alert">{error}</p>
        <Link href="/portal/">Back to your messages</Link>
      </main>
    );
  }
  if (!p) return <p className="placeholder">Loading…</p>;
  const what = KIND[p.kind ?? ""] ?? "Payment";
  const refunded = Number(p.refundedAmount ?? 0);
  const deposits = (p.appliedDeposits ?? []).reduce((n, d) => n + Number(d.amount ?? 0), 0);

  return (
    <main className="page pay-page">
      <p><Link href="/portal/">← Your messages</Link></p>
      <section className="card" aria-labelledby="pay-h">
        <h1 id="pay-h">{what} for {clinic}</h1>
        <dl className="pay-facts">
          <dt>For</dt>
          <dd>{p.description || (p.lineItems ?? []).map((l) => l.description).join(", ")}</dd>
          {deposits > 0 && (
            <>
              <dt>Invoice</dt>
              <dd>{formatMinor(Number(p.subtotal ?? 0), p.currency)} minus {formatMinor(deposits, p.currency)} you paid as a deposit</dd>
            </>
          )}
          <dt>Amount</dt>
          <dd className="amount">{p.amountText}</dd>
          <dt>Status</dt>
          <dd><Status p={p} waiting={waiting} /></dd>
        </dl>
        {p.status === "REQUESTED" && !waiting && (
          <>
            <a className="button primary pay" href={p.payUrl}>Pay {p.amountText}</a>
            <p className="muted small">You pay on Stripe's secure page and come back here afterwards.</p>
          </>
        )}
        {waiting && tries >= CONFIRM_TRIES && (
          <p className="alert info" role="status">
            Stripe has not confirmed the payment yet. It shows here and in your messages once it has; there is no need to
            pay again.
          </p>
        )}
        {refunded > 0 && (
          <p className="muted">{formatMinor(refunded, p.currency)} was refunded to your card.</p>
        )}
      </section>
    </main>
  );
}

function Status({ p, waiting }: { p: PaymentRequest; waiting: boolean }) {
  if (waiting) return <span role="status">Confirming your payment…</span>;
  switch (p.status) {
    case "PAID":
      return <strong role="status" className="paid">Paid{p.paidTime ? ` on ${formatDateTime(p.paidTime)}` : ""}. Thank you!</strong>;
    case "REFUNDED":
      return <span role="status">Refunded</span>;
    case "PARTLY_REFUNDED":
      return <span role="status">Paid, partly refunded</span>;
    case "EXPIRED":
      return <span role="status">Expired: ask the clinic for a new link</span>;
    case "CANCELLED":
      return <span role="status">Cancelled by the clinic</span>;
    default:
      return <span role="status">Not paid yet</span>;
  }
}
