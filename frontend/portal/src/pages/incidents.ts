// Incidents: what administrators were alerted about (one email each), open and recently
// resolved, with times in the viewer's clock and that clock named.
import { h } from "../dom";
import type { Schemas } from "../session";
import { viewerZone, zoneCity } from "../time";
import { button, pageHeader, table, type Ctx } from "../ui";

type Incident = Schemas["IncidentRead"];

const RECENT_DAYS = 7;

function kindLabel(ctx: Ctx, key: string): string {
  const family = key.split(".")[0] ?? key;
  const label = `portal.incident.kind.${family}`;
  return ctx.i18n.has(label) ? ctx.t(label as never) : key;
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
    { label: ctx.t("portal.incident.kind"), value: (i: Incident) => h("span", { "data-key": i.key }, kindLabel(ctx, i.key)) },
    {
      label: ctx.t("portal.incident.subject"),
      value: (i: Incident) => (i.message ? h("details", {}, h("summary", {}, i.subject), h("p", { class: "incident-message" }, i.message)) : i.subject),
    },
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
