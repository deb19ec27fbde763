import { describe, expect, it } from "vitest";
import { chartDays, presetRange } from "../src/pages/reports";

describe("report range presets", () => {
  // Wednesday 11 March 2026, local time.
  const today = new Date(2026, 2, 11, 15, 0);

  it("weeks run Monday to Sunday", () => {
    expect(presetRange("thisWeek", today)).toEqual({ from: "2026-03-09", to: "2026-03-15" });
    expect(presetRange("lastWeek", today)).toEqual({ from: "2026-03-02", to: "2026-03-08" });
  });

  it("months are whole calendar months, across a year boundary too", () => {
    expect(presetRange("thisMonth", today)).toEqual({ from: "2026-03-01", to: "2026-03-31" });
    expect(presetRange("lastMonth", new Date(2026, 0, 20))).toEqual({ from: "2025-12-01", to: "2025-12-31" });
  });

  it("a Sunday belongs to the week that started the Monday before", () => {
    expect(presetRange("thisWeek", new Date(2026, 2, 15))).toEqual({ from: "2026-03-09", to: "2026-03-15" });
  });
});

describe("report chart", () => {
  it("sums the department summary per day (present minus late is on time)", () => {
    const report = {
      kind: "department-summary",
      from: "2026-03-23",
      to: "2026-03-24",
      rows: [
        { date: "2026-03-23", department: "A", present: 2, late: 1, absent: 1 },
        { date: "2026-03-23", department: "B", present: 1, late: 0, absent: 0 },
        { date: "2026-03-24", department: "A", present: 0, late: 0, absent: 2 },
      ],
    };
    expect(chartDays("department-summary", report)).toEqual([
      { date: "2026-03-23", onTime: 2, late: 1, absent: 1 },
      { date: "2026-03-24", onTime: 0, late: 0, absent: 2 },
    ]);
  });

  it("counts the monthly sheet's codes per day", () => {
    const report = {
      kind: "monthly-sheet",
      from: "2026-03-23",
      to: "2026-03-24",
      rows: [
        { employee_id: "N001", "2026-03-23": "P", "2026-03-24": "L", total_p: 1 },
        { employee_id: "O001", "2026-03-23": "A", "2026-03-24": "H", total_p: 0 },
      ],
    };
    expect(chartDays("monthly-sheet", report)).toEqual([
      { date: "2026-03-23", onTime: 1, late: 0, absent: 1 },
      { date: "2026-03-24", onTime: 0, late: 1, absent: 0 },
    ]);
  });
});

describe("dashboard chart", () => {
  it("puts the API's days_ago on the last 30 dates, today last, gaps as zero", async () => {
    const { chartCounts } = await import("../src/pages/dashboard");
    const counts = chartCounts(
      [
        { days_ago: 0, date: "2026-03-26", on_time: 1, late: 2, absent: 0 },
        { days_ago: 2, date: "2026-03-24", on_time: 0, late: 0, absent: 1 },
      ],
      new Date(2026, 2, 26, 10, 0),
    );
    expect(counts).toHaveLength(30);
    expect(counts[29]).toEqual({ date: "2026-03-26", onTime: 1, late: 2, absent: 0 });
    expect(counts[28]).toEqual({ date: "2026-03-25", onTime: 0, late: 0, absent: 0 });
    expect(counts[27]).toEqual({ date: "2026-03-24", onTime: 0, late: 0, absent: 1 });
    expect(counts[0]?.date).toBe("2026-02-25");
  });
});
