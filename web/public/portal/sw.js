// The client portal's service worker (served as /portal/sw.js, scope /portal/): it shows
// a notification for each Web Push the clinic's messages send, and a click on it opens
// that conversation in the portal. Plain JavaScript, copied as it is by Vite (public/);
// it imports nothing and holds no state.
//
// The payload, as services/conversations' delivery worker writes it:
//   {"title": <clinic name>, "body": <message text>, "url": <signed portal link>, "conversationId": <id>}

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

function readPayload(event) {
  if (!event.data) return {};
  try {
    const value = event.data.json();
    return value && typeof value === "object" ? value : {};
  } catch {
    return { body: event.data.text() };
  }
}

// Only a page of this portal: the link a push carries is the clinic's signed link when it
// is on this origin, else the conversation's plain portal address (sign-in if needed).
function portalUrl(data) {
  const fallback = data.conversationId
    ? `/portal/conversations/${encodeURIComponent(data.conversationId)}`
    : "/portal/";
  if (typeof data.url !== "string") return new URL(fallback, self.location.origin).href;
  try {
    const url = new URL(data.url, self.location.origin);
    if (url.origin === self.location.origin && url.pathname.startsWith("/portal/")) return url.href;
  } catch {
    // not a URL: the fallback below
  }
  return new URL(fallback, self.location.origin).href;
}

self.addEventListener("push", (event) => {
  const data = readPayload(event);
  const title = typeof data.title === "string" && data.title ? data.title : "New message from your clinic";
  event.waitUntil(
    self.registration.showNotification(title, {
      body: typeof data.body === "string" ? data.body : "",
      // One notification per conversation: a newer message replaces the older one.
      tag: data.conversationId ? `conversation-${data.conversationId}` : "vetline-message",
      renotify: true,
      data: { url: portalUrl(data), conversationId: data.conversationId || "" },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const { url, conversationId } = event.notification.data || {};
  event.waitUntil(
    (async () => {
      const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      // A portal tab already open: bring it forward and let it open the conversation.
      const tab = open.find((c) => {
        const path = new URL(c.url).pathname;
        return path === "/portal" || path.startsWith("/portal/");
      });
      if (tab) {
        tab.postMessage({ type: "vetline.open-conversation", conversationId });
        await tab.focus();
        return;
      }
      await self.clients.openWindow(url || "/portal/");
    })(),
  );
});

// The push service replaced the subscription (rare; Firefox does it): subscribe again with
// the same options and tell the clinic the new one, as the portal does when turned on.
self.addEventListener("pushsubscriptionchange", (event) => {
  const options = event.oldSubscription && event.oldSubscription.options;
  if (!options) return;
  event.waitUntil(
    self.registration.pushManager.subscribe(options).then((sub) =>
      fetch("/v1/push-subscriptions", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ endpoint: sub.endpoint, keys: sub.toJSON().keys }),
      }),
    ),
  );
});
