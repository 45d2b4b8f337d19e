// An attachment as both apps show it: a file (with a thumbnail for images), a video-call
// invitation, a call record, or a link to a payment request, form or survey.
import type { Attachment } from "../api/client";
import type { components } from "../api/schema";
import { formatBytes, formatDateTime } from "./format";
import { Link } from "./router";

type VideoCallInvitation = components["schemas"]["vetline.conversations.v1.VideoCallInvitation"];

// `joinHref`: where the invitation's "Join now" goes in this app (none: no button).
export function AttachmentView({ a, joinHref }: { a: Attachment; joinHref?: (v: VideoCallInvitation) => string | undefined }) {
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
  if (a.paymentRequest) return <div className="attachment"><a href={a.paymentRequest.portalUrl}>Payment request</a></div>;
  if (a.form) return <div className="attachment"><a href={a.form.portalUrl}>Form</a></div>;
  if (a.survey) return <div className="attachment"><a href={a.survey.portalUrl}>Survey</a></div>;
  return null;
}
