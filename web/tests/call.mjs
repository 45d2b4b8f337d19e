// A video call in a real browser: front desk staff (desktop) and the pet owner (phone
// width) in two browser contexts, each with Chromium's fake camera and microphone. The
// client waits, is admitted, both see each other's video (frames decoded, read from
// RTCPeerConnection.getStats), the host records and the client sees the label, the call
// ends, and the recording is in Call History and downloads.
//   node tests/call.mjs <config.json>
import { readFileSync, statSync } from "node:fs";
import { checkAccessibility, expect, launch, Run, WAIT, watchPage } from "./harness.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const run = new Run(cfg.screenshotDir);
const problems = [];
const browser = await launch();

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

// Every RTCPeerConnection the page makes, kept where the test can read its stats (through
// the DevTools protocol: the app itself is unchanged).
function keepPeerConnections() {
  const Original = window.RTCPeerConnection;
  const all = [];
  Object.defineProperty(window, "__vetlinePeerConnections", { value: all });
  window.RTCPeerConnection = class extends Original {
    constructor(...args) {
      super(...args);
      all.push(this);
    }
  };
}

// Video frames this page has decoded so far, over all its open connections.
function framesDecoded(page) {
  return page.evaluate(async () => {
    let n = 0;
    for (const pc of window.__vetlinePeerConnections ?? []) {
      if (pc.connectionState === "closed") continue;
      (await pc.getStats()).forEach((r) => {
        if (r.type === "inbound-rtp" && r.kind === "video") n += r.framesDecoded ?? 0;
      });
    }
    return n;
  });
}

// Frames keep arriving: more than `least` decoded, and more again a second later.
async function seesVideo(page, who) {
  const t0 = Date.now();
  let n = 0;
  while (Date.now() - t0 < WAIT) {
    n = await framesDecoded(page);
    if (n > 30) break;
    await page.waitForTimeout(250);
  }
  expect(n > 30, `${who} decoded only ${n} video frames in ${WAIT} ms`);
  await page.waitForTimeout(1000);
  const later = await framesDecoded(page);
  expect(later > n, `${who}'s video stopped: ${n} frames, then ${later} a second later`);
  return later;
}

// The screen as it is, checked and shot, then at the other width too.
async function bothWidths(page, what, name, first) {
  const second = first === DESKTOP ? PHONE : DESKTOP;
  const label = (size) => (size === PHONE ? "390px" : "desktop");
  await checkAccessibility(page, `${what} (${label(first)})`);
  await run.screenshot(page, `${name}-${label(first)}`);
  await page.setViewportSize(second);
  try {
    await page.waitForTimeout(150);
    const [overflow, wide] = await page.evaluate(() => [
      document.scrollingElement.scrollWidth - window.innerWidth,
      // The outermost elements that stick out, to say what to fix.
      [...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 &&
        !(e.parentElement && e.parentElement.getBoundingClientRect().right > window.innerWidth + 1))
        .slice(0, 3).map((e) => `${e.tagName.toLowerCase()}.${e.className}`),
    ]);
    expect(overflow <= 0, `${what} scrolls sideways by ${overflow} px at ${second.width} px (${wide.join(", ")})`);
    await checkAccessibility(page, `${what} (${label(second)})`);
    await run.screenshot(page, `${name}-${label(second)}`);
  } finally {
    await page.setViewportSize(first);
  }
}

async function api(method, path, body) {
  const r = await fetch(`${cfg.baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${cfg.staffToken}`, "Content-Type": "application/json" },
    body: body && JSON.stringify(body),
  });
  const text = await r.text();
  expect(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}

try {
  const desk = await browser.newContext({ viewport: DESKTOP });
  await desk.addInitScript(keepPeerConnections);
  const host = await desk.newPage();
  watchPage(host, problems);
  const home = await browser.newContext({ viewport: PHONE });
  await home.addInitScript(keepPeerConnections);
  const client = await home.newPage();
  watchPage(client, problems);
  let callId = "";

  const opened = await run.step("staff start a video chat from the client profile and open the call", host, async () => {
    await host.goto(`${cfg.baseUrl}/clients/${cfg.client.id}`);
    await host.getByLabel("Email").fill(cfg.staff.email);
    await host.getByLabel("Password").fill(cfg.staff.password);
    await host.getByRole("button", { name: "Sign in" }).click();
    await host.getByRole("heading", { name: cfg.client.name, level: 1 }).waitFor({ timeout: WAIT });
    await host.getByText("No video calls yet.").waitFor({ timeout: WAIT });
    await host.getByRole("button", { name: "Video chat" }).click();
    await host.waitForURL(`**/inbox/${cfg.conversationId}`);
    const invitation = host.getByRole("log", { name: "Messages" }).locator("article").filter({ hasText: "Video call invitation" });
    await invitation.getByRole("link", { name: "Join now" }).click();
    await host.waitForURL("**/calls/*");
    callId = new URL(host.url()).pathname.split("/").pop();
    // The preview plays the camera, and the devices are there to choose from.
    await host.waitForFunction(() => document.querySelector("video")?.videoWidth > 0, null, { timeout: WAIT });
    expect(await host.getByLabel("Camera", { exact: true }).locator("option").count() > 0, "no camera to choose");
    expect(await host.getByLabel("Microphone", { exact: true }).locator("option").count() > 0, "no microphone to choose");
    expect(await host.getByLabel("Your name in the call").inputValue() === "Dana Front Desk", "the host's name is not filled in");
    await host.getByRole("button", { name: "Mute", exact: true }).click();
    await host.getByRole("button", { name: "Unmute", exact: true }).click();
    await bothWidths(host, "call preview", "10-call-preview", DESKTOP);
  });

  if (opened) {
    await run.step("the host joins and the call waits for the client", host, async () => {
      await host.getByRole("button", { name: "Join now", exact: true }).click();
      await host.getByRole("status").filter({ hasText: "Waiting for the client to join." }).waitFor({ timeout: WAIT });
      await host.getByText("Nobody is waiting.").waitFor();
      expect(await host.getByRole("button", { name: "Start recording" }).isDisabled(), "recording is offered before anyone else is in the call");
    });

    const waiting = await run.step("the client opens the invitation in the portal, gives a name and waits", client, async () => {
      await client.goto(`${cfg.baseUrl}/portal/?clinic=${cfg.clinicId}`);
      await client.getByLabel("Email").fill(cfg.client.email);
      await client.getByLabel("Password").fill(cfg.client.password);
      await client.getByRole("button", { name: "Sign in" }).click();
      const invitation = client.getByRole("log").locator("article").filter({ hasText: "Video call invitation" });
      await invitation.getByRole("link", { name: "Join now" }).click();
      await client.waitForURL(`**/portal/video/${callId}?invitation=*`);
      await client.waitForFunction(() => document.querySelector("video")?.videoWidth > 0, null, { timeout: WAIT });
      await bothWidths(client, "join screen", "11-join", PHONE);
      await client.getByLabel("Your name", { exact: true }).fill(cfg.client.name);
      await client.getByRole("button", { name: "Join now", exact: true }).click();
      await client.getByRole("status").filter({ hasText: "Waiting for the clinic to let you in" }).waitFor({ timeout: WAIT });
      await bothWidths(client, "waiting room", "12-waiting", PHONE);
    });

    const inCall = waiting && await run.step("the host sees the client waiting and admits them", host, async () => {
      await host.getByRole("heading", { name: "Waiting room (1)" }).waitFor({ timeout: WAIT });
      await bothWidths(host, "host with someone waiting", "13-host-waiting-room", DESKTOP);
      await host.getByRole("button", { name: `Admit ${cfg.client.name}` }).click();
      await host.getByRole("heading", { name: "In the call (2)" }).waitFor({ timeout: WAIT });
      await host.getByRole("status").filter({ hasText: "The call is under way." }).waitFor({ timeout: WAIT });
      await client.getByRole("status").filter({ hasText: "You are in the call." }).waitFor({ timeout: WAIT });
    });

    if (inCall) {
      await run.step("both see each other's video: frames decoded on each side", host, async () => {
        await host.getByRole("figure").filter({ hasText: cfg.client.name }).waitFor({ timeout: WAIT });
        await client.getByRole("figure").filter({ hasText: "Dana Front Desk" }).waitFor({ timeout: WAIT });
        const [atHost, atClient] = await Promise.all([seesVideo(host, "the host"), seesVideo(client, "the client")]);
        console.log(`# frames decoded: host ${atHost}, client ${atClient}`);
        for (const [page, name] of [[host, cfg.client.name], [client, "Dana Front Desk"]]) {
          const size = await page.getByRole("figure").filter({ hasText: name }).locator("video")
            .evaluate((v) => [v.videoWidth, v.videoHeight]);
          expect(size[0] > 0 && size[1] > 0, `${name}'s tile shows no picture (${size})`);
        }
        await bothWidths(host, "host in the call", "14-host-in-call", DESKTOP);
        await bothWidths(client, "client in the call", "15-client-in-call", PHONE);
      });

      await run.step("mute is shown to the other side", host, async () => {
        await client.getByRole("toolbar", { name: "Call controls" }).getByRole("button", { name: "Mute", exact: true }).click();
        await host.getByRole("figure").filter({ hasText: `${cfg.client.name} (muted)` }).waitFor({ timeout: WAIT });
        await client.getByRole("toolbar", { name: "Call controls" }).getByRole("button", { name: "Unmute", exact: true }).click();
        await host.getByRole("figure").filter({ hasText: cfg.client.name }).filter({ hasNotText: "(muted)" }).waitFor({ timeout: WAIT });
      });

      await run.step("the client shares their screen and the host sees it", client, async () => {
        const bar = client.getByRole("toolbar", { name: "Call controls" });
        await bar.getByRole("button", { name: "Share screen", exact: true }).click();
        await bar.getByRole("button", { name: "Stop sharing", exact: true }).waitFor({ timeout: WAIT });
        const tile = host.getByRole("figure").filter({ hasText: `${cfg.client.name}'s screen` });
        await tile.waitFor({ timeout: WAIT });
        await host.waitForFunction((name) => [...document.querySelectorAll("figure")]
          .some((f) => f.textContent.includes(name) && f.querySelector("video")?.videoWidth > 0), `${cfg.client.name}'s screen`, { timeout: WAIT });
        await bar.getByRole("button", { name: "Stop sharing", exact: true }).click();
        await tile.waitFor({ state: "detached", timeout: WAIT });
      });

      await run.step("the host records and the client sees the recording label", host, async () => {
        await host.getByRole("button", { name: "Start recording" }).click();
        await host.getByRole("status").filter({ hasText: "Recording" }).waitFor({ timeout: WAIT });
        await client.getByRole("status").filter({ hasText: /^\W*Recording$/ }).waitFor({ timeout: WAIT });
        await bothWidths(client, "client with the recording label", "16-client-recording", PHONE);
        await host.waitForTimeout(4000); // a few seconds of the call on record
        await host.getByRole("button", { name: "Stop recording" }).click();
        await client.getByRole("status").filter({ hasText: /^\W*Recording$/ }).waitFor({ state: "detached", timeout: WAIT });
      });

      await run.step("the host ends the call and the client is told", host, async () => {
        await host.getByRole("button", { name: "End call for everyone" }).click();
        await host.getByRole("status").filter({ hasText: "The call has ended." }).waitFor({ timeout: WAIT });
        await client.getByRole("status").filter({ hasText: "The call has ended. Thank you for joining." }).waitFor({ timeout: WAIT });
        await checkAccessibility(client, "call ended (portal)");
        await run.screenshot(client, "17-client-call-ended-390px");
      });

      await run.step("the recording is in Call History and downloads", host, async () => {
        await host.getByRole("link", { name: "Calls", exact: true }).click();
        await host.getByRole("heading", { name: "Call history", level: 1 }).waitFor({ timeout: WAIT });
        const row = host.getByRole("row").filter({ hasText: "Dana Front Desk" }).filter({ hasText: cfg.client.name });
        await row.first().waitFor({ timeout: WAIT });
        // Composing a few seconds of two participants takes about a second; the page looks again by itself.
        const link = row.getByRole("link", { name: /^Download/ });
        await link.waitFor({ timeout: 60000 });
        await bothWidths(host, "call history", "18-call-history", DESKTOP);
        const [download] = await Promise.all([host.waitForEvent("download"), link.click()]);
        const file = await download.path();
        const bytes = readFileSync(file);
        // A WebM file starts with the EBML magic number.
        expect(bytes.subarray(0, 4).equals(Buffer.from([0x1a, 0x45, 0xdf, 0xa3])), "the download is not a WebM file");
        expect(statSync(file).size > 10000, `the recording is only ${statSync(file).size} bytes`);
        expect(/\.webm$/.test(download.suggestedFilename()), `the download is named ${download.suggestedFilename()}`);
        console.log(`# recording downloaded: ${bytes.length} bytes`);
        // And the client's profile lists the same call.
        await host.goto(`${cfg.baseUrl}/clients/${cfg.client.id}`);
        const calls = host.getByRole("region", { name: "Video calls" });
        await calls.getByRole("link", { name: /^Download/ }).waitFor({ timeout: WAIT });
        await checkAccessibility(host, "client profile with calls");
      });
    }

    await run.step("before the join window opens the join screen says when it opens", client, async () => {
      // A call booked for tomorrow: its link works from 30 minutes before the start.
      const start = new Date(Date.now() + 24 * 3600 * 1000);
      start.setUTCSeconds(0, 0);
      const made = await api("POST", "/v1/calls", { clientId: cfg.client.id, scheduledStart: start.toISOString() });
      const link = new URL(made.invitation.joinUrl);
      expect(link.pathname === `/portal/video/${made.call.id}`, `the join link points at ${link.pathname}`);
      // Said on arrival, before anyone types a name or presses Join.
      await client.goto(`${cfg.baseUrl}${link.pathname}${link.search}`);
      const opens = new Date(start.getTime() - 30 * 60 * 1000);
      const said = client.getByRole("status").filter({ hasText: "This call opens for joining at" });
      await said.waitFor({ timeout: WAIT });
      const shown = await said.locator("time").getAttribute("datetime");
      expect(shown === opens.toISOString(), `the page says it opens at ${shown}, not ${opens.toISOString()}`);
      expect(await client.getByRole("button", { name: "Join now", exact: true }).isDisabled(), "Join stays active before the window opens");
      await bothWidths(client, "join window not open", "19-join-too-early", PHONE);
    });

    await run.step("a tampered link gets a clear page", client, async () => {
      // Told on arrival: there is nothing to join with it.
      await client.goto(`${cfg.baseUrl}/portal/video/${callId}?invitation=not-a-real-invitation`);
      await client.getByRole("status").filter({ hasText: /invalid or has expired/ }).waitFor({ timeout: WAIT });
      await run.screenshot(client, "20-join-bad-link-390px");
    });
  }

  await run.step("no script errors or CSP refusals on the call screens", null, async () => {
    expect(problems.length === 0, problems.join("\n"));
  });
} finally {
  await browser.close();
}
process.exit(run.finish());
