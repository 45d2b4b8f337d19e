// The client portal: a pet owner signs in to their clinic and reads and answers their
// conversations. Its screens grow with issue 12 (booking widget, joining a call, paying).
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, SESSION_ENDED, type Me } from "../api/client";
import { setClinicTimeZone } from "../shared/format";
import { match, usePath } from "../shared/router";
import { PortalHome } from "./PortalHome";
import { JoinCall } from "./video/JoinCall";
import { PayRequest } from "./payments/PayRequest";

type Session = { state: "loading" } | { state: "signed-out"; reason?: string } | { state: "in"; me: Me };

export function PortalApp() {
  const [session, setSession] = useState<Session>({ state: "loading" });
  const { path } = usePath();
  const load = useCallback(async () => {
    const { data } = await api.GET("/v1/me");
    if (data?.kind === "CLIENT") {
      setClinicTimeZone(data.clinic?.timeZone);
      setSession({ state: "in", me: data });
    } else {
      setSession({ state: "signed-out" });
    }
  }, []);
  useEffect(() => {
    void load();
    const ended = () => setSession({ state: "signed-out", reason: "Your session has ended. Please sign in again." });
    window.addEventListener(SESSION_ENDED, ended);
    return () => window.removeEventListener(SESSION_ENDED, ended);
  }, [load]);

  // A video call's join link works without signing in: its invitation is the key.
  const video = match("/portal/video/:id", path);
  if (video) return <JoinCall callId={video.id} />;
  if (session.state === "loading") return <p className="placeholder">Loading…</p>;
  if (session.state === "signed-out") return <PortalSignIn reason={session.reason} onSignedIn={load} />;
  // Paying a payment request; Stripe's success and cancel URLs come back here.
  const payment = match("/portal/payments/:id", path);
  if (payment) return <PayRequest id={payment.id} me={session.me} />;
  return <PortalHome me={session.me} onSignedOut={() => setSession({ state: "signed-out", reason: "You have signed out." })} />;
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
