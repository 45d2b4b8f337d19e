// Dates and times in the clinic's own time zone (a front desk in Chicago reads Chicago
// times, whatever the browser's zone).
let zone: string | undefined;
export function setClinicTimeZone(tz: string | undefined): void {
  zone = tz || undefined;
}

export function formatTime(iso: string | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  const now = new Date();
  const sameDay =
    new Intl.DateTimeFormat("en-CA", { timeZone: zone, dateStyle: "short" }).format(d) ===
    new Intl.DateTimeFormat("en-CA", { timeZone: zone, dateStyle: "short" }).format(now);
  return new Intl.DateTimeFormat(undefined, {
    timeZone: zone,
    ...(sameDay ? { hour: "numeric", minute: "2-digit" } : { month: "short", day: "numeric" }),
  }).format(d);
}

export function formatDateTime(iso: string | undefined): string {
  if (!iso) return "";
  return new Intl.DateTimeFormat(undefined, { timeZone: zone, dateStyle: "medium", timeStyle: "short" }).format(
    new Date(iso),
  );
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

// "+15551234567" -> "(555) 123-4567" for North American numbers; others as stored.
export function formatPhone(e164: string | undefined): string {
  if (!e164) return "";
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  return m ? `(${m[1]}) ${m[2]}-${m[3]}` : e164;
}
