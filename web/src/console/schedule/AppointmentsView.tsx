// The appointments view (S7): the clinic's own columns ("Surgery", "Dr. Shah", "Exam 1"),
// each filtered by types, providers and/or rooms, with the day's matching appointments in
// start order. Admins set the columns up; the booking service picks the appointments.
import { useEffect, useState } from "react";
import { api, must } from "../../api/client";
import type { components } from "../../api/schema";
import { formatClock } from "../../shared/format";
import { Link } from "../../shared/router";
import { STATUS } from "./names";

type View = components["schemas"]["vetline.booking.v1.AppointmentsView"];

export function AppointmentsView({ date }: { date: string }) {
  const [view, setView] = useState<View>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    let live = true;
    setError(undefined);
    setView(undefined);
    must(api.GET("/v1/booking/appointments-view", { params: { query: { date } } })).then(
      (v) => live && setView(v),
      (e: unknown) => live && setError(e instanceof Error ? e.message : "The appointments view could not be loaded."));
    return () => {
      live = false;
    };
  }, [date]);

  const columns = view?.columns ?? [];
  return (
    <section className="card" aria-labelledby="view-h">
      <h2 id="view-h">Appointments view</h2>
      {error && <p className="alert error" role="alert">{error}</p>}
      {view && columns.length === 0 && (
        <p className="muted">No columns yet. A clinic admin adds the view's columns (by type, provider or room).</p>
      )}
      {columns.length > 0 && (
        <div className="view-columns">
          {columns.map((c) => (
            <div className="view-column" key={c.column?.id}>
              <h3 id={`col-${c.column?.id}`}>{c.column?.name}</h3>
              {(c.appointments ?? []).length === 0 ? <p className="muted small">Nothing booked.</p> : (
                <ul aria-labelledby={`col-${c.column?.id}`}>
                  {(c.appointments ?? []).map((a) => (
                    <li key={a.appointmentId}>
                      <div className="when">{formatClock(a.startTime)}–{formatClock(a.endTime)}</div>
                      <div>
                        {a.clientId ? <Link href={`/clients/${a.clientId}`}>{a.clientName || "Client not synced yet"}</Link>
                          : <span className="muted">Client not synced yet</span>}
                        {a.petName && <span className="muted"> · {a.petName}</span>}
                      </div>
                      <div className="muted small">
                        {[a.appointmentTypeName, a.providerName, a.roomName, STATUS[a.status ?? ""]].filter(Boolean).join(" · ")}
                      </div>
                    </li>
                  ))}
                </ul>
              )}
            </div>
          ))}
        </div>
      )}
    </section>
  );
}
