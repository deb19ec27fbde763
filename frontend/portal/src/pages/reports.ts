// Reports: choose a report, a range (presets or dates) and a department; preview it (table and,
// for the per-day reports, a chart) and download it in every format. Every figure comes from
// the API's report SQL (GET /reports/...); nothing is computed here but the chart's sums.
// Each preview or download is one report generation (10 per hour per user, see docs/reports.md).
// A large XLSX/PDF answers 202: the worker prepares it and "Recent exports" shows its progress.
import { attendanceChart } from "../chart";
import { download, h } from "../dom";
import type { DayCounts } from "../clock";
import { isoDate } from "../clock";
import { button, errorText, fetchAll, pageHeader, table, type Ctx } from "../ui";
import type { Schemas } from "../session";
import { exportsSection } from "./reports-exports";
import { schedulesSection } from "./reports-schedules";

type Kind = "attendance" | "department-summary" | "timesheet" | "monthly-sheet";
type Report = Schemas["Report"];
type Row = Report["rows"][number];

/** A report cell as text: the rows' columns depend on the kind (docs/reports.md). */
const cell = (value: unknown): string | number => (typeof value === "number" ? value : value === null || value === undefined ? "" : String(value));

const KINDS: Kind[] = ["attendance", "department-summary", "timesheet", "monthly-sheet"];
const PREVIEW_ROWS = 200;

/** Columns shown in the preview (the files have them all). */
const PREVIEW: Record<Exclude<Kind, "monthly-sheet">, string[]> = {
  attendance: [
    "employee_id",
    "last_name",
    "first_name",
    "department",
    "scheduled_days",
    "days_present",
    "late_count",
    "absences",
    "worked_hours",
    "overtime_hours",
    "attendance_rate",
  ],
  "department-summary": ["date", "department", "employees", "scheduled", "present", "late", "absent", "attendance_rate"],
  timesheet: ["employee_id", "last_name", "date", "pairs", "status", "worked_hours", "overtime_hours", "flags"],
};

export type Preset = "thisWeek" | "lastWeek" | "thisMonth" | "lastMonth";
export const PRESETS: Preset[] = ["thisWeek", "lastWeek", "thisMonth", "lastMonth"];

/** A preset's local dates, weeks starting on Monday. */
export function presetRange(preset: Preset, today: Date): { from: string; to: string } {
  const y = today.getFullYear();
  const m = today.getMonth();
  const d = today.getDate();
  const monday = d - ((today.getDay() + 6) % 7);
  switch (preset) {
    case "thisWeek":
      return { from: isoDate(new Date(y, m, monday)), to: isoDate(new Date(y, m, monday + 6)) };
    case "lastWeek":
      return { from: isoDate(new Date(y, m, monday - 7)), to: isoDate(new Date(y, m, monday - 1)) };
    case "thisMonth":
      return { from: isoDate(new Date(y, m, 1)), to: isoDate(new Date(y, m + 1, 0)) };
    case "lastMonth":
      return { from: isoDate(new Date(y, m - 1, 1)), to: isoDate(new Date(y, m, 0)) };
  }
}

/** Per day on time / late / absent, from the department summary or the monthly sheet's codes. */
export function chartDays(kind: Kind, report: Pick<Report, "rows">): DayCounts[] {
  const days = new Map<string, DayCounts>();
  const at = (date: string) => {
    let day = days.get(date);
    if (!day) {
      day = { date, onTime: 0, late: 0, absent: 0 };
      days.set(date, day);
    }
    return day;
  };
  if (kind === "department-summary") {
    for (const r of report.rows) {
      const day = at(String(r.date));
      day.late += Number(r.late);
      day.absent += Number(r.absent);
      day.onTime += Number(r.present) - Number(r.late);
    }
  } else if (kind === "monthly-sheet") {
    for (const r of report.rows) {
      for (const [key, code] of Object.entries(r)) {
        if (!/^\d{4}-\d{2}-\d{2}$/.test(key)) continue;
        const day = at(key);
        if (code === "L") day.late++;
        else if (code === "A") day.absent++;
        else if (code === "P" || code === "E" || code === "O") day.onTime++;
      }
    }
  }
  return [...days.values()].sort((a, b) => a.date.localeCompare(b.date));
}

export async function reportsPage(ctx: Ctx): Promise<Node> {
  const canDepartments = ctx.session.can("reports:read_all", "reports:read_department");
  const listed = canDepartments && ctx.session.can("departments:read") ? await fetchAll(ctx, "/departments") : [];
  // A supervisor may report on the departments they manage only (the API refuses the others).
  const departments = ctx.session.can("reports:read_all") ? listed : listed.filter((d) => d.manager_id === ctx.session.user?.id);
  const kinds = KINDS.filter((k) => k !== "department-summary" || canDepartments);
  const initial = presetRange("thisMonth", new Date());

  const kindSelect = h(
    "select",
    { name: "kind", id: "report-kind" },
    kinds.map((k) => h("option", { value: k }, ctx.t(`portal.reports.kind.${k}`))),
  );
  const fromInput = h("input", { type: "date", name: "from", id: "report-from", value: initial.from, required: true });
  const toInput = h("input", { type: "date", name: "to", id: "report-to", value: initial.to, required: true });
  const departmentSelect = h(
    "select",
    { name: "department_id", id: "report-department" },
    h("option", { value: "" }, ctx.t("portal.reports.allDepartments")),
    departments.map((d) => h("option", { value: d.id }, d.name)),
  );
  const presets = h(
    "div",
    { class: "presets", role: "group", "aria-label": ctx.t("portal.reports.range") },
    PRESETS.map((p) =>
      button(
        ctx.t(`portal.reports.preset.${p}`),
        () => {
          const range = presetRange(p, new Date());
          fromInput.value = range.from;
          toInput.value = range.to;
        },
        { "data-preset": p },
      ),
    ),
  );
  const result = h("div", { "aria-live": "polite", "data-testid": "report-preview" });

  const query = (): Record<string, string> => {
    const q: Record<string, string> = { from: fromInput.value, to: toInput.value, lang: ctx.i18n.lang };
    if (departmentSelect.value) q.department_id = departmentSelect.value;
    return q;
  };
  const kind = () => kindSelect.value as Kind;

  const preview = async () => {
    result.replaceChildren(h("p", { class: "loading", role: "status" }, ctx.t("common.loading")));
    try {
      const answer = await ctx.session.call("GET", `/reports/${kind()}`, { query: query() });
      // JSON always answers directly: only a large XLSX or PDF is queued as an export (202).
      if (!("generated_at" in answer)) throw new Error("unexpected export answer");
      const report = answer;
      const rows = report.rows.slice(0, PREVIEW_ROWS);
      const k = kind();
      const keys = k === "monthly-sheet" ? Object.keys(report.rows[0] ?? {}).filter((c) => c !== "first_name") : PREVIEW[k];
      const chart = chartDays(k, report);
      const figure = chart.length
        ? [
            attendanceChart(
              chart,
              {
                title: ctx.t("portal.reports.chartTitle"),
                onTime: ctx.t("portal.dash.onTime"),
                late: ctx.t("portal.dash.late"),
                absent: ctx.t("portal.dash.absent"),
              },
              ctx.i18n.lang,
            ),
          ]
        : [];
      result.replaceChildren(
        h("p", { class: "muted" }, ctx.t("portal.reports.rows", { count: report.rows.length, shown: rows.length })),
        ...figure,
        table(
          ctx.t(`portal.reports.kind.${k}`),
          keys.map((key) => ({ label: key, value: (r: Row) => cell(r[key]) })),
          rows,
          ctx.t("portal.reports.empty"),
        ),
      );
    } catch (err) {
      result.replaceChildren(h("p", { class: "form-error" }, errorText(ctx, err)));
    }
  };

  const exports = exportsSection(ctx);
  const fetchFile = async (format: string, layout?: string) => {
    try {
      const q: Record<string, string> = { ...query(), format, ...(layout ? { layout } : {}) };
      const answer = await ctx.session.reportFile(`/reports/${kind()}`, q);
      if ("queued" in answer) {
        // Too large to build in the request: the worker prepares it (see Recent exports).
        exports.track(answer.queued);
        ctx.announce(ctx.t("portal.exports.queued"));
        return;
      }
      const ext = format === "csv" ? "csv" : format;
      download(answer.file, `${kind()}_${q.from}_${q.to}${layout ? `_${layout}` : ""}.${ext}`);
    } catch (err) {
      ctx.announce(errorText(ctx, err), "error");
    }
  };
  const downloads = h(
    "div",
    { class: "actions", role: "group", "aria-label": ctx.t("portal.reports.download") },
    ["csv", "xlsx", "pdf"].map((f) => button(ctx.t("portal.reports.downloadAs", { format: f.toUpperCase() }), () => void fetchFile(f), { "data-format": f })),
    button("Gusto CSV", () => void fetchFile("csv", "gusto"), { "data-layout": "gusto", class: "payroll" }),
    button("DATEV", () => void fetchFile("csv", "datev"), { "data-layout": "datev", class: "payroll" }),
  );
  const payrollOnly = () => {
    for (const b of downloads.querySelectorAll<HTMLButtonElement>("button.payroll")) b.hidden = kind() !== "timesheet";
  };
  kindSelect.addEventListener("change", payrollOnly);
  payrollOnly();

  const form = h(
    "form",
    {
      class: "report-form",
      onsubmit: (e: Event) => {
        e.preventDefault();
        void preview();
      },
    },
    h("label", { for: "report-kind" }, ctx.t("portal.reports.report")),
    kindSelect,
    presets,
    h("label", { for: "report-from" }, ctx.t("portal.reports.from")),
    fromInput,
    h("label", { for: "report-to" }, ctx.t("portal.reports.to")),
    toInput,
    canDepartments ? [h("label", { for: "report-department" }, ctx.t("portal.reports.department")), departmentSelect] : null,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, ctx.t("portal.reports.preview"))),
  );
  const names = new Map(listed.map((d) => [d.id, d.name]));
  const schedules = schedulesSection(ctx, {
    kind: kind,
    departmentId: () => departmentSelect.value,
    departmentName: (id) => (id ? (names.get(id) ?? "—") : ctx.t("portal.reports.allDepartments")),
  });
  return h("div", { class: "reports" }, pageHeader(ctx.t("portal.nav.reports")), form, downloads, result, exports.element, schedules);
}
