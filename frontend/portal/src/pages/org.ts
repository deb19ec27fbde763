// Departments, shifts (with the threshold preview), locations and holidays.
import { crudPage, type Option, weekdayName } from "../crud";
import { h } from "../dom";
import { thresholds } from "../clock";
import { fetchAll, type Ctx, type Route } from "../ui";

async function locationOptions(ctx: Ctx): Promise<Option[]> {
  return (await fetchAll(ctx, "/locations")).map((l) => ({ value: l.id, label: l.name }));
}

/** "Arrive before 08:30 = early, until 09:05 = on time, after = late", live as the form changes. */
export function shiftPreview(ctx: Ctx, form: HTMLFormElement): HTMLElement {
  const out = h("p", { class: "preview", "aria-live": "polite", "data-testid": "shift-preview" });
  const update = () => {
    const get = (name: string) => (form.elements.namedItem(name) as HTMLInputElement | null)?.value ?? "";
    const start = get("start_time");
    if (!/^\d{2}:\d{2}$/.test(start)) {
      out.textContent = "";
      return;
    }
    const t = thresholds(start, Number(get("grace_minutes") || 5), Number(get("early_threshold_minutes") || 30));
    out.textContent = ctx.t("portal.shift.preview", { early: t.earlyBefore, onTime: t.onTimeUntil });
  };
  form.addEventListener("input", update);
  update();
  return out;
}

function departments(ctx: Ctx): Promise<Node> {
  return crudPage(ctx, {
    title: "portal.nav.departments",
    newLabel: "portal.dept.new",
    api: "/departments",
    writePermission: "departments:write",
    searchable: true,
    name: (d) => d.name,
    columns: [
      { label: ctx.t("portal.col.name"), value: (d) => d.name },
      { label: ctx.t("portal.col.manager"), value: (d) => d.manager_name ?? "—" },
      { label: ctx.t("portal.col.members"), value: (d) => d.member_count },
      { label: ctx.t("portal.col.description"), value: (d) => d.description },
    ],
    fields: async () => {
      const people = ctx.session.can("departments:write") && ctx.session.can("users:read_all") ? await fetchAll(ctx, "/users", { is_active: "true" }, 5) : [];
      return [
        { name: "name", label: "portal.col.name", type: "text", required: true, maxLength: 120 },
        { name: "description", label: "portal.col.description", type: "textarea", maxLength: 500 },
        { name: "manager_id", label: "portal.col.manager", type: "select", nullable: true, options: people.map((p) => ({ value: p.id, label: p.full_name })) },
      ];
    },
  });
}

function shifts(ctx: Ctx): Promise<Node> {
  return crudPage(ctx, {
    title: "portal.nav.shifts",
    newLabel: "portal.shift.new",
    api: "/shifts",
    writePermission: "shifts:write",
    searchable: true,
    name: (s) => s.name,
    columns: [
      { label: ctx.t("portal.col.name"), value: (s) => s.name },
      { label: ctx.t("portal.col.hours"), value: (s) => `${s.start_time}–${s.end_time}${s.crosses_midnight ? " 🌙" : ""}` },
      { label: ctx.t("portal.col.days"), value: (s) => s.working_days.map((d) => weekdayName(ctx.i18n.lang, d)).join(" ") },
      {
        label: ctx.t("portal.col.thresholds"),
        value: (s) => {
          const t = thresholds(s.start_time, s.grace_minutes, s.early_threshold_minutes);
          return ctx.t("portal.shift.preview", { early: t.earlyBefore, onTime: t.onTimeUntil });
        },
      },
      { label: ctx.t("portal.col.people"), value: (s) => s.user_count },
    ],
    fields: async () => [
      { name: "name", label: "portal.col.name", type: "text", required: true, maxLength: 120 },
      { name: "start_time", label: "portal.shift.start", type: "time", required: true, initial: "09:00" },
      { name: "end_time", label: "portal.shift.end", type: "time", required: true, hint: "portal.shift.endHint", initial: "17:00" },
      { name: "grace_minutes", label: "portal.shift.grace", type: "number", min: 0, max: 240, hint: "portal.shift.graceHint", initial: 5 },
      { name: "early_threshold_minutes", label: "portal.shift.early", type: "number", min: 0, max: 720, hint: "portal.shift.earlyHint", initial: 30 },
      { name: "working_days", label: "portal.col.days", type: "days" },
    ],
    formExtra: (form) => shiftPreview(ctx, form),
  });
}

function locations(ctx: Ctx): Promise<Node> {
  return crudPage(ctx, {
    title: "portal.nav.locations",
    newLabel: "portal.loc.new",
    api: "/locations",
    writePermission: "locations:write",
    searchable: true,
    name: (l) => l.name,
    columns: [
      { label: ctx.t("portal.col.name"), value: (l) => l.name },
      { label: ctx.t("portal.col.timezone"), value: (l) => l.timezone },
      { label: ctx.t("portal.col.address"), value: (l) => l.address },
      { label: ctx.t("portal.col.people"), value: (l) => l.user_count },
      { label: ctx.t("portal.nav.kiosks"), value: (l) => l.kiosk_count },
    ],
    fields: async () => [
      { name: "name", label: "portal.col.name", type: "text", required: true, maxLength: 120 },
      { name: "timezone", label: "portal.col.timezone", type: "text", required: true, maxLength: 64, hint: "portal.loc.tzHint" },
      { name: "address", label: "portal.col.address", type: "textarea", maxLength: 300 },
    ],
  });
}

function holidays(ctx: Ctx): Promise<Node> {
  const year = new Date().getFullYear();
  return crudPage(ctx, {
    title: "portal.nav.holidays",
    newLabel: "portal.hol.new",
    api: "/holidays",
    writePermission: "holidays:write",
    name: (x) => x.name,
    query: () => ({ start_date: `${year}-01-01`, end_date: `${year + 1}-12-31` }),
    columns: [
      { label: ctx.t("portal.col.date"), value: (x) => new Date(`${x.holiday_date}T12:00:00`).toLocaleDateString(ctx.i18n.lang, { dateStyle: "full" }) },
      { label: ctx.t("portal.col.name"), value: (x) => x.name },
      { label: ctx.t("portal.col.location"), value: (x) => x.location_name ?? ctx.t("portal.hol.everywhere") },
    ],
    fields: async () => [
      { name: "holiday_date", label: "portal.col.date", type: "date", required: true },
      { name: "name", label: "portal.col.name", type: "text", required: true, maxLength: 120 },
      { name: "location_id", label: "portal.col.location", type: "select", nullable: true, options: await locationOptions(ctx), hint: "portal.hol.locHint" },
    ],
  });
}

export function orgPage(ctx: Ctx, route: Route): Promise<Node> {
  if (route.path === "/shifts") return shifts(ctx);
  if (route.path === "/locations") return locations(ctx);
  if (route.path === "/holidays") return holidays(ctx);
  return departments(ctx);
}
