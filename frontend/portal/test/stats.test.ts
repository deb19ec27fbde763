import { describe, expect, it } from "vitest";
import { absentOn, dailyCounts, isoWeekday, lastDays, thresholds } from "../src/stats";

describe("shift threshold preview", () => {
  it("spells out early / on time / late like the server's rules", () => {
    expect(thresholds("09:00", 5, 30)).toEqual({ earlyBefore: "08:30", onTimeUntil: "09:05" });
  });
  it("wraps around midnight", () => {
    expect(thresholds("00:10", 0, 30)).toEqual({ earlyBefore: "23:40", onTimeUntil: "00:10" });
    expect(thresholds("23:50", 15, 0)).toEqual({ earlyBefore: "23:50", onTimeUntil: "00:05" });
  });
});

describe("dashboard counts", () => {
  const shifts = [{ id: "s", working_days: [1, 2, 3, 4, 5] }];
  const people = [
    { id: "ana", shift_id: "s", location_id: "mad", is_active: true },
    { id: "ben", shift_id: "s", location_id: "bcn", is_active: true },
    { id: "cat", shift_id: "s", location_id: "mad", is_active: false },
    { id: "dan", shift_id: null, location_id: "mad", is_active: true },
  ];
  it("knows ISO weekdays and the last N local days", () => {
    expect(isoWeekday("2026-12-07")).toBe(1); // a Monday
    expect(isoWeekday("2026-12-06")).toBe(7);
    expect(lastDays(new Date(2026, 11, 2), 3)).toEqual(["2026-11-30", "2026-12-01", "2026-12-02"]);
  });
  it("counts on time, late (first check-in of the day) and absent per day", () => {
    const records = [
      { user_id: "ana", work_date: "2026-12-07", status: "late", check_in_at: "2026-12-07T08:20:00Z" },
      { user_id: "ana", work_date: "2026-12-07", status: "on_time", check_in_at: "2026-12-07T13:00:00Z" },
      { user_id: "dan", work_date: "2026-12-07", status: "unscheduled", check_in_at: "2026-12-07T09:00:00Z" },
    ];
    const [day] = dailyCounts(["2026-12-07"], records, people, shifts, []);
    expect(day).toEqual({ date: "2026-12-07", onTime: 1, late: 1, absent: 1 }); // ben absent
    expect([...absentOn("2026-12-07", records, people, shifts, [])]).toEqual(["ben"]);
  });
  it("nobody is absent on weekends or on holidays where they work", () => {
    expect(dailyCounts(["2026-12-06"], [], people, shifts, [])[0]?.absent).toBe(0);
    const madridHoliday = [{ holiday_date: "2026-12-08", location_id: "mad" }];
    expect([...absentOn("2026-12-08", [], people, shifts, madridHoliday)]).toEqual(["ben"]);
    const newcomer = [{ id: "new", shift_id: "s", location_id: "mad", is_active: true, created_at: "2026-12-09T10:00:00Z" }];
    expect(absentOn("2026-12-08", [], newcomer, shifts, []).size).toBe(0);
    expect(absentOn("2026-12-09", [], newcomer, shifts, []).size).toBe(1);
    const everywhere = [{ holiday_date: "2026-12-08", location_id: null }];
    expect(absentOn("2026-12-08", [], people, shifts, everywhere).size).toBe(0);
  });
});
