// Turns a scan answer or an API error into what the person at the kiosk sees: a colour, a
// title, their name and a line or two. Every error code the scan API can answer has its own
// human message in every language (test/feedback.test.ts checks it).
import type { I18n, MessageKey } from "@tapwork/shared";

/** checkin green, checkout blue, warn amber (duplicate/late/held), reject red, queued slate. */
export type Tone = "checkin" | "checkout" | "warn" | "reject" | "queued";

export interface Feedback {
  tone: Tone;
  title: string;
  name?: string;
  lines: string[];
  /** Codes that mean the kiosk itself is no longer allowed to scan. */
  kiosk?: "revoked" | "unpaired";
}

export interface ScanAnswer {
  action: "check_in" | "check_out" | "held";
  status?: string | null;
  minutes_late?: number | null;
  worked_minutes?: number | null;
  overtime_minutes?: number | null;
  employee?: { display_name?: string | null } | null;
  at?: string | null;
  reason?: string | null;
}

export const SCAN_ERROR_CODES = [
  "INVALID_QR_CODE",
  "BADGE_REVOKED",
  "BADGE_EXPIRED",
  "BADGE_SUPERSEDED",
  "BADGE_NOT_FOUND",
  "USER_INACTIVE",
  "DUPLICATE_SCAN",
  "REST_PERIOD",
  "RATE_LIMITED",
  "KIOSK_REVOKED",
  "KIOSK_UNAUTHORIZED",
  "SCAN_ID_REUSED",
  "VALIDATION_ERROR",
  "PAYLOAD_TOO_LARGE",
  "NOT_FOUND",
  "INTERNAL_ERROR",
  "NETWORK_ERROR",
] as const;
export type ScanErrorCode = (typeof SCAN_ERROR_CODES)[number];

const WARN_CODES = new Set<string>(["DUPLICATE_SCAN"]);

export function formatTime(iso: string | null | undefined, lang: string, timeZone?: string): string {
  const date = iso ? new Date(iso) : new Date();
  if (Number.isNaN(date.getTime())) return "";
  try {
    return new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone }).format(date);
  } catch {
    // An unknown IANA zone must not hide the feedback: fall back to the kiosk's zone.
    return new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(date);
  }
}

export function formatDuration(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = Math.round(minutes % 60);
  return h > 0 ? `${h} h ${String(m).padStart(2, "0")} min` : `${m} min`;
}

function statusLine(i18n: I18n, answer: ScanAnswer): string | null {
  const status = answer.status;
  if (!status) return null;
  const key = `scanner.status.${status}`;
  if (!i18n.has(key)) return status.replace(/_/g, " ");
  return i18n.t(key, { minutes: answer.minutes_late ?? 0 });
}

export function feedbackForAnswer(i18n: I18n, answer: ScanAnswer, timeZone?: string): Feedback {
  const time = i18n.t("scanner.atTime", { time: formatTime(answer.at, i18n.lang, timeZone) });
  const name = answer.employee?.display_name ?? undefined;
  const base = name ? { name } : {};
  if (answer.action === "held") {
    return { ...base, tone: "warn", title: i18n.t("scanner.held"), lines: [i18n.t("scanner.heldDetail")] };
  }
  const status = statusLine(i18n, answer);
  if (answer.action === "check_in") {
    const late = answer.status === "late";
    return {
      ...base,
      tone: late ? "warn" : "checkin",
      title: i18n.t("scanner.checkIn"),
      lines: [time, ...(status ? [status] : [])],
    };
  }
  const lines = [time];
  if (answer.worked_minutes != null) {
    lines.push(i18n.t("scanner.worked", { duration: formatDuration(answer.worked_minutes) }));
  }
  if (answer.overtime_minutes) {
    lines.push(i18n.t("scanner.overtime", { duration: formatDuration(answer.overtime_minutes) }));
  }
  return { ...base, tone: "checkout", title: i18n.t("scanner.checkOut"), lines };
}

export function isKnownCode(code: string): code is ScanErrorCode {
  return (SCAN_ERROR_CODES as readonly string[]).includes(code);
}

export function feedbackForError(i18n: I18n, code: string, details: Record<string, unknown> = {}, timeZone?: string): Feedback {
  const tone: Tone = WARN_CODES.has(code) ? "warn" : "reject";
  if (!isKnownCode(code)) {
    return {
      tone,
      title: i18n.t("error.UNKNOWN.title"),
      lines: [i18n.t("error.UNKNOWN.hint", { code })],
    };
  }
  let hint = i18n.t(`error.${code}.hint` as MessageKey);
  if (code === "REST_PERIOD") {
    const at = typeof details.available_at === "string" ? details.available_at : null;
    hint = at ? i18n.t("error.REST_PERIOD.hint", { time: formatTime(at, i18n.lang, timeZone) }) : i18n.t("error.REST_PERIOD.hintNoTime");
  }
  const feedback: Feedback = { tone, title: i18n.t(`error.${code}.title` as MessageKey), lines: [hint] };
  if (code === "KIOSK_REVOKED") feedback.kiosk = "revoked";
  if (code === "KIOSK_UNAUTHORIZED") feedback.kiosk = "unpaired";
  return feedback;
}

export function feedbackQueued(i18n: I18n): Feedback {
  return { tone: "queued", title: i18n.t("scanner.queued"), lines: [i18n.t("scanner.queuedDetail")] };
}

const CLOCK_WARN_MS = 60_000;

/** The banner for a kiosk clock off by more than a minute (offset = server − kiosk), or null. */
export function clockNotice(i18n: I18n, offsetMs: number | null): string | null {
  if (offsetMs === null || Math.abs(offsetMs) <= CLOCK_WARN_MS) return null;
  const minutes = Math.round(Math.abs(offsetMs) / 60_000);
  const amount = minutes >= 120 ? `${Math.round(minutes / 60)} h` : `${minutes} min`;
  // Positive offset: the server is ahead, so the kiosk is behind.
  return i18n.t(offsetMs > 0 ? "scanner.clockBehind" : "scanner.clockAhead", { amount });
}
