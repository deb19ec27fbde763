// Dashboard: who is in now per location (polled, no reload), today's late and absent, and the
// last 30 days. Absence is derived here from shifts, holidays and records (there is no
// absence endpoint): a scheduled person with no record that day counts as absent.
import { attendanceChart } from "../chart";
import { h } from "../dom";
import type { Schemas } from "../session";
import { absentOn, dailyCounts, isoDate, lastDays } from "../stats";
import { fetchAll, fmtTime, pageHeader, table, type Ctx } from "../ui";

const POLL_MS = 15_000;

type Live = Schemas["Live"];
type Rec = Schemas["RecordRead"];
type User = Schemas["UserRead"];

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
              h("ul", {}, loc.people.map((p) => h("li", {}, `${p.employee_name} · ${fmtTime(p.check_in_at, lang)}`))),
            ),
          ),
        )
      : h("p", { class: "empty" }, ctx.t("portal.dash.nobodyIn")),
  );
}

export async function dashboardPage(ctx: Ctx): Promise<Node> {
  const today = new Date();
  const days = lastDays(today, 30);
  const todayIso = isoDate(today);
  const canPeople = ctx.session.can("users:read_department", "users:read_all");
  const [live, records, people, shifts, holidays] = await Promise.all([
    ctx.session.call<Live>("GET", "/attendance/live"),
    fetchAll<Rec>(ctx, "/attendance", { start_date: days[0] ?? todayIso, end_date: todayIso }),
    canPeople ? fetchAll<User>(ctx, "/users", { is_active: "true" }) : Promise.resolve([] as User[]),
    ctx.session.can("shifts:read") ? fetchAll<Schemas["ShiftRead"]>(ctx, "/shifts") : Promise.resolve([]),
    ctx.session.can("holidays:read")
      ? fetchAll<Schemas["HolidayRead"]>(ctx, "/holidays", { start_date: days[0] ?? todayIso, end_date: todayIso })
      : Promise.resolve([]),
  ]);

  const liveBox = h("div", {}, liveSection(ctx, live));
  const timer = window.setInterval(async () => {
    if (document.hidden) return;
    try {
      liveBox.replaceChildren(liveSection(ctx, await ctx.session.call<Live>("GET", "/attendance/live")));
    } catch {
      // Keep the last figures on a failed poll; the next one retries.
    }
  }, POLL_MS);
  ctx.onLeave(() => window.clearInterval(timer));

  const todays = records.filter((r) => r.work_date === todayIso);
  const late = todays.filter((r) => r.status === "late");
  const absentIds = absentOn(todayIso, records, people, shifts, holidays);
  const absent = people.filter((p) => absentIds.has(p.id));
  const counts = dailyCounts(days, records, people, shifts, holidays);

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
            { label: ctx.t("portal.col.employee"), value: (r: Rec) => r.employee_name ?? r.user_id },
            { label: ctx.t("portal.col.checkIn"), value: (r: Rec) => fmtTime(r.check_in_at, ctx.i18n.lang) },
            { label: ctx.t("portal.col.minutesLate"), value: (r: Rec) => r.minutes_late },
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
            { label: ctx.t("portal.col.employee"), value: (u: User) => u.full_name },
            { label: ctx.t("portal.col.employeeId"), value: (u: User) => u.employee_id },
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
