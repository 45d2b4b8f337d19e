// The console's figures for tools/bench web (tests/bench/web_bench.cc starts the stack):
// the initial JavaScript a first visit downloads (gzip), and the time from opening / with
// a session to the inbox being usable (the queue's first row shown and the live stream
// open), over several page loads.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { launch } from "./harness.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));

// Initial JS: the entry script and the chunks index.html preloads.
const html = readFileSync(join(cfg.dist, "index.html"), "utf8");
const scripts = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]);
const gz = (p) => gzipSync(readFileSync(join(cfg.dist, p)), { level: 9 }).length;
const jsGzip = scripts.reduce((n, p) => n + gz(p), 0);
const css = [...html.matchAll(/href="(\/assets\/[^"]+\.css)"/g)].map((m) => m[1]);
const cssGzip = css.reduce((n, p) => n + gz(p), 0);

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
await context.addCookies([{ name: "vetline_session", value: cfg.token, url: cfg.baseUrl }]);
const times = [];
for (let i = 0; i < cfg.runs + 1; i++) {
  const page = await context.newPage();
  const t0 = performance.now();
  await page.goto(`${cfg.baseUrl}/`, { waitUntil: "commit" });
  await page.getByRole("list", { name: "Queue" }).locator("li a").first().waitFor({ timeout: 10000 });
  const rowMs = performance.now() - t0;
  await page.getByText("Live", { exact: true }).waitFor({ timeout: 10000 });
  const ms = performance.now() - t0;
  if (process.env.VETLINE_BENCH_DEBUG) {
    console.log(`load ${i}: first row ${rowMs.toFixed(0)} ms, live ${ms.toFixed(0)} ms`);
    const entries = await page.evaluate(() => performance.getEntries().map((e) => `${e.name.replace(location.origin, "")} start ${e.startTime.toFixed(0)} dur ${e.duration.toFixed(0)}`));
    console.log("  " + entries.slice(0, 40).join("\n  "));
  }
  if (i > 0) times.push(ms); // the first load warms the browser and the services' caches
  await page.close();
}
await browser.close();
times.sort((a, b) => a - b);
const pick = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
const p50 = pick(0.5), p90 = pick(0.9), max = times[times.length - 1];
const kb = (n) => (n / 1024).toFixed(1);
const mark = (ok) => (ok ? "OK" : "MISSED");
console.log(`console initial JS: ${kb(jsGzip)} KB gzip in ${scripts.length} file(s) (target <= 200 KB) ${mark(jsGzip <= 200 * 1024)}; CSS ${kb(cssGzip)} KB gzip`);
console.log(`inbox usable (${cfg.clients} clients, ${times.length} loads): p50 ${p50.toFixed(0)} ms, p90 ${p90.toFixed(0)} ms, max ${max.toFixed(0)} ms (target <= 1000 ms) ${mark(p90 <= 1000)}`);
console.log(`initial_js_gzip_kb=${kb(jsGzip)} css_gzip_kb=${kb(cssGzip)} inbox_usable_p50_ms=${p50.toFixed(0)} inbox_usable_p90_ms=${p90.toFixed(0)} inbox_usable_max_ms=${max.toFixed(0)}`);
