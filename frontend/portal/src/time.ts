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
