// The booking widget (seed 004, S7): /portal/book?clinic=<id>. A pet owner says whether
// they are a client, proves a phone or email with a one-time code, picks a pet (or, new,
// tells us about themselves and their pet), an appointment type and one of the open
// slots (clinic time), confirms, and gets the link to manage the appointment. A slot
// taken meanwhile is said, with the next open ones. A clinic that books existing
// clients only sends a new client to its request form.
import { useEffect, useState, type FormEvent } from "react";
import { api, ApiError, must } from "../../api/client";
import type { components } from "../../api/schema";
import { clinicDay, clinicToday, formatClock, formatDay, setClinicTimeZone, shiftDay } from "../../shared/format";
import { navigate, usePath } from "../../shared/router";
import {
  FieldProblem, SlotPicker, fieldOf, keepVisitor, normalContact, problemText,
  type Booked, type OnlineBooking, type OnlineType, type Slot,
} from "./common";
import { PageShell } from "../../shared/PageShell";

type Schemas = components["schemas"];
type Verified = Schemas["vetline.booking.v1.VerifyCodeResponse"];
type Hold = Schemas["vetline.booking.v1.Hold"];
type Step = "who" | "code" | "details" | "pet" | "type" | "slot" | "confirm" | "done";
type NewClient = { firstName: string; lastName: string; petName: string; petSpecies: string };

const WINDOW_DAYS = 14;

export function BookingWidget() {
  const { query } = usePath();
  const clinicId = query.get("clinic") ?? "";
  const [booking, setBooking] = useState<OnlineBooking>();
  const [loadProblem, setLoadProblem] = useState<string>();

  useEffect(() => {
    if (!clinicId) return;
    must(api.GET("/v1/public/clinics/{clinic_id}/booking", { params: { path: { clinic_id: clinicId } } })).then(
      (b) => {
        setClinicTimeZone(b.timeZone);
        setBooking(b);
      },
      (e) => setLoadProblem(e instanceof ApiError && e.status === 404
        ? "This clinic was not found. Open the booking page from your clinic's website or message again."
        : problemText(e)),
    );
  }, [clinicId]);

  if (!clinicId) {
    return <PageShell title="Book an appointment"><p className="alert info" role="alert">Open the booking page from your clinic's website or message: this address does not name a clinic.</p></PageShell>;
  }
  if (loadProblem) return <PageShell title="Book an appointment"><p className="alert error" role="alert">{loadProblem}</p></PageShell>;
  if (!booking) return <PageShell title="Book an appointment"><p className="muted">Loading…</p></PageShell>;
  return <PageShell title="Book an appointment"><Steps clinicId={clinicId} booking={booking} /></PageShell>;
}

function Steps({ clinicId, booking }: { clinicId: string; booking: OnlineBooking }) {
  const [step, setStep] = useState<Step>("who");
  const [saysNew, setSaysNew] = useState(false);
  const [contact, setContact] = useState("");
  const [code, setCode] = useState("");
  const [visitor, setVisitor] = useState<Verified>();
  const [details, setDetails] = useState<NewClient>({ firstName: "", lastName: "", petName: "", petSpecies: "" });
  const [petId, setPetId] = useState("");
  const [type, setType] = useState<OnlineType>();
  const [from, setFrom] = useState(clinicToday());
  const [slots, setSlots] = useState<Slot[]>();
  const [offered, setOffered] = useState<Slot[]>();
  const [hold, setHold] = useState<Hold & { slot: Slot }>();
  const [booked, setBooked] = useState<Booked>();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [note, setNote] = useState<string>();
  const [busy, setBusy] = useState(false);
  const path = { clinic_id: clinicId };
  const isNew = visitor ? !visitor.existingClient : saysNew;
  const types = (booking.appointmentTypes ?? []).filter((t) => !isNew || t.newClientAllowed);
  const petName = isNew ? details.petName : visitor?.pets?.find((p) => p.id === petId)?.name;

  // One call at a time; its error lands beside `field` (or the field the server named).
  const act = async (field: string, fn: () => Promise<void>) => {
    setBusy(true);
    setErrors({});
    try {
      await fn();
    } catch (e) {
      const f = fieldOf(e);
      setErrors({ [f && f !== "clinicId" ? f : field]: problemText(e) });
    } finally {
      setBusy(false);
    }
  };

  const sendCode = (e?: FormEvent) => {
    e?.preventDefault();
    const c = normalContact(contact);
    if (!c) return setErrors({ contact: "Enter your mobile phone number or your email address." });
    void act("contact", async () => {
      await must(api.POST("/v1/public/clinics/{clinic_id}/booking/codes", { params: { path }, body: { clinicId, contact: c } }));
      setCode("");
      setStep("code");
    });
  };

  const verify = (e: FormEvent) => {
    e.preventDefault();
    if (!/^\d{6}$/.test(code.trim())) return setErrors({ code: "Enter the 6-digit code we sent you." });
    void act("code", async () => {
      const v = await must(api.POST("/v1/public/clinics/{clinic_id}/booking/codes/verify", {
        params: { path }, body: { clinicId, contact: normalContact(contact), code: code.trim() },
      }));
      setVisitor(v);
      if (v.existingClient) {
        setNote(saysNew ? "We found you among the clinic's clients: welcome back." : undefined);
        setPetId(v.pets?.length === 1 ? v.pets[0].id ?? "" : "");
        setStep("pet");
      } else if (!v.newClientAllowed || !booking.allowNewClients) {
        await toRequestForm(v.visitorToken ?? "");
      } else {
        setNote(saysNew ? undefined : "We did not find a client record with this contact, so you book as a new client.");
        setStep("details");
      }
    });
  };

  // An existing-clients-only clinic: the request form takes it from here.
  const toRequestForm = async (token: string) => {
    keepVisitor({ clinicId, contact: normalContact(contact), token });
    const list = await must(api.GET("/v1/public/clinics/{clinic_id}/request-forms", { params: { path } }));
    const forms = (list.requestForms ?? []).filter((f) => !f.rules?.existingClientsOnly);
    if (forms[0]?.id) {
      navigate(`/portal/request-forms/${encodeURIComponent(forms[0].id)}?clinic=${encodeURIComponent(clinicId)}&from=booking`);
    } else {
      setErrors({ code: "This clinic books online for its clients only and takes no online requests yet. Please call the clinic." });
    }
  };

  const loadSlots = async (t: OnlineType, start: string) => {
    const r = await must(api.GET("/v1/public/clinics/{clinic_id}/booking/slots", {
      params: { path, query: { visitorToken: visitor?.visitorToken, appointmentTypeId: t.id, from: start, to: shiftDay(start, WINDOW_DAYS - 1) } },
    }));
    return r.slots ?? [];
  };

  const pickType = (t: OnlineType) => {
    setType(t);
    setOffered(undefined);
    void act("slots", async () => {
      const start = clinicToday();
      setFrom(start);
      setSlots(await loadSlots(t, start));
      setStep("slot");
    });
  };

  const moveWindow = (days: number) => {
    if (!type) return;
    const start = shiftDay(from, days);
    if (start < clinicToday()) return;
    void act("slots", async () => {
      setSlots(await loadSlots(type, start));
      setFrom(start);
    });
  };

  // After a slot was taken: it is gone from the list, and the next three are offered.
  const taken = async (s: Slot) => {
    if (!type) return;
    const start = clinicDay(s.startTime);
    const fresh = await loadSlots(type, start);
    setFrom(start);
    setSlots(fresh);
    setOffered(fresh.filter((x) => (x.startTime ?? "") > (s.startTime ?? "")).slice(0, 3));
    setHold(undefined);
    setStep("slot");
    setErrors({ slots: `Sorry, ${formatDay(start)} at ${formatClock(s.startTime)} was just taken. Pick another time.` });
  };

  const holdSlot = async (s: Slot) => {
    try {
      const h = await must(api.POST("/v1/public/clinics/{clinic_id}/booking/holds", {
        params: { path },
        body: { clinicId, visitorToken: visitor?.visitorToken, appointmentTypeId: type?.id, petId: isNew ? "" : petId,
          providerId: s.providerId, roomId: s.roomId, startTime: s.startTime },
      }));
      setHold({ ...h, slot: s });
      return true;
    } catch (e) {
      if (fieldOf(e) === "startTime") {
        await taken(s);
        return false;
      }
      throw e;
    }
  };

  const pickSlot = (s: Slot) => void act("slots", async () => {
    if (await holdSlot(s)) {
      setOffered(undefined);
      setStep("confirm");
    }
  });

  const confirm = () => void act("confirm", async () => {
    if (!hold) return;
    const body = { clinicId, visitorToken: visitor?.visitorToken, holdId: hold.holdId, newClient: isNew ? details : undefined };
    const send = (holdId: string) => must(api.POST("/v1/public/clinics/{clinic_id}/booking/holds/{hold_id}/confirm", {
      params: { path: { clinic_id: clinicId, hold_id: holdId } }, body: { ...body, holdId },
    }));
    try {
      setBooked(await send(hold.holdId ?? ""));
    } catch (e) {
      // The hold ran out while they read the summary: hold the same slot again (or say it is taken).
      if (fieldOf(e) !== "holdId") throw e;
      const again = await must(api.POST("/v1/public/clinics/{clinic_id}/booking/holds", {
        params: { path },
        body: { clinicId, visitorToken: visitor?.visitorToken, appointmentTypeId: type?.id, petId: isNew ? "" : petId,
          providerId: hold.slot.providerId, roomId: hold.slot.roomId, startTime: hold.slot.startTime },
      })).catch(async (err) => {
        if (fieldOf(err) === "startTime") {
          await taken(hold.slot);
          return undefined;
        }
        throw err;
      });
      if (!again) return;
      setBooked(await send(again.holdId ?? ""));
    }
    setStep("done");
  });

  const back = (to: Step) => {
    setErrors({});
    setStep(to);
  };

  if (step === "who") {
    return (
      <form className="card book-step" onSubmit={sendCode} noValidate>
        <h2>Who is booking?</h2>
        <fieldset className="choices">
          <legend className="visually-hidden">Are you a client of this clinic?</legend>
          <label className="check"><input type="radio" name="who" checked={!saysNew} onChange={() => setSaysNew(false)} /> I am a client of this clinic</label>
          <label className="check"><input type="radio" name="who" checked={saysNew} onChange={() => setSaysNew(true)} /> I am new to this clinic</label>
        </fieldset>
        {saysNew && !booking.allowNewClients && (
          <p className="alert info">This clinic books online for its clients only. Prove your phone or email and you can send the clinic a request instead.</p>
        )}
        <div className="field">
          <label htmlFor="b-contact">Mobile phone or email</label>
          <input id="b-contact" autoComplete="email" inputMode="email" value={contact} onChange={(e) => setContact(e.target.value)}
            aria-invalid={errors.contact ? true : undefined} aria-describedby={errors.contact ? "b-contact-error" : "b-contact-hint"} />
          <span id="b-contact-hint" className="muted small">We send you a 6-digit code to prove it is yours.</span>
          <FieldProblem id="b-contact-error" text={errors.contact} />
        </div>
        <button className="primary" type="submit" disabled={busy}>{busy ? "Sending…" : "Send me a code"}</button>
      </form>
    );
  }

  if (step === "code") {
    return (
      <form className="card book-step" onSubmit={verify} noValidate>
        <h2>Enter your code</h2>
        <p>We sent a 6-digit code to <strong>{normalContact(contact)}</strong>. It works for 10 minutes.</p>
        <div className="field">
          <label htmlFor="b-code">Code</label>
          <input id="b-code" inputMode="numeric" autoComplete="one-time-code" maxLength={6} value={code}
            onChange={(e) => setCode(e.target.value.replace(/\D/g, ""))}
            aria-invalid={errors.code ? true : undefined} aria-describedby={errors.code ? "b-code-error" : undefined} />
          <FieldProblem id="b-code-error" text={errors.code ?? errors.contact} />
        </div>
        <div className="actions">
          <button type="button" onClick={() => back("who")}>Back</button>
          <button type="button" onClick={() => sendCode()} disabled={busy}>Send a new code</button>
          <button className="primary" type="submit" disabled={busy}>{busy ? "Checking…" : "Continue"}</button>
        </div>
        <FieldProblem id="b-visitor-error" text={errors.visitorToken} />
      </form>
    );
  }

  if (step === "details") {
    const set = (k: keyof NewClient) => (e: { target: { value: string } }) => setDetails({ ...details, [k]: e.target.value });
    const next = (e: FormEvent) => {
      e.preventDefault();
      const missing: Record<string, string> = {};
      if (!details.firstName.trim()) missing["newClient.firstName"] = "Enter your first name.";
      if (!details.lastName.trim()) missing["newClient.lastName"] = "Enter your last name.";
      if (!details.petName.trim()) missing["newClient.petName"] = "Enter your pet's name.";
      setErrors(missing);
      if (Object.keys(missing).length === 0) setStep("type");
    };
    const input = (k: keyof NewClient, id: string, label: string, auto?: string) => (
      <div className="field">
        <label htmlFor={id}>{label}</label>
        <input id={id} autoComplete={auto} value={details[k]} onChange={set(k)}
          aria-invalid={errors[`newClient.${k}`] ? true : undefined} aria-describedby={errors[`newClient.${k}`] ? `${id}-error` : undefined} />
        <FieldProblem id={`${id}-error`} text={errors[`newClient.${k}`]} />
      </div>
    );
    return (
      <form className="card book-step" onSubmit={next} noValidate>
        <h2>About you and your pet</h2>
        {note && <p className="alert info" role="status">{note}</p>}
        <div className="grid2">
          {input("firstName", "b-first", "Your first name", "given-name")}
          {input("lastName", "b-last", "Your last name", "family-name")}
          {input("petName", "b-pet", "Your pet's name")}
          {input("petSpecies", "b-species", "Species (dog, cat…)")}
        </div>
        <button className="primary" type="submit">Continue</button>
      </form>
    );
  }

  if (step === "pet") {
    const pets = visitor?.pets ?? [];
    return (
      <form className="card book-step" onSubmit={(e) => { e.preventDefault(); if (!petId) setErrors({ petId: "Choose the pet the appointment is for." }); else setStep("type"); }} noValidate>
        <h2>Which pet is it for?</h2>
        {note && <p className="alert info" role="status">{note}</p>}
        <fieldset className="choices" aria-describedby={errors.petId ? "b-pet-error" : undefined}>
          <legend className="visually-hidden">Your pets</legend>
          {pets.map((p) => (
            <label key={p.id} className="check"><input type="radio" name="pet" checked={petId === p.id} onChange={() => setPetId(p.id ?? "")} /> {p.name}</label>
          ))}
        </fieldset>
        {pets.length === 0 && <p className="muted">The clinic has no pet on your record yet.</p>}
        <p className="muted small">A new pet? The clinic adds it to your record: call them or mention it in a message, then book here.</p>
        <FieldProblem id="b-pet-error" text={errors.petId} />
        <button className="primary" type="submit" disabled={pets.length === 0}>Continue</button>
      </form>
    );
  }

  if (step === "type") {
    return (
      <section className="card book-step" aria-labelledby="b-type-title">
        <h2 id="b-type-title">What kind of appointment?</h2>
        {types.length === 0 && <p className="muted">The clinic offers no appointment online for you right now. Please call the clinic.</p>}
        <ul className="type-list">
          {types.map((t) => (
            <li key={t.id}>
              <button type="button" disabled={busy} onClick={() => pickType(t)}>
                <span className="type-name">{t.name}</span>
                <span className="muted small">{t.durationMinutes} minutes{t.telemedicine ? " · video call" : ""}</span>
              </button>
            </li>
          ))}
        </ul>
        <FieldProblem id="b-slots-error" text={errors.slots ?? errors.appointmentTypeId ?? errors.visitorToken} />
        <button type="button" onClick={() => back(isNew ? "details" : "pet")}>Back</button>
      </section>
    );
  }

  if (step === "slot") {
    return (
      <section className="card book-step" aria-labelledby="b-slot-title">
        <h2 id="b-slot-title">Pick a day and time</h2>
        <p className="muted">{type?.name} for {petName}</p>
        <FieldProblem id="b-slot-error" text={errors.slots ?? errors.startTime ?? errors.visitorToken ?? errors.appointmentTypeId} />
        <div className="window-nav">
          <button type="button" onClick={() => moveWindow(-WINDOW_DAYS)} disabled={busy || from <= clinicToday()}>Earlier days</button>
          <span className="muted small">{formatDay(from)} – {formatDay(shiftDay(from, WINDOW_DAYS - 1))}</span>
          <button type="button" onClick={() => moveWindow(WINDOW_DAYS)} disabled={busy}>Later days</button>
        </div>
        <SlotPicker slots={slots ?? []} timeZone={booking.timeZone} busy={busy} onPick={pickSlot} offered={offered} />
        <button type="button" onClick={() => back("type")}>Back</button>
      </section>
    );
  }

  if (step === "confirm" && hold) {
    return (
      <section className="card book-step" aria-labelledby="b-confirm-title">
        <h2 id="b-confirm-title">Check and confirm</h2>
        <dl className="summary">
          <dt>Appointment</dt><dd>{type?.name}</dd>
          <dt>Pet</dt><dd>{petName}</dd>
          <dt>When</dt><dd>{formatDay(clinicDay(hold.startTime), true)} at {formatClock(hold.startTime)}</dd>
          {isNew && <><dt>Your name</dt><dd>{details.firstName} {details.lastName}</dd></>}
          <dt>Contact</dt><dd>{normalContact(contact)}</dd>
        </dl>
        <p className="muted small">We keep this time for you for a few minutes while you confirm.</p>
        <FieldProblem id="b-confirm-error" text={Object.values(errors)[0]} />
        <div className="actions">
          <button type="button" onClick={() => back("slot")}>Change the time</button>
          <button className="primary" type="button" disabled={busy} onClick={confirm}>{busy ? "Booking…" : "Confirm appointment"}</button>
        </div>
      </section>
    );
  }

  if (step === "done" && booked) {
    const manage = booked.manageUrl ? new URL(booked.manageUrl, window.location.origin) : undefined;
    return (
      <section className="card book-step" aria-labelledby="b-done-title">
        <h2 id="b-done-title">You are booked</h2>
        <p role="status">{booked.appointmentTypeName} for {booked.petName || petName} on {formatDay(clinicDay(booked.startTime), true)} at {formatClock(booked.startTime)}.</p>
        <p>We are sending a confirmation to {normalContact(contact)} with this link.</p>
        {manage && <p><a className="button" href={manage.pathname + manage.search}>Manage this appointment</a></p>}
        <p className="muted small">You can cancel or move it online until {booked.changeDeadline ? `${formatDay(clinicDay(booked.changeDeadline), true)} at ${formatClock(booked.changeDeadline)}` : "shortly before it starts"}.</p>
      </section>
    );
  }
  return null;
}
