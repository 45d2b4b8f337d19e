// The staff console: who is signed in, the shell (top bar, navigation), and which screen
// the path names. A 401 from any call ends the session and shows the sign-in page with
// the reason.
import { useCallback, useEffect, useState } from "react";
import { api, SESSION_ENDED, type Me } from "../api/client";
import { setClinicTimeZone } from "../shared/format";
import { Link, match, navigate, usePath } from "../shared/router";
import { CallHistory } from "./calls/CallHistory";
import { CallScreen } from "./calls/CallScreen";
import { ClientProfile } from "./ClientProfile";
import { ClientSearch } from "./ClientSearch";
import { takeEarlyMe } from "./early";
import { Inbox } from "./Inbox";
import { PimsSync } from "./pims/PimsSync";
import { Schedule } from "./schedule/Schedule";
import { SignIn } from "./SignIn";

// Set while this tab has a session, so a reload after it expired says so.
const SIGNED_IN = "vetline.console.signedIn";

type Session = { state: "loading" } | { state: "signed-out"; reason?: string } | { state: "in"; me: Me };

export function ConsoleApp() {
  const [session, setSession] = useState<Session>({ state: "loading" });
  const { path } = usePath();

  const load = useCallback(async () => {
    const { data, response } = await (takeEarlyMe() ?? api.GET("/v1/me"));
    if (data && data.kind === "STAFF") {
      setClinicTimeZone(data.clinic?.timeZone);
      window.sessionStorage.setItem(SIGNED_IN, "1");
      setSession({ state: "in", me: data });
    } else if (data) {
      setSession({ state: "signed-out", reason: "This is the staff console. Clients sign in at the client portal." });
    } else if (response.status === 401) {
      // A tab that was signed in and is not any more: the session expired or was ended.
      const ended = window.sessionStorage.getItem(SIGNED_IN) === "1";
      setSession({ state: "signed-out", reason: ended ? "Your session has ended. Please sign in again." : undefined });
    } else {
      setSession({ state: "signed-out", reason: "Vetline cannot be reached right now. Try again in a moment." });
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    const ended = () =>
      setSession((s) =>
        s.state === "in" ? { state: "signed-out", reason: "Your session has ended. Please sign in again." } : s,
      );
    window.addEventListener(SESSION_ENDED, ended);
    return () => window.removeEventListener(SESSION_ENDED, ended);
  }, []);

  if (session.state === "loading") return <p className="placeholder">Loading…</p>;
  if (session.state === "signed-out") return <SignIn reason={session.reason} onSignedIn={load} />;

  const signOut = async () => {
    await api.POST("/v1/auth/logout", { body: {} });
    window.sessionStorage.removeItem(SIGNED_IN);
    setSession({ state: "signed-out", reason: "You have signed out." });
    navigate("/", true);
  };

  const me = session.me;
  const conversation = match("/inbox/:id", path);
  const client = match("/clients/:id", path);
  const onClients = path.startsWith("/clients");
  const onSchedule = path.startsWith("/schedule");
  const call = match("/calls/:id", path);
  const onCalls = path.startsWith("/calls");
  // PIMS sync reports are the admins' (the nightly job's results and its failures).
  const admin = me.staff?.role === "ADMIN";
  const onPims = admin && path.startsWith("/pims-sync");
  const pimsRun = match("/pims-sync/:id", path);
  return (
    <>
      <header className="topbar">
        <div className="brand">
          <img src="/favicon.svg" alt="" />
          <span>{me.clinic?.name ?? "Vetline"}</span>
        </div>
        <nav aria-label="Main">
          <Link href="/" aria-current={onClients || onSchedule || onCalls || onPims ? undefined : "page"}>
            Inbox
          </Link>
          <Link href="/schedule" aria-current={onSchedule ? "page" : undefined}>
            Schedule
          </Link>
          <Link href="/clients" aria-current={onClients ? "page" : undefined}>
            Clients
          </Link>
          <Link href="/calls" aria-current={onCalls && !call ? "page" : undefined}>
            Calls
          </Link>
          {admin && (
            <Link href="/pims-sync" aria-current={onPims ? "page" : undefined}>
              PIMS sync
            </Link>
          )}
        </nav>
        <div className="who">
          <span className="name muted small">{me.staff?.name}</span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      {onPims ? (
        <main className="scroll">
          <PimsSync runId={pimsRun?.id} />
        </main>
      ) : call ? (
        <main className="scroll">
          <CallScreen id={call.id} me={me} />
        </main>
      ) : onCalls ? (
        <main className="scroll">
          <CallHistory />
        </main>
      ) : client ? (
        <main className="scroll">
          <ClientProfile id={client.id} />
        </main>
      ) : onSchedule ? (
        <main className="scroll">
          <Schedule />
        </main>
      ) : onClients ? (
        <main className="scroll">
          <ClientSearch />
        </main>
      ) : (
        <main>
          <Inbox me={me} openId={conversation?.id} />
        </main>
      )}
    </>
  );
}
