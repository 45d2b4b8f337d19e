// The portal's push-notification opt-in (Web Push): a notification in this browser when the
// clinic writes. The service worker (public/portal/sw.js, scope /portal/) shows them; the
// subscription is posted to /v1/push-subscriptions and removed there when turned off.
// Shown only where the browser has service workers and the Push API, and only when the
// server has a VAPID key (push set up for this deployment).
import { useCallback, useEffect, useState } from "react";
import { api, ApiError, must } from "../api/client";

const WORKER = "/portal/sw.js";
const SCOPE = "/portal/";
// Which subscription this browser registered, for whom, and its id on the server (for
// DELETE). Another client signing in on the same browser sees push as off.
const STORED = "vetline.push";

type Stored = { endpoint: string; id: string; clientId: string };
type State = "checking" | "hidden" | "unsupported" | "off" | "on" | "blocked" | "working";

export function pushSupported(): boolean {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

function readStored(): Stored | undefined {
  try {
    const v = JSON.parse(window.localStorage.getItem(STORED) ?? "null") as Stored | null;
    return v && typeof v.endpoint === "string" && typeof v.id === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

// applicationServerKey: the VAPID public key (base64url) as bytes.
function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const b64 = base64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (base64url.length % 4)) % 4);
  const raw = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

function subscriptionBody(sub: PushSubscription) {
  const keys = sub.toJSON().keys ?? {};
  return { endpoint: sub.endpoint, keys: { p256dh: keys.p256dh ?? "", auth: keys.auth ?? "" } };
}

async function existingSubscription(): Promise<PushSubscription | null> {
  const reg = await navigator.serviceWorker.getRegistration(SCOPE);
  return reg ? reg.pushManager.getSubscription() : null;
}

export function PushOptIn({ clientId }: { clientId: string }) {
  const [state, setState] = useState<State>("checking");
  const [vapidKey, setVapidKey] = useState<string>();
  const [problem, setProblem] = useState<string>();

  // The subscription (new or found again) told to the server; the answer's id kept for DELETE.
  const register = useCallback(async (sub: PushSubscription) => {
    const saved = await must(api.POST("/v1/push-subscriptions", { body: subscriptionBody(sub) }));
    window.localStorage.setItem(STORED, JSON.stringify({ endpoint: sub.endpoint, id: saved.id ?? "", clientId }));
    return saved;
  }, [clientId]);

  useEffect(() => {
    let live = true;
    void (async () => {
      const { data, response } = await api.GET("/v1/push/vapid-public-key").catch(() => ({ data: undefined, response: undefined }));
      if (!live) return;
      // 400: push is not set up on this server; say nothing rather than offer what cannot work.
      if (response?.status === 400) return setState("hidden");
      if (!pushSupported()) return setState("unsupported");
      if (!data?.publicKey) {
        setProblem("Notification settings could not be loaded. Reload the page to try again.");
        return setState("hidden");
      }
      setVapidKey(data.publicKey);
      if (Notification.permission === "denied") return setState("blocked");
      const sub = await existingSubscription().catch(() => null);
      const stored = readStored();
      const mine = sub && Notification.permission === "granted" && stored?.endpoint === sub.endpoint && stored.clientId === clientId;
      if (!live) return;
      setState(mine ? "on" : "off");
      // Tell the server again: it drops subscriptions a push service said are gone.
      if (mine && sub) void register(sub).catch(() => {});
    })();
    return () => { live = false; };
  }, [clientId, register]);

  const turnOn = async () => {
    if (!vapidKey) return;
    setProblem(undefined);
    setState("working");
    const permission = await Notification.requestPermission();
    if (permission === "denied") return setState("blocked");
    if (permission !== "granted") {
      setProblem("Notifications were not allowed. Choose the switch again to be asked once more.");
      return setState("off");
    }
    let sub: PushSubscription;
    try {
      await navigator.serviceWorker.register(WORKER, { scope: SCOPE });
      const reg = await navigator.serviceWorker.ready;
      sub = (await reg.pushManager.getSubscription()) ??
        (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(vapidKey) }));
    } catch {
      setProblem("This browser could not sign up for notifications. Try again later, or use another browser.");
      return setState("off");
    }
    try {
      await register(sub);
      setState("on");
    } catch (e) {
      // The server did not keep it: leave nothing behind in the browser either.
      await sub.unsubscribe().catch(() => false);
      setProblem(e instanceof ApiError && e.status === 400 && e.code === "FAILED_PRECONDITION"
        ? "Notifications need your portal account to be linked by your clinic first."
        : e instanceof ApiError && e.status === 400
          ? "Your clinic could not accept this browser for notifications. Try again later, or use another browser."
          : "Notifications could not be turned on right now. Try again in a moment.");
      setState("off");
    }
  };

  const turnOff = async () => {
    setProblem(undefined);
    setState("working");
    try {
      const sub = await existingSubscription();
      const stored = readStored();
      if (sub) {
        // The id the server gave this endpoint (registering again answers the same id).
        const id = stored?.endpoint === sub.endpoint && stored.id ? stored.id : (await register(sub)).id;
        if (id) {
          const { response } = await api.DELETE("/v1/push-subscriptions/{id}", { params: { path: { id } } });
          if (!response.ok && response.status !== 404) throw new Error(`the server answered ${response.status}`);
        }
        await sub.unsubscribe();
      }
      window.localStorage.removeItem(STORED);
      setState("off");
    } catch {
      setProblem("Notifications could not be turned off right now. Try again in a moment.");
      setState("on");
    }
  };

  if (state === "checking" || state === "hidden") {
    return problem ? <div className="push-optin"><p className="small muted" role="status">{problem}</p></div> : null;
  }
  if (state === "unsupported") {
    return <div className="push-optin"><p className="small muted">Notifications are not supported on this browser.</p></div>;
  }
  const on = state === "on";
  return (
    <div className="push-optin">
      <button type="button" role="switch" className="switch" aria-checked={on} aria-describedby="push-optin-state"
        disabled={state === "working" || state === "blocked"} onClick={() => void (on ? turnOff() : turnOn())}>
        Get a notification when the clinic writes
      </button>
      <span id="push-optin-state" className="small muted" role="status">
        {state === "working" ? "One moment…" : state === "blocked"
          ? "Blocked in this browser's settings. Allow notifications for this site there to turn them on."
          : on ? "On for this browser." : "Off."}
      </span>
      {problem && <p className="alert error small" role="alert">{problem}</p>}
    </div>
  );
}
