// Dashboard: who is in now per location (polled, no reload), today's late and absent, and the
// last 30 days. The figures come from GET /reports/dashboard, the reports' SQL: each
// employee's days and "today" are those of their location's zone, holidays and non-working
// days included (nothing is derived here but the chart's dates).
import { attendanceChart } from "../chart";
import { h } from "../dom";
import type { Schemas } from "../session";
import type { DayCounts } from "../clock";
import { isoDate } from "../clock";
import { fmtAt, fmtTime, pageHeader, table, type Ctx } from "../ui";

const POLL_MS = 15_000;

type Live = Schemas["Live"];
type Dashboard = Schemas["Dashboard"];
type Person = Schemas["DashboardAbsent"] | Schemas["DashboardLate"];
type LatePerson = Schemas["DashboardLate"];
type AbsentPerson = Schemas["DashboardAbsent"];

/** 30 bars, today last; `days_ago` counts back from each location's own today. */
export function chartCounts(days: Dashboard["days"], today: Date): DayCounts[] {
  const byAgo = new Map(days.map((d) => [d.days_ago, d]));
  const out: DayCounts[] = [];
  for (let ago = 29; ago >= 0; ago--) {
    const d = byAgo.get(ago);
    const date = isoDate(new Date(today.getFullYear(), today.getMonth(), today.getDate() - ago));
    out.push({ date, onTime: d?.on_time ?? 0, late: d?.late ?? 0, absent: d?.absent ?? 0 });
  }
  return out;
}

const fullName = (p: Person) => `${p.first_name} ${p.last_name}`;

function liveSection(ctx: Ctx, live: Live): HTMLElement {
  const lang = ctx.i18n.lang;
  return h(
    "section",
    { class: "live", "aria-labelledby": "live-title", "data-total": live.total },
    h("h2", { id: "live-title" }, ctx.t("portal.dash.liveTitle", { count: live.total })),
    h("p", { class: "muted" }, ctx.t("portal.dash.updated", { time: fmtTime(live.at, lang) })),
    live.locations.length
      ? h(
          "div",
          { class: "cards" },
          live.locations.map((loc) =>
            h(
              "article",
              { class: "card", "data-location": loc.location ?? "" },
              h("h3", {}, loc.location ?? ctx.t("portal.dash.noLocation"), " ", h("span", { class: "count" }, loc.count)),
              h(
                "ul",
                {},
                // Read on the location's clock, labelled when this browser's clock differs.
                loc.people.map((p) => h("li", {}, `${p.employee_name} · ${fmtAt(ctx, p.check_in_at, loc.timezone, "time")}`)),
              ),
            ),
          ),
        )
      : h("p", { class: "empty" }, ctx.t("portal.dash.nobodyIn")),
  );
}

export async function dashboardPage(ctx: Ctx): Promise<Node> {
  const [live, dash] = await Promise.all([ctx.session.call("GET", "/attendance/live"), ctx.session.call("GET", "/reports/dashboard")]);

  const liveBox = h("div", {}, liveSection(ctx, live));
  const timer = window.setInterval(async () => {
    if (document.hidden) return;
    try {
      liveBox.replaceChildren(liveSection(ctx, await ctx.session.call("GET", "/attendance/live")));
    } catch {
      // Keep the last figures on a failed poll; the next one retries.
    }
  }, POLL_MS);
  ctx.onLeave(() => window.clearInterval(timer));

  const late = dash.late;
  const absent = dash.absent;
  const counts = chartCounts(dash.days, new Date());

  return h(
    "div",
    { class: "dashboard" },
    pageHeader(ctx.t("portal.nav.dashboard")),
    liveBox,
    h(
      "div",
      { class: "grid2" },
      h(
        "section",
        { "aria-labelledby": "late-title" },
        h("h2", { id: "late-title" }, ctx.t("portal.dash.lateToday", { count: late.length })),
        table(
          ctx.t("portal.dash.lateToday", { count: late.length }),
          [
            { label: ctx.t("portal.col.employee"), value: (r: LatePerson) => fullName(r) },
            { label: ctx.t("portal.col.checkIn"), value: (r: LatePerson) => fmtAt(ctx, r.first_in, r.timezone, "time") },
            { label: ctx.t("portal.col.minutesLate"), value: (r: LatePerson) => r.minutes_late },
          ],
          late,
          ctx.t("portal.dash.noneLate"),
        ),
      ),
      h(
        "section",
        { "aria-labelledby": "absent-title" },
        h("h2", { id: "absent-title" }, ctx.t("portal.dash.absentToday", { count: absent.length })),
        table(
          ctx.t("portal.dash.absentToday", { count: absent.length }),
          [
            { label: ctx.t("portal.col.employee"), value: (u: AbsentPerson) => fullName(u) },
            { label: ctx.t("portal.col.employeeId"), value: (u: AbsentPerson) => u.employee_id },
          ],
          absent,
          ctx.t("portal.dash.noneAbsent"),
        ),
      ),
    ),
    h(
      "section",
      { "aria-labelledby": "chart-heading" },
      h("h2", { id: "chart-heading" }, ctx.t("portal.dash.chartTitle")),
      attendanceChart(
        counts,
        { title: ctx.t("portal.dash.chartTitle"), onTime: ctx.t("portal.dash.onTime"), late: ctx.t("portal.dash.late"), absent: ctx.t("portal.dash.absent") },
        ctx.i18n.lang,
      ),
    ),
  );
}
