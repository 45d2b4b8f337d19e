// An attachment as both apps show it: a file (with a thumbnail for images), a video-call
// invitation, a call record, or a link to a payment request, form or survey.
import { useEffect, useSyncExternalStore } from "react";
import type { Attachment } from "../api/client";
import type { components } from "../api/schema";
import { formatBytes, formatDateTime } from "./format";
import { Link } from "./router";

type VideoCallInvitation = components["schemas"]["vetline.conversations.v1.VideoCallInvitation"];
type PaymentRequestRef = components["schemas"]["vetline.conversations.v1.PaymentRequestRef"];

// A payment attachment's status as conversations keeps it current (lower case).
const PAYMENT_STATUS: Record<string, string> = {
  requested: "waiting for payment", paid: "paid", expired: "expired", cancelled: "cancelled",
  refunded: "refunded", partly_refunded: "partly refunded",
};

// Conversations keeps every message's copy of a payment's status current, but a thread
// that got the newer message live still holds the older copies as first read. Each
// payment therefore shows the furthest status any of its messages on screen has seen
// (statuses only move forward: requested, then paid or expired/cancelled, then refunds).
const STATUS_RANK: Record<string, number> = { requested: 0, paid: 1, expired: 1, cancelled: 1, partly_refunded: 2, refunded: 3 };
const latestStatus = new Map<string, string>();
const listeners = new Set<() => void>();
function notePaymentStatus(id: string, status: string) {
  const known = latestStatus.get(id);
  if (known !== undefined && (STATUS_RANK[known] ?? 0) >= (STATUS_RANK[status] ?? 0)) return;
  latestStatus.set(id, status);
  listeners.forEach((l) => l());
}
function subscribe(l: () => void) {
  listeners.add(l);
  return () => void listeners.delete(l);
}
function usePaymentStatus(p: PaymentRequestRef): string | undefined {
  const id = p.paymentRequestId ?? "";
  useEffect(() => {
    if (id && p.status) notePaymentStatus(id, p.status);
  }, [id, p.status]);
  return useSyncExternalStore(subscribe, () => latestStatus.get(id) ?? p.status);
}

function PaymentAttachment({ p, href }: { p: PaymentRequestRef; href?: string }) {
  const latest = usePaymentStatus(p) ?? "";
  const status = PAYMENT_STATUS[latest];
  return (
    <div className="attachment">
      <span aria-hidden="true">💳</span>
      {href ? <Link href={href}>Payment request</Link> : <span>Payment request</span>}
      {status && <span className={`pay-status s-${latest}`}>{status}</span>}
    </div>
  );
}

// The portal's page for a payment request (what, amount, status, Pay).
const portalPayment = (p: PaymentRequestRef) => p.paymentRequestId && `/portal/payments/${encodeURIComponent(p.paymentRequestId)}`;

// `joinHref`: where the invitation's "Join now" goes in this app (none: no button).
// `paymentHref`: where a payment request links to (default: the portal's page for it).
export function AttachmentView({ a, joinHref, paymentHref = portalPayment }: {
  a: Attachment;
  joinHref?: (v: VideoCallInvitation) => string | undefined;
  paymentHref?: (p: PaymentRequestRef) => string | undefined;
}) {
  if (a.file) {
    const f = a.file;
    return (
      <div className="attachment">
        {f.category === "image" && f.downloadUrl && <img src={f.downloadUrl} alt="" width={160} />}
        {f.downloadUrl ? (
          <a href={f.downloadUrl} download={f.filename}>
            {f.filename}
          </a>
        ) : (
          <span>{f.filename}</span>
        )}
        <span className="muted small">{formatBytes(Number(f.sizeBytes ?? 0))}</span>
      </div>
    );
  }
  if (a.videoCall) {
    const href = joinHref?.(a.videoCall);
    return (
      <div className="attachment">
        <span aria-hidden="true">🎥</span> Video call invitation
        {a.videoCall.scheduledStart && <span className="muted small">for {formatDateTime(a.videoCall.scheduledStart)}</span>}
        {href && <Link className="button primary" href={href}>Join now</Link>}
      </div>
    );
  }
  if (a.callRecord) {
    const r = a.callRecord;
    const minutes = Math.round(Number(r.durationSeconds ?? 0) / 60);
    return (
      <div className="attachment">
        Video call, {minutes} min with {(r.participants ?? []).join(", ") || "nobody"}
        {r.recorded ? " · recorded" : ""}
        {(r.recordingUrls ?? []).map((u, i) => (
          <a key={u} href={u}>Recording {i + 1}</a>
        ))}
      </div>
    );
  }
  if (a.paymentRequest) return <PaymentAttachment p={a.paymentRequest} href={paymentHref(a.paymentRequest)} />;
  if (a.form) return <div className="attachment"><a href={a.form.portalUrl}>Form</a></div>;
  if (a.survey) return <div className="attachment"><a href={a.survey.portalUrl}>Survey</a></div>;
  return null;
}
