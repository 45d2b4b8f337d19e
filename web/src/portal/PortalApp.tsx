// The client portal: a pet owner signs in to their clinic (or arrives by the signed link
// of a clinic's message) and reads and answers their conversations; the booking widget,
// the manage link of a booking, request forms and joining a call need no sign-in.
import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { api, must, SESSION_ENDED, type Me } from "../api/client";
import { setClinicTimeZone } from "../shared/format";
import { match, navigate, usePath } from "../shared/router";
import { BookingWidget } from "./booking/BookingWidget";
import { problemText } from "./booking/common";
import { ManageAppointment } from "./booking/ManageAppointment";
import { RequestFormPage } from "./booking/RequestFormPage";
import { PortalHome } from "./PortalHome";
import { JoinCall } from "./video/JoinCall";
import { PayRequest } from "./payments/PayRequest";
import { PageShell } from "../shared/PageShell";

type Session =
  | { state: "loading" }
  | { state: "signed-out"; reason?: string }
  | { state: "in"; me: Me }
  | { state: "bad-link"; expired: boolean; text: string };

export function PortalApp() {
  const [session, setSession] = useState<Session>({ state: "loading" });
  const { path, query } = usePath();
  const conversation = match("/portal/conversations/:id", path);
  const load = useCallback(async () => {
    const { data } = await api.GET("/v1/me");
    if (data?.kind === "CLIENT") {
      setClinicTimeZone(data.clinic?.timeZone);
      if (data.clinic?.id) window.localStorage.setItem("vetline.clinic", data.clinic.id);
      setSession({ state: "in", me: data });
    } else {
      setSession({ state: "signed-out" });
    }
  }, []);
  // Arriving by a message's signed link (/portal/conversations/<id>?link=<token>): the
  // link signs the client in, then leaves the address bar (and the history) at once.
  const arriving = useRef(conversation && query.get("link") ? query.get("link") : null);
  useEffect(() => {
    const link = arriving.current;
    if (!link || !conversation) {
      void load();
      return;
    }
    arriving.current = null;
    navigate(`/portal/conversations/${encodeURIComponent(conversation.id)}`, true);
    must(api.POST("/v1/portal/link-login", { body: { link, clinicId: query.get("clinic") ?? undefined } })).then(
      () => load(),
      (e) => setSession({ state: "bad-link", expired: /expired/i.test(e instanceof Error ? e.message : ""), text: problemText(e) }),
    );
    // Once, on arrival.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  // A click on a push notification while a portal tab is open (public/portal/sw.js): the
  // tab comes forward and goes to that conversation, whatever page it showed.
  useEffect(() => {
    if (!("serviceWorker" in navigator)) return;
    const onMessage = (e: MessageEvent) => {
      const d = e.data as { type?: string; conversationId?: string } | undefined;
      if (d?.type === "vetline.open-conversation" && d.conversationId) {
        navigate(`/portal/conversations/${encodeURIComponent(d.conversationId)}`);
      }
    };
    navigator.serviceWorker.addEventListener("message", onMessage);
    return () => navigator.serviceWorker.removeEventListener("message", onMessage);
  }, []);
  useEffect(() => {
    const ended = () => setSession({ state: "signed-out", reason: "Your session has ended. Please sign in again." });
    window.addEventListener(SESSION_ENDED, ended);
    return () => window.removeEventListener(SESSION_ENDED, ended);
  }, [load]);

  // A video call's join link works without signing in: its invitation is the key.
  const video = match("/portal/video/:id", path);
  if (video) return <JoinCall callId={video.id} />;
  // Booking, its manage link and request forms: public pages.
  if (path === "/portal/book" || path === "/portal/book/") return <BookingWidget />;
  const appointment = match("/portal/appointments/:id", path);
  if (appointment) return <ManageAppointment appointmentId={appointment.id} />;
  const form = match("/portal/request-forms/:id", path);
  if (form) return <RequestFormPage formId={form.id} />;
  if (session.state === "loading") return <p className="placeholder">Loading…</p>;
  if (session.state === "bad-link") return <BadPortalLink expired={session.expired} text={session.text} onSignIn={() => setSession({ state: "signed-out" })} />;
  if (session.state === "signed-out") return <PortalSignIn reason={session.reason} onSignedIn={load} />;
  // Paying a payment request; Stripe's success and cancel URLs come back here.
  const payment = match("/portal/payments/:id", path);
  if (payment) return <PayRequest id={payment.id} me={session.me} />;
  return <PortalHome me={session.me} openConversationId={conversation?.id}
    onSignedOut={() => setSession({ state: "signed-out", reason: "You have signed out." })} />;
}

// A message's link that expired or was altered: what happened and what to do next.
function BadPortalLink({ expired, text, onSignIn }: { expired: boolean; text: string; onSignIn: () => void }) {
  return (
    <PageShell title={expired ? "This link has expired" : "This link does not work"}>
      <div className="card" role="alert">
        {/* The service says what happened and what to do (expired, not valid, another clinic's). */}
        <p>{text}</p>
        {expired && <p className="muted">Links in your clinic's messages work for a limited time, so that an old message cannot open your portal.</p>}
        <button type="button" className="primary" onClick={onSignIn}>Sign in with email and password</button>
      </div>
    </PageShell>
  );
}

function PortalSignIn({ reason, onSignedIn }: { reason?: string; onSignedIn: () => void }) {
  const { query } = usePath();
  // The clinic comes from the link the clinic sent (…/portal/?clinic=<id>).
  const clinicId = query.get("clinic") ?? window.localStorage.getItem("vetline.clinic") ?? "";
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const { response } = await api.POST("/v1/portal/login", { body: { clinicId, email, password } }).catch(() => ({ response: undefined }));
    setBusy(false);
    if (response?.ok) {
      window.localStorage.setItem("vetline.clinic", clinicId);
      return onSignedIn();
    }
    if (response?.status === 401 || response?.status === 404) setError("That email and password do not match.");
    else if (response?.status === 429) setError("Too many attempts. Wait a minute and try again.");
    else if (response?.status === 400) setError("Open the portal from the link your clinic sent you.");
    else setError("The portal cannot be reached right now. Try again in a moment.");
  };

  return (
    <main className="signin">
      <form onSubmit={submit} aria-labelledby="portal-title">
        <div className="brand"><img src="/favicon.svg" alt="" /> Vetline</div>
        <h1 id="portal-title">Your pet's clinic</h1>
        <p className="muted">Sign in to read and answer your messages.</p>
        {reason && !error && <p className="alert info" role="status">{reason}</p>}
        {!clinicId && <p className="alert info">Open the portal from the link in your clinic's message.</p>}
        {error && <p className="alert error" role="alert">{error}</p>}
        <div className="field">
          <label htmlFor="p-email">Email</label>
          <input id="p-email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="p-password">Password</label>
          <input id="p-password" type="password" autoComplete="current-password" required value={password}
            onChange={(e) => setPassword(e.target.value)} />
        </div>
        <button className="primary" type="submit" disabled={busy || !clinicId}>{busy ? "Signing in…" : "Sign in"}</button>
      </form>
    </main>
  );
}
