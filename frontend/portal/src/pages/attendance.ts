// Attendance records with filters, corrections (a reason is mandatory: it goes to the audit log
// and to the employee's correction notice), and the HR review list.
import { h, field, formValues } from "../dom";
import type { Schemas } from "../session";
import { readFilters, writeFilters } from "../filters";
import { faceChecksSection } from "./biometric";
import { EARLIEST_ZONE, fromZonedInput, recentRange, toZonedInput, viewerZone, zoneCity } from "../time";
import {
  button,
  correctedMark,
  errorText,
  heldReasonLabel,
  fetchAll,
  fmtAt,
  fmtMinutes,
  modalForm,
  pageHeader,
  pager,
  sourceLabel,
  statusLabel,
  table,
  type Column,
  type Ctx,
  type Route,
} from "../ui";

type Rec = Schemas["RecordRead"];
type Held = Schemas["HeldScan"];
type User = Schemas["UserRead"];
type Location = Schemas["LocationRead"];

const STATUSES = ["early", "on_time", "late", "non_working_day", "holiday", "unscheduled"];

/** Where a record's times are read: its location's zone, or (a new record) the employee's. */
interface Place {
  zone: string;
  name: string;
}

function placeOf(rec: Rec | null, person: User | undefined, locations: Location[]): Place {
  if (rec) return { zone: rec.timezone, name: rec.location_name ?? zoneCity(rec.timezone) };
  const location = locations.find((l) => l.id === person?.location_id);
  return location ? { zone: location.timezone, name: location.name } : { zone: viewerZone(), name: zoneCity(viewerZone()) };
}

function correctionFields(ctx: Ctx, rec: Rec | null, people: User[], place: Place): HTMLElement[] {
  // The inputs show the wall clock of the record's place: 09:00 means 09:00 in Madrid, whatever
  // zone this browser is in.
  return [
    rec
      ? h("p", {}, h("strong", {}, rec.employee_name ?? ""), ` · ${rec.work_date}`)
      : field(
          ctx.t("portal.col.employee"),
          h(
            "select",
            { name: "user_id", required: true },
            people.map((p) => h("option", { value: p.id }, `${p.full_name} (${p.employee_id})`)),
          ),
        ),
    h("p", { class: "muted zone-hint", "data-testid": "zone-hint" }, ctx.t("portal.time.zoneHint", { place: place.name, zone: place.zone })),
    field(
      ctx.t("portal.col.checkIn"),
      h("input", { type: "datetime-local", name: "check_in_at", required: true, value: toZonedInput(rec?.check_in_at ?? null, place.zone) }),
    ),
    field(
      ctx.t("portal.col.checkOut"),
      h("input", { type: "datetime-local", name: "check_out_at", value: toZonedInput(rec?.check_out_at ?? null, place.zone) }),
    ),
    field(ctx.t("portal.att.notes"), h("textarea", { name: "notes", maxlength: 500, rows: 2 }, rec?.notes ?? "")),
    field(ctx.t("portal.att.reason"), h("textarea", { name: "reason", required: true, minlength: 3, maxlength: 500, rows: 2 }), ctx.t("portal.att.reasonHint")),
  ];
}

export function openCorrection(ctx: Ctx, rec: Rec | null, people: User[], locations: Location[], done: () => void): void {
  let place = placeOf(rec, people[0], locations);
  const dialog = modalForm(
    ctx,
    ctx.t(rec ? "portal.att.correct" : "portal.att.addManual"),
    correctionFields(ctx, rec, people, place),
    ctx.t("portal.save"),
    async (form) => {
      const v = formValues(form);
      if (!v.reason?.trim()) throw new Error(ctx.t("portal.att.reasonHint"));
      // Written out as literals for each endpoint, so a field the API renames fails `tsc`.
      // check_in_at is a required input: empty only if the browser let it through, and then
      // the API names the field.
      const check_in_at = fromZonedInput(v.check_in_at, place.zone) ?? "";
      const check_out_at = fromZonedInput(v.check_out_at, place.zone);
      const notes = v.notes || null;
      const reason = v.reason.trim();
      if (rec) await ctx.session.call("PUT", `/attendance/${rec.id}`, { body: { check_in_at, check_out_at, notes, reason } });
      else await ctx.session.call("POST", "/attendance/corrections", { body: { user_id: v.user_id ?? "", check_in_at, check_out_at, notes, reason } });
      ctx.announce(ctx.t("portal.saved"));
      done();
    },
  );
  // A new record: the place follows the chosen employee.
  const who = dialog.querySelector<HTMLSelectElement>("select[name=user_id]");
  who?.addEventListener("change", () => {
    place = placeOf(
      null,
      people.find((p) => p.id === who.value),
      locations,
    );
    const hint = dialog.querySelector("[data-testid=zone-hint]");
    if (hint) hint.textContent = ctx.t("portal.time.zoneHint", { place: place.name, zone: place.zone });
  });
}

export function recordColumns(ctx: Ctx, canCorrect: boolean, people: User[], locations: Location[], reload: () => void): Column<Rec>[] {
  const cols: Column<Rec>[] = [
    { label: ctx.t("portal.col.date"), value: (r) => r.work_date },
    { label: ctx.t("portal.col.employee"), value: (r) => r.employee_name ?? "—" },
    { label: ctx.t("portal.col.location"), value: (r) => r.location_name ?? "—" },
    { label: ctx.t("portal.col.checkIn"), value: (r) => fmtAt(ctx, r.check_in_at, r.timezone) },
    {
      label: ctx.t("portal.col.checkOut"),
      value: (r) => (r.check_out_at ? fmtAt(ctx, r.check_out_at, r.timezone) : h("span", { class: "pill warn" }, ctx.t("portal.att.open"))),
    },
    {
      label: ctx.t("portal.col.status"),
      value: (r) =>
        h(
          "span",
          { class: "status-cell" },
          h("span", { class: `pill s-${r.status}` }, statusLabel(ctx, r.status), r.minutes_late ? ` +${r.minutes_late}′` : ""),
          correctedMark(ctx, r.corrected),
        ),
    },
    { label: ctx.t("portal.col.worked"), value: (r) => fmtMinutes(r.worked_minutes) },
    { label: ctx.t("portal.col.source"), value: (r) => sourceLabel(ctx, r.source) },
  ];
  if (canCorrect)
    cols.push({
      label: ctx.t("portal.col.actions"),
      value: (r) => button(ctx.t("portal.att.correct"), () => openCorrection(ctx, r, people, locations, reload)),
    });
  return cols;
}

export async function attendancePage(ctx: Ctx, route: Route): Promise<Node> {
  const canCorrect = ctx.session.can("attendance:correct");
  const [people, departments, locations] = await Promise.all([
    ctx.session.can("users:read_department", "users:read_all") ? fetchAll(ctx, "/users", {}, 5) : Promise.resolve([] as User[]),
    ctx.session.can("departments:read") ? fetchAll(ctx, "/departments") : Promise.resolve([]),
    ctx.session.can("locations:read") ? fetchAll(ctx, "/locations") : Promise.resolve([] as Location[]),
  ]);
  // The last week of every location, ending on the latest of their todays: work dates are the
  // location's, and Madrid's today is a New York viewer's tomorrow for six hours each night.
  // Without the list of locations, any zone may hold a record: the earliest clock on Earth.
  const zones = locations.length ? locations.map((l) => l.timezone) : [EARLIEST_ZONE];
  const range = recentRange([viewerZone(), ...zones], 7);
  // Filters live in the URL: a reload or a shared link shows the same list.
  const defaults = { start_date: range.start, end_date: range.end, status: "", department_id: "", user_id: "" };
  const state = { ...readFilters(route, defaults), page: Number(route.query.get("page")) || 1 };
  const limit = 50;
  const box = h("div", { "aria-live": "polite" });
  const load = async () => {
    writeFilters(ctx, state, defaults);
    const answer = await ctx.session.call("GET", "/attendance", { query: { ...state, limit } });
    box.replaceChildren(
      table(
        ctx.t("portal.nav.attendance"),
        recordColumns(ctx, canCorrect, people, locations, () => void load()),
        answer.items,
        ctx.t("portal.empty"),
      ),
      pager(ctx, state.page, limit, answer.total, (p) => {
        state.page = p;
        void load();
      }),
    );
  };
  const select = (name: string, options: [string, string][], chosen: string) =>
    h(
      "select",
      { name },
      h("option", { value: "" }, ctx.t("portal.all")),
      options.map(([v, l]) => h("option", { value: v, selected: v === chosen }, l)),
    );
  const filters = h(
    "form",
    {
      class: "filters",
      role: "search",
      onsubmit: (e: Event) => {
        e.preventDefault();
        Object.assign(state, formValues(e.currentTarget as HTMLFormElement), { page: 1 });
        void load();
      },
    },
    field(ctx.t("portal.att.from"), h("input", { type: "date", name: "start_date", value: state.start_date })),
    field(ctx.t("portal.att.to"), h("input", { type: "date", name: "end_date", value: state.end_date })),
    field(
      ctx.t("portal.col.status"),
      select(
        "status",
        STATUSES.map((s) => [s, statusLabel(ctx, s)]),
        state.status,
      ),
    ),
    departments.length
      ? field(
          ctx.t("portal.col.department"),
          select(
            "department_id",
            departments.map((d) => [d.id, d.name]),
            state.department_id,
          ),
        )
      : null,
    people.length
      ? field(
          ctx.t("portal.col.employee"),
          select(
            "user_id",
            people.map((p) => [p.id, p.full_name]),
            state.user_id,
          ),
        )
      : null,
    h("button", { type: "submit" }, ctx.t("portal.filter")),
  );
  await load();
  return h(
    "div",
    {},
    pageHeader(
      ctx.t("portal.nav.attendance"),
      canCorrect ? button(ctx.t("portal.att.addManual"), () => openCorrection(ctx, null, people, locations, () => void load()), { class: "primary" }) : null,
    ),
    filters,
    box,
  );
}

export async function reviewPage(ctx: Ctx): Promise<Node> {
  const box = h("div", {});
  const load = async () => {
    const queue = await ctx.session.call("GET", "/attendance/review");
    const decide = (scan: Held, verdict: "approve" | "reject") => async () => {
      try {
        await ctx.session.call("POST", `/attendance/review/${scan.id}/${verdict}`);
        ctx.announce(ctx.t(verdict === "approve" ? "portal.review.approved" : "portal.review.rejected"));
      } catch (err) {
        ctx.announce(errorText(ctx, err), "error");
      }
      void load();
    };
    box.replaceChildren(
      h("h2", {}, ctx.t("portal.review.held", { count: queue.held_scans.length })),
      h("p", { class: "muted" }, ctx.t("portal.review.heldIntro")),
      table(
        ctx.t("portal.review.held", { count: queue.held_scans.length }),
        [
          { label: ctx.t("portal.col.employee"), value: (s: Held) => s.employee_name ?? "—" },
          // Read where the kiosk stands, labelled when this browser's clock would say otherwise.
          { label: ctx.t("portal.col.location"), value: (s: Held) => s.location_name ?? "—" },
          { label: ctx.t("portal.review.captured"), value: (s: Held) => fmtAt(ctx, s.captured_at, s.timezone) },
          { label: ctx.t("portal.review.received"), value: (s: Held) => fmtAt(ctx, s.received_at, s.timezone) },
          { label: ctx.t("portal.att.reason"), value: (s: Held) => (s.reason ? heldReasonLabel(ctx, s.reason) : "—") },
          {
            label: ctx.t("portal.col.actions"),
            value: (s: Held) =>
              h(
                "div",
                { class: "row-actions" },
                button(ctx.t("portal.review.approve"), decide(s, "approve"), { class: "primary" }),
                button(ctx.t("portal.review.reject"), decide(s, "reject"), { class: "danger" }),
              ),
          },
        ],
        queue.held_scans,
        ctx.t("portal.review.noneHeld"),
      ),
      h("h2", {}, ctx.t("portal.review.missing", { count: queue.missing_checkouts.length })),
      table(
        ctx.t("portal.review.missing", { count: queue.missing_checkouts.length }),
        recordColumns(ctx, ctx.session.can("attendance:correct"), [], [], () => void load()),
        queue.missing_checkouts,
        ctx.t("portal.review.noneMissing"),
      ),
    );
  };
  await load();
  // Flagged face checks live with the other things HR reviews (pages/biometric.ts).
  const faces = ctx.session.can("biometric:manage") ? await faceChecksSection(ctx) : null;
  return h("div", {}, pageHeader(ctx.t("portal.nav.review")), box, faces);
}
