// A small runner for the browser tests: Debian's Chromium driven by playwright-core,
// steps run in order (each builds on the one before, as a person would), a screenshot of
// the page when a step fails, and the closing line "N passed, N failed".
import { createRequire } from "node:module";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

// How long a step waits for the page to show something. Generous: CI shares two cores
// with the build. The spec's own bounds ("within a second") are written where they apply.
export const WAIT = 15000;

export const CHROMIUM = process.env.VETLINE_CHROMIUM || "/usr/bin/chromium";

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream",
      "--allow-loopback-in-peer-connection",
      "--no-sandbox", // the tests run as root in CI
    ],
  });
}

// Everything a page says that a person would not want: script errors and CSP refusals.
export function watchPage(page, problems) {
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
}

// axe-core in the page; serious and critical violations fail the step. Evaluated through
// the DevTools protocol, so the page's CSP (no inline scripts) stays as it is.
export async function checkAccessibility(page, what) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (bad.length) {
    const lines = bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
    throw new Error(`${what}: ${bad.length} serious accessibility violation(s):\n  ${lines.join("\n  ")}`);
  }
}

export function expect(cond, message) {
  if (!cond) throw new Error(message);
}

export class Run {
  constructor(screenshotDir) {
    this.dir = screenshotDir;
    mkdirSync(this.dir, { recursive: true });
    this.passed = 0;
    this.failed = 0;
  }
  async screenshot(page, name) {
    await page.screenshot({ path: join(this.dir, `${name}.png`), fullPage: false });
  }
  // One step; `page` is shot on failure. A failed step stops the steps that need it.
  async step(name, page, fn) {
    const t0 = Date.now();
    try {
      await fn();
      this.passed++;
      console.log(`ok - ${name} (${Date.now() - t0} ms)`);
      return true;
    } catch (e) {
      this.failed++;
      console.log(`not ok - ${name}: ${e instanceof Error ? e.message : e}`);
      if (page) await this.screenshot(page, `FAILED-${name.replace(/[^a-z0-9]+/gi, "-")}`).catch(() => {});
      return false;
    }
  }
  finish() {
    console.log(`screenshots: ${this.dir}`);
    console.log(`${this.passed} passed, ${this.failed} failed`);
    return this.failed === 0 ? 0 : 1;
  }
}
