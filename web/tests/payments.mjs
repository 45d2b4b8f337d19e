// Payments in a real browser: the profile says when no Stripe account is connected; once
// it is, the front desk asks for a deposit (a bad amount told beside the field), the client
// opens it in the portal, pays on the Stripe stand-in's hosted page and comes back to see it
// paid; the console's profile and conversation and the portal's conversation show it paid
// without a reload; the front desk cannot refund, an admin refunds part of it after a
// confirmation and sees the status, then sends an invoice that subtracts what is left of it. tests/web/web_browser_test.cc writes the config.
//   node tests/payments.mjs <config.json>
import { readFileSync } from "node:fs";
import { checkAccessibility, expect, launch, Run, WAIT, watchPage } from "./harness.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const run = new Run(cfg.screenshotDir);
const problems = [];
const browser = await launch();

async function asAdmin(method, path, body) {
  const r = await fetch(`${cfg.baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${cfg.staffToken}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  expect(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

// As a clinic admin connects Stripe (EdgeStack::ConnectStripe does the same from C++): the
// key through the API, and the stand-in told where this clinic's webhooks go.
async function connectStripe() {
  const account = await asAdmin("PUT", "/v1/payments/account", {
    secretKey: cfg.stripe.secretKey, webhookSigningSecret: cfg.stripe.webhookSigningSecret,
  });
  const r = await fetch(`${cfg.stripe.url}/_sim/webhooks?url=${encodeURIComponent(cfg.baseUrl + account.webhookPath)}`, { method: "POST" });
  expect(r.ok, `pointing the stand-in's webhooks at the gateway: ${r.status}`);
}

async function signIn(page, who) {
  await page.goto(`${cfg.baseUrl}/`);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("list", { name: "Queue" }).getByText(cfg.client.name).waitFor({ timeout: WAIT });
}

async function noSidewaysScroll(page) {
  const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  expect(overflow <= 0, `the page scrolls sideways by ${overflow} px`);
}

const deposit = () => cfg.requestId && asAdmin("GET", `/v1/payments/requests/${cfg.requestId}`);

try {
  const desk = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await desk.newPage();
  watchPage(page, problems);
  const payments = page.getByRole("region", { name: "Payments" });

  const ready = await run.step("without a Stripe account the profile says payments cannot be requested", page, async () => {
    await signIn(page, cfg.staff);
    await page.goto(`${cfg.baseUrl}/clients/${cfg.client.id}`);
    await payments.getByText("This clinic has no Stripe account connected").waitFor({ timeout: WAIT });
    expect(await payments.getByRole("button", { name: "Request deposit" }).count() === 0, "a request form is offered without Stripe");
  });

  let asked = false;
  if (ready) {
    asked = await run.step("staff request a deposit; a bad amount is told beside the field", page, async () => {
      await connectStripe();
      await page.reload();
      await payments.getByRole("button", { name: "Request deposit" }).waitFor({ timeout: WAIT });
      await payments.getByLabel("Amount", { exact: true }).fill("45.505");
      await payments.getByLabel("What it is for").fill("Surgery deposit");
      await payments.getByRole("button", { name: "Request deposit" }).click();
      await page.locator("#pay-amount-error").filter({ hasText: "USD takes at most 2 decimals." }).waitFor({ timeout: WAIT });
      expect(((await asAdmin("GET", `/v1/payments/requests?clientId=${cfg.client.id}`)).paymentRequests ?? []).length === 0,
        "a bad amount made a payment request");
      await payments.getByLabel("Amount", { exact: true }).fill("45.50");
      await payments.getByRole("button", { name: "Request deposit" }).click();
      await payments.getByRole("status").filter({ hasText: "Deposit of 45.50 USD sent to Maria Lopez's conversation." }).waitFor({ timeout: WAIT });
      const row = payments.getByRole("listitem", { name: "Deposit: Surgery deposit" });
      await row.getByText("Waiting for payment").waitFor({ timeout: WAIT });
      const list = await asAdmin("GET", `/v1/payments/requests?clientId=${cfg.client.id}`);
      expect(list.paymentRequests.length === 1, `${list.paymentRequests.length} requests were made`);
      expect(list.paymentRequests[0].amount === "4550" && list.paymentRequests[0].currency === "usd",
        `asked for ${list.paymentRequests[0].amount} ${list.paymentRequests[0].currency}, not 4550 usd`);
      cfg.requestId = list.paymentRequests[0].id;
      await checkAccessibility(page, "client profile with payments");
      await run.screenshot(page, "01-profile-deposit-requested");
    });
  }

  let paid = false;
  if (asked) {
    const portal = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const client = await portal.newPage();
    watchPage(client, problems);
    try {
      const opened = await run.step("the client opens the request from the portal's conversation", client, async () => {
        await client.goto(`${cfg.baseUrl}/portal/?clinic=${cfg.clinicId}`);
        await client.getByLabel("Email").fill(cfg.client.email);
        await client.getByLabel("Password").fill(cfg.client.password);
        await client.getByRole("button", { name: "Sign in" }).click();
        const log = client.getByRole("log", { name: "Messages" });
        const att = log.locator(".attachment").filter({ hasText: "Payment request" });
        await att.getByText("waiting for payment").waitFor({ timeout: WAIT });
        await att.getByRole("link", { name: "Payment request" }).click();
        await client.waitForURL(`**/portal/payments/${cfg.requestId}`);
        await client.getByRole("heading", { name: "Deposit for Riverside Animal Clinic" }).waitFor({ timeout: WAIT });
        await client.getByText("Surgery deposit").waitFor();
        await client.getByText("Not paid yet").waitFor();
        await noSidewaysScroll(client);
        await checkAccessibility(client, "portal pay page");
        await run.screenshot(client, "02-portal-pay-page-390px");
      });

      if (opened) {
        paid = await run.step("the client pays on the stand-in's hosted page and comes back to see it paid", client, async () => {
          await client.getByRole("link", { name: "Pay 45.50 USD" }).click();
          await client.waitForURL(`${cfg.stripe.url}/pay/**`);
          await client.getByRole("button", { name: /^Pay cs_/ }).click();
          await client.waitForURL(`**/portal/payments/${cfg.requestId}?paid=1`, { timeout: WAIT });
          await client.getByText("Thank you!").waitFor({ timeout: WAIT });
          expect((await deposit()).status === "PAID", "the payments service does not have it paid");
          await checkAccessibility(client, "portal pay page, paid");
          await run.screenshot(client, "03-portal-paid-390px");
        });
      }

      if (paid) {
        await run.step("the portal's conversation shows the deposit paid", client, async () => {
          await client.getByRole("link", { name: "Your messages" }).click();
          const log = client.getByRole("log", { name: "Messages" });
          await log.getByText("Deposit of 45.50 USD paid. Thank you!").waitFor({ timeout: WAIT });
          const attachments = log.locator(".attachment").filter({ hasText: "Payment request" });
          await attachments.getByText("paid", { exact: true }).first().waitFor({ timeout: WAIT });
          // The pay link's own message says so too, not only the new one.
          await attachments.getByText("waiting for payment").waitFor({ state: "detached", timeout: WAIT });
          expect(await attachments.getByText("paid", { exact: true }).count() === 2, "not every payment attachment says paid");
          await noSidewaysScroll(client);
          await run.screenshot(client, "04-portal-conversation-paid-390px");
        });
      }
    } finally {
      await portal.close();
    }
  }

  if (paid) {
    await run.step("the profile shows it paid without a reload and the front desk cannot refund", page, async () => {
      const row = payments.getByRole("listitem", { name: "Deposit: Surgery deposit" });
      await row.getByText("Paid", { exact: true }).waitFor({ timeout: WAIT });
      await row.getByText("Refunds are made by a clinic admin.").waitFor();
      expect(await row.getByRole("button", { name: /Refund/ }).count() === 0, "the front desk is offered a refund");
    });

    await run.step("the console's conversation shows it paid", page, async () => {
      await page.goto(`${cfg.baseUrl}/inbox/${cfg.conversationId}`);
      const log = page.getByRole("log", { name: "Messages" });
      await log.getByText("Deposit of 45.50 USD paid. Thank you!").waitFor({ timeout: WAIT });
      await log.locator(".attachment").filter({ hasText: "Payment request" }).getByText("paid", { exact: true }).first().waitFor({ timeout: WAIT });
      await run.screenshot(page, "05-console-conversation-paid");
    });

    const admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const a = await admin.newPage();
    watchPage(a, problems);
    try {
      await run.step("an admin refunds part of it after confirming and sees the status", a, async () => {
        await signIn(a, cfg.admin);
        await a.goto(`${cfg.baseUrl}/clients/${cfg.client.id}`);
        const row = a.getByRole("region", { name: "Payments" }).getByRole("listitem", { name: "Deposit: Surgery deposit" });
        await row.getByRole("button", { name: /^Refund/ }).click();
        const amount = row.getByLabel("Refund amount (USD)");
        expect(await amount.inputValue() === "45.50", "the refund does not offer what is left");
        await amount.fill("50");
        await row.getByRole("button", { name: "Continue" }).click();
        await row.getByText("At most 45.50 USD is left to refund.").waitFor({ timeout: WAIT });
        await amount.fill("20");
        await row.getByRole("button", { name: "Continue" }).click();
        await row.getByRole("alertdialog").getByText("Refund 20.00 USD of 45.50 USD to the client's card?").waitFor({ timeout: WAIT });
        expect(Number((await deposit()).refundedAmount ?? 0) === 0, "money left before the refund was confirmed");
        await checkAccessibility(a, "refund confirmation");
        await run.screenshot(a, "06-refund-confirm");
        await row.getByRole("button", { name: "Refund 20.00 USD" }).click();
        await row.getByText("Partly refunded").waitFor({ timeout: WAIT });
        await row.getByText("20.00 USD refunded").waitFor({ timeout: WAIT });
        const after = await deposit();
        expect(after.status === "PARTLY_REFUNDED" && after.refundedAmount === "2000",
          `the service has ${after.status} with ${after.refundedAmount} refunded`);
        await run.screenshot(a, "07-partly-refunded");
      });

      await run.step("an invoice subtracts what is left of the paid deposit", a, async () => {
        const region = a.getByRole("region", { name: "Payments" });
        await region.getByLabel("Invoice minus deposits").check();
        await region.getByLabel("Invoice total").fill("120");
        await region.getByLabel("Invoice line").fill("Dental cleaning");
        expect(await region.getByLabel("Subtract the client's paid deposits").isChecked(), "deposits are not subtracted by default");
        await region.getByRole("button", { name: "Send invoice" }).click();
        // 45.50 paid, 20.00 of it refunded: 25.50 of the deposit is left to apply.
        await region.getByRole("status").filter({ hasText: "Invoice of 94.50 USD sent to Maria Lopez's conversation." }).waitFor({ timeout: WAIT });
        const row = region.getByRole("listitem", { name: "Invoice: Dental cleaning" });
        await row.getByText("120.00 USD minus 25.50 USD in deposits").waitFor({ timeout: WAIT });
        await row.getByText("Waiting for payment").waitFor();
        const list = await asAdmin("GET", `/v1/payments/requests?clientId=${cfg.client.id}`);
        const invoice = list.paymentRequests.find((p) => p.kind === "INVOICE");
        expect(invoice && invoice.amount === "9450" && invoice.subtotal === "12000",
          `the invoice is ${invoice?.amount} of ${invoice?.subtotal}, not 9450 of 12000`);
        await run.screenshot(a, "08-invoice-minus-deposit");
      });

      await run.step("the profile's payments work at phone width (390 px)", null, async () => {
        const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, storageState: await admin.storageState() });
        const p = await phone.newPage();
        watchPage(p, problems);
        try {
          await p.goto(`${cfg.baseUrl}/clients/${cfg.client.id}`);
          await p.getByRole("region", { name: "Payments" }).getByText("Partly refunded").waitFor({ timeout: WAIT });
          await p.getByRole("region", { name: "Payments" }).scrollIntoViewIfNeeded();
          await noSidewaysScroll(p);
          await checkAccessibility(p, "client profile at 390 px");
          await run.screenshot(p, "09-profile-payments-390px");
        } finally {
          await phone.close();
        }
      });
    } finally {
      await admin.close();
    }
  }

  await run.step("no script errors or CSP refusals in payments", null, async () => {
    expect(problems.length === 0, problems.join("\n"));
  });
} finally {
  await browser.close();
}
process.exit(run.finish());
