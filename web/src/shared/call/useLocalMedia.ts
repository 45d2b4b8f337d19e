// This browser's camera and microphone: the preview before joining and what is published
// after. Device choice is client-side (S5): choosing another camera or microphone opens
// a new stream, and a live publication swaps its tracks without renegotiating.
// Mute and camera off disable the tracks (the others receive silence and black).
import { useEffect, useState } from "react";

export type LocalMedia = {
  stream?: MediaStream;
  error?: string;
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
  cameraId: string;
  microphoneId: string;
  setCameraId: (id: string) => void;
  setMicrophoneId: (id: string) => void;
  muted: boolean;
  cameraOff: boolean;
  setMuted: (v: boolean) => void;
  setCameraOff: (v: boolean) => void;
};

function why(e: unknown): string {
  const name = e instanceof DOMException ? e.name : "";
  if (name === "NotAllowedError") return "The browser was not allowed to use the camera and microphone. Allow them in the address bar, then reload.";
  if (name === "NotFoundError") return "No camera or microphone was found on this device.";
  if (name === "NotReadableError") return "The camera or microphone is in use by another program.";
  return "The camera and microphone could not be started.";
}

export function useLocalMedia(): LocalMedia {
  const [stream, setStream] = useState<MediaStream>();
  const [error, setError] = useState<string>();
  const [devices, setDevices] = useState<MediaDeviceInfo[]>([]);
  const [cameraId, setCameraId] = useState("");
  const [microphoneId, setMicrophoneId] = useState("");
  const [muted, setMuted] = useState(false);
  const [cameraOff, setCameraOff] = useState(false);

  useEffect(() => {
    let stopped = false;
    let got: MediaStream | undefined;
    navigator.mediaDevices
      .getUserMedia({
        video: cameraId ? { deviceId: { exact: cameraId } } : true,
        audio: microphoneId ? { deviceId: { exact: microphoneId } } : true,
      })
      .then(async (s) => {
        if (stopped) {
          s.getTracks().forEach((t) => t.stop());
          return;
        }
        got = s;
        setStream(s);
        setError(undefined);
        // Labels and ids are only given once the page may use the devices.
        setDevices(await navigator.mediaDevices.enumerateDevices());
      }, (e: unknown) => !stopped && setError(why(e)));
    return () => {
      stopped = true;
      got?.getTracks().forEach((t) => t.stop());
    };
  }, [cameraId, microphoneId]);

  useEffect(() => stream?.getAudioTracks().forEach((t) => (t.enabled = !muted)), [stream, muted]);
  useEffect(() => stream?.getVideoTracks().forEach((t) => (t.enabled = !cameraOff)), [stream, cameraOff]);

  const current = (kind: "video" | "audio") => stream?.getTracks().find((t) => t.kind === kind)?.getSettings().deviceId ?? "";
  return {
    stream,
    error,
    cameras: devices.filter((d) => d.kind === "videoinput"),
    microphones: devices.filter((d) => d.kind === "audioinput"),
    cameraId: cameraId || current("video"),
    microphoneId: microphoneId || current("audio"),
    setCameraId,
    setMicrophoneId,
    muted,
    cameraOff,
    setMuted,
    setCameraOff,
  };
}
