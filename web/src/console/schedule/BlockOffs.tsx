// Blocked time on the day shown: one provider's, one room's or the whole clinic's time
// nobody can book (lunch, a staff meeting, surgery prep). Staff add it in clinic wall-clock
// times and remove it; a block-off the PIMS owns comes back with the next sync, so it is
// marked as such.
import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { api, ApiError, must } from "../../api/client";
import type { components } from "../../api/schema";
import { clinicInstant, formatClock } from "../../shared/format";
import type { BookingNames } from "./names";

type BlockOff = components["schemas"]["vetline.booking.v1.BlockOff"];
type Errors = { start?: string; end?: string; who?: string; reason?: string };

export function BlockOffs({ date, names }: { date: string; names: BookingNames }) {
  const [blockOffs, setBlockOffs] = useState<BlockOff[]>();
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();

  // Only the latest load is shown: an answer for a day already left (or one older than
  // the reload after a change) is dropped.
  const latest = useRef(0);
  const load = useCallback(async () => {
    const n = ++latest.current;
    try {
      const b = await must(api.GET("/v1/booking/block-offs", { params: { query: { from: date, to: date, pageSize: 200 } } }));
      if (n !== latest.current) return;
      setBlockOffs((b.blockOffs ?? []).slice().sort((x, y) => (x.startTime ?? "").localeCompare(y.startTime ?? "")));
    } catch (e) {
      if (n === latest.current) setError(e instanceof Error ? e.message : "The blocked time could not be loaded.");
    }
  }, [date]);

  useEffect(() => {
    setError(undefined);
    setNotice(undefined);
    setBlockOffs(undefined);
    void load();
  }, [load]);

  const who = (b: BlockOff) =>
    [names.providers.get(b.providerId ?? ""), names.rooms.get(b.roomId ?? "")].filter(Boolean).join(", ") || "Whole clinic";

  const remove = async (b: BlockOff) => {
    setError(undefined);
    setNotice(undefined);
    try {
      await must(api.DELETE("/v1/booking/block-offs/{id}", { params: { path: { id: b.id! } } }));
      setNotice(`Removed the block-off ${formatClock(b.startTime)}–${formatClock(b.endTime)}${b.reason ? ` (${b.reason})` : ""}.`);
      await load();
    } catch (e) {
      setError(e instanceof Error ? e.message : "The block-off was not removed.");
    }
  };

  return (
    <section className="card" aria-labelledby="blocks-h">
      <h2 id="blocks-h">Blocked time</h2>
      {error && <p className="alert error" role="alert">{error}</p>}
      {notice && <p className="alert info" role="status">{notice}</p>}
      {blockOffs && blockOffs.length === 0 && <p className="muted">Nothing blocked.</p>}
      {blockOffs && blockOffs.length > 0 && (
        <ul className="blockoffs" aria-label="Blocked time">
          {blockOffs.map((b) => {
            const when = `${formatClock(b.startTime)}–${formatClock(b.endTime)}`;
            return (
              <li key={b.id}>
                <span className="when">{when}</span>
                <span>{who(b)}</span>
                {b.reason && <span className="muted">{b.reason}</span>}
                {b.pimsId && <span className="muted small">from the PIMS</span>}
                <button type="button" className="link" aria-label={`Remove the block-off ${when} ${who(b)}`} onClick={() => void remove(b)}>
                  Remove
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <AddBlockOff date={date} names={names} onAdded={async (b) => {
        setNotice(`Blocked ${formatClock(b.startTime)}–${formatClock(b.endTime)} for ${who(b)}.`);
        await load();
      }} />
    </section>
  );
}

function AddBlockOff({ date, names, onAdded }: { date: string; names: BookingNames; onAdded: (b: BlockOff) => Promise<void> }) {
  const [start, setStart] = useState("12:00");
  const [end, setEnd] = useState("13:00");
  const [target, setTarget] = useState(""); // "", "provider:<id>" or "room:<id>"
  const [reason, setReason] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    const startTime = clinicInstant(date, start);
    const endTime = clinicInstant(date, end);
    const errs: Errors = {};
    if (!startTime) errs.start = "Enter a start time.";
    if (!endTime) errs.end = "Enter an end time.";
    else if (startTime && endTime <= startTime) errs.end = "The end must be after the start.";
    setErrors(errs);
    if (Object.keys(errs).length) return;
    const [kind, id] = target.split(":");
    setBusy(true);
    try {
      const b = await must(api.POST("/v1/booking/block-offs", {
        body: {
          startTime, endTime, reason: reason.trim(),
          providerId: kind === "provider" ? id : undefined, roomId: kind === "room" ? id : undefined,
        },
      }));
      setReason("");
      await onAdded(b);
    } catch (err) {
      const field = err instanceof ApiError ? err.field : undefined;
      const text = err instanceof Error ? err.message : "The time was not blocked.";
      if (field === "startTime") setErrors({ start: text });
      else if (field === "endTime") setErrors({ end: text });
      else if (field === "providerId" || field === "roomId") setErrors({ who: text });
      else if (field === "reason") setErrors({ reason: text });
      else setError(text);
    } finally {
      setBusy(false);
    }
  };

  const described = (k: keyof Errors, id: string) => ({
    "aria-invalid": !!errors[k],
    "aria-describedby": errors[k] ? `${id}-error` : undefined,
  });
  return (
    <form className="block-form" onSubmit={submit} noValidate aria-labelledby="block-form-h">
      <h3 id="block-form-h">Block time off</h3>
      <div className="block-fields">
        <div className="field">
          <label htmlFor="b-start">From</label>
          <input id="b-start" type="time" value={start} onChange={(e) => setStart(e.target.value)} {...described("start", "b-start")} />
          {errors.start && <span id="b-start-error" className="field-error">{errors.start}</span>}
        </div>
        <div className="field">
          <label htmlFor="b-end">To</label>
          <input id="b-end" type="time" value={end} onChange={(e) => setEnd(e.target.value)} {...described("end", "b-end")} />
          {errors.end && <span id="b-end-error" className="field-error">{errors.end}</span>}
        </div>
        <div className="field">
          <label htmlFor="b-who">For</label>
          <select id="b-who" value={target} onChange={(e) => setTarget(e.target.value)} {...described("who", "b-who")}>
            <option value="">Whole clinic</option>
            <optgroup label="Providers">
              {[...names.providers.entries()].map(([id, name]) => <option key={id} value={`provider:${id}`}>{name}</option>)}
            </optgroup>
            <optgroup label="Rooms">
              {[...names.rooms.entries()].map(([id, name]) => <option key={id} value={`room:${id}`}>{name}</option>)}
            </optgroup>
          </select>
          {errors.who && <span id="b-who-error" className="field-error">{errors.who}</span>}
        </div>
        <div className="field grow">
          <label htmlFor="b-reason">Reason</label>
          <input id="b-reason" maxLength={200} value={reason} placeholder="Lunch" onChange={(e) => setReason(e.target.value)}
            {...described("reason", "b-reason")} />
          {errors.reason && <span id="b-reason-error" className="field-error">{errors.reason}</span>}
        </div>
      </div>
      {error && <p className="alert error" role="alert">{error}</p>}
      <button type="submit" className="primary" disabled={busy}>{busy ? "Blocking…" : "Block time"}</button>
    </form>
  );
}
