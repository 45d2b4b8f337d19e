// The call screens' shared parts (seed 000): the preview with device choice before
// joining, and the call itself: everyone's video, the red recording label every
// participant sees, and mute / camera / screen share / disconnect. The host's extra
// controls (recording, the participants panel) come in as `hostControls` and `aside`.
import { useEffect, useRef, useState, type ReactNode } from "react";
import { errorText, publish, tellMediaState, type JoinResponse, type MediaSession } from "./media";
import type { LocalMedia } from "./useLocalMedia";
import type { Room } from "./useCallRoom";
import "./call.css";

export function VideoTile({ stream, caption, self, off }: { stream?: MediaStream; caption: string; self?: boolean; off?: boolean }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (ref.current && ref.current.srcObject !== (stream ?? null)) ref.current.srcObject = stream ?? null;
  }, [stream]);
  return (
    <figure className={`tile${self ? " self" : ""}`}>
      {/* One's own preview is silent (no echo); the others' audio plays from their tile. */}
      <video ref={ref} autoPlay playsInline muted={self} aria-label={caption} />
      {off && <span className="tile-off" aria-hidden="true">Camera off</span>}
      <figcaption>{caption}</figcaption>
    </figure>
  );
}

function Toggles({ local }: { local: LocalMedia }) {
  return (
    <>
      <button type="button" aria-pressed={local.muted} onClick={() => local.setMuted(!local.muted)}>
        {local.muted ? "Unmute" : "Mute"}
      </button>
      <button type="button" aria-pressed={local.cameraOff} onClick={() => local.setCameraOff(!local.cameraOff)}>
        {local.cameraOff ? "Turn camera on" : "Turn camera off"}
      </button>
    </>
  );
}

export function DeviceChoice({ local }: { local: LocalMedia }) {
  return (
    <div className="devices">
      <div className="field">
        <label htmlFor="call-camera">Camera</label>
        <select id="call-camera" value={local.cameraId} onChange={(e) => local.setCameraId(e.target.value)}>
          {local.cameras.map((d, i) => <option key={d.deviceId || i} value={d.deviceId}>{d.label || `Camera ${i + 1}`}</option>)}
        </select>
      </div>
      <div className="field">
        <label htmlFor="call-microphone">Microphone</label>
        <select id="call-microphone" value={local.microphoneId} onChange={(e) => local.setMicrophoneId(e.target.value)}>
          {local.microphones.map((d, i) => <option key={d.deviceId || i} value={d.deviceId}>{d.label || `Microphone ${i + 1}`}</option>)}
        </select>
      </div>
    </div>
  );
}

// Before joining: what the camera sees, the microphone and camera switches, the devices.
export function Preview({ local, children }: { local: LocalMedia; children: ReactNode }) {
  return (
    <div className="call-preview">
      <div>
        <VideoTile stream={local.stream} caption="Your camera preview" self off={local.cameraOff} />
        {local.error && <p className="alert error" role="alert">{local.error}</p>}
        <div className="controls"><Toggles local={local} /></div>
      </div>
      <div className="call-join">
        <DeviceChoice local={local} />
        {children}
      </div>
    </div>
  );
}

export function InCall({ callId, joined, room, local, onDisconnect, hostControls, aside }: {
  callId: string;
  joined: JoinResponse;
  room: Room;
  local: LocalMedia;
  onDisconnect: () => void;
  hostControls?: ReactNode;
  aside?: ReactNode;
}) {
  const token = joined.participantToken ?? "";
  const camera = useRef<Promise<MediaSession | undefined> | undefined>(undefined);
  const screen = useRef<MediaSession | undefined>(undefined);
  const [screenStream, setScreenStream] = useState<MediaStream>();
  const [error, setError] = useState<string>();
  const admitted = room.self?.state === "admitted" && !room.closed;

  // Publish the camera once admitted; a device change swaps the tracks in place.
  useEffect(() => {
    if (!admitted || !local.stream) return;
    const stream = local.stream;
    if (!camera.current) {
      camera.current = publish(callId, joined, "camera", stream).catch((e: unknown) => {
        setError(errorText(e, "Your camera could not be sent."));
        camera.current = undefined;
        return undefined;
      });
    } else {
      void camera.current.then((s) => Promise.all(stream.getTracks().map((t) => s?.replace(t))));
    }
  }, [admitted, local.stream, callId, joined]);

  // The others are told about mute and camera off (their tiles say so).
  const told = useRef(false);
  useEffect(() => {
    if (!admitted) return;
    if (!told.current && !local.muted && !local.cameraOff) return; // nothing to say yet
    told.current = true;
    void tellMediaState(callId, token, local.muted, local.cameraOff).catch(() => {});
  }, [admitted, local.muted, local.cameraOff, callId, token]);

  const stopScreen = () => {
    screen.current?.stop();
    screen.current = undefined;
    setScreenStream((s) => {
      s?.getTracks().forEach((t) => t.stop());
      return undefined;
    });
  };
  const shareScreen = async () => {
    setError(undefined);
    let s: MediaStream;
    try {
      s = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch {
      return; // the person chose not to share
    }
    try {
      screen.current = await publish(callId, joined, "screen", s);
      s.getVideoTracks()[0]?.addEventListener("ended", stopScreen);
      setScreenStream(s);
    } catch (e) {
      s.getTracks().forEach((t) => t.stop());
      setError(errorText(e, "Your screen could not be shared."));
    }
  };

  // Leaving the call (or the page) stops what this browser sends.
  useEffect(() => () => {
    void camera.current?.then((s) => s?.stop());
    camera.current = undefined;
    stopScreen();
  }, []);
  useEffect(() => {
    if (room.closed) {
      void camera.current?.then((s) => s?.stop());
      camera.current = undefined;
      stopScreen();
    }
  }, [room.closed]);

  const name = (id: string) => room.people[id]?.displayName || "Participant";
  return (
    <div className="call-room">
      <div className="call-stage">
        <div className="tiles">
          <VideoTile stream={local.stream} caption={`You${local.muted ? " (muted)" : ""}`} self off={local.cameraOff} />
          {screenStream && <VideoTile stream={screenStream} caption="Your screen" self />}
          {room.remotes.map((r) => {
            const p = room.people[r.participantId];
            const screenShare = r.publication.kind === "screen";
            return (
              <VideoTile key={r.publication.id} stream={r.stream} off={!screenShare && p?.cameraOff}
                caption={screenShare ? `${name(r.participantId)}'s screen` : `${name(r.participantId)}${p?.muted ? " (muted)" : ""}`} />
            );
          })}
        </div>
        {room.call?.recording && (
          <p className="rec-label" role="status"><span aria-hidden="true">●</span> Recording</p>
        )}
        {error && <p className="alert error" role="alert">{error}</p>}
        <div className="controls" role="toolbar" aria-label="Call controls">
          <Toggles local={local} />
          <button type="button" aria-pressed={!!screenStream} disabled={!admitted}
            onClick={() => (screenStream ? stopScreen() : void shareScreen())}>
            {screenStream ? "Stop sharing" : "Share screen"}
          </button>
          {hostControls}
          <button type="button" className="danger" onClick={onDisconnect}>Disconnect</button>
        </div>
        <details className="call-devices">
          <summary>Devices</summary>
          <DeviceChoice local={local} />
        </details>
      </div>
      {aside}
    </div>
  );
}
