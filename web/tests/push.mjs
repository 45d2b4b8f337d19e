// The portal's push opt-in in a real browser: the client turns notifications on, the next
// staff message reaches the loopback Web Push receiver as a real, decrypted Web Push and the
// portal's service worker shows it; off again removes the subscription in the browser and
// on the server. A refused permission shows the blocked state; a browser without the Push
// API gets no switch.
//   node tests/push.mjs <config.json>
//
// Headless Chromium cannot reach a push service, so only PushManager.subscribe and
// getSubscription are replaced (before any page script) by ones answering with the
// receiver's real subscription (its endpoint, P-256 key and auth secret).
import { readFileSync } from "node:fs";
import { checkAccessibility, expect, launch, Run, WAIT, watchPage } from "./harness.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const run = new Run(cfg.screenshotDir);
const problems = [];
const browser = await launch();
const SWITCH = "Get a notification when the clinic writes";
const staffAuth = { Authorization: `Bearer ${cfg.staffToken}`, "Content-Type": "application/json" };

async function staffSends(text) {
  const r = await fetch(`${cfg.baseUrl}/v1/conversations/${cfg.conversationId}/messages`, {
    method: "POST", headers: staffAuth, body: JSON.stringify({ text }),
  });
  expect(r.ok, `the staff message was refused: ${r.status} ${await r.text()}`);
}

// What staff see on the client's profile: the clients service follows push.subscribed /
// push.unsubscribed from the conversations outbox.
async function pushStatusBecomes(want) {
  let last = "";
  for (const t0 = Date.now(); Date.now() - t0 < 20000; await new Promise((r) => setTimeout(r, 200))) {
    const r = await fetch(`${cfg.baseUrl}/v1/clients/${cfg.client.id}`, { headers: staffAuth });
    last = (await r.json()).contactOptions?.pushStatus ?? "";
    if (last === want) return;
  }
  throw new Error(`the client's push status stayed ${last}, not ${want}`);
}

async function received() {
  const r = await fetch(`${cfg.pushReceiverUrl}/_received`);
  return (await r.json()).map((m) => ({ ...m, payload: Buffer.from(m.payload_b64, "base64").toString("utf8") }));
}

// The receiver's subscription in place of the push service's.
function fakePushManager(sub) {
  if (typeof PushManager === "undefined") return;
  const KEY = "test.push-subscribed";
  const calls = (window.__pushCalls = []);
  const bytes = (b64url) => Uint8Array.from(atob(b64url.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)).buffer;
  const make = () => ({
    endpoint: sub.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true },
    getKey: (name) => bytes(sub.keys[name]),
    toJSON: () => ({ endpoint: sub.endpoint, expirationTime: null, keys: { ...sub.keys } }),
    unsubscribe: async () => { localStorage.removeItem(KEY); calls.push({ unsubscribe: true }); return true; },
  });
  PushManager.prototype.subscribe = async function (options) {
    calls.push({ subscribe: { userVisibleOnly: options.userVisibleOnly, key: Array.from(new Uint8Array(options.applicationServerKey)) } });
    localStorage.setItem(KEY, "1");
    return make();
  };
  PushManager.prototype.getSubscription = async function () { return localStorage.getItem(KEY) ? make() : null; };
}

async function signIn(page) {
  await page.goto(`${cfg.baseUrl}/portal/?clinic=${cfg.clinicId}`);
  await page.getByLabel("Email").fill(cfg.client.email);
  await page.getByLabel("Password").fill(cfg.client.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("log").getByText(cfg.seededMessage).waitFor({ timeout: WAIT });
}

async function switchChecked(page, want) {
  const sw = page.getByRole("switch", { name: SWITCH });
  await sw.waitFor({ timeout: WAIT });
  for (const t0 = Date.now(); Date.now() - t0 < WAIT; await page.waitForTimeout(100)) {
    if ((await sw.getAttribute("aria-checked")) === String(want) && (await sw.isEnabled())) return sw;
  }
  throw new Error(`the switch is not ${want ? "on" : "off"}: aria-checked=${await sw.getAttribute("aria-checked")}`);
}

try {
  // Phone width, notifications allowed for the portal's origin.
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
  await ctx.grantPermissions(["notifications"], { origin: cfg.baseUrl });
  await ctx.addInitScript(fakePushManager, cfg.pushSubscription);
  const page = await ctx.newPage();
  watchPage(page, problems);

  const offFirst = await run.step("signed in the switch is there and off", page, async () => {
    await signIn(page);
    await switchChecked(page, false);
    await page.getByRole("status").filter({ hasText: "Off." }).waitFor({ timeout: WAIT });
    await checkAccessibility(page, "portal with the push opt-in off");
  });

  const on = offFirst && await run.step("turning it on subscribes with the clinic's key and the server keeps it", page, async () => {
    await page.getByRole("switch", { name: SWITCH }).click();
    await switchChecked(page, true);
    await page.getByRole("status").filter({ hasText: "On for this browser." }).waitFor({ timeout: WAIT });
    const calls = await page.evaluate(() => window.__pushCalls);
    const sub = calls.find((c) => c.subscribe)?.subscribe;
    expect(sub, "pushManager.subscribe was not called");
    expect(sub.userVisibleOnly === true, "subscribe was not asked for userVisibleOnly");
    expect(Buffer.from(sub.key).equals(Buffer.from(cfg.vapidPublicKey, "base64url")),
      "applicationServerKey is not the server's VAPID public key");
    const worker = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.getRegistration("/portal/");
      return reg && { scope: reg.scope, script: reg.active?.scriptURL };
    });
    expect(worker?.scope === `${cfg.baseUrl}/portal/`, `the worker's scope is ${worker?.scope}`);
    expect(worker?.script === `${cfg.baseUrl}/portal/sw.js`, `the worker is ${worker?.script}`);
    await pushStatusBecomes("PUSH_ENABLED");
    await checkAccessibility(page, "portal with the push opt-in on");
    await run.screenshot(page, "01-push-on-390px");
  });

  if (on) {
    await run.step("the next staff message arrives as a real Web Push and the worker shows it", page, async () => {
      const text = `Bella's X-rays look good. ${Date.now()}`;
      await staffSends(text);
      let push;
      for (const t0 = Date.now(); !push && Date.now() - t0 < 20000; await new Promise((r) => setTimeout(r, 200))) {
        push = (await received()).find((m) => m.payload.includes(text));
      }
      expect(push, "the receiver got no Web Push carrying the message");
      expect(push.id === cfg.pushSubscription.endpoint.split("/").pop(), "the push went to another endpoint");
      const payload = JSON.parse(push.payload);
      expect(payload.body === text && payload.conversationId === cfg.conversationId, `unexpected payload ${push.payload}`);

      // The decrypted payload handed to the portal's own service worker as a push event.
      const cdp = await ctx.newCDPSession(page);
      const regs = new Map();
      cdp.on("ServiceWorker.workerRegistrationUpdated", (e) => e.registrations.forEach((r) => regs.set(r.scopeURL, r)));
      await cdp.send("ServiceWorker.enable");
      for (const t0 = Date.now(); !regs.has(`${cfg.baseUrl}/portal/`) && Date.now() - t0 < WAIT;) await page.waitForTimeout(100);
      const reg = regs.get(`${cfg.baseUrl}/portal/`);
      expect(reg, "DevTools lists no /portal/ service worker");
      await cdp.send("ServiceWorker.deliverPushMessage", { origin: cfg.baseUrl, registrationId: reg.registrationId, data: push.payload });
      let shown = [];
      for (const t0 = Date.now(); !shown.length && Date.now() - t0 < WAIT; await page.waitForTimeout(100)) {
        shown = await page.evaluate(async (body) => {
          const r = await navigator.serviceWorker.getRegistration("/portal/");
          return (await r.getNotifications()).filter((n) => n.body === body).map((n) => ({ title: n.title, tag: n.tag, data: n.data }));
        }, text);
      }
      expect(shown.length === 1, "the service worker showed no notification for the push");
      expect(shown[0].title === payload.title, `notification title ${shown[0].title}, payload title ${payload.title}`);
      expect(shown[0].data.conversationId === cfg.conversationId, "the notification does not name the conversation");
      expect(shown[0].data.url.startsWith(`${cfg.baseUrl}/portal/conversations/${cfg.conversationId}`),
        `a click would open ${shown[0].data.url}`);
      await cdp.detach();
    });

    await run.step("a click on the notification brings the open portal tab to its conversation", page, async () => {
      // The tab shows another portal page (the booking widget) when the click comes.
      await page.goto(`${cfg.baseUrl}/portal/book?clinic=${cfg.clinicId}`);
      const worker = ctx.serviceWorkers().find((w) => w.url() === `${cfg.baseUrl}/portal/sw.js`);
      expect(worker, "Playwright sees no portal service worker");
      // The worker's own click handler, given the notification it showed. (A script's
      // event is not a user's click: the browser refuses the focus, which comes last.)
      const closed = await worker.evaluate(async () => {
        const [n] = await self.registration.getNotifications();
        if (!n) return false;
        try {
          self.dispatchEvent(new NotificationEvent("notificationclick", { notification: n }));
        } catch {
          // waitUntil refuses a script's event; the handler has run by then
        }
        await new Promise((r) => setTimeout(r, 300));
        return (await self.registration.getNotifications()).length === 0;
      });
      expect(closed, "the notification was not closed by the click");
      await page.waitForURL(`${cfg.baseUrl}/portal/conversations/${cfg.conversationId}`, { timeout: WAIT });
      await page.getByRole("log").getByText(cfg.seededMessage).waitFor({ timeout: WAIT });
    });

    await run.step("after a reload it is still on", page, async () => {
      await page.reload();
      await page.getByRole("log").getByText(cfg.seededMessage).waitFor({ timeout: WAIT });
      await switchChecked(page, true);
    });

    await run.step("turning it off unsubscribes in the browser and removes it on the server", page, async () => {
      await page.getByRole("switch", { name: SWITCH }).click();
      await switchChecked(page, false);
      const calls = await page.evaluate(() => window.__pushCalls);
      expect(calls.some((c) => c.unsubscribe), "the browser's subscription was not unsubscribed");
      await pushStatusBecomes("PUSH_NOT_INSTALLED");
      const before = (await received()).length;
      const text = `No push for this one. ${Date.now()}`;
      await staffSends(text);
      // The message itself still arrives live in the open portal; no push goes out for it.
      await page.getByRole("log").getByText(text).waitFor({ timeout: WAIT });
      await page.waitForTimeout(1500);
      expect((await received()).length === before, "a Web Push was sent after turning notifications off");
    });
  }

  await run.step("a refused permission shows the blocked state", null, async () => {
    // No permission granted: headless Chromium refuses the prompt, as a person blocking it.
    const denied = await browser.newContext({ viewport: { width: 390, height: 844 } });
    await denied.addInitScript(fakePushManager, cfg.pushSubscription);
    const p = await denied.newPage();
    watchPage(p, problems);
    try {
      await signIn(p);
      await p.getByRole("switch", { name: SWITCH }).click();
      await p.getByRole("status").filter({ hasText: "Blocked in this browser's settings" }).waitFor({ timeout: WAIT });
      const sw = p.getByRole("switch", { name: SWITCH });
      expect(await sw.isDisabled(), "the switch still offers to turn on while blocked");
      expect((await p.evaluate(() => window.__pushCalls)).length === 0, "subscribe was called without permission");
      await checkAccessibility(p, "portal with notifications blocked");
      await run.screenshot(p, "02-push-blocked-390px");
    } finally {
      await denied.close();
    }
  });

  await run.step("without the Push API there is no switch and it says so", null, async () => {
    const old = await browser.newContext({ viewport: { width: 390, height: 844 } });
    await old.addInitScript(() => { delete window.PushManager; });
    const p = await old.newPage();
    watchPage(p, problems);
    try {
      await signIn(p);
      await p.getByText("Notifications are not supported on this browser.").waitFor({ timeout: WAIT });
      expect(await p.getByRole("switch").count() === 0, "a switch is offered where push cannot work");
      await checkAccessibility(p, "portal without the Push API");
    } finally {
      await old.close();
    }
  });

  await run.step("no script errors or CSP refusals with the push opt-in", null, async () => {
    expect(problems.length === 0, problems.join("\n"));
  });
} finally {
  await browser.close();
}
process.exit(run.finish());
