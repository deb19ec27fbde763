// "Schedule it": the Reports page's scheduled reports. The report and department chosen above,
// a format and a frequency; the worker mails it to you after each finished week or month,
// computed with your permissions, nothing when the period has no data (docs/reports.md).
// Lists your schedules (HR: everyone's) with a delete button each.
import { h } from "../dom";
import type { Schemas } from "../session";
import { button, errorText, table, type Ctx } from "../ui";

type Schedule = Schemas["ScheduleRead"];
type Create = Schemas["ScheduleCreate"];

export const FORMATS: Create["format"][] = ["xlsx", "pdf", "csv"];
export const FREQUENCIES: Create["frequency"][] = ["weekly", "monthly"];

export interface Chosen {
  kind: () => Create["kind"];
  departmentId: () => string;
  departmentName: (id: string | null | undefined) => string;
}

export function schedulesSection(ctx: Ctx, chosen: Chosen): HTMLElement {
  const formatSelect = h(
    "select",
    { name: "format", id: "schedule-format" },
    FORMATS.map((f) => h("option", { value: f }, f.toUpperCase())),
  );
  const frequencySelect = h(
    "select",
    { name: "frequency", id: "schedule-frequency" },
    FREQUENCIES.map((f) => h("option", { value: f }, ctx.t(`portal.schedules.frequency.${f}`))),
  );
  const list = h("div", { "aria-live": "polite", "data-testid": "schedules" });

  const refresh = async () => {
    try {
      const schedules = await ctx.session.call("GET", "/reports/schedules");
      list.replaceChildren(
        table<Schedule>(
          ctx.t("portal.schedules.title"),
          [
            { label: ctx.t("portal.reports.report"), value: (s) => ctx.t(`portal.reports.kind.${s.kind}`) },
            { label: ctx.t("portal.reports.department"), value: (s) => chosen.departmentName(s.department_id) },
            { label: ctx.t("portal.schedules.format"), value: (s) => s.format.toUpperCase() },
            { label: ctx.t("portal.schedules.frequency"), value: (s) => ctx.t(`portal.schedules.frequency.${s.frequency}`) },
            { label: ctx.t("portal.schedules.recipients"), value: (s) => s.recipients.map((r) => r.full_name).join(", ") },
            { label: ctx.t("portal.schedules.lastSent"), value: (s) => s.last_period_start ?? "—" },
            {
              label: ctx.t("portal.schedules.actions"),
              value: (s) =>
                button(ctx.t("portal.schedules.delete"), () => void remove(s), {
                  "aria-label": ctx.t("portal.schedules.deleteOne", { report: ctx.t(`portal.reports.kind.${s.kind}`) }),
                }),
            },
          ],
          schedules,
          ctx.t("portal.schedules.empty"),
        ),
      );
    } catch (err) {
      list.replaceChildren(h("p", { class: "form-error" }, errorText(ctx, err)));
    }
  };

  const remove = async (schedule: Schedule) => {
    try {
      await ctx.session.call("DELETE", `/reports/schedules/${schedule.id}`);
      ctx.announce(ctx.t("portal.schedules.deleted"));
      await refresh();
    } catch (err) {
      ctx.announce(errorText(ctx, err), "error");
    }
  };

  const create = async () => {
    const body: Create = {
      kind: chosen.kind(),
      format: formatSelect.value as Create["format"],
      frequency: frequencySelect.value as Create["frequency"],
    };
    const department = chosen.departmentId();
    if (department) body.department_id = department;
    try {
      await ctx.session.call("POST", "/reports/schedules", { body });
      ctx.announce(ctx.t("portal.schedules.created"));
      await refresh();
    } catch (err) {
      ctx.announce(errorText(ctx, err), "error");
    }
  };

  void refresh();
  return h(
    "section",
    { class: "schedules", "aria-labelledby": "schedules-title" },
    h("h2", { id: "schedules-title" }, ctx.t("portal.schedules.title")),
    h("p", { class: "muted" }, ctx.t("portal.schedules.help")),
    h(
      "div",
      { class: "report-form" },
      h("label", { for: "schedule-format" }, ctx.t("portal.schedules.format")),
      formatSelect,
      h("label", { for: "schedule-frequency" }, ctx.t("portal.schedules.frequency")),
      frequencySelect,
      h(
        "div",
        { class: "actions" },
        button(ctx.t("portal.schedules.create"), () => void create(), { class: "primary" }),
      ),
    ),
    list,
  );
}
