// A video call where both browsers can reach nothing but the clinic's TURN relay: every
// RTCPeerConnection the app makes is forced to iceTransportPolicy "relay", so media only
// flows if the app passed on the ICE servers the join answered and the relay (coturn on
// loopback, started by the test) accepted their credentials. The host and the client
// see each other's video, over a candidate pair whose local side is a relay candidate.
// Writes the TURN usernames the browsers were given to cfg.relayReport, for the test to
// find in coturn's log.
//   node tests/call_relay.mjs <config.json>
import { readFileSync, writeFileSync } from "node:fs";
import { expect, launch, Run, WAIT, watchPage } from "./harness.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const run = new Run(cfg.screenshotDir);
const problems = [];
const browser = await launch();

// What a network that lets only the relay through leaves a browser: relay candidates.
// The app's own configuration (its iceServers) is kept and recorded.
function onlyTheRelay() {
  const Original = window.RTCPeerConnection;
  const all = [];
  Object.defineProperty(window, "__vetlinePeerConnections", { value: all });
  window.RTCPeerConnection = class extends Original {
    constructor(config = {}, ...rest) {
      super({ ...config, iceTransportPolicy: "relay" }, ...rest);
      all.push({ pc: this, iceServers: config.iceServers ?? [] });
    }
  };
}

// Frames decoded over the open connections, and the candidate types of each one's
// selected pair.
function mediaStats(page) {
  return page.evaluate(async () => {
    let frames = 0;
    const pairs = [];
    for (const { pc } of window.__vetlinePeerConnections ?? []) {
      if (pc.connectionState === "closed") continue;
      const stats = await pc.getStats();
      stats.forEach((r) => {
        if (r.type === "inbound-rtp" && r.kind === "video") frames += r.framesDecoded ?? 0;
        if (r.type === "transport" && r.selectedCandidatePairId) {
          const pair = stats.get(r.selectedCandidatePairId);
          const local = pair && stats.get(pair.localCandidateId);
          pairs.push(local?.candidateType ?? "none");
        }
      });
    }
    return { frames, pairs };
  });
}

async function seesVideoThroughRelay(page, who) {
  const t0 = Date.now();
  let s = { frames: 0, pairs: [] };
  while (Date.now() - t0 < 2 * WAIT) {
    s = await mediaStats(page);
    if (s.frames > 30) break;
    await page.waitForTimeout(250);
  }
  expect(s.frames > 30, `${who} decoded only ${s.frames} video frames through the relay`);
  expect(s.pairs.length >= 2 && s.pairs.every((t) => t === "relay"),
    `${who}'s connections are not all relayed: ${JSON.stringify(s.pairs)}`);
  return s.frames;
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

// The ICE servers each page's connections were made with.
function iceServersOf(page) {
  return page.evaluate(() => (window.__vetlinePeerConnections ?? []).map((c) => c.iceServers));
}

try {
  const desk = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await desk.addInitScript(onlyTheRelay);
  const host = await desk.newPage();
  watchPage(host, problems);
  const home = await browser.newContext({ viewport: { width: 390, height: 844 } });
  await home.addInitScript(onlyTheRelay);
  const client = await home.newPage();
  watchPage(client, problems);
  const made = await api("POST", "/v1/calls", { clientId: cfg.client.id });
  const callId = made.call.id;
  const joinUrl = new URL(made.invitation.joinUrl);

  const joined = await run.step("the host joins and the client asks to join from the invitation", host, async () => {
    await host.goto(`${cfg.baseUrl}/calls/${callId}`);
    await host.getByLabel("Email").fill(cfg.admin.email);
    await host.getByLabel("Password").fill(cfg.admin.password);
    await host.getByRole("button", { name: "Sign in" }).click();
    await host.getByRole("button", { name: "Join now", exact: true }).click();
    await host.getByRole("status").filter({ hasText: "Waiting for the client to join." }).waitFor({ timeout: WAIT });
    await client.goto(`${cfg.baseUrl}${joinUrl.pathname}${joinUrl.search}`);
    await client.getByLabel("Your name", { exact: true }).fill(cfg.client.name);
    await client.getByRole("button", { name: "Join now", exact: true }).click();
    await client.getByRole("status").filter({ hasText: "Waiting for the clinic to let you in" }).waitFor({ timeout: WAIT });
    await host.getByRole("button", { name: `Admit ${cfg.client.name}` }).click();
    await client.getByRole("status").filter({ hasText: "You are in the call." }).waitFor({ timeout: WAIT });
  });

  if (joined) {
    await run.step("both see each other's video, every connection through the relay", host, async () => {
      const [atHost, atClient] = await Promise.all([seesVideoThroughRelay(host, "the host"), seesVideoThroughRelay(client, "the client")]);
      console.log(`# frames decoded through the relay: host ${atHost}, client ${atClient}`);
    });

    await run.step("the connections used the relay the join answered, with a credential per participant", host, async () => {
      const usernames = [];
      for (const [page, who] of [[host, "host"], [client, "client"]]) {
        const configs = await iceServersOf(page);
        expect(configs.length >= 2, `the ${who} made ${configs.length} connections`);
        for (const servers of configs) {
          expect(servers.length === 1 && servers[0].urls.includes(cfg.turnUrl),
            `the ${who}'s connection was given ${JSON.stringify(servers.map((s) => s.urls))}, not ${cfg.turnUrl}`);
          expect(/^\d+:[0-9a-f-]{36}$/.test(servers[0].username), `the ${who}'s TURN username is ${servers[0].username}`);
          expect(servers[0].credential && servers[0].credential !== cfg.turnSecret, `the ${who} was given the relay's secret`);
        }
        usernames.push(configs[0][0].username);
      }
      expect(usernames[0] !== usernames[1], "host and client share one TURN username");
      writeFileSync(cfg.relayReport, JSON.stringify({ usernames }));
    });
  }

  await run.step("no script errors or CSP refusals", null, async () => {
    expect(problems.length === 0, problems.join("\n"));
  });
} finally {
  await browser.close();
}
process.exit(run.finish());
