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

export function formatClock(iso: string | undefined): string {
  if (!iso) return "";
  return new Intl.DateTimeFormat(undefined, { timeZone: zone, hour: "numeric", minute: "2-digit" }).format(new Date(iso));
}

// Today in the clinic's zone, as YYYY-MM-DD (the schedule's days are clinic-local).
export function clinicToday(): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
}

// A YYYY-MM-DD day moved by whole days (calendar arithmetic, no time zone involved).
export function shiftDay(day: string, days: number): string {
  const d = new Date(`${day}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

// The clinic-local day (YYYY-MM-DD) of an instant.
export function clinicDay(iso: string | undefined): string {
  if (!iso) return "";
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(iso));
}

// A YYYY-MM-DD day as people read it ("Wed, Jun 3"); calendar only, no time zone involved.
export function formatDay(day: string, long = false): string {
  return new Intl.DateTimeFormat(undefined, {
    timeZone: "UTC", weekday: long ? "long" : "short", month: long ? "long" : "short", day: "numeric",
  }).format(new Date(`${day}T12:00:00Z`));
}
