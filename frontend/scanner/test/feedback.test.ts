import { createI18n, dictionaries, LANGUAGES, type I18n } from "@tapwork/shared";
import { describe, expect, it } from "vitest";
import { clockNotice, feedbackForAnswer, feedbackForError, feedbackQueued, SCAN_ERROR_CODES } from "../src/feedback";

function i18nFor(lang: "en" | "es"): I18n {
  const i18n = createI18n(null, [lang]);
  return i18n;
}

describe("message map", () => {
  it.each(LANGUAGES.flatMap((lang) => SCAN_ERROR_CODES.map((code) => [lang, code] as const)))("%s has a human message for %s", (lang, code) => {
    const f = feedbackForError(i18nFor(lang), code, { available_at: "2026-12-01T10:30:00Z" }, "UTC");
    expect(f.title).not.toMatch(/error\.|UNKNOWN/);
    expect(f.lines[0]).toBeTruthy();
    expect(f.lines[0]).not.toContain(code); // a sentence, not the code echoed back
    expect(f.lines.join(" ")).not.toMatch(/\{\w+\}/); // every placeholder filled
  });

  it("says what to do with a replaced badge", () => {
    const f = feedbackForError(i18nFor("en"), "BADGE_SUPERSEDED");
    expect(f.lines[0]).toBe("This badge was replaced — ask HR for your new one.");
    expect(f.tone).toBe("reject");
  });

  it("gives the time from which the employee may check in again", () => {
    const f = feedbackForError(i18nFor("en"), "REST_PERIOD", { available_at: "2026-12-01T14:05:00Z" }, "Europe/Madrid");
    expect(f.lines[0]).toContain("15:05");
    const es = feedbackForError(i18nFor("es"), "REST_PERIOD", { available_at: "2026-12-01T14:05:00Z" }, "Europe/Madrid");
    expect(es.lines[0]).toContain("15:05");
    expect(es.lines[0]).toContain("descanso");
  });

  it("marks duplicates amber and other rejections red", () => {
    expect(feedbackForError(i18nFor("en"), "DUPLICATE_SCAN").tone).toBe("warn");
    expect(feedbackForError(i18nFor("en"), "BADGE_REVOKED").tone).toBe("reject");
  });

  it("routes kiosk-level codes to the kiosk screens", () => {
    expect(feedbackForError(i18nFor("en"), "KIOSK_REVOKED").kiosk).toBe("revoked");
    expect(feedbackForError(i18nFor("en"), "KIOSK_UNAUTHORIZED").kiosk).toBe("unpaired");
  });

  it("still explains a code it does not know", () => {
    const f = feedbackForError(i18nFor("es"), "SOMETHING_NEW");
    expect(f.lines[0]).toContain("SOMETHING_NEW");
    expect(f.tone).toBe("reject");
  });

  it("has every error message in Spanish too (not the English text)", () => {
    for (const code of SCAN_ERROR_CODES) {
      const key = `error.${code}.hint` as keyof typeof dictionaries.en;
      expect(dictionaries.es[key]).not.toBe(dictionaries.en[key]);
    }
  });
});

describe("scan answers", () => {
  it("check-in on time is green with name and time", () => {
    const f = feedbackForAnswer(
      i18nFor("en"),
      { action: "check_in", status: "on_time", employee: { display_name: "Ana Pérez" }, at: "2026-12-01T07:58:00Z" },
      "Europe/Madrid",
    );
    expect(f).toMatchObject({ tone: "checkin", title: "Checked in", name: "Ana Pérez" });
    expect(f.lines).toEqual(["at 08:58", "On time"]);
  });

  it("late check-in is amber with the minutes", () => {
    const f = feedbackForAnswer(i18nFor("es"), { action: "check_in", status: "late", minutes_late: 12, at: "2026-12-01T08:12:00Z" }, "UTC");
    expect(f.tone).toBe("warn");
    expect(f.lines).toContain("Retraso de 12 min");
  });

  it("check-out is blue with the worked time", () => {
    const f = feedbackForAnswer(
      i18nFor("en"),
      { action: "check_out", status: "complete", worked_minutes: 485, overtime_minutes: 5, at: "2026-12-01T16:05:00Z" },
      "UTC",
    );
    expect(f.tone).toBe("checkout");
    expect(f.lines).toEqual(["at 16:05", "Worked 8 h 05 min", "Overtime 5 min"]);
  });

  it("held offline scans are amber and say HR will review", () => {
    const f = feedbackForAnswer(i18nFor("en"), { action: "held", reason: "OFFLINE_TOO_OLD" });
    expect(f.tone).toBe("warn");
    expect(f.lines[0]).toContain("HR");
  });

  it("queued scans say they will be sent", () => {
    expect(feedbackQueued(i18nFor("es")).title).toBe("Guardado — se enviará");
  });
});

describe("clock notice", () => {
  it("stays quiet within a minute", () => {
    expect(clockNotice(i18nFor("en"), null)).toBeNull();
    expect(clockNotice(i18nFor("en"), 59_000)).toBeNull();
    expect(clockNotice(i18nFor("en"), -60_000)).toBeNull();
  });
  it("says which way and by how much", () => {
    expect(clockNotice(i18nFor("en"), 5 * 60_000)).toContain("5 min behind");
    expect(clockNotice(i18nFor("en"), -3 * 3600_000)).toContain("3 h ahead");
    expect(clockNotice(i18nFor("es"), 5 * 60_000)).toContain("5 min atrasado");
  });
});
