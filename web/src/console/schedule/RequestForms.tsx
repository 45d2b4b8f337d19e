// Request forms (S7, the website widget's "Telemedicine appointment" & co.) and the requests
// people sent with them, newest first: who asked (and whether they proved their phone or
// email), their answers, the client record when they are one. Each request also opened a
// conversation in the inbox; here staff mark it handled (or new again).
import { useCallback, useEffect, useRef, useState } from "react";
import { api, must } from "../../api/client";
import type { components } from "../../api/schema";
import { formatDateTime, formatPhone } from "../../shared/format";
import { Link } from "../../shared/router";

type S = components["schemas"];
type RequestForm = S["vetline.booking.v1.RequestForm"];
type FormRequest = S["vetline.booking.v1.FormRequest"];
type Filter = "NEW" | "HANDLED" | "FORM_REQUEST_STATUS_UNSPECIFIED";

export function RequestForms() {
  const [forms, setForms] = useState<RequestForm[]>();
  const [formId, setFormId] = useState("");
  const [error, setError] = useState<string>();

  useEffect(() => {
    must(api.GET("/v1/booking/request-forms")).then((r) => {
      const list = r.requestForms ?? [];
      setForms(list);
      setFormId((id) => id || list[0]?.id || "");
    }, (e: unknown) => setError(e instanceof Error ? e.message : "The request forms could not be loaded."));
  }, []);

  const form = forms?.find((f) => f.id === formId);
  return (
    <>
      {error && <p className="alert error" role="alert">{error}</p>}
      {forms && forms.length === 0 && (
        <section className="card"><p className="muted">No request forms yet. A clinic admin creates them for the website widget.</p></section>
      )}
      {forms && forms.length > 0 && (
        <div className="forms-layout">
          <nav className="card forms-list" aria-label="Request forms">
            <ul>
              {forms.map((f) => (
                <li key={f.id}>
                  <button type="button" className={f.id === formId ? "selected" : undefined} aria-pressed={f.id === formId}
                    onClick={() => setFormId(f.id ?? "")}>
                    {f.name}
                    <span className="muted small">{f.active ? "on the website" : "not listed"}</span>
                  </button>
                </li>
              ))}
            </ul>
          </nav>
          {form && <FormRequests form={form} />}
        </div>
      )}
    </>
  );
}

function FormRequests({ form }: { form: RequestForm }) {
  const [filter, setFilter] = useState<Filter>("NEW");
  const [requests, setRequests] = useState<FormRequest[]>();
  const [error, setError] = useState<string>();

  // Only the latest load is shown: an answer for a form or filter already left is dropped.
  const latest = useRef(0);
  const load = useCallback(async () => {
    const n = ++latest.current;
    try {
      const r = await must(api.GET("/v1/booking/request-forms/{form_id}/requests", {
        params: { path: { form_id: form.id! }, query: { status: filter, pageSize: 100 } },
      }));
      if (n === latest.current) setRequests(r.requests ?? []);
    } catch (e) {
      if (n === latest.current) setError(e instanceof Error ? e.message : "The requests could not be loaded.");
    }
  }, [form.id, filter]);

  useEffect(() => {
    setError(undefined);
    setRequests(undefined);
    void load();
  }, [load]);

  const mark = async (r: FormRequest, status: "NEW" | "HANDLED") => {
    setError(undefined);
    try {
      await must(api.PATCH("/v1/booking/request-forms/{form_id}/requests/{id}", {
        params: { path: { form_id: form.id!, id: r.id! } }, body: { status },
      }));
      await load();
    } catch (e) {
      setError(e instanceof Error ? e.message : "The request was not changed.");
    }
  };

  const rules = form.rules ?? {};
  return (
    <section className="card" aria-labelledby="form-h">
      <div className="card-head">
        <h2 id="form-h">{form.name}</h2>
        <div className="actions">
          <label htmlFor="fr-filter" className="visually-hidden">Show requests</label>
          <select id="fr-filter" value={filter} onChange={(e) => setFilter(e.target.value as Filter)}>
            <option value="NEW">New requests</option>
            <option value="HANDLED">Handled</option>
            <option value="FORM_REQUEST_STATUS_UNSPECIFIED">All requests</option>
          </select>
        </div>
      </div>
      {form.description && <p className="muted">{form.description}</p>}
      <p className="muted small">
        {[
          rules.existingClientsOnly && "Existing clients only",
          rules.visitedWithinMonths && `visited within ${rules.visitedWithinMonths} months`,
          rules.requiresCameraAndMicrophone && "needs a camera and microphone",
        ].filter(Boolean).join(" · ") || "Anyone may send it"}
      </p>
      {error && <p className="alert error" role="alert">{error}</p>}
      {requests && requests.length === 0 && <p className="muted">No {filter === "NEW" ? "new " : filter === "HANDLED" ? "handled " : ""}requests.</p>}
      {requests && requests.length > 0 && (
        <ul className="form-requests" aria-label="Requests">
          {requests.map((r) => (
            <li key={r.id} aria-label={`Request from ${r.contactName || r.contact}`}>
              <div className="req-head">
                <strong>{r.contactName || "Someone"}</strong>
                <span>{r.contact?.startsWith("+") ? formatPhone(r.contact) : r.contact}</span>
                <span className="muted small">{r.contactVerified ? "contact proved" : "contact not proved"}</span>
                <span className="muted small">{formatDateTime(r.createTime)}</span>
                <span className={`req-status ${r.status === "HANDLED" ? "done" : "new"}`}>{r.status === "HANDLED" ? "Handled" : "New"}</span>
              </div>
              {r.clientId && <div><Link href={`/clients/${r.clientId}`}>Open the client's profile</Link></div>}
              {(r.answers ?? []).length > 0 && (
                <dl className="answers">
                  {(r.answers ?? []).map((a) => (
                    <div key={a.questionId}><dt>{a.label}</dt><dd>{a.value || "—"}</dd></div>
                  ))}
                </dl>
              )}
              <div className="actions">
                {r.status === "HANDLED"
                  ? <button type="button" onClick={() => void mark(r, "NEW")}>Mark as new</button>
                  : <button type="button" className="primary" onClick={() => void mark(r, "HANDLED")}>Mark handled</button>}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
