// An attachment as both apps show it: a file (with a thumbnail for images), a video-call
// invitation, a call record, or a link to a payment request, form or survey.
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
  if (a.paymentRequest) {
    const p = a.paymentRequest;
    const href = paymentHref(p);
    const status = PAYMENT_STATUS[p.status ?? ""];
    return (
      <div className="attachment">
        <span aria-hidden="true">💳</span>
        {href ? <Link href={href}>Payment request</Link> : <span>Payment request</span>}
        {status && <span className={`pay-status s-${p.status}`}>{status}</span>}
      </div>
    );
  }
  if (a.form) return <div className="attachment"><a href={a.form.portalUrl}>Form</a></div>;
  if (a.survey) return <div className="attachment"><a href={a.survey.portalUrl}>Survey</a></div>;
  return null;
}
