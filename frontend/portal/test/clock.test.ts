import { describe, expect, it } from "vitest";
import { isoDate, thresholds } from "../src/clock";

describe("shift threshold preview", () => {
  it("spells out early / on time / late like the server's rules", () => {
    expect(thresholds("09:00", 5, 30)).toEqual({ earlyBefore: "08:30", onTimeUntil: "09:05" });
  });
  it("wraps around midnight", () => {
    expect(thresholds("00:10", 0, 30)).toEqual({ earlyBefore: "23:40", onTimeUntil: "00:10" });
    expect(thresholds("23:50", 15, 0)).toEqual({ earlyBefore: "23:50", onTimeUntil: "00:05" });
  });
});

describe("local calendar dates", () => {
  it("uses the viewer's calendar day, not UTC's", () => {
    expect(isoDate(new Date(2026, 11, 2, 23, 59))).toBe("2026-12-02");
    expect(isoDate(new Date(2026, 0, 1, 0, 0))).toBe("2026-01-01");
  });
});
