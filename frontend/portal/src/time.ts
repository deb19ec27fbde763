// Times belong to a place: a record is shown in its location's time zone (where the shift rules
// read it), and labelled with that place whenever the viewer's clock would say something else.
// A Madrid browser must not see a New York late arrival as "on time at 16:02".

/** The viewer's IANA zone (Playwright's `timezone_id`, or the operating system's). */
export function viewerZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

const partsCache = new Map<string, Intl.DateTimeFormat>();
function wallClock(zone: string): Intl.DateTimeFormat {
  let fmt = partsCache.get(zone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    partsCache.set(zone, fmt);
  }
  return fmt;
}

function wallParts(instant: number, zone: string): number[] {
  const parts = wallClock(zone).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return [get("year"), get("month"), get("day"), get("hour"), get("minute"), get("second")];
}

/** Minutes the zone is ahead of UTC at that instant (Madrid in winter: 60). */
export function zoneOffset(instant: number, zone: string): number {
  const [y = 0, mo = 1, d = 1, h = 0, mi = 0, s = 0] = wallParts(instant, zone);
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s);
  return Math.round((asUtc - (instant - (instant % 1000))) / 60_000);
}

/** Does the viewer's clock show this instant differently from the zone's? */
export function differsFromViewer(instant: number, zone: string, viewer: string = viewerZone()): boolean {
  return zoneOffset(instant, zone) !== zoneOffset(instant, viewer);
}

/** "America/New_York" → "New York": how people name the place whose clock it is. */
export function zoneCity(zone: string): string {
  return (zone.split("/").pop() ?? zone).replace(/_/g, " ");
}

export interface ZoneLabels {
  /** Wraps a formatted time with the zone's name, e.g. "{time} ({zone} time)". */
  inZone: (time: string, zone: string) => string;
}

/** An instant in `zone`, with the zone named when the viewer's clock differs. */
export function formatAt(
  iso: string | null | undefined,
  lang: string,
  zone: string,
  labels: ZoneLabels,
  style: "datetime" | "time" = "datetime",
  viewer: string = viewerZone(),
): string {
  if (!iso) return "—";
  const instant = Date.parse(iso);
  const options: Intl.DateTimeFormatOptions =
    style === "time"
      ? { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }
      : { timeZone: zone, dateStyle: "medium", timeStyle: "short", hourCycle: "h23" };
  const text = new Intl.DateTimeFormat(lang, options).format(instant);
  return differsFromViewer(instant, zone, viewer) ? labels.inZone(text, zoneCity(zone)) : text;
}

/** An instant as the value of a datetime-local input showing the zone's wall clock. */
export function toZonedInput(iso: string | null | undefined, zone: string): string {
  if (!iso) return "";
  const [y = 0, mo = 1, d = 1, h = 0, mi = 0] = wallParts(Date.parse(iso), zone);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${y}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}`;
}

/** A datetime-local value read as the zone's wall clock → the ISO instant. */
export function fromZonedInput(value: string | undefined, zone: string): string | null {
  if (!value) return null;
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
  if (!match) return null;
  const [, y, mo, d, h, mi] = match.map(Number) as number[];
  const naive = Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0);
  // The offset at the guessed instant, then again at the corrected one (DST edges).
  const guess = naive - zoneOffset(naive, zone) * 60_000;
  return new Date(naive - zoneOffset(guess, zone) * 60_000).toISOString();
}

/** The calendar date ("YYYY-MM-DD") on the zone's wall clock at `instant`. */
export function dateIn(zone: string, instant: number = Date.now()): string {
  const [y = 0, mo = 1, d = 1] = wallParts(instant, zone);
  return `${String(y).padStart(4, "0")}-${String(mo).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/** The earliest clock on Earth (UTC+14): no place has a later date than it does. */
export const EARLIEST_ZONE = "Pacific/Kiritimati";

/**
 * The last `days` local days of every zone: from the earliest zone's first day to the latest
 * zone's today. A record is filed on its location's date, so a range ending on the viewer's
 * today hides, each night, records filed where it is already tomorrow (New York viewer,
 * Madrid record after Madrid's midnight).
 */
export function recentRange(zones: readonly string[], days: number, instant: number = Date.now()): { start: string; end: string } {
  const dates = zones.map((zone) => dateIn(zone, instant)).sort();
  const first = dates[0] ?? dateIn(viewerZone(), instant);
  const end = dates[dates.length - 1] ?? first;
  const start = new Date(Date.parse(`${first}T00:00:00Z`) - (days - 1) * 86_400_000).toISOString().slice(0, 10);
  return { start, end };
}
