// Incidents: what administrators were alerted about (one email each), open and recently
// resolved, with times in the viewer's clock and that clock named. Each is written in the
// viewer's language from its code and params (the same words as the admin_alert mail,
// notification/alerts.py); a code without words here shows the English the API stores.
import { h } from "../dom";
import type { Schemas } from "../session";
import { viewerZone, zoneCity } from "../time";
import { button, fmtMinutes, pageHeader, table, type Ctx } from "../ui";

type Incident = Schemas["IncidentRead"];

const RECENT_DAYS = 7;

function kindLabel(ctx: Ctx, code: string): string {
  const family = code.split(".")[0] ?? code;
  const label = `portal.incident.kind.${family}`;
  return ctx.i18n.has(label) ? ctx.t(label as never) : code;
}

interface Text {
  subject: string;
  paragraphs: string[];
}

/** The incident in the viewer's language, or null when its code or params are not known. */
export function incidentText(ctx: Ctx, incident: Pick<Incident, "code" | "params">): Text | null {
  const params = (incident.params ?? {}) as Record<string, unknown>;
  const text = (name: string): string | null => {
    const value = params[name];
    return typeof value === "string" && value !== "" ? value : null;
  };
  const count = (name: string): number | null => {
    const value = params[name];
    return typeof value === "number" && Number.isFinite(value) ? value : null;
  };
  const number = (value: number) => new Intl.NumberFormat(ctx.i18n.lang).format(value);
  switch (incident.code) {
    case "mail.undeliverable": {
      const address = text("address");
      const attempts = count("attempts");
      if (!address || attempts === null) return null;
      const error = text("error");
      return {
        subject: ctx.t("portal.incident.mail.subject"),
        paragraphs: [
          ctx.t("portal.incident.mail.gaveUp", { address, attempts: number(attempts) }),
          ...(error ? [ctx.t("portal.incident.mail.lastError", { error })] : []),
          ctx.t("portal.incident.mail.others"),
        ],
      };
    }
    case "job.failed": {
      const task = text("task");
      if (!task) return null;
      return { subject: ctx.t("portal.incident.job.subject", { task }), paragraphs: [ctx.t("portal.incident.job.failed", { task })] };
    }
    case "kiosk.silent": {
      const [kiosk, location, seen, minutes] = [text("kiosk"), text("location"), text("last_seen_at"), count("minutes")];
      if (!kiosk || !location || !seen || minutes === null || Number.isNaN(Date.parse(seen))) return null;
      return {
        subject: ctx.t("portal.incident.kiosk.subject", { kiosk, location }),
        paragraphs: [
          ctx.t("portal.incident.kiosk.silent", { kiosk, location, duration: fmtMinutes(minutes) }),
          ctx.t("portal.incident.kiosk.lastSeen", { time: at(ctx, seen) }),
          ctx.t("portal.incident.kiosk.check"),
        ],
      };
    }
    case "biometric.down": {
      const since = text("since");
      if (!since || Number.isNaN(Date.parse(since))) return null;
      return {
        subject: ctx.t("portal.incident.biometric.subject"),
        paragraphs: [ctx.t("portal.incident.biometric.down", { time: at(ctx, since), reason: text("reason") ?? ctx.t("portal.incident.biometric.noAnswer") })],
      };
    }
    default:
      return null;
  }
}

function whatHappened(ctx: Ctx, i: Incident): Node | string {
  const written = incidentText(ctx, i) ?? { subject: i.subject, paragraphs: i.message.split(/\n\s*\n/).filter((p) => p.trim()) };
  if (!written.paragraphs.length) return written.subject;
  return h(
    "details",
    {},
    h("summary", {}, written.subject),
    written.paragraphs.map((p) => h("p", { class: "incident-message" }, p)),
  );
}

/** "6 Dec 2026, 23:10 (Madrid time)": always named, since an incident belongs to no place. */
function at(ctx: Ctx, iso: string | null | undefined): string {
  if (!iso) return "—";
  const zone = viewerZone();
  const time = new Intl.DateTimeFormat(ctx.i18n.lang, { dateStyle: "medium", timeStyle: "short", hourCycle: "h23", timeZone: zone }).format(Date.parse(iso));
  return ctx.t("portal.time.inZone", { time, zone: zoneCity(zone) });
}

function columns(ctx: Ctx) {
  return [
    { label: ctx.t("portal.incident.kind"), value: (i: Incident) => h("span", { "data-key": i.key, "data-code": i.code }, kindLabel(ctx, i.code)) },
    { label: ctx.t("portal.incident.subject"), value: (i: Incident) => whatHappened(ctx, i) },
    { label: ctx.t("portal.incident.since"), value: (i: Incident) => at(ctx, i.opened_at) },
    { label: ctx.t("portal.incident.lastSeen"), value: (i: Incident) => at(ctx, i.last_seen_at) },
    {
      label: ctx.t("portal.incident.resolvedAt"),
      value: (i: Incident) =>
        i.closed_at ? at(ctx, i.closed_at) : h("span", { class: "pill m-failed", "data-status": "open" }, ctx.t("portal.incident.stillOpen")),
    },
  ];
}

export async function incidentsPage(ctx: Ctx): Promise<Node> {
  const open = h("section", { "aria-labelledby": "incidents-open", "data-testid": "incidents-open" });
  const recent = h("section", { "aria-labelledby": "incidents-recent", "data-testid": "incidents-recent" });
  const load = async () => {
    const rows = await ctx.session.call("GET", "/notifications/incidents", { query: { closed_within_days: RECENT_DAYS } });
    const isOpen = rows.filter((i) => !i.closed_at);
    const closed = rows.filter((i) => i.closed_at);
    open.replaceChildren(
      h("h2", { id: "incidents-open" }, ctx.t("portal.incident.open")),
      table(ctx.t("portal.incident.open"), columns(ctx), isOpen, ctx.t("portal.incident.noneOpen")),
    );
    recent.replaceChildren(
      h("h2", { id: "incidents-recent" }, ctx.t("portal.incident.recent")),
      table(ctx.t("portal.incident.recent"), columns(ctx), closed, ctx.t("portal.incident.noneRecent")),
    );
  };
  await load();
  return h(
    "div",
    {},
    pageHeader(
      ctx.t("portal.nav.incidents"),
      button(ctx.t("portal.incident.refresh"), () => void load(), { id: "refresh-incidents" }),
    ),
    h("p", { class: "muted" }, ctx.t("portal.incident.intro")),
    open,
    recent,
  );
}
