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

// The wall clock of an instant in the clinic's zone, as milliseconds of a UTC date with the
// same fields (the zone's offset at that instant is this minus the instant).
function wallClockMs(t: number): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(t));
  const n = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return Date.UTC(n("year"), n("month") - 1, n("day"), n("hour"), n("minute"), n("second"));
}

// A clinic-local day and "HH:MM" as an RFC 3339 instant (the API's times are instants;
// the front desk types its own wall clock). A time a DST jump skips moves forward with it.
export function clinicInstant(day: string, hhmm: string): string | undefined {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  const t = /^(\d{1,2}):(\d{2})$/.exec(hhmm);
  if (!d || !t) return undefined;
  const wall = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(t[1]), Number(t[2]));
  let guess = wall - (wallClockMs(wall) - wall);
  guess = wall - (wallClockMs(guess) - guess); // the offset at the answer, not at the guess
  return new Date(guess).toISOString();
}

// The clinic's IANA zone as the console was told it (undefined: the browser's).
export function clinicTimeZone(): string | undefined {
  return zone;
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
