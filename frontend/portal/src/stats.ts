// Pure calculations behind the dashboard and the shift editor (unit-tested; no DOM, no API).

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

export function lastDays(today: Date, count: number): string[] {
  const out: string[] = [];
  for (let i = count - 1; i >= 0; i--) {
    out.push(isoDate(new Date(today.getFullYear(), today.getMonth(), today.getDate() - i)));
  }
  return out;
}

/** ISO weekday of a "YYYY-MM-DD": 1 = Monday … 7 = Sunday. */
export function isoWeekday(date: string): number {
  const [y, m, d] = date.split("-").map(Number);
  const day = new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1)).getUTCDay();
  return day === 0 ? 7 : day;
}

export interface Person {
  id: string;
  shift_id: string | null;
  location_id: string | null;
  is_active: boolean;
  /** People are not absent on days before their account existed. */
  created_at?: string;
}
export interface ShiftDays {
  id: string;
  working_days: number[];
}
export interface HolidayDay {
  holiday_date: string;
  location_id: string | null;
}
export interface Rec {
  user_id: string;
  work_date: string;
  status: string;
  check_in_at: string;
}
export interface DayCounts {
  date: string;
  onTime: number;
  late: number;
  absent: number;
}

/** People expected at work on `date`: active, with a shift working that weekday, no holiday
 *  (global or at their location). */
export function scheduled(date: string, people: Person[], shifts: ShiftDays[], holidays: HolidayDay[]): Set<string> {
  const weekday = isoWeekday(date);
  const days = new Map(shifts.map((s) => [s.id, s.working_days]));
  const off = holidays.filter((h) => h.holiday_date === date);
  const out = new Set<string>();
  for (const p of people) {
    if (!p.is_active || !p.shift_id || !days.get(p.shift_id)?.includes(weekday)) continue;
    if (p.created_at && isoDate(new Date(p.created_at)) > date) continue;
    if (off.some((h) => h.location_id === null || h.location_id === p.location_id)) continue;
    out.add(p.id);
  }
  return out;
}

/** Per day: people on time (first check-in not late), late, and absent (scheduled, no record). */
export function dailyCounts(dates: string[], records: Rec[], people: Person[], shifts: ShiftDays[], holidays: HolidayDay[]): DayCounts[] {
  const first = new Map<string, Rec>();
  for (const r of records) {
    const key = `${r.work_date}|${r.user_id}`;
    const seen = first.get(key);
    if (!seen || r.check_in_at < seen.check_in_at) first.set(key, r);
  }
  return dates.map((date) => {
    let onTime = 0;
    let late = 0;
    const present = new Set<string>();
    for (const [key, r] of first) {
      if (!key.startsWith(`${date}|`)) continue;
      present.add(r.user_id);
      if (r.status === "late") late++;
      else onTime++;
    }
    const expected = scheduled(date, people, shifts, holidays);
    let absent = 0;
    for (const id of expected) if (!present.has(id)) absent++;
    return { date, onTime, late, absent };
  });
}

/** People scheduled on `date` with no record: today's absent list. */
export function absentOn(date: string, records: Rec[], people: Person[], shifts: ShiftDays[], holidays: HolidayDay[]): Set<string> {
  const expected = scheduled(date, people, shifts, holidays);
  for (const r of records) if (r.work_date === date) expected.delete(r.user_id);
  return expected;
}
