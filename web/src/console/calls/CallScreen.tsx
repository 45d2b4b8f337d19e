// The host's call screen (seed 000, S5), opened from the invitation's "Join now" in the
// conversation: preview and device choice, join, then the call with the participants
// panel (waiting room: admit or remove; in the call: remove), recording on and off (the
// label is shown to everyone), disconnect, and ending the call for everyone.
import { useEffect, useState } from "react";
import { api, must, type Me } from "../../api/client";
import { InCall, Preview } from "../../shared/call/CallStage";
import { errorText, leaveCall, type Call, type JoinResponse, type Participant } from "../../shared/call/media";
import { useCallRoom } from "../../shared/call/useCallRoom";
import { useLocalMedia, type LocalMedia } from "../../shared/call/useLocalMedia";
import { Link } from "../../shared/router";

export function CallScreen({ id, me }: { id: string; me: Me }) {
  const [call, setCall] = useState<Call>();
  const [loadError, setLoadError] = useState<string>();
  const [done, setDone] = useState<string>();

  useEffect(() => {
    must(api.GET("/v1/calls/{id}", { params: { path: { id } } })).then(setCall, (e: unknown) =>
      setLoadError(errorText(e, "The call could not be loaded.")));
  }, [id]);

  if (loadError) return <div className="call-page"><p className="alert error" role="alert">{loadError}</p></div>;
  if (!call) return <p className="placeholder">Loading…</p>;
  if (call.state === "ended" || done) {
    return (
      <div className="call-page">
        <h1>Video call</h1>
        <div className="call-note" role="status">
          <p>{done ?? "This call has ended."}</p>
          <p><Link href="/calls">Call history</Link></p>
        </div>
      </div>
    );
  }
  return <ActiveCall call={call} me={me} onDone={setDone} />;
}

// Mounted while this browser is in (or about to join) the call: the camera is on only
// here, and the same devices and switches carry from the preview into the call.
function ActiveCall({ call, me, onDone }: { call: Call; me: Me; onDone: (why: string) => void }) {
  const local = useLocalMedia();
  const [joined, setJoined] = useState<JoinResponse>();
  return joined ? (
    <Hosting call={call} joined={joined} local={local} onDone={onDone} />
  ) : (
    <BeforeJoining call={call} me={me} local={local} onJoined={setJoined} />
  );
}

function BeforeJoining({ call, me, local, onJoined }: { call: Call; me: Me; local: LocalMedia; onJoined: (j: JoinResponse) => void }) {
  const [name, setName] = useState(me.staff?.name ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const join = async () => {
    setBusy(true);
    setError(undefined);
    try {
      onJoined(await must(api.POST("/v1/calls/{call_id}/host-join", { params: { path: { call_id: call.id! } }, body: { displayName: name.trim() } })));
    } catch (e) {
      setError(errorText(e, "You could not join the call."));
      setBusy(false);
    }
  };
  return (
    <div className="call-page">
      <h1>Video call</h1>
      <Preview local={local}>
        <div className="field">
          <label htmlFor="call-name">Your name in the call</label>
          <input id="call-name" value={name} maxLength={80} onChange={(e) => setName(e.target.value)} />
        </div>
        {error && <p className="alert error" role="alert">{error}</p>}
        <button className="primary" type="button" disabled={busy || !local.stream} onClick={() => void join()}>
          {busy ? "Joining…" : "Join now"}
        </button>
        <p className="muted small">You host this call: clients wait until you admit them.</p>
      </Preview>
    </div>
  );
}

function Hosting({ call, joined, local, onDone }: { call: Call; joined: JoinResponse; local: LocalMedia; onDone: (why: string) => void }) {
  const room = useCallRoom(call.id!, joined);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const callId = call.id!;
  const state = room.call ?? call;

  const act = async (what: Promise<unknown>, failed: string) => {
    setBusy(true);
    setError(undefined);
    try {
      await what;
    } catch (e) {
      setError(errorText(e, failed));
    } finally {
      setBusy(false);
    }
  };
  const path = { call_id: callId };
  const admit = (p: Participant) =>
    act(must(api.POST("/v1/calls/{call_id}/participants/{participant_id}/admit", { params: { path: { ...path, participant_id: p.id! } } })), "They could not be admitted.");
  const remove = (p: Participant) =>
    act(must(api.POST("/v1/calls/{call_id}/participants/{participant_id}/remove", { params: { path: { ...path, participant_id: p.id! } } })), "They could not be removed.");
  const record = (on: boolean) =>
    act(must(on ? api.POST("/v1/calls/{call_id}/recording/start", { params: { path } })
      : api.POST("/v1/calls/{call_id}/recording/stop", { params: { path } })), "The recording could not be changed.");
  const endForEveryone = () => act(must(api.POST("/v1/calls/{id}/end", { params: { path: { id: callId } } })), "The call could not be ended.");
  const disconnect = async () => {
    await leaveCall(callId, joined.participantToken ?? "");
    onDone("You left the call.");
  };
  useEffect(() => {
    if (room.closed) onDone(room.closed === "ended" ? "The call has ended." : "The connection to the call was lost.");
  }, [room.closed, onDone]);

  const people = Object.values(room.people);
  const waiting = people.filter((p) => p.state === "waiting");
  const inCall = people.filter((p) => p.state === "admitted");
  const live = state.state === "live";
  const panel = (
    <aside className="people" aria-labelledby="people-h">
      <h2 id="people-h">Participants</h2>
      <h3 id="waiting-h">Waiting room ({waiting.length})</h3>
      <ul aria-labelledby="waiting-h" aria-live="polite">
        {waiting.map((p) => (
          <li key={p.id}>
            <span className="who-name">{p.displayName}</span>
            <button type="button" className="primary" disabled={busy} onClick={() => void admit(p)}>
              Admit<span className="visually-hidden"> {p.displayName}</span>
            </button>
            <button type="button" disabled={busy} onClick={() => void remove(p)}>
              Remove<span className="visually-hidden"> {p.displayName}</span>
            </button>
          </li>
        ))}
        {waiting.length === 0 && <li className="muted small">Nobody is waiting.</li>}
      </ul>
      <h3 id="incall-h">In the call ({inCall.length})</h3>
      <ul aria-labelledby="incall-h">
        {inCall.map((p) => (
          <li key={p.id}>
            <span className="who-name">{p.displayName}{p.id === room.self?.id ? " (you)" : ""}</span>
            {p.muted && <span className="muted small">muted</span>}
            {p.id !== room.self?.id && (
              <button type="button" disabled={busy} onClick={() => void remove(p)}>
                Remove<span className="visually-hidden"> {p.displayName}</span>
              </button>
            )}
          </li>
        ))}
      </ul>
      <button type="button" className="danger" disabled={busy} onClick={() => void endForEveryone()}>End call for everyone</button>
    </aside>
  );
  const hostControls = state.recording ? (
    <button type="button" disabled={busy} onClick={() => void record(false)}>Stop recording</button>
  ) : (
    <button type="button" disabled={busy || !live} title={live ? undefined : "Recording starts once someone else is in the call"}
      onClick={() => void record(true)}>Start recording</button>
  );
  return (
    <div className="call-page">
      <h1>Video call</h1>
      <p className="muted small" role="status">
        {live ? "The call is under way." : waiting.length ? "Someone is waiting to be admitted." : "Waiting for the client to join."}
      </p>
      {error && <p className="alert error" role="alert">{error}</p>}
      <InCall callId={callId} joined={joined} room={room} local={local} onDisconnect={() => void disconnect()}
        hostControls={hostControls} aside={panel} />
    </div>
  );
}
