// The staff console in a real browser, against a stack the test fixture started
// (tests/web/web_browser_test.cc writes the config: URLs, logins, seeded ids).
//   node tests/console.mjs <config.json>
import { readFileSync } from "node:fs";
import { checkAccessibility, expect, launch, Run, WAIT, watchPage } from "./harness.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const run = new Run(cfg.screenshotDir);
const problems = [];
const browser = await launch();

// The client writes from the portal's API (their own session), as the portal app would.
async function clientSends(text) {
  const r = await fetch(`${cfg.baseUrl}/v1/conversations/${cfg.conversationId}/messages`, {
    method: "POST",
    headers: { Authorization: `Bearer ${cfg.client.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ text }),
  });
  expect(r.ok, `the client's message was refused: ${r.status} ${await r.text()}`);
}

try {
  const desk = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await desk.newPage();
  watchPage(page, problems);

  await run.step("a wrong password is told clearly", page, async () => {
    await page.goto(`${cfg.baseUrl}/`);
    await page.getByLabel("Email").fill(cfg.staff.email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "do not match" }).waitFor({ timeout: WAIT });
    await checkAccessibility(page, "sign-in page");
    await run.screenshot(page, "01-sign-in-wrong-password");
  });

  const signedIn = await run.step("staff sign in and see the inbox", page, async () => {
    await page.getByLabel("Password").fill(cfg.staff.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    const queue = page.getByRole("list", { name: "Queue" });
    await queue.getByText(cfg.client.name).waitFor({ timeout: WAIT });
    await page.getByText("Live", { exact: true }).waitFor({ timeout: WAIT });
    await checkAccessibility(page, "inbox");
    await run.screenshot(page, "02-inbox");
  });

  if (signedIn) {
    await run.step("open a conversation, send a message and see it appear", page, async () => {
      await page.getByRole("list", { name: "Queue" }).getByText(cfg.client.name).click();
      await page.waitForURL(`**/inbox/${cfg.conversationId}`);
      await page.getByRole("log", { name: "Messages" }).getByText(cfg.seededMessage).waitFor({ timeout: WAIT });
      const text = `Bella's stitches look good; see you Tuesday. ${Date.now()}`;
      await page.getByLabel("Message", { exact: true }).fill(text);
      await page.getByRole("button", { name: "Send" }).click();
      await page.getByRole("log", { name: "Messages" }).getByText(text).waitFor({ timeout: WAIT });
      // The live event can show the message before the send's answer empties the composer.
      const composer = page.getByLabel("Message", { exact: true });
      await page.waitForFunction((el) => el.value === "", await composer.elementHandle(), { timeout: WAIT }).catch(() => {});
      expect(await composer.inputValue() === "", "the composer kept the sent text");
      // The delivery worker's outcome arrives live (this stack has no text or email
      // provider, so both fail at once) and the message stays whole around it.
      const sent = page.getByRole("log", { name: "Messages" }).locator("article").filter({ hasText: text });
      await sent.getByText(/Text: failed/).waitFor({ timeout: WAIT });
      await sent.getByText(/Email: failed/).waitFor({ timeout: WAIT });
      expect(await sent.getByText(text).isVisible(), "the sent message lost its text when its deliveries changed");
      expect(await page.getByRole("log", { name: "Messages" }).locator("article").count() === 2,
        "the thread shows messages that were never sent");
      await checkAccessibility(page, "conversation");
      await run.screenshot(page, "03-conversation");
    });

    await run.step("an internal note is marked as one", page, async () => {
      await page.getByRole("checkbox", { name: "Internal note" }).check();
      const note = `Owner prefers morning calls ${Date.now()}`;
      await page.getByLabel("Note text", { exact: true }).fill(note);
      await page.getByRole("button", { name: "Save note" }).click();
      const saved = page.getByRole("article", { name: "Internal note" }).filter({ hasText: note });
      await saved.waitFor({ timeout: WAIT });
      await page.getByRole("checkbox", { name: "Internal note" }).uncheck();
    });

    await run.step("status, assignment and the queue's filters", page, async () => {
      await page.getByLabel("Status", { exact: true }).selectOption({ label: "Telemedicine" });
      await page.getByRole("list", { name: "Queue" }).getByText("Telemedicine").waitFor({ timeout: WAIT });
      await page.getByLabel("Assigned to", { exact: true }).selectOption({ label: "Me (Dana Front Desk)" });
      // Filter to "Me": still there; to "Nobody": gone; back to "Anyone".
      await page.getByLabel("Assigned to (queue)").selectOption({ label: "Me" });
      await page.getByRole("list", { name: "Queue" }).getByText(cfg.client.name).waitFor({ timeout: WAIT });
      await page.getByLabel("Assigned to (queue)").selectOption({ label: "Nobody" });
      await page.getByRole("list", { name: "Queue" }).getByText("Nothing here").waitFor({ timeout: WAIT });
      await page.getByLabel("Assigned to (queue)").selectOption({ label: "Anyone" });
      await page.getByLabel("Status (queue)").selectOption({ label: "Telemedicine" });
      await page.getByRole("list", { name: "Queue" }).getByText(cfg.client.name).waitFor({ timeout: WAIT });
      await page.getByLabel("Status (queue)").selectOption({ label: "All statuses" });
    });

    await run.step("a template fills the composer with the client's and pet's names", page, async () => {
      await page.getByLabel("Insert a template").selectOption({ label: "Lab results ready" });
      const filled = "Hi Maria, Bella's lab results are ready.";
      await page.waitForFunction((t) => document.getElementById("composer-text")?.value === t, filled, { timeout: WAIT });
      await page.getByLabel("Message", { exact: true }).fill("");
    });

    await run.step("a file is attached and sent; a file too large is refused before upload", page, async () => {
      // The big file is made in the page (26 MiB through the DevTools protocol is slow).
      await page.evaluate(() => {
        const files = new DataTransfer();
        files.items.add(new File([new Uint8Array(26 * 1024 * 1024)], "x-ray-full.png", { type: "image/png" }));
        const input = document.getElementById("composer-file");
        input.files = files.files;
        input.dispatchEvent(new Event("change", { bubbles: true }));
      });
      await page.getByRole("alert").filter({ hasText: "x-ray-full.png is 26.0 MB" }).waitFor({ timeout: WAIT });
      // A real PNG (1x1), typed by its content on the server.
      const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");
      await page.locator("#composer-file").setInputFiles({ name: "bella-wound.png", mimeType: "image/png", buffer: png });
      await page.getByLabel("Attached files").getByText("bella-wound.png").waitFor({ timeout: WAIT });
      await page.getByLabel("Message", { exact: true }).fill("Here is the photo from today.");
      await page.getByRole("button", { name: "Send" }).click();
      const sent = page.getByRole("log", { name: "Messages" }).locator("article").filter({ hasText: "Here is the photo from today." });
      await sent.getByRole("link", { name: "bella-wound.png" }).waitFor({ timeout: WAIT });
      const href = await sent.getByRole("link", { name: "bella-wound.png" }).getAttribute("href");
      const got = await page.evaluate(async (u) => { const r = await fetch(u); return [r.status, (await r.arrayBuffer()).byteLength]; }, href);
      expect(got[0] === 200 && got[1] === png.length, `the attachment downloads as ${got}`);
    });

    await run.step("a client's message appears in the open conversation within a second", page, async () => {
      const text = `Thank you! Bella is eating again. ${Date.now()}`;
      await clientSends(text);
      const t0 = Date.now();
      await page.getByRole("log", { name: "Messages" }).getByText(text).waitFor({ timeout: 1000 });
      console.log(`# client message shown ${Date.now() - t0} ms after the API answered`);
      // And the queue's preview follows, without a reload.
      await page.getByRole("list", { name: "Queue" }).getByText(text).waitFor({ timeout: 1000 });
    });

    await run.step("the client profile shows phones, contact options, pets and conversations", page, async () => {
      await page.getByRole("heading", { level: 2 }).getByRole("link", { name: cfg.client.name }).click();
      await page.waitForURL(`**/clients/${cfg.client.id}`);
      await page.getByRole("heading", { name: cfg.client.name, level: 1 }).waitFor({ timeout: WAIT });
      await page.getByText("(555) 201-3344").waitFor();
      await page.getByRole("cell", { name: cfg.client.pet }).waitFor();
      expect(await page.getByRole("checkbox", { name: /App notifications/ }).isDisabled(), "push must be read-only for staff");
      await checkAccessibility(page, "client profile");
      await run.screenshot(page, "04-client-profile");
      await page.getByRole("button", { name: "Start chat" }).click();
      await page.waitForURL(`**/inbox/${cfg.conversationId}`); // the open conversation, not a new one
    });

    await run.step("video chat from the profile sends the invitation in the open conversation", page, async () => {
      await page.getByRole("heading", { level: 2 }).getByRole("link", { name: cfg.client.name }).click();
      await page.getByRole("button", { name: "Video chat" }).click();
      await page.waitForURL(`**/inbox/${cfg.conversationId}`);
      await page.getByRole("log", { name: "Messages" }).getByText("Video call invitation").first().waitFor({ timeout: WAIT });
      // And from the conversation itself, with words before the link.
      await page.getByLabel("Message", { exact: true }).fill("Ready when you are.");
      await page.getByRole("button", { name: "Request video call" }).click();
      const sent = page.getByRole("log", { name: "Messages" }).locator("article").filter({ hasText: "Ready when you are." });
      await sent.getByText("Video call invitation").waitFor({ timeout: WAIT });
    });

    await run.step("the schedule shows the day's appointments and blocked time", page, async () => {
      await page.getByRole("link", { name: "Schedule" }).click();
      await page.getByRole("heading", { name: "Schedule", level: 1 }).waitFor({ timeout: WAIT });
      await page.getByLabel("Day").fill(cfg.scheduleDay);
      const row = page.getByRole("row").filter({ hasText: "Wellness exam" });
      await row.waitFor({ timeout: WAIT });
      for (const want of [cfg.client.name, cfg.client.pet, "Dr. Priya Shah", "Exam 1", "10:00"]) {
        expect(await row.getByText(want).count() > 0, `the appointment row does not show ${want}`);
      }
      await page.getByText("Staff meeting").waitFor();
      await checkAccessibility(page, "schedule");
      await run.screenshot(page, "05-schedule");
      await page.getByRole("button", { name: "Previous day" }).click();
      await page.getByText("No appointments on this day.").waitFor({ timeout: WAIT });
      await page.getByRole("link", { name: "Inbox" }).click();
      await page.getByRole("list", { name: "Queue" }).getByText(cfg.client.name).waitFor({ timeout: WAIT });
    });

    await run.step("the inbox works at phone width (390 px)", null, async () => {
      const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, storageState: await desk.storageState() });
      const p = await phone.newPage();
      watchPage(p, problems);
      try {
        await p.goto(`${cfg.baseUrl}/`);
        await p.getByRole("list", { name: "Queue" }).getByText(cfg.client.name).waitFor({ timeout: WAIT });
        await checkAccessibility(p, "inbox at 390 px");
        await run.screenshot(p, "06-inbox-390px");
        await p.getByRole("list", { name: "Queue" }).getByText(cfg.client.name).click();
        await p.getByRole("log", { name: "Messages" }).getByText(cfg.seededMessage).waitFor({ timeout: WAIT });
        const overflow = await p.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
        expect(overflow <= 0, `the page scrolls sideways by ${overflow} px at 390 px`);
        await checkAccessibility(p, "conversation at 390 px");
        await run.screenshot(p, "07-conversation-390px");
      } finally {
        await phone.close();
      }
    });

    await run.step("an ended session goes back to sign-in with a message", page, async () => {
      // What a revoked or expired session looks like to the browser: a cookie the
      // gateway no longer accepts.
      await desk.clearCookies();
      await desk.addCookies([{ name: "vetline_session", value: "expired-session-token", url: cfg.baseUrl }]);
      await page.getByRole("link", { name: "Clients" }).click();
      await page.getByLabel("Search clients").fill(cfg.client.name.split(" ")[0]);
      await page.getByRole("button", { name: "Search" }).click();
      await page.getByRole("status").filter({ hasText: "session has ended" }).waitFor({ timeout: WAIT });
      await run.screenshot(page, "08-session-ended");
      // Signing in again brings the console back.
      await page.getByLabel("Email").fill(cfg.staff.email);
      await page.getByLabel("Password").fill(cfg.staff.password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("button", { name: "Sign out" }).waitFor({ timeout: WAIT });
    });

    await run.step("sign out ends the session", page, async () => {
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("status").filter({ hasText: "signed out" }).waitFor({ timeout: WAIT });
      const me = await page.evaluate(async () => (await fetch("/v1/me")).status);
      expect(me === 401, `after sign out /v1/me answered ${me}`);
    });
  }

  await run.step("no script errors or CSP refusals on any page", null, async () => {
    expect(problems.length === 0, problems.join("\n"));
  });
} finally {
  await browser.close();
}
process.exit(run.finish());
