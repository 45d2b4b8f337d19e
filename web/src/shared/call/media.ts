// A video call as both apps hold it: WHIP (publish camera+microphone or screen) and WHEP
// (receive another participant's publication) as plain SDP offer/answer over the gateway,
// non-trickle (the offer carries every ICE candidate), and the call's Server-Sent Events.
// Everything after joining is authorised by the participant token the join answered, and
// every connection may go through the clinic's TURN relay the join answered too (a
// network that lets only the relay through still gets its call).
import { api, ApiError, must, toError } from "../../api/client";
import type { components, paths } from "../../api/schema";

type S = components["schemas"];
export type Call = S["vetline.media.v1.Call"];
export type Participant = S["vetline.media.v1.Participant"];
export type Publication = S["vetline.media.v1.Publication"];
export type CallEvent = S["vetline.media.v1.CallEvent"];
export type Recording = S["vetline.media.v1.Recording"];
export type CallHistoryRow = S["vetline.media.v1.CallHistoryRow"];
export type JoinResponse = S["vetline.media.v1.JoinResponse"];
type IceServer = S["vetline.media.v1.IceServer"];

// The join's ICE servers as RTCPeerConnection takes them; none: host candidates only.
function peerConnection(joined: JoinResponse): RTCPeerConnection {
  const iceServers: RTCIceServer[] = (joined.iceServers ?? []).map((s: IceServer) => ({
    urls: s.urls ?? [],
    username: s.username,
    credential: s.credential,
  }));
  return new RTCPeerConnection({ iceServers });
}

// Raw-body routes (SDP in, SDP out) and the event stream go around openapi-fetch's JSON,
// but their paths are still checked against the schema.
const WHIP: keyof paths = "/v1/calls/{call_id}/whip/{kind}";
const WHEP: keyof paths = "/v1/calls/{call_id}/whep/{publication_id}";
const EVENTS: keyof paths = "/v1/calls/{call_id}/events";

function fill(path: string, parts: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(parts[k] ?? ""));
}

// Non-trickle: wait until the browser has gathered its candidates (loopback/host ones take
// a few milliseconds), bounded so a slow interface cannot hang the join.
function gathered(pc: RTCPeerConnection, limitMs = 3000): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      window.clearTimeout(timer);
      resolve();
    };
    const timer = window.setTimeout(() => {
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    }, limitMs);
    pc.addEventListener("icegatheringstatechange", done);
  });
}

// The media service forwards VP8 and Opus without transcoding: offer those first.
function preferVp8(t: RTCRtpTransceiver): void {
  const caps = RTCRtpReceiver.getCapabilities?.("video");
  const vp8 = caps?.codecs.filter((c) => c.mimeType.toLowerCase() === "video/vp8") ?? [];
  if (vp8.length && t.setCodecPreferences) {
    try {
      t.setCodecPreferences(vp8);
    } catch {
      // A browser that refuses the preference still offers VP8 among its codecs.
    }
  }
}

async function offerAnswer(pc: RTCPeerConnection, url: string, token: string): Promise<string> {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/sdp", Authorization: `Bearer ${token}` },
    body: pc.localDescription?.sdp ?? "",
  });
  if (!response.ok) throw toError(response, await response.json().catch(() => undefined));
  await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
  return response.headers.get("Location") ?? "";
}

// One WHIP publication or WHEP subscription: its connection and the session to DELETE.
export class MediaSession {
  constructor(
    readonly pc: RTCPeerConnection,
    private readonly location: string,
    private readonly token: string,
  ) {}
  async stop(): Promise<void> {
    this.pc.close();
    if (this.location) {
      await fetch(this.location, { method: "DELETE", headers: { Authorization: `Bearer ${this.token}` } }).catch(() => {});
    }
  }
  // Another camera or microphone, without renegotiating.
  async replace(track: MediaStreamTrack): Promise<void> {
    const sender = this.pc.getSenders().find((s) => s.track?.kind === track.kind);
    await sender?.replaceTrack(track);
  }
}

export async function publish(callId: string, joined: JoinResponse, kind: "camera" | "screen", stream: MediaStream): Promise<MediaSession> {
  const token = joined.participantToken ?? "";
  const pc = peerConnection(joined);
  for (const track of stream.getTracks()) {
    const t = pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
    if (track.kind === "video") preferVp8(t);
  }
  try {
    return new MediaSession(pc, await offerAnswer(pc, fill(WHIP, { call_id: callId, kind }), token), token);
  } catch (e) {
    pc.close();
    throw e;
  }
}

export async function subscribe(callId: string, joined: JoinResponse, pub: Publication): Promise<{ session: MediaSession; stream: MediaStream }> {
  const token = joined.participantToken ?? "";
  const pc = peerConnection(joined);
  const stream = new MediaStream();
  pc.addEventListener("track", (e) => stream.addTrack(e.track));
  preferVp8(pc.addTransceiver("video", { direction: "recvonly" }));
  if (pub.kind === "camera") pc.addTransceiver("audio", { direction: "recvonly" });
  try {
    const location = await offerAnswer(pc, fill(WHEP, { call_id: callId, publication_id: pub.id ?? "" }), token);
    return { session: new MediaSession(pc, location, token), stream };
  } catch (e) {
    pc.close();
    throw e;
  }
}

const EVENT_TYPES = ["snapshot", "admitted", "removed", "waiting", "left", "media_state", "published", "unpublished",
  "recording_started", "recording_stopped", "ended"];

// The call as this participant sees it. EventSource cannot send headers, so the token goes
// as `access_token`; a refused stream (removed, call ended) calls `onClosed`.
export function watchCall(callId: string, token: string, onEvent: (e: CallEvent) => void, onClosed: () => void): () => void {
  const source = new EventSource(`${fill(EVENTS, { call_id: callId })}?access_token=${encodeURIComponent(token)}`);
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (m) => {
      try {
        onEvent(JSON.parse((m as MessageEvent<string>).data) as CallEvent);
      } catch {
        // A malformed event is skipped; the next snapshot (on reconnect) corrects the view.
      }
    });
  }
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) onClosed();
  };
  return () => source.close();
}

export function tellMediaState(callId: string, token: string, muted: boolean, cameraOff: boolean): Promise<Participant> {
  return must(api.POST("/v1/calls/{call_id}/media-state", {
    params: { path: { call_id: callId } },
    body: { participantToken: token, muted, cameraOff },
  }));
}

export async function leaveCall(callId: string, token: string): Promise<void> {
  await api.POST("/v1/calls/{call_id}/leave", {
    params: { path: { call_id: callId } },
    headers: { Authorization: `Bearer ${token}` },
  }).catch(() => undefined);
}

export function errorText(e: unknown, fallback: string): string {
  return e instanceof ApiError || e instanceof Error ? e.message : fallback;
}
