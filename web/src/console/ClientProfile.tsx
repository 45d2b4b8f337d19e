// The client profile (seed 001): phones with primary and texting capability, emails,
// contact options (push read-only: the client app sets it), the survey toggle, pets,
// every past conversation, Start chat, and payments (console/payments).
import { useCallback, useEffect, useState } from "react";
import { api, ApiError, must, type Client, type Conversation } from "../api/client";
import { formatPhone, formatTime } from "../shared/format";
import { Link, navigate } from "../shared/router";
import { CallHistoryTable } from "./calls/CallHistory";
import { clientName, loadClient } from "./directory";
import { Payments } from "./payments/Payments";

const PHONE_TYPE: Record<string, string> = { MOBILE: "Mobile", HOME: "Home", WORK: "Work", OTHER: "Other" };
const PORTAL: Record<string, string> = { NO_ACCOUNT: "No portal account", INVITED: "Invited to the portal", ACTIVE: "Uses the portal" };
const PUSH: Record<string, string> = { PUSH_ENABLED: "on", PUSH_DISABLED: "off", PUSH_NOT_INSTALLED: "app not installed" };

export function ClientProfile({ id }: { id: string }) {
  const [client, setClient] = useState<Client>();
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();

  const loadConversations = useCallback(async () => {
    // Past conversations: live and archived, for all pets (never deleted).
    const [live, archived] = await Promise.all([
      must(api.GET("/v1/conversations", { params: { query: { clientId: id, pageSize: 100 } } })),
      must(api.GET("/v1/conversations", { params: { query: { clientId: id, archived: true, pageSize: 100 } } })),
    ]);
    setConversations([...(live.conversations ?? []), ...(archived.conversations ?? [])].sort((a, b) =>
      (b.lastActivityTime ?? "").localeCompare(a.lastActivityTime ?? "")));
  }, [id]);

  useEffect(() => {
    setError(undefined);
    must(api.GET("/v1/clients/{id}", { params: { path: { id } } })).then(setClient, (e: unknown) =>
      setError(e instanceof ApiError && e.status === 404 ? "This client does not exist." : "The profile could not be loaded."));
    void loadConversations().catch(() => {});
  }, [id, loadConversations]);

  const change = async (p: Promise<Client>) => {
    setError(undefined);
    try {
      const c = await p;
      setClient(c);
      void loadClient(id, true); // the inbox's copy too
    } catch (e) {
      setError(e instanceof Error ? e.message : "That change was not saved.");
    }
  };

  const startChat = async () => {
    try {
      const c = await must(api.POST("/v1/clients/{client_id}/conversations", { params: { path: { client_id: id } }, body: {} }));
      navigate(`/inbox/${c.id}`);
    } catch (e) {
      setError(e instanceof Error ? e.message : "The chat could not be started.");
    }
  };

  // Video chat (seed 000): the invitation goes into the client's open conversation, which
  // then opens so staff see it sent.
  const videoChat = async () => {
    try {
      const r = await must(api.POST("/v1/clients/{client_id}/video-call", { params: { path: { client_id: id } }, body: {} }));
      navigate(`/inbox/${r.conversation?.id}`);
    } catch (e) {
      setError(e instanceof Error ? e.message : "The video call could not be started.");
    }
  };

  const portalLink = async () => {
    try {
      const r = await must(api.POST("/v1/clients/{client_id}/portal-link", { params: { path: { client_id: id } }, body: {} }));
      setNotice(`Portal link made (valid until ${formatTime(r.expiresAt)}): ${r.link}`);
    } catch (e) {
      setError(e instanceof Error ? e.message : "The portal link could not be made.");
    }
  };

  if (error && !client) return <div className="page"><p className="alert error" role="alert">{error}</p></div>;
  if (!client) return <p className="placeholder">Loading…</p>;
  const opts = client.contactOptions ?? {};

  return (
    <div className="page">
      <div className="profile-head">
        <h1>{clientName(client)}</h1>
        <div className="actions">
          <button className="primary" type="button" onClick={() => void startChat()}>Start chat</button>
          <button type="button" onClick={() => void videoChat()}>Video chat</button>
          <button type="button" onClick={() => void portalLink()}>Portal link</button>
        </div>
      </div>
      {client.mergedIntoId && (
        <p className="alert info">
          This profile was merged. <Link href={`/clients/${client.mergedIntoId}`}>Open the current profile</Link>.
        </p>
      )}
      {error && <p className="alert error" role="alert">{error}</p>}
      {notice && <p className="alert info" role="status">{notice}</p>}
      <p className="muted">
        {[client.pimsId && `PIMS ${client.pimsId}`, client.lastVisitDate && `Last visit ${client.lastVisitDate}`, PORTAL[client.portalStatus ?? ""]]
          .filter(Boolean).join(" · ")}
      </p>
      <div className="grid2">
        <section className="card" aria-labelledby="phones-h">
          <h2 id="phones-h">Phones</h2>
          <table>
            <thead><tr><th>Number</th><th>Type</th><th>Texting</th><th>Primary</th></tr></thead>
            <tbody>
              {(client.phones ?? []).map((p) => (
                <tr key={p.id}>
                  <td>{formatPhone(p.number)}</td>
                  <td>{PHONE_TYPE[p.type ?? ""] ?? ""}</td>
                  <td>
                    <label className="check">
                      <input type="checkbox" checked={!!p.textingCapable} aria-label={`${formatPhone(p.number)} can receive texts`}
                        onChange={(e) => void change(must(api.PATCH("/v1/clients/{client_id}/phones/{id}", {
                          params: { path: { client_id: id, id: p.id! } }, body: { textingCapable: e.target.checked } })))} />
                    </label>
                  </td>
                  <td>
                    {p.primary ? <strong>Primary</strong> : (
                      <button type="button" className="link" onClick={() => void change(must(api.POST("/v1/clients/{client_id}/phones/{id}/primary", {
                        params: { path: { client_id: id, id: p.id! } }, body: {} })))}>
                        Make primary<span className="visually-hidden"> {formatPhone(p.number)}</span>
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {(client.phones ?? []).length === 0 && <p className="muted">No phone numbers.</p>}
          <p className="muted small">Texts go only to the primary number, and only if it can receive texts. Changes here are not written back to the PIMS.</p>
          <h3>Email</h3>
          <ul>
            {(client.emails ?? []).map((e) => <li key={e.id}>{e.address}{e.primary && <span className="muted"> (primary)</span>}</li>)}
          </ul>
        </section>
        <section className="card" aria-labelledby="contact-h">
          <h2 id="contact-h">Contact options</h2>
          <label className="check">
            <input type="checkbox" checked={!!opts.emailEnabled} onChange={(e) => void change(must(api.PATCH("/v1/clients/{client_id}/contact-options", {
              params: { path: { client_id: id } }, body: { emailEnabled: e.target.checked, textEnabled: !!opts.textEnabled } })))} />
            Email
          </label>
          <label className="check">
            <input type="checkbox" checked={!!opts.textEnabled} onChange={(e) => void change(must(api.PATCH("/v1/clients/{client_id}/contact-options", {
              params: { path: { client_id: id } }, body: { emailEnabled: !!opts.emailEnabled, textEnabled: e.target.checked } })))} />
            Text messages
          </label>
          <label className="check">
            <input type="checkbox" checked={opts.pushStatus === "PUSH_ENABLED"} disabled readOnly />
            App notifications ({PUSH[opts.pushStatus ?? ""] ?? "unknown"}; set by the client)
          </label>
          <p className="muted small">Whatever is chosen here, every message is in the client portal.</p>
          <h3>Surveys</h3>
          <label className="check">
            <input type="checkbox" checked={!!client.npsSurveyEnabled} onChange={(e) => void change(must(api.PATCH("/v1/clients/{id}", {
              params: { path: { id } }, body: { npsSurveyEnabled: e.target.checked, setNpsSurveyEnabled: true } })))} />
            Send satisfaction surveys
          </label>
        </section>
      </div>
      <section className="card" aria-labelledby="pets-h">
        <h2 id="pets-h">Pets</h2>
        {(client.pets ?? []).length === 0 ? <p className="muted">No pets on file.</p> : (
          <table>
            <thead><tr><th>Name</th><th>Species</th><th>Breed</th><th>Sex</th><th>Born</th></tr></thead>
            <tbody>
              {(client.pets ?? []).map((p) => (
                <tr key={p.id}>
                  <td>{p.name}{p.deceased && <span className="muted"> (deceased)</span>}</td>
                  <td>{p.species}</td><td>{p.breed}</td><td>{p.sex}</td><td>{p.birthDate}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <Payments clientId={id} clientName={clientName(client)} />
      <section className="card" aria-labelledby="calls-h">
        <h2 id="calls-h">Video calls</h2>
        <CallHistoryTable clientId={id} />
      </section>
      <section className="card" aria-labelledby="past-h">
        <h2 id="past-h">Conversations</h2>
        {conversations.length === 0 ? <p className="muted">No conversations yet.</p> : (
          <ul className="results">
            {conversations.map((c) => (
              <li key={c.id}>
                <Link href={`/inbox/${c.id}`}>
                  {c.lastMessagePreview || "No messages yet"}
                  <div className="muted small">{formatTime(c.lastActivityTime)}{c.archived ? " · archived" : ""}</div>
                </Link>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
