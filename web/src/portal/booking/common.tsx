// Pieces the public portal pages share (booking widget, manage link, request form): the
// page frame, errors said beside their field, and the day-and-time picker of open slots.
import { useEffect, useState } from "react";
import { ApiError } from "../../api/client";
import type { components, paths } from "../../api/schema";
import { clinicDay, formatClock, formatDay } from "../../shared/format";
import "./booking.css";

type Schemas = components["schemas"];
export type OnlineBooking = Schemas["vetline.booking.v1.OnlineBooking"];
export type OnlineType = Schemas["vetline.booking.v1.OnlineType"];
export type Slot = Schemas["vetline.booking.v1.Slot"];
export type Booked = Schemas["vetline.booking.v1.BookedAppointment"];
export type PublicForm = Schemas["vetline.booking.v1.PublicRequestForm"];
export type SlotQuery = NonNullable<paths["/v1/public/clinics/{clinic_id}/booking/slots"]["get"]["parameters"]["query"]>;

// A server sentence as a person reads it: capitalised, with a full stop.
export function sentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  const s = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

// What went wrong, for a person: too many attempts and an unreachable server in plain
// words; otherwise the service's own sentence (its messages are written for people).
export function problemText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 429) return "Too many attempts. Wait a minute and try again.";
    if (e.status >= 500 && e.code === "UNAVAILABLE") return "This cannot be done right now. Try again in a moment.";
    return sentence(e.message);
  }
  return "The clinic cannot be reached right now. Try again in a moment.";
}

export function fieldOf(e: unknown): string | undefined {
  return e instanceof ApiError ? e.field : undefined;
}

// An error shown beside its field, tied to it for screen readers (aria-describedby).
export function FieldProblem({ id, text }: { id: string; text?: string }) {
  if (!text) return null;
  return <p id={id} className="field-error" role="alert">{text}</p>;
}

// The open slots, grouped by the clinic's local day, in start order.
export function byDay(slots: Slot[]): Map<string, Slot[]> {
  const days = new Map<string, Slot[]>();
  for (const s of [...slots].sort((a, b) => (a.startTime ?? "").localeCompare(b.startTime ?? ""))) {
    const d = clinicDay(s.startTime);
    days.set(d, [...(days.get(d) ?? []), s]);
  }
  return days;
}

// Days with open slots, then that day's times (clinic time). `highlight`: slots offered
// after the chosen one was taken.
export function SlotPicker({ slots, timeZone, busy, onPick, offered }: {
  slots: Slot[]; timeZone?: string; busy?: boolean; onPick: (s: Slot) => void; offered?: Slot[];
}) {
  const days = byDay(slots);
  const first = [...days.keys()][0];
  const [day, setDay] = useState<string | undefined>(first);
  useEffect(() => {
    if (!day || !days.has(day)) setDay(first);
  }, [first, day, days]);
  if (slots.length === 0) return <p className="muted">No open times in these days.</p>;
  const times = (day && days.get(day)) || [];
  return (
    <div className="slot-picker">
      {offered && offered.length > 0 && (
        <div className="offered" role="group" aria-labelledby="offered-title">
          <p id="offered-title">The next open times</p>
          <div className="times">
            {offered.map((s) => (
              <button key={`${s.startTime}-${s.providerId}`} type="button" disabled={busy} onClick={() => onPick(s)}>
                <span>{formatDay(clinicDay(s.startTime))}</span> <time dateTime={s.startTime}>{formatClock(s.startTime)}</time>
              </button>
            ))}
          </div>
        </div>
      )}
      <fieldset>
        <legend>Day</legend>
        <div className="days">
          {[...days.keys()].map((d) => (
            <button key={d} type="button" aria-pressed={d === day} onClick={() => setDay(d)}>
              {formatDay(d)}
            </button>
          ))}
        </div>
      </fieldset>
      {day && (
        <fieldset>
          <legend>Time on {formatDay(day, true)}</legend>
          <div className="times">
            {times.map((s) => (
              <button key={`${s.startTime}-${s.providerId}`} type="button" disabled={busy} onClick={() => onPick(s)}>
                <time dateTime={s.startTime}>{formatClock(s.startTime)}</time>
              </button>
            ))}
          </div>
        </fieldset>
      )}
      {timeZone && <p className="muted small">Times are the clinic's local time ({timeZone.replace(/_/g, " ")}).</p>}
    </div>
  );
}

// A visitor who proved a phone or email in the widget and was sent on to a request form:
// kept for this tab only, so the form needs no second code.
const VISITOR = "vetline.visitor";
export type Visitor = { clinicId: string; contact: string; token: string };
export function keepVisitor(v: Visitor): void {
  window.sessionStorage.setItem(VISITOR, JSON.stringify(v));
}
export function keptVisitor(clinicId: string): Visitor | undefined {
  try {
    const v = JSON.parse(window.sessionStorage.getItem(VISITOR) ?? "null") as Visitor | null;
    return v && v.clinicId === clinicId ? v : undefined;
  } catch {
    return undefined;
  }
}

// "(555) 201-3344" -> "+15552013344"; an email as typed. The API takes E.164 or an email.
export function normalContact(raw: string): string {
  const t = raw.trim();
  if (t.includes("@") || t === "") return t;
  const digits = t.replace(/\D/g, "");
  if (t.startsWith("+")) return `+${digits}`;
  if (digits.length === 10) return `+1${digits}`;
  if (digits.length === 11 && digits.startsWith("1")) return `+${digits}`;
  return t;
}

// The clinic of a signed confirmation link: its readable payload is "purpose|expiry|clinic/appointment"
// (the signature, not secrecy, protects it; the server checks it on every call).
export function clinicOfManageToken(token: string): string | undefined {
  try {
    const part = token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/");
    const payload = atob(part + "=".repeat((4 - (part.length % 4)) % 4));
    const subject = payload.split("|")[2] ?? "";
    const clinic = subject.split("/")[0];
    return /^[0-9a-f-]{36}$/i.test(clinic) ? clinic : undefined;
  } catch {
    return undefined;
  }
}
