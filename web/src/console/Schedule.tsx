// The day's schedule: appointments in start order with client, pet, type, provider and
// room, and the day's block-offs, for one clinic-local day (?date=YYYY-MM-DD).
import { useEffect, useMemo, useState } from "react";
import { api, must } from "../api/client";
import { clinicToday, formatClock, shiftDay } from "../shared/format";
import { Link, navigate, usePath } from "../shared/router";
import { clientName, useClients } from "./directory";
import type { components } from "../api/schema";

type S = components["schemas"];
type Appointment = S["vetline.booking.v1.Appointment"];
type BlockOff = S["vetline.booking.v1.BlockOff"];

const STATUS: Record<string, string> = {
  SCHEDULED: "Scheduled", CONFIRMED: "Confirmed", CHECKED_IN: "Checked in", COMPLETED: "Completed",
  CANCELLED: "Cancelled", NO_SHOW: "No show",
};
const SOURCE: Record<string, string> = { PIMS: "PIMS", DIRECT_BOOKING: "Booked online", STAFF: "Staff" };

export function Schedule() {
  const { query } = usePath();
  const date = query.get("date") || clinicToday();
  const [providerId, setProviderId] = useState("");
  const [appointments, setAppointments] = useState<Appointment[]>();
  const [blockOffs, setBlockOffs] = useState<BlockOff[]>([]);
  const [names, setNames] = useState<{ types: Map<string, string>; providers: Map<string, string>; rooms: Map<string, string> }>({
    types: new Map(), providers: new Map(), rooms: new Map(),
  });
  const [error, setError] = useState<string>();

  useEffect(() => {
    void Promise.all([
      must(api.GET("/v1/booking/appointment-types", { params: { query: { pageSize: 200 } } })),
      must(api.GET("/v1/booking/providers", { params: { query: { pageSize: 200 } } })),
      must(api.GET("/v1/booking/rooms", { params: { query: { pageSize: 200 } } })),
    ]).then(([t, p, r]) =>
      setNames({
        types: new Map((t.appointmentTypes ?? []).map((x) => [x.id ?? "", x.name ?? ""])),
        providers: new Map((p.providers ?? []).map((x) => [x.id ?? "", x.name ?? ""])),
        rooms: new Map((r.rooms ?? []).map((x) => [x.id ?? "", x.name ?? ""])),
      }), () => {});
  }, []);

  useEffect(() => {
    let live = true;
    setError(undefined);
    setAppointments(undefined);
    Promise.all([
      must(api.GET("/v1/booking/appointments", {
        params: { query: { from: date, to: date, pageSize: 200, providerIds: providerId ? [providerId] : undefined } },
      })),
      must(api.GET("/v1/booking/block-offs", { params: { query: { from: date, to: date, pageSize: 200 } } })),
    ]).then(([a, b]) => {
      if (!live) return;
      setAppointments((a.appointments ?? []).slice().sort((x, y) => (x.startTime ?? "").localeCompare(y.startTime ?? "")));
      setBlockOffs(b.blockOffs ?? []);
    }, (e: unknown) => live && setError(e instanceof Error ? e.message : "The schedule could not be loaded."));
    return () => {
      live = false;
    };
  }, [date, providerId]);

  const clients = useClients((appointments ?? []).map((a) => a.clientId ?? "").filter(Boolean));
  const providers = useMemo(() => [...names.providers.entries()], [names]);
  const go = (d: string) => navigate(`/schedule?date=${d}`, true);

  return (
    <div className="page">
      <div className="profile-head">
        <h1>Schedule</h1>
        <div className="actions">
          <button type="button" onClick={() => go(shiftDay(date, -1))}>Previous day</button>
          <label htmlFor="s-date" className="visually-hidden">Day</label>
          <input id="s-date" type="date" value={date} onChange={(e) => e.target.value && go(e.target.value)} />
          <button type="button" onClick={() => go(shiftDay(date, 1))}>Next day</button>
          <label htmlFor="s-provider" className="visually-hidden">Provider</label>
          <select id="s-provider" value={providerId} onChange={(e) => setProviderId(e.target.value)}>
            <option value="">All providers</option>
            {providers.map(([id, name]) => <option key={id} value={id}>{name}</option>)}
          </select>
        </div>
      </div>
      {error && <p className="alert error" role="alert">{error}</p>}
      <section className="card" aria-labelledby="appts-h">
        <h2 id="appts-h">Appointments</h2>
        {appointments && appointments.length === 0 && <p className="muted">No appointments on this day.</p>}
        {appointments && appointments.length > 0 && (
          <table>
            <thead><tr><th>Time</th><th>Client and pet</th><th>Type</th><th>Provider</th><th>Room</th><th>Status</th></tr></thead>
            <tbody>
              {appointments.map((a) => {
                const c = a.clientId ? clients.get(a.clientId) : undefined;
                const pet = c?.pets?.find((p) => p.id === a.petId)?.name;
                return (
                  <tr key={a.id}>
                    <td>{formatClock(a.startTime)}–{formatClock(a.endTime)}</td>
                    <td>
                      {a.clientId ? <Link href={`/clients/${a.clientId}`}>{clientName(c)}</Link> : <span className="muted">Not synced yet</span>}
                      {pet && <span className="muted"> · {pet}</span>}
                    </td>
                    <td>{names.types.get(a.appointmentTypeId ?? "") ?? ""}</td>
                    <td>{names.providers.get(a.providerId ?? "") ?? ""}</td>
                    <td>{names.rooms.get(a.roomId ?? "") ?? ""}</td>
                    <td>{STATUS[a.status ?? ""] ?? a.status}<div className="muted small">{SOURCE[a.source ?? ""] ?? ""}</div></td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
      <section className="card" aria-labelledby="blocks-h">
        <h2 id="blocks-h">Blocked time</h2>
        {blockOffs.length === 0 ? <p className="muted">Nothing blocked.</p> : (
          <ul>
            {blockOffs.map((b) => (
              <li key={b.id}>
                {formatClock(b.startTime)}–{formatClock(b.endTime)}{" "}
                {[names.providers.get(b.providerId ?? ""), names.rooms.get(b.roomId ?? "")].filter(Boolean).join(", ")}
                {b.reason && <span className="muted"> · {b.reason}</span>}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
