// A clinic's public request form: /portal/request-forms/<form>?clinic=<id>. The booking
// widget sends new clients here when the clinic books existing clients only (with the
// phone or email they just proved, so no second code); anyone may open it from the
// clinic's website too, giving a contact and a name.
import { useEffect, useState, type FormEvent } from "react";
import { api, ApiError, must } from "../../api/client";
import { usePath } from "../../shared/router";
import { FieldProblem, fieldOf, keptVisitor, normalContact, problemText, type PublicForm } from "./common";
import { PageShell } from "../../shared/PageShell";

export function RequestFormPage({ formId }: { formId: string }) {
  const { query } = usePath();
  const clinicId = query.get("clinic") ?? "";
  const fromBooking = query.get("from") === "booking";
  const visitor = keptVisitor(clinicId);
  const [form, setForm] = useState<PublicForm>();
  const [missing, setMissing] = useState<string>();
  const [answers, setAnswers] = useState<Record<string, string>>({});
  const [contact, setContact] = useState("");
  const [name, setName] = useState("");
  const [camera, setCamera] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [sent, setSent] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!clinicId) return;
    must(api.GET("/v1/public/clinics/{clinic_id}/request-forms/{form_id}", { params: { path: { clinic_id: clinicId, form_id: formId } } })).then(
      setForm,
      (e) => setMissing(e instanceof ApiError && (e.status === 404 || e.status === 400)
        ? "This request form is not available any more. Please call the clinic."
        : problemText(e)),
    );
  }, [clinicId, formId]);

  if (!clinicId) return <PageShell title="Request an appointment"><p className="alert info" role="alert">Open the request form from your clinic's website: this address does not name a clinic.</p></PageShell>;
  if (missing) return <PageShell title="Request an appointment"><p className="alert error" role="alert">{missing}</p></PageShell>;
  if (!form) return <PageShell title="Request an appointment"><p className="muted">Loading…</p></PageShell>;
  if (sent) {
    return (
      <PageShell title={form.name ?? "Request an appointment"}>
        <div className="card" role="status">
          <h2>Your request was sent</h2>
          <p>The clinic will get back to you at {visitor?.contact ?? normalContact(contact)} to find a time.</p>
        </div>
      </PageShell>
    );
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const problems: Record<string, string> = {};
    for (const q of form.questions ?? []) {
      if (q.required && !(answers[q.id ?? ""] ?? "").trim()) problems[`q:${q.id}`] = "Answer this question.";
    }
    if (!visitor && !contact.trim()) problems.contact = "Enter your mobile phone number or your email address.";
    if (!name.trim()) problems.contactName = "Enter your name.";
    if (form.rules?.requiresCameraAndMicrophone && !camera) problems.confirmsCameraAndMicrophone = "This request needs a camera and a microphone: confirm you have them.";
    setErrors(problems);
    if (Object.keys(problems).length) return;
    setBusy(true);
    try {
      await must(api.POST("/v1/public/clinics/{clinic_id}/request-forms/{form_id}/requests", {
        params: { path: { clinic_id: clinicId, form_id: formId } },
        body: {
          clinicId, formId, visitorToken: visitor?.token, contact: visitor ? "" : normalContact(contact), contactName: name.trim(),
          answers: (form.questions ?? []).filter((q) => (answers[q.id ?? ""] ?? "") !== "").map((q) => ({ questionId: q.id, value: answers[q.id ?? ""] })),
          confirmsCameraAndMicrophone: camera,
        },
      }));
      setSent(true);
    } catch (err) {
      const f = fieldOf(err);
      setErrors({ [f === "visitorToken" ? "contact" : f ?? "form"]: problemText(err) });
    } finally {
      setBusy(false);
    }
  };

  const set = (id: string, v: string) => setAnswers({ ...answers, [id]: v });
  return (
    <PageShell title={form.name ?? "Request an appointment"}>
      {fromBooking && (
        <p className="alert info" role="status">This clinic books online for its clients only. Send this request and the clinic will find a time with you.</p>
      )}
      <form className="card book-step" onSubmit={submit} noValidate>
        {form.description && <p>{form.description}</p>}
        {(form.questions ?? []).map((q) => {
          const id = `q-${q.id}`;
          const err = errors[`q:${q.id}`];
          const described = err ? `${id}-error` : undefined;
          const label = `${q.label}${q.required ? "" : " (optional)"}`;
          const value = answers[q.id ?? ""] ?? "";
          return (
            <div className="field" key={q.id}>
              {q.kind === "YES_NO" ? (
                <fieldset className="choices" aria-describedby={described}>
                  <legend>{label}</legend>
                  <label className="check"><input type="radio" name={id} checked={value === "yes"} onChange={() => set(q.id ?? "", "yes")} /> Yes</label>
                  <label className="check"><input type="radio" name={id} checked={value === "no"} onChange={() => set(q.id ?? "", "no")} /> No</label>
                </fieldset>
              ) : (
                <>
                  <label htmlFor={id}>{label}</label>
                  {q.kind === "LONG_TEXT" ? (
                    <textarea id={id} rows={4} value={value} onChange={(e) => set(q.id ?? "", e.target.value)} aria-describedby={described} />
                  ) : q.kind === "CHOICE" ? (
                    <select id={id} value={value} onChange={(e) => set(q.id ?? "", e.target.value)} aria-describedby={described}>
                      <option value="">Choose…</option>
                      {(q.options ?? []).map((o) => <option key={o} value={o}>{o}</option>)}
                    </select>
                  ) : (
                    <input id={id} value={value} maxLength={200} onChange={(e) => set(q.id ?? "", e.target.value)} aria-describedby={described} />
                  )}
                </>
              )}
              <FieldProblem id={`${id}-error`} text={err} />
            </div>
          );
        })}
        <div className="field">
          <label htmlFor="r-name">Your name</label>
          <input id="r-name" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)}
            aria-describedby={errors.contactName ? "r-name-error" : undefined} />
          <FieldProblem id="r-name-error" text={errors.contactName} />
        </div>
        {visitor ? (
          <p className="muted">We will answer at <strong>{visitor.contact}</strong>.</p>
        ) : (
          <div className="field">
            <label htmlFor="r-contact">Mobile phone or email</label>
            <input id="r-contact" autoComplete="email" value={contact} onChange={(e) => setContact(e.target.value)}
              aria-describedby={errors.contact ? "r-contact-error" : undefined} />
            <FieldProblem id="r-contact-error" text={errors.contact} />
          </div>
        )}
        {visitor && <FieldProblem id="r-contact-error" text={errors.contact} />}
        {form.rules?.requiresCameraAndMicrophone && (
          <div className="field">
            <label className="check"><input type="checkbox" checked={camera} onChange={(e) => setCamera(e.target.checked)} /> I have a camera and a microphone for a video call</label>
            <FieldProblem id="r-camera-error" text={errors.confirmsCameraAndMicrophone} />
          </div>
        )}
        <FieldProblem id="r-form-error" text={errors.form ?? errors.answers ?? errors.petId} />
        <button className="primary" type="submit" disabled={busy}>{busy ? "Sending…" : "Send request"}</button>
      </form>
    </PageShell>
  );
}
