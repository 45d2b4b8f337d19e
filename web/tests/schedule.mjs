// The console's schedule in a real browser: tomorrow's seeded appointment and block-off,
// the appointments view's column, blocked time added (in clinic time) and removed, a bad
// time told beside its field, and the website's request forms with a request marked
// handled. tests/web/web_browser_test.cc writes the config (Seed + SeedScheduleAndPayments).
//   node tests/schedule.mjs <config.json>
import { readFileSync } from "node:fs";
import { checkAccessibility, expect, launch, Run, WAIT, watchPage } from "./harness.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const run = new Run(cfg.screenshotDir);
const problems = [];
const browser = await launch();

// What the booking service holds, asked as the admin (the browser's view is not the proof).
async function blockOffs() {
  const r = await fetch(`${cfg.baseUrl}/v1/booking/block-offs?from=${cfg.scheduleDay}&to=${cfg.scheduleDay}`, {
    headers: { Authorization: `Bearer ${cfg.staffToken}` },
  });
  expect(r.ok, `listing block-offs: ${r.status}`);
  return (await r.json()).blockOffs ?? [];
}

async function noSidewaysScroll(page) {
  const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  expect(overflow <= 0, `the page scrolls sideways by ${overflow} px`);
}

try {
  const desk = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await desk.newPage();
  watchPage(page, problems);

  const signedIn = await run.step("staff sign in", page, async () => {
    await page.goto(`${cfg.baseUrl}/`);
    await page.getByLabel("Email").fill(cfg.staff.email);
    await page.getByLabel("Password").fill(cfg.staff.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("list", { name: "Queue" }).getByText(cfg.client.name).waitFor({ timeout: WAIT });
  });

  if (signedIn) {
    await run.step("tomorrow shows the seeded appointment in clinic time and its blocked time", page, async () => {
      await page.getByRole("link", { name: "Schedule" }).click();
      await page.getByRole("heading", { name: "Schedule", level: 1 }).waitFor({ timeout: WAIT });
      await page.getByRole("button", { name: "Next day" }).click();
      await page.waitForURL(`**/schedule?date=${cfg.scheduleDay}`);
      const row = page.getByRole("row").filter({ hasText: "Wellness exam" });
      await row.waitFor({ timeout: WAIT });
      // Seeded at 10:00 America/Chicago; the browser runs in UTC, so this is the clinic's clock.
      for (const want of [cfg.client.name, cfg.client.pet, "Dr. Priya Shah", "Exam 1", "10:00", "10:30"]) {
        expect(await row.getByText(want).count() > 0, `the appointment row does not show ${want}`);
      }
      await page.getByText("Times in clinic time (America/Chicago)").waitFor();
      const blocked = page.getByRole("list", { name: "Blocked time" }).getByRole("listitem").filter({ hasText: "Staff meeting" });
      await blocked.waitFor({ timeout: WAIT });
      expect(await blocked.getByText("12:00").count() > 0, "the block-off is not shown at 12:00 clinic time");
      expect(await blocked.getByText("Dr. Priya Shah").count() > 0, "the block-off does not say whose time it is");
    });

    await run.step("the appointments view shows the clinic's column with the appointment", page, async () => {
      const column = page.getByRole("list", { name: "Dr. Shah's day" });
      await column.getByText(cfg.client.name).waitFor({ timeout: WAIT });
      expect(await column.getByText(cfg.client.pet).count() > 0, "the view's appointment does not name the pet");
      expect(await column.getByText(/Wellness exam/).count() > 0, "the view's appointment does not name its type");
      await checkAccessibility(page, "schedule day");
      await run.screenshot(page, "01-schedule-day");
    });

    await run.step("a block-off ending before it starts is told beside the field and not made", page, async () => {
      const before = (await blockOffs()).length;
      await page.getByLabel("From", { exact: true }).fill("15:00");
      await page.getByLabel("To", { exact: true }).fill("14:00");
      await page.getByRole("button", { name: "Block time" }).click();
      await page.locator("#b-end-error").filter({ hasText: "The end must be after the start." }).waitFor({ timeout: WAIT });
      expect(await page.getByLabel("To", { exact: true }).getAttribute("aria-invalid") === "true", "the bad field is not marked invalid");
      expect((await blockOffs()).length === before, "a bad block-off was stored");
    });

    await run.step("staff block time off for a room and it is stored at the clinic's 15:00", page, async () => {
      await page.getByLabel("To", { exact: true }).fill("15:30");
      await page.getByLabel("For", { exact: true }).selectOption({ label: "Exam 1" });
      await page.getByLabel("Reason", { exact: true }).fill("Surgery prep");
      await page.getByRole("button", { name: "Block time" }).click();
      const item = page.getByRole("list", { name: "Blocked time" }).getByRole("listitem").filter({ hasText: "Surgery prep" });
      await item.waitFor({ timeout: WAIT });
      expect(await item.getByText("3:00").count() > 0, "the new block-off is not shown at 3:00 PM clinic time");
      const stored = (await blockOffs()).find((b) => b.reason === "Surgery prep");
      expect(stored, "the block-off is not in the booking service");
      expect(new Date(stored.startTime).getTime() === new Date(cfg.blockOffStart).getTime(),
        `stored at ${stored.startTime}, not at 15:00 clinic time (${cfg.blockOffStart})`);
      expect(!stored.providerId && !!stored.roomId, "the block-off is not the room's");
      await run.screenshot(page, "02-block-off-added");
    });

    await run.step("staff remove the block-off and the other stays", page, async () => {
      await page.getByRole("button", { name: /Remove the block-off 3:00.*Exam 1/ }).click();
      await page.getByRole("status").filter({ hasText: "Removed the block-off" }).waitFor({ timeout: WAIT });
      await page.getByRole("list", { name: "Blocked time" }).getByText("Surgery prep").waitFor({ state: "detached", timeout: WAIT });
      const left = await blockOffs();
      expect(!left.some((b) => b.reason === "Surgery prep"), "the removed block-off is still in the booking service");
      expect(left.some((b) => b.reason === "Staff meeting"), "removing one block-off removed another");
    });

    await run.step("the appointment's client opens their profile", page, async () => {
      await page.getByRole("row").filter({ hasText: "Wellness exam" }).getByRole("link", { name: cfg.client.name }).click();
      await page.waitForURL(`**/clients/${cfg.client.id}`);
      await page.getByRole("heading", { name: cfg.client.name, level: 1 }).waitFor({ timeout: WAIT });
      await page.goBack();
      await page.getByRole("row").filter({ hasText: "Wellness exam" }).waitFor({ timeout: WAIT });
    });

    await run.step("a website request is read and marked handled", page, async () => {
      await page.getByRole("navigation", { name: "Schedule views" }).getByRole("link", { name: "Request forms" }).click();
      await page.waitForURL("**/schedule/requests");
      await page.getByRole("heading", { name: "Telemedicine appointment", level: 2 }).waitFor({ timeout: WAIT });
      const request = page.getByRole("listitem", { name: "Request from Sam Carter" });
      await request.getByText("Milo keeps scratching his ear.").waitFor({ timeout: WAIT });
      expect(await request.getByText("sam.carter@example.test").count() > 0, "the request does not show how to reach them");
      await checkAccessibility(page, "request forms");
      await run.screenshot(page, "03-request-forms");
      await request.getByRole("button", { name: "Mark handled" }).click();
      await page.getByText("No new requests.").waitFor({ timeout: WAIT });
      await page.getByLabel("Show requests").selectOption({ label: "Handled" });
      await page.getByRole("listitem", { name: "Request from Sam Carter" }).getByText("Handled", { exact: true }).waitFor({ timeout: WAIT });
    });

    await run.step("the schedule and request forms work at phone width (390 px)", null, async () => {
      const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, storageState: await desk.storageState() });
      const p = await phone.newPage();
      watchPage(p, problems);
      try {
        await p.goto(`${cfg.baseUrl}/schedule?date=${cfg.scheduleDay}`);
        await p.getByRole("row").filter({ hasText: "Wellness exam" }).waitFor({ timeout: WAIT });
        await p.getByRole("list", { name: "Dr. Shah's day" }).waitFor({ timeout: WAIT });
        await noSidewaysScroll(p);
        await checkAccessibility(p, "schedule at 390 px");
        await run.screenshot(p, "04-schedule-390px");
        await p.goto(`${cfg.baseUrl}/schedule/requests`);
        await p.getByRole("heading", { name: "Telemedicine appointment", level: 2 }).waitFor({ timeout: WAIT });
        await noSidewaysScroll(p);
        await checkAccessibility(p, "request forms at 390 px");
        await run.screenshot(p, "05-request-forms-390px");
      } finally {
        await phone.close();
      }
    });
  }

  await run.step("admins see the PIMS sync runs and the front desk does not", null, async () => {
    expect(await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "PIMS sync" }).count() === 0,
      "the front desk is offered the PIMS sync reports");
    const adminCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const a = await adminCtx.newPage();
    watchPage(a, problems);
    try {
      await a.goto(`${cfg.baseUrl}/`);
      await a.getByLabel("Email").fill(cfg.admin.email);
      await a.getByLabel("Password").fill(cfg.admin.password);
      await a.getByRole("button", { name: "Sign in" }).click();
      await a.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "PIMS sync" }).click();
      await a.getByRole("heading", { name: "PIMS sync", level: 1 }).waitFor({ timeout: WAIT });
      // Seed's clinic has no PIMS and has never synced; nothing failed to reach a PIMS.
      await a.getByText("No sync has run for this clinic yet.").waitFor({ timeout: WAIT });
      await a.getByText("None: everything booked in Vetline reached the PIMS.").waitFor({ timeout: WAIT });
      await checkAccessibility(a, "PIMS sync runs");
      await run.screenshot(a, "06-pims-sync");
    } finally {
      await adminCtx.close();
    }
  });

  await run.step("no script errors or CSP refusals on the schedule", null, async () => {
    expect(problems.length === 0, problems.join("\n"));
  });
} finally {
  await browser.close();
}
process.exit(run.finish());
