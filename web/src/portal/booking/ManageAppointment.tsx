// Managing an appointment from the confirmation's link: /portal/appointments/<id>?t=<token>
// (booking's ManageUrl). The client sees the appointment and cancels or moves it until
// the clinic's cut-off; after it, the page says why not. A link that expired or was
// altered gets a page that says so and what to do, never a blank one.
import { useCallback, useEffect, useState } from "react";
import { api, ApiError, must } from "../../api/client";
import { clinicDay, clinicToday, formatClock, formatDay, setClinicTimeZone, shiftDay } from "../../shared/format";
import { navigate, usePath } from "../../shared/router";
import { FieldProblem, SlotPicker, clinicOfManageToken, problemText, type Booked, type Slot } from "./common";
import { PageShell } from "../../shared/PageShell";

const WINDOW_DAYS = 14;

function BadLink({ why }: { why?: string }) {
  return (
    <PageShell title="This link does not work">
      <div className="card" role="alert">
        <p>{why ?? "This appointment link is not valid: it may have expired, or part of it is missing."}</p>
        <p>Open the link again from your confirmation message, copying all of it. If it still does not work, call your clinic: they can cancel or move the appointment for you.</p>
      </div>
    </PageShell>
  );
}

export function ManageAppointment({ appointmentId }: { appointmentId: string }) {
  const { query } = usePath();
  const token = query.get("t") ?? "";
  const clinicId = clinicOfManageToken(token) ?? "";
  const [appt, setAppt] = useState<Booked>();
  const [timeZone, setTimeZone] = useState<string>();
  // A link the server refused: its words for why (undefined: the general "not valid").
  const [bad, setBad] = useState<{ why?: string }>();
  const [problem, setProblem] = useState<string>();
  const [mode, setMode] = useState<"view" | "cancel" | "move">("view");
  const [slots, setSlots] = useState<Slot[]>();
  const [from, setFrom] = useState(clinicToday());
  const [done, setDone] = useState<string>();
  const [busy, setBusy] = useState(false);
  const path = { clinic_id: clinicId, appointment_id: appointmentId };

  const load = useCallback(async () => {
    try {
      const [b, a] = await Promise.all([
        must(api.GET("/v1/public/clinics/{clinic_id}/booking", { params: { path: { clinic_id: clinicId } } })),
        must(api.GET("/v1/public/clinics/{clinic_id}/booking/appointments/{appointment_id}", {
          params: { path: { clinic_id: clinicId, appointment_id: appointmentId }, query: { manageToken: token } },
        })),
      ]);
      setClinicTimeZone(b.timeZone);
      setTimeZone(b.timeZone);
      setAppt(a);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 403 || e.status === 404 || e.status === 400)) {
        setBad({ why: e.status === 404 ? "This appointment was not found at the clinic." : undefined });
      } else {
        setProblem(problemText(e));
      }
    }
  }, [clinicId, appointmentId, token]);

  useEffect(() => {
    if (token && clinicId) void load();
  }, [load, token, clinicId]);

  if (!token || !clinicId || bad) return <BadLink why={bad?.why} />;
  if (problem && !appt) return <PageShell title="Your appointment"><p className="alert error" role="alert">{problem}</p></PageShell>;
  if (!appt) return <PageShell title="Your appointment"><p className="muted">Loading…</p></PageShell>;

  const booked = appt.status === "scheduled" || appt.status === "confirmed";
  const deadline = appt.changeDeadline ? new Date(appt.changeDeadline) : undefined;
  const changeable = booked && (!deadline || deadline.getTime() > Date.now());
  const when = (iso?: string) => `${formatDay(clinicDay(iso), true)} at ${formatClock(iso)}`;

  const act = async (fn: () => Promise<void>) => {
    setBusy(true);
    setProblem(undefined);
    try {
      await fn();
    } catch (e) {
      setProblem(problemText(e));
    } finally {
      setBusy(false);
    }
  };
  const loadSlots = (start: string) => act(async () => {
    const r = await must(api.GET("/v1/public/clinics/{clinic_id}/booking/slots", {
      params: { path: { clinic_id: clinicId }, query: { manageToken: token, appointmentId, from: start, to: shiftDay(start, WINDOW_DAYS - 1) } },
    }));
    setFrom(start);
    setSlots(r.slots ?? []);
  });
  const cancel = () => act(async () => {
    const a = await must(api.POST("/v1/public/clinics/{clinic_id}/booking/appointments/{appointment_id}/cancel", {
      params: { path }, body: { clinicId, appointmentId, manageToken: token },
    }));
    setAppt({ ...appt, ...a, petName: a.petName || appt.petName, appointmentTypeName: a.appointmentTypeName || appt.appointmentTypeName });
    setMode("view");
    setDone("Your appointment is cancelled. The clinic has been told.");
  });
  const move = (s: Slot) => act(async () => {
    try {
      const a = await must(api.POST("/v1/public/clinics/{clinic_id}/booking/appointments/{appointment_id}/reschedule", {
        params: { path }, body: { clinicId, appointmentId, manageToken: token, startTime: s.startTime, providerId: s.providerId },
      }));
      setAppt({ ...appt, ...a, petName: a.petName || appt.petName });
      setMode("view");
      setDone(`Moved to ${when(a.startTime)}. The clinic has been told.`);
      // The moved appointment has a new link (valid until a day after its new time).
      if (a.manageUrl) {
        const u = new URL(a.manageUrl, window.location.origin);
        navigate(u.pathname + u.search, true);
      }
    } catch (e) {
      if (e instanceof ApiError && e.field === "startTime") {
        await loadSlots(clinicDay(s.startTime));
        throw new ApiError(409, "TAKEN", `${when(s.startTime)} was just taken; pick another time`);
      }
      throw e;
    }
  });

  return (
    <PageShell title="Your appointment">
      <section className="card" aria-labelledby="m-title">
        <h2 id="m-title">{appt.appointmentTypeName}{appt.petName ? ` for ${appt.petName}` : ""}</h2>
        <dl className="summary">
          <dt>When</dt><dd>{when(appt.startTime)}</dd>
          <dt>Status</dt><dd>{booked ? "Booked" : appt.status === "cancelled" ? "Cancelled" : appt.status}</dd>
        </dl>
        {timeZone && <p className="muted small">Times are the clinic's local time ({timeZone.replace(/_/g, " ")}).</p>}
        {done && <p className="alert info" role="status">{done}</p>}
        {problem && <FieldProblem id="m-error" text={problem} />}
        {booked && !changeable && (
          <p className="alert info">This appointment can no longer be changed online: changes are possible until {deadline ? when(appt.changeDeadline) : "shortly before it starts"}. Please call the clinic.</p>
        )}
        {changeable && mode === "view" && (
          <>
            <p className="muted">You can cancel or move it online until {when(appt.changeDeadline)}.</p>
            <div className="actions">
              <button type="button" onClick={() => { setMode("move"); void loadSlots(clinicToday()); }}>Reschedule</button>
              <button type="button" className="danger" onClick={() => setMode("cancel")}>Cancel appointment</button>
            </div>
          </>
        )}
        {changeable && mode === "cancel" && (
          <div className="confirm-box" role="group" aria-label="Cancel the appointment">
            <p>Cancel {appt.appointmentTypeName} on {when(appt.startTime)}?</p>
            <div className="actions">
              <button type="button" onClick={() => setMode("view")}>Keep it</button>
              <button type="button" className="primary danger" disabled={busy} onClick={() => void cancel()}>{busy ? "Cancelling…" : "Yes, cancel it"}</button>
            </div>
          </div>
        )}
      </section>
      {changeable && mode === "move" && (
        <section className="card" aria-labelledby="m-move-title">
          <h2 id="m-move-title">Pick a new time</h2>
          <div className="window-nav">
            <button type="button" onClick={() => void loadSlots(shiftDay(from, -WINDOW_DAYS))} disabled={busy || from <= clinicToday()}>Earlier days</button>
            <span className="muted small">{formatDay(from)} – {formatDay(shiftDay(from, WINDOW_DAYS - 1))}</span>
            <button type="button" onClick={() => void loadSlots(shiftDay(from, WINDOW_DAYS))} disabled={busy}>Later days</button>
          </div>
          {slots ? <SlotPicker slots={slots} timeZone={timeZone} busy={busy} onPick={(s) => void move(s)} /> : <p className="muted">Loading open times…</p>}
          <button type="button" onClick={() => setMode("view")}>Keep the current time</button>
        </section>
      )}
    </PageShell>
  );
}
