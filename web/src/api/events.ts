// Realtime inbox events: the gateway's Server-Sent Events on /v1/events. EventSource
// reconnects by itself and sends Last-Event-ID, and the service replays what was missed,
// so the screen never has to poll. A stream refused outright (401) is not retried by the
// browser: we ask /v1/me whether the session ended.
import { api, type ConversationEvent } from "./client";

const TYPES = ["snapshot", "message.created", "conversation.updated", "conversation.read", "delivery.updated"];

export type LiveState = "connecting" | "live" | "offline";

export function watchEvents(
  onEvent: (e: ConversationEvent) => void,
  onState: (s: LiveState) => void,
): () => void {
  let source: EventSource | null = null;
  let retry: number | undefined;
  let stopped = false;
  const open = () => {
    onState("connecting");
    source = new EventSource("/v1/events");
    source.onopen = () => onState("live");
    for (const type of TYPES) {
      source.addEventListener(type, (m) => {
        onState("live");
        try {
          onEvent(JSON.parse((m as MessageEvent<string>).data) as ConversationEvent);
        } catch {
          // A malformed event is skipped; the next snapshot or refresh corrects the view.
        }
      });
    }
    source.onerror = () => {
      if (source?.readyState !== EventSource.CLOSED) {
        onState("connecting"); // the browser is already reconnecting
        return;
      }
      onState("offline");
      // Refused: a 401 makes the client's middleware end the session; otherwise retry.
      void api.GET("/v1/me").finally(() => {
        if (!stopped) retry = window.setTimeout(open, 3000);
      });
    };
  };
  open();
  return () => {
    stopped = true;
    window.clearTimeout(retry);
    source?.close();
  };
}
