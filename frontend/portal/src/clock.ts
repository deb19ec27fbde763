// Wall-clock arithmetic for the shift editor and local calendar dates for the date filters.
// The dashboard's and reports' counts are the API's (its SQL knows zones, holidays and shifts):
// nothing here counts attendance.

/** "HH:MM" → minutes after midnight. */
export function toMinutes(hhmm: string): number {
  const [h = "0", m = "0"] = hhmm.split(":");
  return Number(h) * 60 + Number(m);
}

export function fromMinutes(total: number): string {
  const m = ((total % 1440) + 1440) % 1440;
  return `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
}

/** What a shift's thresholds mean at the door, mirroring attendance/rules.py:
 *  early when before start − early_threshold, on time until start + grace, late after. */
export function thresholds(start: string, graceMinutes: number, earlyMinutes: number): { earlyBefore: string; onTimeUntil: string } {
  const s = toMinutes(start);
  return { earlyBefore: fromMinutes(s - earlyMinutes), onTimeUntil: fromMinutes(s + graceMinutes) };
}

/** Local calendar date "YYYY-MM-DD" (not UTC: the dashboard speaks the viewer's day). */
export function isoDate(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** One bar of the attendance chart. */
export interface DayCounts {
  date: string;
  onTime: number;
  late: number;
  absent: number;
}
