// Payments on the client profile (S9, seeds 000/001 "Payment"): ask for a deposit or send
// an invoice that subtracts the client's paid deposits, the client's requests with their
// statuses, and refunds (an admin's decision, whole or in part, confirmed first). The pay
// link goes into the client's open conversation, as the payments service sends it.
// Statuses change when Stripe tells payments; each change is a message in the client's
// conversation, so the list reloads on those events (and when the tab comes back).
import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { api, ApiError, must, type Me } from "../../api/client";
import { watchEvents } from "../../api/events";
import type { components } from "../../api/schema";
import { formatDateTime } from "../../shared/format";
import { formatMinor, minorToText, parseAmount } from "../../shared/money";

type S = components["schemas"];
type PaymentRequest = S["vetline.payments.v1.PaymentRequest"];
type Account = S["vetline.payments.v1.StripeAccount"];

export const STATUS: Record<string, string> = {
  REQUESTED: "Waiting for payment", PAID: "Paid", EXPIRED: "Expired", CANCELLED: "Cancelled",
  REFUNDED: "Refunded", PARTLY_REFUNDED: "Partly refunded",
};
const KIND: Record<string, string> = { DEPOSIT: "Deposit", INVOICE: "Invoice", CONSULTATION: "Consultation" };
const CURRENCIES = ["usd", "cad", "eur", "gbp", "aud", "nzd", "jpy"];

// A new id per ask, kept while the same ask is retried (a lost answer or a second click
// makes no second request: the service answers the first one again).
function newRequestId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "console-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function errorText(e: unknown, fallback: string): string {
  return e instanceof Error && e.message ? e.message : fallback;
}

export function Payments({ clientId, clientName }: { clientId: string; clientName: string }) {
  const [account, setAccount] = useState<Account | null>();
  const [me, setMe] = useState<Me>();
  const [requests, setRequests] = useState<PaymentRequest[]>();
  const [error, setError] = useState<string>();

  // Only the latest load is shown: events, focus and a new profile can overlap, and an
  // older answer arriving last must not put back an older status.
  const latest = useRef(0);
  const load = useCallback(async () => {
    const n = ++latest.current;
    try {
      const r = await must(api.GET("/v1/payments/requests", { params: { query: { clientId, pageSize: 50 } } }));
      if (n === latest.current) setRequests(r.paymentRequests ?? []);
    } catch (e) {
      if (n === latest.current) setError(errorText(e, "The payment requests could not be loaded."));
    }
  }, [clientId]);

  useEffect(() => {
    void must(api.GET("/v1/payments/account")).then((a) => setAccount(a), () => setAccount(null));
    void must(api.GET("/v1/me")).then(setMe, () => {});
    void load();
  }, [load]);

  // Live enough: a payment's news is a message in this client's conversation.
  useEffect(() => {
    const stop = watchEvents((e) => {
      const forThisClient = e.conversation?.clientId === clientId;
      const aboutPayment = (e.message?.attachments ?? []).some((a) => a.paymentRequest);
      if (e.type === "message.created" && (forThisClient || aboutPayment)) void load();
    }, () => {});
    const focus = () => void load();
    window.addEventListener("focus", focus);
    return () => {
      stop();
      window.removeEventListener("focus", focus);
    };
  }, [clientId, load]);

  const admin = me?.staff?.role === "ADMIN";
  return (
    <section className="card" aria-labelledby="payments-h">
      <h2 id="payments-h">Payments</h2>
      {account === null && <p className="alert error" role="alert">The payments account could not be read.</p>}
      {account && !account.connected && (
        <p className="alert info" role="status">
          This clinic has no Stripe account connected, so payments cannot be requested yet. Ask a clinic admin to
          connect the clinic's Stripe account.
        </p>
      )}
      {account?.connected && !account.working && (
        <p className="alert error" role="alert">
          Stripe refused the clinic's key at the last check. A clinic admin needs to connect the account again before
          payments can be requested.
        </p>
      )}
      {account?.connected && account.working && <RequestForm clientId={clientId} clientName={clientName} onSent={load} />}
      {error && <p className="alert error" role="alert">{error}</p>}
      <h3 className="payments-list-h">Requests</h3>
      {requests && requests.length === 0 && <p className="muted">No payment requests for this client.</p>}
      {requests && requests.length > 0 && (
        <ul className="payments" aria-label="Payment requests">
          {requests.map((p) => <RequestRow key={p.id} p={p} admin={admin} onChanged={load} />)}
        </ul>
      )}
    </section>
  );
}

function RequestForm({ clientId, clientName, onSent }: { clientId: string; clientName: string; onSent: () => Promise<void> }) {
  const [kind, setKind] = useState<"DEPOSIT" | "INVOICE">("DEPOSIT");
  const [amount, setAmount] = useState("");
  const [currency, setCurrency] = useState("usd");
  const [note, setNote] = useState("");
  const [applyDeposits, setApplyDeposits] = useState(true);
  const [requestId, setRequestId] = useState(newRequestId);
  const [fieldErrors, setFieldErrors] = useState<{ amount?: string; note?: string; currency?: string }>({});
  const [error, setError] = useState<string>();
  const [sent, setSent] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSent(undefined);
    setError(undefined);
    const parsed = parseAmount(amount, currency);
    const errs: typeof fieldErrors = {};
    if (!parsed.ok) errs.amount = parsed.message;
    if (!note.trim()) errs.note = kind === "DEPOSIT" ? "Say what the deposit is for." : "Say what the invoice is for.";
    setFieldErrors(errs);
    if (!parsed.ok || errs.note) return;
    setBusy(true);
    try {
      const body = kind === "DEPOSIT"
        ? { clientRequestId: requestId, kind, clientId, currency, amount: String(parsed.minor), description: note.trim() }
        : {
            clientRequestId: requestId, kind, clientId, currency, description: note.trim(), applyDeposits,
            lineItems: [{ description: note.trim(), unitAmount: String(parsed.minor), quantity: 1 }],
          };
      const r = await must(api.POST("/v1/payments/requests", { body }));
      setSent(`${KIND[r.kind ?? ""] ?? "Request"} of ${r.amountText} sent to ${clientName}'s conversation.`);
      setAmount("");
      setNote("");
      setRequestId(newRequestId());
      await onSent();
    } catch (err) {
      // A field the service names is told beside it; the rest above the form.
      const field = err instanceof ApiError ? err.field ?? "" : "";
      const text = errorText(err, "The request was not sent.");
      if (/amount|unitAmount/i.test(field)) setFieldErrors({ amount: text });
      else if (/description/i.test(field)) setFieldErrors({ note: text });
      else if (/currency/i.test(field)) setFieldErrors({ currency: text });
      else setError(text);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="pay-form" onSubmit={submit} noValidate aria-labelledby="pay-form-h">
      <h3 id="pay-form-h">Request a payment</h3>
      <fieldset className="kind">
        <legend className="visually-hidden">What to request</legend>
        <label className="check">
          <input type="radio" name="pay-kind" checked={kind === "DEPOSIT"} onChange={() => setKind("DEPOSIT")} /> Deposit
        </label>
        <label className="check">
          <input type="radio" name="pay-kind" checked={kind === "INVOICE"} onChange={() => setKind("INVOICE")} /> Invoice
          minus deposits
        </label>
      </fieldset>
      <div className="pay-fields">
        <div className="field">
          <label htmlFor="pay-amount">{kind === "DEPOSIT" ? "Amount" : "Invoice total"}</label>
          <input id="pay-amount" inputMode="decimal" autoComplete="off" placeholder="45.50" value={amount}
            aria-invalid={!!fieldErrors.amount} aria-describedby={fieldErrors.amount ? "pay-amount-error" : undefined}
            onChange={(e) => setAmount(e.target.value)} />
          {fieldErrors.amount && <span id="pay-amount-error" className="field-error">{fieldErrors.amount}</span>}
        </div>
        <div className="field">
          <label htmlFor="pay-currency">Currency</label>
          <select id="pay-currency" value={currency} onChange={(e) => setCurrency(e.target.value)}
            aria-invalid={!!fieldErrors.currency} aria-describedby={fieldErrors.currency ? "pay-currency-error" : undefined}>
            {CURRENCIES.map((c) => <option key={c} value={c}>{c.toUpperCase()}</option>)}
          </select>
          {fieldErrors.currency && <span id="pay-currency-error" className="field-error">{fieldErrors.currency}</span>}
        </div>
      </div>
      <div className="field">
        <label htmlFor="pay-note">{kind === "DEPOSIT" ? "What it is for" : "Invoice line"}</label>
        <input id="pay-note" maxLength={200} value={note} placeholder={kind === "DEPOSIT" ? "Surgery deposit" : "Dental cleaning"}
          aria-invalid={!!fieldErrors.note} aria-describedby={fieldErrors.note ? "pay-note-error" : undefined}
          onChange={(e) => setNote(e.target.value)} />
        {fieldErrors.note && <span id="pay-note-error" className="field-error">{fieldErrors.note}</span>}
      </div>
      {kind === "INVOICE" && (
        <label className="check">
          <input type="checkbox" checked={applyDeposits} onChange={(e) => setApplyDeposits(e.target.checked)} />
          Subtract the client's paid deposits
        </label>
      )}
      <p className="muted small">
        The pay link goes to {clientName}'s open conversation (one is started if none is open) and by text or email
        as their contact options allow.
      </p>
      {error && <p className="alert error" role="alert">{error}</p>}
      {sent && <p className="alert info" role="status">{sent}</p>}
      <button className="primary" type="submit" disabled={busy}>{busy ? "Sending…" : kind === "DEPOSIT" ? "Request deposit" : "Send invoice"}</button>
    </form>
  );
}

function RequestRow({ p, admin, onChanged }: { p: PaymentRequest; admin: boolean; onChanged: () => Promise<void> }) {
  const [refunding, setRefunding] = useState(false);
  const [error, setError] = useState<string>();
  const paid = Number(p.paidAmount ?? 0);
  const refunded = Number(p.refundedAmount ?? 0);
  const left = paid - refunded;
  const currency = p.currency ?? "";
  const deposits = (p.appliedDeposits ?? []).reduce((n, d) => n + Number(d.amount ?? 0), 0);
  const what = `${KIND[p.kind ?? ""] ?? "Payment"}: ${p.description || (p.lineItems ?? []).map((l) => l.description).join(", ")}`;

  const cancel = async () => {
    setError(undefined);
    try {
      await must(api.POST("/v1/payments/requests/{id}/cancel", { params: { path: { id: p.id! } } }));
      await onChanged();
    } catch (e) {
      setError(errorText(e, "The request was not cancelled."));
    }
  };

  return (
    <li className="payment" aria-label={what}>
      <div className="payment-main">
        <strong>{what}</strong>
        <span className="amount">{p.amountText}</span>
        <span className={`pay-status s-${(p.status ?? "").toLowerCase()}`}>{STATUS[p.status ?? ""] ?? p.status}</span>
      </div>
      <div className="muted small">
        {[
          `Asked ${formatDateTime(p.createTime)}`,
          deposits > 0 && `${formatMinor(Number(p.subtotal ?? 0), currency)} minus ${formatMinor(deposits, currency)} in deposits`,
          p.paidTime && `paid ${formatDateTime(p.paidTime)}`,
          refunded > 0 && `${formatMinor(refunded, currency)} refunded`,
        ].filter(Boolean).join(" · ")}
      </div>
      {error && <p className="alert error" role="alert">{error}</p>}
      <div className="actions">
        {p.status === "REQUESTED" && <button type="button" onClick={() => void cancel()}>Cancel request</button>}
        {left > 0 && admin && !refunding && (
          <button type="button" onClick={() => setRefunding(true)}>Refund<span className="visually-hidden"> {what}</span></button>
        )}
        {left > 0 && !admin && <span className="muted small">Refunds are made by a clinic admin.</span>}
      </div>
      {refunding && <RefundForm p={p} left={left} onDone={async () => { setRefunding(false); await onChanged(); }} onClose={() => setRefunding(false)} />}
    </li>
  );
}

// Two steps: the amount (all that is left by default), then "Refund 20.00 USD?" confirmed.
function RefundForm({ p, left, onDone, onClose }: { p: PaymentRequest; left: number; onDone: () => Promise<void>; onClose: () => void }) {
  const currency = p.currency ?? "usd";
  const [amount, setAmount] = useState(minorToText(left, currency));
  const [confirming, setConfirming] = useState<number>();
  const [fieldError, setFieldError] = useState<string>();
  const [error, setError] = useState<string>();
  const [requestId] = useState(newRequestId);
  const [busy, setBusy] = useState(false);
  const id = `refund-${p.id}`;

  const check = (e: FormEvent) => {
    e.preventDefault();
    const parsed = parseAmount(amount, currency);
    if (!parsed.ok) return setFieldError(parsed.message);
    if (parsed.minor > left) return setFieldError(`At most ${formatMinor(left, currency)} is left to refund.`);
    setFieldError(undefined);
    setConfirming(parsed.minor);
  };

  const refund = async () => {
    if (confirming === undefined) return;
    setBusy(true);
    setError(undefined);
    try {
      await must(api.POST("/v1/payments/requests/{payment_request_id}/refunds", {
        params: { path: { payment_request_id: p.id! } },
        body: { clientRequestId: requestId, amount: String(confirming), reason: "requested_by_customer" },
      }));
      await onDone();
    } catch (e) {
      const text = errorText(e, "The refund was not made.");
      if (e instanceof ApiError && e.field === "amount") {
        setFieldError(text);
        setConfirming(undefined);
      } else {
        setError(text);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="refund" onSubmit={check} noValidate aria-label={`Refund ${p.description ?? ""}`}>
      {confirming === undefined ? (
        <>
          <div className="field">
            <label htmlFor={`${id}-amount`}>Refund amount ({currency.toUpperCase()})</label>
            <input id={`${id}-amount`} inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)}
              aria-invalid={!!fieldError} aria-describedby={fieldError ? `${id}-error` : undefined} />
            {fieldError && <span id={`${id}-error`} className="field-error">{fieldError}</span>}
          </div>
          <div className="actions">
            <button type="submit" className="primary">Continue</button>
            <button type="button" onClick={onClose}>Keep the payment</button>
          </div>
        </>
      ) : (
        <div role="alertdialog" aria-labelledby={`${id}-q`} className="confirm">
          <p id={`${id}-q`}>
            Refund {formatMinor(confirming, currency)} of {p.amountText} to the client's card? This cannot be undone.
          </p>
          {error && <p className="alert error" role="alert">{error}</p>}
          <div className="actions">
            <button type="button" className="danger" disabled={busy} onClick={() => void refund()}>
              {busy ? "Refunding…" : `Refund ${formatMinor(confirming, currency)}`}
            </button>
            <button type="button" onClick={() => setConfirming(undefined)}>Back</button>
          </div>
        </div>
      )}
    </form>
  );
}
