// The portal's booking widget and links in a real browser, at phone width: a new client
// books (the one-time code read from the email the SMTP server stored), the booking is in
// the console's schedule for its day and on top of the inbox; the confirmation's link
// moves and cancels it; a clinic that books existing clients only sends a new client to
// its request form; a message's signed link signs the client in without a password, and
// an altered link gets a clear page.
//   node tests/booking.mjs <config.json>
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checkAccessibility, expect, launch, Run, WAIT, watchPage } from "./harness.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const run = new Run(cfg.screenshotDir);
const problems = [];
const browser = await launch();
const phone = { viewport: { width: 390, height: 844 } };

// An email's text: quoted-printable soft breaks and =XX undone, or base64 decoded.
function emailText(raw) {
  const split = raw.indexOf("\r\n\r\n");
  const head = raw.slice(0, split).toLowerCase();
  const body = raw.slice(split + 4);
  if (head.includes("content-transfer-encoding: base64")) return Buffer.from(body, "base64").toString("utf8");
  return body.replace(/=\r\n/g, "").replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

// The newest code emailed to `to` (booking's "… code is 123456 …"), waiting for delivery.
async function codeSentTo(to, notBefore = 0) {
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    const files = readdirSync(cfg.smtpDir).filter((f) => f.endsWith(".eml")).sort();
    const codes = [];
    for (const f of files) {
      const raw = readFileSync(join(cfg.smtpDir, f), "utf8");
      if (!raw.includes(`To: ${to}`)) continue;
      const m = /code is ([0-9]{6})/.exec(emailText(raw));
      if (m) codes.push(m[1]);
    }
    if (codes.length > notBefore) return codes[codes.length - 1];
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no code email reached ${to} within 20 s`);
}

async function staff(method, path, body) {
  const r = await fetch(`${cfg.baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${cfg.staffToken}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  expect(r.ok, `${method} ${path} was refused: ${r.status} ${text}`);
  return JSON.parse(text);
}

// The front desk books Maria's pet at `startTime` (the online type, the clinic's provider).
async function staffBooks(startTime) {
  const [types, providers, client] = await Promise.all([
    staff("GET", "/v1/booking/appointment-types?pageSize=200"),
    staff("GET", "/v1/booking/providers?pageSize=200"),
    staff("GET", `/v1/clients/${cfg.client.id}`),
  ]);
  await staff("POST", "/v1/booking/appointments", {
    clientId: cfg.client.id,
    petId: client.pets[0].id,
    appointmentTypeId: types.appointmentTypes.find((t) => t.name === cfg.onlineType).id,
    providerId: providers.providers[0].id,
    startTime,
  });
}

// The clinic-local day (YYYY-MM-DD) of an instant.
const clinicDay = (iso) =>
  new Intl.DateTimeFormat("en-CA", { timeZone: cfg.timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(iso));

async function noSidewaysScroll(page, what) {
  const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  expect(overflow <= 0, `${what} scrolls sideways by ${overflow} px at 390 px`);
}

const newClient = { email: "sam.rivera@example.test", first: "Sam", last: "Rivera", pet: "Milo", species: "Cat" };

try {
  const ctx = await browser.newContext(phone);
  const page = await ctx.newPage();
  watchPage(page, problems);
  let manageHref;
  let booked; // { startTime, time }

  await run.step("the widget asks who is booking and sends a code", page, async () => {
    await page.goto(`${cfg.baseUrl}/portal/book?clinic=${cfg.clinicId}`);
    await page.getByRole("heading", { name: "Who is booking?" }).waitFor({ timeout: WAIT });
    await checkAccessibility(page, "booking: who");
    await run.screenshot(page, "01-book-who-390px");
    await page.getByLabel("I am new to this clinic").check();
    await page.getByLabel("Mobile phone or email").fill(newClient.email);
    await page.getByRole("button", { name: "Send me a code" }).click();
    await page.getByRole("heading", { name: "Enter your code" }).waitFor({ timeout: WAIT });
  });

  await run.step("a wrong code is told beside the field and the emailed code works", page, async () => {
    const code = await codeSentTo(newClient.email);
    await page.getByLabel("Code").fill(code === "000000" ? "111111" : "000000");
    await page.getByRole("button", { name: "Continue" }).click();
    const err = page.locator("#b-code-error");
    await err.filter({ hasText: "not right" }).waitFor({ timeout: WAIT });
    expect(await page.getByLabel("Code").getAttribute("aria-describedby") === "b-code-error", "the code's error is not tied to its field");
    await checkAccessibility(page, "booking: code with error");
    await run.screenshot(page, "02-book-wrong-code-390px");
    await page.getByLabel("Code").fill(code);
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("heading", { name: "About you and your pet" }).waitFor({ timeout: WAIT });
  });

  await run.step("the new client tells about themselves and their pet and picks a type", page, async () => {
    await page.getByRole("button", { name: "Continue" }).click();
    await page.locator("#b-first-error").waitFor({ timeout: WAIT }); // required, said beside the field
    await page.getByLabel("Your first name").fill(newClient.first);
    await page.getByLabel("Your last name").fill(newClient.last);
    await page.getByLabel("Your pet's name").fill(newClient.pet);
    await page.getByLabel("Species").fill(newClient.species);
    await checkAccessibility(page, "booking: details");
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("heading", { name: "What kind of appointment?" }).waitFor({ timeout: WAIT });
    await checkAccessibility(page, "booking: type");
    await page.getByRole("button", { name: new RegExp(cfg.onlineType) }).click();
    await page.getByRole("heading", { name: "Pick a day and time" }).waitFor({ timeout: WAIT });
  });

  await run.step("days with open slots and their times in the clinic's zone and a summary to confirm", page, async () => {
    await page.getByText("Chicago").first().waitFor({ timeout: WAIT });
    const times = page.getByRole("group", { name: /^Time on / }).getByRole("button");
    await times.first().waitFor({ timeout: WAIT });
    await checkAccessibility(page, "booking: slots");
    await noSidewaysScroll(page, "the slot picker");
    await run.screenshot(page, "03-book-slots-390px");
    // While the client looks, the front desk books the first open time for someone else:
    // picking it is told, beside the times, and the next open times are offered.
    const taken = await times.first().locator("time").getAttribute("datetime");
    await staffBooks(taken);
    await times.first().click();
    await page.locator("#b-slot-error").filter({ hasText: "was just taken" }).waitFor({ timeout: WAIT });
    const offered = page.getByRole("group", { name: "The next open times" }).getByRole("button");
    const n = await offered.count();
    expect(n >= 1 && n <= 3, `${n} next open times were offered`);
    const next = await offered.first().locator("time").getAttribute("datetime");
    expect(next > taken, `the time offered first (${next}) is not after the taken one (${taken})`);
    await checkAccessibility(page, "booking: slot taken");
    await run.screenshot(page, "03b-book-slot-taken-390px");
    const time = (await offered.first().locator("time").textContent()).trim();
    await offered.first().click();
    await page.getByRole("heading", { name: "Check and confirm" }).waitFor({ timeout: WAIT });
    const summary = await page.locator(".summary").textContent();
    for (const want of [cfg.onlineType, newClient.pet, `${newClient.first} ${newClient.last}`, time]) {
      expect(summary.includes(want), `the summary does not show ${want}: ${summary}`);
    }
    await checkAccessibility(page, "booking: confirm");
    await run.screenshot(page, "04-book-confirm-390px");
    await page.getByRole("button", { name: "Confirm appointment" }).click();
    await page.getByRole("heading", { name: "You are booked" }).waitFor({ timeout: WAIT });
    const text = await page.getByRole("status").first().textContent();
    expect(text.includes(time), `the confirmation does not say ${time}: ${text}`);
    manageHref = await page.getByRole("link", { name: "Manage this appointment" }).getAttribute("href");
    expect(/^\/portal\/appointments\/[0-9a-f-]+\?t=/.test(manageHref), `the manage link is ${manageHref}`);
    await checkAccessibility(page, "booking: booked");
    await run.screenshot(page, "05-book-done-390px");
    const id = manageHref.split("/")[3].split("?")[0];
    const t = new URL(manageHref, cfg.baseUrl).searchParams.get("t");
    const r = await fetch(`${cfg.baseUrl}/v1/public/clinics/${cfg.clinicId}/booking/appointments/${id}?manageToken=${encodeURIComponent(t)}`);
    expect(r.ok, `the booked appointment cannot be read: ${r.status}`);
    booked = { startTime: (await r.json()).startTime, time };
  });

  if (booked) {
    await run.step("the booking is in the console's schedule for its day and on top of the inbox", null, async () => {
      const desk = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const p = await desk.newPage();
      watchPage(p, problems);
      try {
        await p.goto(`${cfg.baseUrl}/`);
        await p.getByLabel("Email").fill(cfg.staff.email);
        await p.getByLabel("Password").fill(cfg.staff.password);
        await p.getByRole("button", { name: "Sign in" }).click();
        const queue = p.getByRole("list", { name: "Queue" });
        await queue.getByRole("listitem").first().filter({ hasText: `${newClient.first} ${newClient.last}` }).waitFor({ timeout: WAIT });
        await run.screenshot(p, "06-inbox-booking-on-top");
        await p.goto(`${cfg.baseUrl}/schedule?date=${clinicDay(booked.startTime)}`);
        const main = p.locator("main");
        for (const want of [`${newClient.first} ${newClient.last}`, newClient.pet, cfg.onlineType, booked.time]) {
          await main.getByText(want).first().waitFor({ timeout: WAIT });
        }
        await run.screenshot(p, "07-schedule-with-booking");
      } finally {
        await desk.close();
      }
    });
  }

  if (manageHref) {
    await run.step("the confirmation's link moves the appointment", page, async () => {
      await page.goto(`${cfg.baseUrl}${manageHref}`);
      await page.getByRole("heading", { name: "Your appointment" }).waitFor({ timeout: WAIT });
      await page.getByText(booked.time).first().waitFor({ timeout: WAIT });
      await checkAccessibility(page, "manage: view");
      await run.screenshot(page, "08-manage-390px");
      await page.getByRole("button", { name: "Reschedule" }).click();
      const times = page.getByRole("group", { name: /^Time on / }).getByRole("button");
      await times.first().waitFor({ timeout: WAIT });
      await checkAccessibility(page, "manage: reschedule");
      const later = (await times.last().textContent()).trim();
      await times.last().click();
      await page.getByRole("status").filter({ hasText: "Moved to" }).waitFor({ timeout: WAIT });
      await page.getByText(later).first().waitFor({ timeout: WAIT });
      manageHref = await page.evaluate(() => location.pathname + location.search); // the moved appointment's own link
    });

    await run.step("the confirmation's link cancels the appointment", page, async () => {
      await page.getByRole("button", { name: "Cancel appointment" }).click();
      await page.getByRole("button", { name: "Yes, cancel it" }).click();
      await page.getByRole("status").filter({ hasText: "is cancelled" }).waitFor({ timeout: WAIT });
      await page.getByText("Cancelled", { exact: true }).waitFor({ timeout: WAIT });
      expect(await page.getByRole("button", { name: "Cancel appointment" }).count() === 0, "a cancelled appointment still offers Cancel");
      await checkAccessibility(page, "manage: cancelled");
      await run.screenshot(page, "09-manage-cancelled-390px");
      // Reloaded from the link, it stays cancelled.
      await page.reload();
      await page.getByText("Cancelled", { exact: true }).waitFor({ timeout: WAIT });
    });

    await run.step("an altered manage link gets a clear page", page, async () => {
      const altered = manageHref.replace(/t=(.)/, (_, ch) => `t=${ch === "A" ? "B" : "A"}`);
      await page.goto(`${cfg.baseUrl}${altered}`);
      await page.getByRole("heading", { name: "This link does not work" }).waitFor({ timeout: WAIT });
      await page.getByRole("alert").getByText(/call your clinic/).waitFor({ timeout: WAIT });
      await checkAccessibility(page, "manage: bad link");
      await run.screenshot(page, "10-manage-bad-link-390px");
    });
  }

  await run.step("a clinic that books existing clients only sends a new client to its request form", page, async () => {
    await staff("PATCH", "/v1/booking/settings", { allowNewClients: false });
    const other = await browser.newContext(phone);
    const p = await other.newPage();
    watchPage(p, problems);
    try {
      await p.goto(`${cfg.baseUrl}/portal/book?clinic=${cfg.clinicId}`);
      await p.getByLabel("I am new to this clinic").check();
      await p.getByText("books online for its clients only").waitFor({ timeout: WAIT });
      await p.getByLabel("Mobile phone or email").fill("lee.park@example.test");
      await p.getByRole("button", { name: "Send me a code" }).click();
      await p.getByLabel("Code").fill(await codeSentTo("lee.park@example.test"));
      await p.getByRole("button", { name: "Continue" }).click();
      await p.waitForURL(/\/portal\/request-forms\/[0-9a-f-]+\?clinic=/, { timeout: WAIT });
      await p.getByRole("heading", { name: "Appointment request" }).waitFor({ timeout: WAIT });
      await p.getByText("lee.park@example.test").waitFor(); // the proved contact, no second code
      await checkAccessibility(p, "request form");
      await run.screenshot(p, "11-request-form-390px");
      await p.getByRole("button", { name: "Send request" }).click();
      await p.locator(".field-error").filter({ hasText: "Answer this question" }).waitFor({ timeout: WAIT });
      await p.getByLabel("What is the visit for?").fill("Milo's first check-up");
      await p.getByLabel("Your name").fill("Lee Park");
      await p.getByRole("button", { name: "Send request" }).click();
      await p.getByRole("heading", { name: "Your request was sent" }).waitFor({ timeout: WAIT });
      await run.screenshot(p, "12-request-sent-390px");
      const forms = await staff("GET", "/v1/booking/request-forms");
      const requests = await staff("GET", `/v1/booking/request-forms/${forms.requestForms[0].id}/requests`);
      const got = (requests.requests ?? [])[0];
      expect(got && got.contact === "lee.park@example.test" && got.contactVerified, `the clinic did not get the request: ${JSON.stringify(requests)}`);
    } finally {
      await other.close();
    }
  });

  await run.step("a message's signed link lands in the conversation without a password", null, async () => {
    const arrive = await browser.newContext(phone);
    const p = await arrive.newPage();
    watchPage(p, problems);
    try {
      await p.goto(cfg.portalLink);
      await p.getByRole("log").getByText(cfg.seededMessage).waitFor({ timeout: WAIT });
      expect(!p.url().includes("link="), `the token stayed in the address bar: ${p.url()}`);
      expect(p.url().endsWith(`/portal/conversations/${cfg.conversationId}`), `landed on ${p.url()}`);
      await checkAccessibility(p, "portal by link");
      await run.screenshot(p, "13-portal-by-link-390px");
    } finally {
      await arrive.close();
    }
  });

  await run.step("an altered signed link gets a clear page with what to do next", null, async () => {
    const arrive = await browser.newContext(phone);
    const p = await arrive.newPage();
    watchPage(p, problems);
    try {
      const altered = cfg.portalLink.replace(/link=(.)/, (_, ch) => `link=${ch === "A" ? "B" : "A"}`);
      await p.goto(altered);
      await p.getByRole("heading", { name: "This link does not work" }).waitFor({ timeout: WAIT });
      await p.getByRole("alert").getByText("not valid").first().waitFor({ timeout: WAIT });
      expect(!p.url().includes("link="), `the bad token stayed in the address bar: ${p.url()}`);
      await checkAccessibility(p, "portal bad link");
      await run.screenshot(p, "14-portal-bad-link-390px");
      await p.getByRole("button", { name: "Sign in with email and password" }).click();
      await p.getByLabel("Password").waitFor({ timeout: WAIT });
    } finally {
      await arrive.close();
    }
  });

  await run.step("an expired signed link says so and what to do next", null, async () => {
    const arrive = await browser.newContext(phone);
    const p = await arrive.newPage();
    watchPage(p, problems);
    try {
      await p.goto(cfg.expiredPortalLink);
      await p.getByRole("heading", { name: "This link has expired" }).waitFor({ timeout: WAIT });
      await p.getByRole("alert").getByText(/ask your clinic to send a new one/i).waitFor({ timeout: WAIT });
      expect(!p.url().includes("link="), `the expired token stayed in the address bar: ${p.url()}`);
      await checkAccessibility(p, "portal expired link");
      await run.screenshot(p, "15-portal-expired-link-390px");
    } finally {
      await arrive.close();
    }
  });

  await run.step("no script errors or CSP refusals on the booking pages", null, async () => {
    expect(problems.length === 0, problems.join("\n"));
  });
} finally {
  await browser.close();
}
process.exit(run.finish());
