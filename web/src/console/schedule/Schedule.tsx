// The schedule (S7, seed 004): one clinic-local day (?date=YYYY-MM-DD) of appointments in
// start order (client and pet linked to the profile, type, provider, room, status), the
// appointments view with the clinic's own columns, and the day's blocked time (added and
// removed here); the request forms and their requests are the other tab
// (/schedule/requests). Every time is the clinic's wall clock, whatever the browser's zone.
import { useEffect, useMemo, useState } from "react";
import { api, must } from "../../api/client";
import type { components } from "../../api/schema";
import { clinicTimeZone, clinicToday, formatClock, shiftDay } from "../../shared/format";
import { Link, navigate, usePath } from "../../shared/router";
import { clientName, useClients } from "../directory";
import { AppointmentsView } from "./AppointmentsView";
import { BlockOffs } from "./BlockOffs";
import { STATUS, useBookingNames } from "./names";
import { RequestForms } from "./RequestForms";

type Appointment = components["schemas"]["vetline.booking.v1.Appointment"];

const SOURCE: Record<string, string> = { PIMS: "PIMS", DIRECT_BOOKING: "Booked online", STAFF: "Staff" };

export function Schedule() {
  const { path, query } = usePath();
  const onRequests = path.startsWith("/schedule/requests");
  const date = query.get("date") || clinicToday();
  return (
    <div className="page wide">
      <div className="profile-head">
        <h1>Schedule</h1>
        <nav className="tabs" aria-label="Schedule views">
          <Link href={`/schedule?date=${date}`} aria-current={onRequests ? undefined : "page"}>Day</Link>
          <Link href="/schedule/requests" aria-current={onRequests ? "page" : undefined}>Request forms</Link>
        </nav>
      </div>
      {onRequests ? <RequestForms /> : <Day date={date} />}
    </div>
  );
}

function Day({ date }: { date: string }) {
  const names = useBookingNames();
  const [providerId, setProviderId] = useState("");
  const [roomId, setRoomId] = useState("");
  const [appointments, setAppointments] = useState<Appointment[]>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    let live = true;
    setError(undefined);
    setAppointments(undefined);
    must(api.GET("/v1/booking/appointments", {
      params: {
        query: {
          from: date, to: date, pageSize: 200,
          providerIds: providerId ? [providerId] : undefined, roomIds: roomId ? [roomId] : undefined,
        },
      },
    })).then((a) => {
      if (live) setAppointments((a.appointments ?? []).slice().sort((x, y) => (x.startTime ?? "").localeCompare(y.startTime ?? "")));
    }, (e: unknown) => live && setError(e instanceof Error ? e.message : "The schedule could not be loaded."));
    return () => {
      live = false;
    };
  }, [date, providerId, roomId]);

  const clients = useClients((appointments ?? []).map((a) => a.clientId ?? "").filter(Boolean));
  const providers = useMemo(() => [...names.providers.entries()], [names]);
  const rooms = useMemo(() => [...names.rooms.entries()], [names]);
  const go = (d: string) => navigate(`/schedule?date=${d}`, true);
  const zone = clinicTimeZone();

  return (
    <>
      <div className="day-bar">
        <div className="actions">
          <button type="button" onClick={() => go(shiftDay(date, -1))}>Previous day</button>
          <label htmlFor="s-date" className="visually-hidden">Day</label>
          <input id="s-date" type="date" value={date} onChange={(e) => e.target.value && go(e.target.value)} />
          <button type="button" onClick={() => go(shiftDay(date, 1))}>Next day</button>
        </div>
        {zone && <span className="muted small">Times in clinic time ({zone})</span>}
      </div>
      {error && <p className="alert error" role="alert">{error}</p>}
      <section className="card" aria-labelledby="appts-h">
        <div className="card-head">
          <h2 id="appts-h">Appointments</h2>
          <div className="actions">
            <label htmlFor="s-provider" className="visually-hidden">Provider</label>
            <select id="s-provider" value={providerId} onChange={(e) => setProviderId(e.target.value)}>
              <option value="">All providers</option>
              {providers.map(([id, name]) => <option key={id} value={id}>{name}</option>)}
            </select>
            <label htmlFor="s-room" className="visually-hidden">Room</label>
            <select id="s-room" value={roomId} onChange={(e) => setRoomId(e.target.value)}>
              <option value="">All rooms</option>
              {rooms.map(([id, name]) => <option key={id} value={id}>{name}</option>)}
            </select>
          </div>
        </div>
        {!appointments && !error && <p className="muted">Loading…</p>}
        {appointments && appointments.length === 0 && <p className="muted">No appointments on this day.</p>}
        {appointments && appointments.length > 0 && (
          <div className="table-scroll">
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
                        {a.description && <div className="muted small">{a.description}</div>}
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
          </div>
        )}
      </section>
      <AppointmentsView date={date} />
      <BlockOffs date={date} names={names} />
    </>
  );
}
