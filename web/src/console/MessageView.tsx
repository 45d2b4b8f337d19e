// One message as staff see it: who wrote it, the text, attachments, and for staff
// messages where it went (text, email, push) and whether it arrived.
import type { Client, Delivery, Me, Message } from "../api/client";
import { AttachmentView } from "../shared/AttachmentView";
import { formatDateTime, formatTime } from "../shared/format";
import { clientName, type Directory } from "./directory";

const CHANNEL: Record<string, string> = { TEXT: "Text", EMAIL: "Email", PUSH: "Push", PORTAL: "Portal" };
const STATE: Record<string, string> = {
  QUEUED: "queued",
  SENT: "sent",
  DELIVERED: "delivered",
  FAILED: "failed",
  CANCELLED: "not sent (opted out)",
};

// Staff follow a payment on the client's profile; the portal's pay page is the client's.
const noLink = () => undefined;

function author(m: Message, me: Me, directory: Directory, client: Client | null | undefined): string {
  if (m.author === "SYSTEM") return "Vetline";
  if (m.author === "CLIENT") return clientName(client);
  if (m.authorId && m.authorId === me.staff?.id) return "You";
  return directory.staff.find((s) => s.id === m.authorId)?.name ?? "Staff";
}

function DeliveryLine({ deliveries }: { deliveries: Delivery[] }) {
  return (
    <div className="deliveries">
      {deliveries.map((d, i) => (
        <span key={i} className={d.state === "FAILED" ? "failed" : undefined} title={d.reason || d.destination}>
          {i > 0 && " · "}
          {CHANNEL[d.channel ?? ""] ?? d.channel}: {STATE[d.state ?? ""] ?? d.state}
          {d.state === "FAILED" && d.reason ? ` (${d.reason})` : ""}
        </span>
      ))}
    </div>
  );
}

export function MessageView({ m, me, directory, client }: { m: Message; me: Me; directory: Directory; client: Client | null | undefined }) {
  const kind = m.internalNote ? "note" : m.author === "STAFF" ? "staff" : m.author === "SYSTEM" ? "system" : "client";
  const via = m.author === "CLIENT" && m.receivedVia && m.receivedVia !== "PORTAL" ? ` · by ${CHANNEL[m.receivedVia]?.toLowerCase()}` : "";
  return (
    <article className={`msg ${kind}`} aria-label={m.internalNote ? "Internal note" : undefined}>
      <div className="by">
        {author(m, me, directory, client)}
        {m.internalNote && " · internal note"}
        {via} · <time dateTime={m.createTime} title={formatDateTime(m.createTime)}>{formatTime(m.createTime)}</time>
      </div>
      {m.text && <div className="text">{m.text}</div>}
      {(m.attachments ?? []).map((a) => <AttachmentView key={a.id} a={a} joinHref={(v) => v.callId && `/calls/${v.callId}`} paymentHref={noLink} />)}
      {m.author === "STAFF" && !m.internalNote && (m.deliveries ?? []).length > 0 && <DeliveryLine deliveries={m.deliveries!} />}
    </article>
  );
}
