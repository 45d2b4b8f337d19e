// The room as one participant sees it, kept from the call's event stream: the call (state,
// recording), the participants (the host sees the waiting room too), and one WHEP
// subscription per publication of every other admitted participant while this one is
// admitted. Subscriptions follow the participants: a new publication is received, an
// ended one (or a participant who left or was removed) is let go.
import { useEffect, useRef, useState } from "react";
import { subscribe, watchCall, type Call, type JoinResponse, type MediaSession, type Participant, type Publication } from "./media";

export type Remote = { publication: Publication; participantId: string; stream: MediaStream };
export type Closed = "ended" | "removed" | "lost";

export type Room = {
  call?: Call;
  people: Record<string, Participant>;
  remotes: Remote[];
  closed?: Closed;
  self?: Participant;
};

export function useCallRoom(callId: string, joined: JoinResponse | undefined): Room {
  const [call, setCall] = useState<Call>();
  const [people, setPeople] = useState<Record<string, Participant>>({});
  const [remotes, setRemotes] = useState<Record<string, Remote>>({});
  const [closed, setClosed] = useState<Closed>();
  const subs = useRef(new Map<string, Promise<MediaSession | undefined>>());
  const token = joined?.participantToken;
  const selfId = joined?.participant?.id;

  useEffect(() => {
    if (!token || closed) return;
    return watchCall(
      callId,
      token,
      (e) => {
        if (e.call) setCall(e.call);
        if (e.type === "snapshot") {
          const all: Record<string, Participant> = {};
          for (const p of e.participants ?? []) if (p.id) all[p.id] = p;
          setPeople(all);
        } else if (e.participant?.id) {
          const p = e.participant;
          setPeople((m) => ({ ...m, [p.id!]: p }));
        }
        if (e.type === "ended" || e.call?.state === "ended") setClosed("ended");
        else if (e.type === "removed" && e.participant?.id === selfId) setClosed("removed");
      },
      () => setClosed((c) => c ?? "lost"),
    );
  }, [callId, token, selfId, closed]);

  const self = selfId ? people[selfId] ?? joined?.participant : undefined;
  const admitted = self?.state === "admitted" && !closed;

  useEffect(() => {
    if (!token || !joined) return;
    const wanted = new Map<string, { pub: Publication; participantId: string }>();
    if (admitted) {
      for (const p of Object.values(people)) {
        if (p.id === selfId || p.state !== "admitted") continue;
        for (const pub of p.publications ?? []) if (pub.id) wanted.set(pub.id, { pub, participantId: p.id! });
      }
    }
    for (const [id, started] of subs.current) {
      if (wanted.has(id)) continue;
      subs.current.delete(id);
      void started.then((s) => s?.stop());
      setRemotes(({ [id]: _gone, ...rest }) => rest);
    }
    for (const [id, { pub, participantId }] of wanted) {
      if (subs.current.has(id)) continue;
      const started: Promise<MediaSession | undefined> = subscribe(callId, joined, pub).then(
        ({ session, stream }) => {
          if (subs.current.get(id) !== started) {
            void session.stop(); // let go while it was being set up
            return undefined;
          }
          setRemotes((r) => ({ ...r, [id]: { publication: pub, participantId, stream } }));
          return session;
        },
        () => {
          subs.current.delete(id); // tried again on the next change of the room
          return undefined;
        },
      );
      subs.current.set(id, started);
    }
  }, [callId, token, joined, selfId, admitted, people]);

  // Leaving the screen lets every subscription go.
  useEffect(() => {
    const all = subs.current;
    return () => {
      for (const started of all.values()) void started.then((s) => s?.stop());
      all.clear();
    };
  }, []);

  return { call, people, remotes: Object.values(remotes), closed, self };
}
