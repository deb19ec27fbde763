import { describe, expect, it } from "vitest";
import { dateIn, differsFromViewer, EARLIEST_ZONE, formatAt, fromZonedInput, recentRange, toZonedInput, zoneOffset } from "../src/time";

const labels = { inZone: (time: string, zone: string) => `${time} (${zone} time)` };

describe("times in the record's zone", () => {
  it("shows a New York arrival at New York's wall clock, labelled for a Madrid viewer", () => {
    const iso = "2026-12-07T14:02:00Z"; // 09:02 in New York, 15:02 in Madrid
    expect(formatAt(iso, "en-GB", "America/New_York", labels, "time", "Europe/Madrid")).toBe("09:02 (New York time)");
  });
  it("leaves the label out when the viewer's clock says the same", () => {
    const iso = "2026-12-07T08:00:00Z";
    expect(formatAt(iso, "en-GB", "Europe/Madrid", labels, "time", "Europe/Paris")).toBe("09:00");
    expect(differsFromViewer(Date.parse(iso), "Europe/Madrid", "Europe/Madrid")).toBe(false);
  });
  it("knows summer time", () => {
    expect(zoneOffset(Date.parse("2026-07-01T12:00:00Z"), "Europe/Madrid")).toBe(120);
    expect(zoneOffset(Date.parse("2026-12-01T12:00:00Z"), "America/New_York")).toBe(-300);
  });
  it("round-trips a datetime-local value through the zone's wall clock", () => {
    expect(toZonedInput("2026-12-07T14:02:00Z", "America/New_York")).toBe("2026-12-07T09:02");
    expect(fromZonedInput("2026-12-07T09:02", "America/New_York")).toBe("2026-12-07T14:02:00.000Z");
    // The day summer time starts in Madrid (02:00 → 03:00): 08:00 local is 06:00 UTC.
    expect(fromZonedInput("2026-03-29T08:00", "Europe/Madrid")).toBe("2026-03-29T06:00:00.000Z");
    expect(fromZonedInput("", "Europe/Madrid")).toBeNull();
  });
});

describe("the records page's default range", () => {
  // 23:30 in New York on 6 Dec is 05:30 on 7 Dec in Madrid.
  const night = Date.parse("2026-12-07T04:30:00Z");
  it("ends on the latest local date of the zones, starts a week before the earliest", () => {
    expect(dateIn("America/New_York", night)).toBe("2026-12-06");
    expect(dateIn("Europe/Madrid", night)).toBe("2026-12-07");
    expect(recentRange(["America/New_York", "Europe/Madrid"], 7, night)).toEqual({ start: "2026-11-30", end: "2026-12-07" });
  });
  it("is one week when every zone says the same day", () => {
    expect(recentRange(["Europe/Madrid", "Europe/Paris"], 7, night)).toEqual({ start: "2026-12-01", end: "2026-12-07" });
  });
  it("reaches the earliest clock on Earth when the locations are unknown", () => {
    // 11:30 on 6 Dec in Honolulu (UTC-10) is already 11:30 on 7 Dec at UTC+14.
    const noon = Date.parse("2026-12-06T21:30:00Z");
    expect(recentRange(["Pacific/Honolulu", EARLIEST_ZONE], 7, noon).end).toBe("2026-12-07");
  });
});
