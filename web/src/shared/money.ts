// Money as people write it ("45.50") and as the API keeps it (integer minor units of an
// ISO 4217 currency). Exponents as Stripe uses them: 0 for JPY and the other zero-decimal
// currencies, 3 for KWD and its peers, 2 for the rest.
const ZERO_DECIMAL = new Set(["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"]);
const THREE_DECIMAL = new Set(["bhd", "jod", "kwd", "omr", "tnd"]);

export function exponent(currency: string): number {
  const c = currency.toLowerCase();
  return ZERO_DECIMAL.has(c) ? 0 : THREE_DECIMAL.has(c) ? 3 : 2;
}

// The largest charge Stripe takes in a Checkout Session (999,999.99 in a two-decimal currency).
const MAX_MINOR = 99_999_999;

export type Parsed = { ok: true; minor: number } | { ok: false; message: string };

// "45.50", "45.5", "45", "1,200.00" -> minor units; anything else is told in words.
export function parseAmount(text: string, currency: string): Parsed {
  const s = text.trim().replace(/^[$€£¥]\s*/, "");
  const e = exponent(currency);
  const code = currency.toUpperCase();
  if (s === "") return { ok: false, message: "Enter an amount." };
  const m = /^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d*))?$/.exec(s);
  if (!m) return { ok: false, message: `Enter an amount like ${e === 0 ? "4550" : "45." + "50".padEnd(e, "0")}.` };
  const frac = m[2] ?? "";
  if (frac.length > e) {
    return { ok: false, message: e === 0 ? `${code} has no decimals.` : `${code} takes at most ${e} decimals.` };
  }
  const minor = Number(m[1].replace(/,/g, "")) * 10 ** e + Number((frac + "000").slice(0, e) || 0);
  if (minor <= 0) return { ok: false, message: "The amount must be more than zero." };
  if (minor > MAX_MINOR) return { ok: false, message: `The amount can be at most ${formatMinor(MAX_MINOR, currency)}.` };
  return { ok: true, minor };
}

// 4550, "usd" -> "45.50 USD" (the same shape as the API's amountText).
export function formatMinor(minor: number | string | undefined, currency: string | undefined): string {
  const c = currency ?? "";
  const e = exponent(c);
  const n = Number(minor ?? 0);
  const sign = n < 0 ? "-" : "";
  const abs = Math.abs(n);
  const whole = Math.floor(abs / 10 ** e);
  const frac = e ? "." + String(abs % 10 ** e).padStart(e, "0") : "";
  return `${sign}${whole}${frac} ${c.toUpperCase()}`.trim();
}

// Minor units as the amount field shows them back ("20.00").
export function minorToText(minor: number, currency: string): string {
  const e = exponent(currency);
  return e ? (minor / 10 ** e).toFixed(e) : String(minor);
}
