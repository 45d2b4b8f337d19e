// Joining a video call from the clinic's link (seed 003, S5): /portal/video/<call>?invitation=…
// No portal sign-in is needed (the signed invitation is the key). The pet owner sees
// the camera preview, picks devices, gives a display name and asks to join; before the
// join window opens (30 minutes before the start) the page says on arrival when it opens and the
// button wakes up then. Then they wait until the clinic admits them, see the recording
// label while the clinic records, and leave with Disconnect.
import { useCallback, useEffect, useState, type ReactNode } from "react";
import { api, ApiError, must } from "../../api/client";
import { InCall, Preview } from "../../shared/call/CallStage";
import { errorText, leaveCall, type JoinResponse } from "../../shared/call/media";
import { useCallRoom } from "../../shared/call/useCallRoom";
import { useLocalMedia, type LocalMedia } from "../../shared/call/useLocalMedia";
import { formatDateTime } from "../../shared/format";
import { PageShell } from "../../shared/PageShell";
import { usePath } from "../../shared/router";

function Shell({ children }: { children: ReactNode }) {
  return <PageShell title="Video call with your clinic" page="call-page">{children}</PageShell>;
}

export function JoinCall({ callId }: { callId: string }) {
  const { query } = usePath();
  const invitation = query.get("invitation") ?? "";
  const [done, setDone] = useState<string>();
  if (!invitation) {
    return <Shell><div className="call-note" role="alert"><p>This link is incomplete. Open the video call link from your clinic's message again.</p></div></Shell>;
  }
  if (done) return <Shell><div className="call-note" role="status"><p>{done}</p></div></Shell>;
  return <Shell><Joining callId={callId} invitation={invitation} onDone={setDone} /></Shell>;
}

// Mounted while this browser is about to join or in the call (the camera is on only here).
function Joining({ callId, invitation, onDone }: { callId: string; invitation: string; onDone: (why: string) => void }) {
  const local = useLocalMedia();
  const [joined, setJoined] = useState<JoinResponse>();
  return joined ? (
    <InTheCall callId={callId} joined={joined} local={local} onDone={onDone} />
  ) : (
    <AskToJoin callId={callId} invitation={invitation} local={local} onJoined={setJoined} onDone={onDone} />
  );
}

function AskToJoin({ callId, invitation, local, onJoined, onDone }: {
  callId: string; invitation: string; local: LocalMedia; onJoined: (j: JoinResponse) => void; onDone: (why: string) => void;
}) {
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [opens, setOpens] = useState<Date>();

  // The link's call as the media service tells it: when joining opens (the button waits
  // until then) and whether it has ended. Asked on arrival and after a refused join.
  const checkInvitation = useCallback(async () => {
    try {
      const inv = await must(api.GET("/v1/calls/{call_id}/invitation", {
        params: { path: { call_id: callId } },
        headers: { Authorization: `Bearer ${invitation}` },
      }));
      if (inv.ended) onDone("This call has ended.");
      else setOpens(inv.joinOpensAt ? new Date(inv.joinOpensAt) : undefined);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) onDone(`${e.message.charAt(0).toUpperCase()}${e.message.slice(1)}.`);
      return false;
    }
  }, [callId, invitation, onDone]);
  useEffect(() => {
    void checkInvitation();
  }, [checkInvitation]);

  // The button wakes up when the window opens (timers beyond ~24 days overflow: capped).
  useEffect(() => {
    if (!opens) return;
    const t = window.setTimeout(() => setOpens(undefined), Math.min(Math.max(0, opens.getTime() - Date.now()), 2 ** 31 - 1));
    return () => window.clearTimeout(t);
  }, [opens]);

  const join = async () => {
    if (!name.trim()) {
      setError("Enter the name the clinic will see.");
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      onJoined(await must(api.POST("/v1/calls/{call_id}/join", {
        params: { path: { call_id: callId } },
        body: { invitationToken: invitation, displayName: name.trim() },
      })));
      return;
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) onDone(`${e.message.charAt(0).toUpperCase()}${e.message.slice(1)}.`);
      else if (!(e instanceof ApiError && e.code === "FAILED_PRECONDITION" && (await checkInvitation()))) {
        setError(errorText(e, "You could not join the call. Try again in a moment."));
      }
    }
    setBusy(false);
  };

  return (
    <Preview local={local}>
      <div className="field">
        <label htmlFor="join-name">Your name</label>
        <input id="join-name" value={name} maxLength={80} autoComplete="name" onChange={(e) => setName(e.target.value)} />
      </div>
      {opens && (
        <p className="alert info" role="status">
          This call opens for joining at <time dateTime={opens.toISOString()}>{formatDateTime(opens.toISOString())}</time>. Come back then: the Join button works from that time.
        </p>
      )}
      {error && <p className="alert error" role="alert">{error}</p>}
      <button className="primary" type="button" disabled={busy || !!opens || !local.stream} onClick={() => void join()}>
        {busy ? "Joining…" : "Join now"}
      </button>
    </Preview>
  );
}

function InTheCall({ callId, joined, local, onDone }: { callId: string; joined: JoinResponse; local: LocalMedia; onDone: (why: string) => void }) {
  const room = useCallRoom(callId, joined);
  useEffect(() => {
    if (room.closed === "ended") onDone("The call has ended. Thank you for joining.");
    else if (room.closed === "removed") onDone("The clinic removed you from the call.");
    else if (room.closed === "lost") onDone("The connection to the call was lost. Open the link again to rejoin.");
  }, [room.closed, onDone]);
  const disconnect = async () => {
    await leaveCall(callId, joined.participantToken ?? "");
    onDone("You left the call.");
  };
  const waiting = room.self?.state !== "admitted";
  return (
    <>
      {waiting ? (
        <div className="call-note" role="status">
          <p><strong>Waiting for the clinic to let you in…</strong></p>
          <p className="muted small">Keep this page open. Your clinic sees that you are here.</p>
        </div>
      ) : (
        <p className="visually-hidden" role="status">You are in the call.</p>
      )}
      <InCall callId={callId} joined={joined} room={room} local={local} onDisconnect={() => void disconnect()} />
    </>
  );
}
