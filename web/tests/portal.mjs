// The client portal in a real browser: the pet owner signs in, reads the clinic's
// messages, gets a new one live and answers it.
//   node tests/portal.mjs <config.json>
import { readFileSync } from "node:fs";
import { checkAccessibility, expect, launch, Run, WAIT, watchPage } from "./harness.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const run = new Run(cfg.screenshotDir);
const problems = [];
const browser = await launch();

async function staffSends(text) {
  const r = await fetch(`${cfg.baseUrl}/v1/conversations/${cfg.conversationId}/messages`, {
    method: "POST",
    headers: { Authorization: `Bearer ${cfg.staffToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ text }),
  });
  expect(r.ok, `the staff message was refused: ${r.status} ${await r.text()}`);
}

try {
  // Phone width: most clients open the portal from a text message.
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await ctx.newPage();
  watchPage(page, problems);

  await run.step("a wrong password is told clearly in the portal", page, async () => {
    await page.goto(`${cfg.baseUrl}/portal/?clinic=${cfg.clinicId}`);
    await page.getByLabel("Email").fill(cfg.client.email);
    await page.getByLabel("Password").fill("not my password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "do not match" }).waitFor({ timeout: WAIT });
    await checkAccessibility(page, "portal sign-in");
    await run.screenshot(page, "01-portal-sign-in-390px");
  });

  const signedIn = await run.step("the client signs in and reads the clinic's message", page, async () => {
    await page.getByLabel("Password").fill(cfg.client.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("log").getByText(cfg.seededMessage).waitFor({ timeout: WAIT });
    await checkAccessibility(page, "portal messages");
    await run.screenshot(page, "02-portal-messages-390px");
  });

  if (signedIn) {
    await run.step("a staff message appears in the portal within a second", page, async () => {
      const text = `Please bring Bella's vaccination card. ${Date.now()}`;
      await staffSends(text);
      const t0 = Date.now();
      await page.getByRole("log").getByText(text).waitFor({ timeout: 1000 });
      console.log(`# staff message shown ${Date.now() - t0} ms after the API answered`);
    });

    await run.step("the client answers and sees the answer", page, async () => {
      const text = `Will do, thanks! ${Date.now()}`;
      await page.getByLabel("Your answer").fill(text);
      await page.getByRole("button", { name: "Send" }).click();
      await page.getByRole("log").getByText(text).waitFor({ timeout: WAIT });
      const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
      expect(overflow <= 0, `the portal scrolls sideways by ${overflow} px at 390 px`);
      await run.screenshot(page, "03-portal-answered-390px");
    });
  }

  await run.step("no script errors or CSP refusals in the portal", null, async () => {
    expect(problems.length === 0, problems.join("\n"));
  });
} finally {
  await browser.close();
}
process.exit(run.finish());
