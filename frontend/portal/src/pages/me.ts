// Self-service: my badge (large QR, PNG download, printable card), my history with totals,
// notification preferences, profile and password.
import { clearErrors, explain, showErrors } from "../errors";
import { h, field, formValues, download } from "../dom";
import { LANGUAGES, LANGUAGE_NAMES } from "@tapwork/shared";
import type { Schemas } from "../session";
import { isoDate } from "../clock";
import { weekdayName } from "../crud";
import { alertBox, button, confirmAction, correctedMark, errorText, fmtAt, fmtMinutes, pageHeader, roleLabel, statusLabel, table, type Ctx } from "../ui";

type Me = Schemas["MeRead"];
type Rec = Schemas["RecordRead"];

export async function myBadgePage(ctx: Ctx): Promise<Node> {
  const [me, qr, bar] = await Promise.all([
    ctx.session.call("GET", "/users/me"),
    ctx.session.blob("/badges/me", { format: "png" }),
    ctx.session.blob("/badges/me", { format: "code128.png" }).catch(() => null),
  ]);
  const qrUrl = URL.createObjectURL(qr);
  ctx.onLeave(() => URL.revokeObjectURL(qrUrl));
  const card = h(
    "section",
    { class: "card badge-card printable", "aria-labelledby": "my-badge-name", "data-testid": "my-badge" },
    h("p", { class: "brand" }, "TAPWORK"),
    h("img", { src: qrUrl, alt: ctx.t("portal.badge.alt", { name: me.full_name }), class: "qr big", width: 320, height: 320 }),
    h("h2", { id: "my-badge-name" }, me.full_name),
    h("p", {}, me.employee_id),
    bar ? h("img", { src: URL.createObjectURL(bar), alt: ctx.t("portal.badge.barcodeAlt"), class: "barcode" }) : null,
  );
  return h(
    "div",
    {},
    pageHeader(
      ctx.t("portal.nav.myBadge"),
      button(ctx.t("portal.badge.download"), () => download(qr, `badge-${me.employee_id}.png`)),
      button(ctx.t("portal.badge.print"), () => window.print()),
      ctx.session.can("badges:regenerate_own")
        ? button(ctx.t("portal.badge.regenerate"), () =>
            confirmAction(ctx, ctx.t("portal.badge.confirmRegenerateOwn"), ctx.t("portal.badge.regenerate"), async () => {
              await ctx.session.call("POST", "/badges/me/regenerate");
              ctx.announce(ctx.t("portal.badge.regenerated"));
              ctx.navigate("/me/badge", true);
            }),
          )
        : null,
    ),
    h("p", { class: "muted" }, ctx.t("portal.badge.hint")),
    card,
  );
}

export async function myHistoryPage(ctx: Ctx): Promise<Node> {
  const box = h("div", { "aria-live": "polite" });
  const now = new Date();
  const load = async (start: string, end: string) => {
    // The records for the table; the totals from the reports' SQL (GET /reports/me), so they
    // equal the attendance report's figures to the minute.
    const [mine, t] = await Promise.all([
      ctx.session.call("GET", "/attendance/me", { query: { start_date: start, end_date: end } }),
      ctx.session.call("GET", "/reports/me", { query: { from: start, to: end } }),
    ]);
    box.replaceChildren(
      h(
        "dl",
        { class: "totals", "data-testid": "totals" },
        [
          [ctx.t("portal.me.daysPresent"), ctx.t("portal.me.ofScheduled", { present: t.days_present, scheduled: t.scheduled_days })],
          [ctx.t("portal.me.lateCount"), t.late_count],
          [ctx.t("portal.me.minutesLate"), t.minutes_late],
          [ctx.t("portal.me.absences"), t.absences],
          [ctx.t("portal.col.worked"), fmtMinutes(t.worked_minutes)],
          [ctx.t("portal.me.overtime"), fmtMinutes(t.overtime_minutes)],
          [ctx.t("portal.me.earlyLeaves"), t.early_leaves],
        ].map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v))),
      ),
      table(
        ctx.t("portal.nav.myHistory"),
        [
          { label: ctx.t("portal.col.date"), value: (r: Rec) => r.work_date },
          { label: ctx.t("portal.col.location"), value: (r: Rec) => r.location_name ?? "—" },
          { label: ctx.t("portal.col.checkIn"), value: (r: Rec) => fmtAt(ctx, r.check_in_at, r.timezone) },
          { label: ctx.t("portal.col.checkOut"), value: (r: Rec) => fmtAt(ctx, r.check_out_at, r.timezone) },
          {
            label: ctx.t("portal.col.status"),
            value: (r: Rec) => h("span", { class: "status-cell" }, statusLabel(ctx, r.status), correctedMark(ctx, r.corrected)),
          },
          { label: ctx.t("portal.col.worked"), value: (r: Rec) => fmtMinutes(r.worked_minutes) },
        ],
        mine.items,
        ctx.t("portal.empty"),
      ),
    );
  };
  const start = isoDate(new Date(now.getFullYear(), now.getMonth(), 1));
  const end = isoDate(now);
  const filters = h(
    "form",
    {
      class: "filters",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const v = formValues(e.currentTarget as HTMLFormElement);
        void load(v.start_date ?? start, v.end_date ?? end).catch((err) => box.replaceChildren(alertBox(errorText(ctx, err))));
      },
    },
    field(ctx.t("portal.att.from"), h("input", { type: "date", name: "start_date", value: start, required: true })),
    field(ctx.t("portal.att.to"), h("input", { type: "date", name: "end_date", value: end, required: true })),
    h("button", { type: "submit" }, ctx.t("portal.filter")),
  );
  await load(start, end);
  return h("div", {}, pageHeader(ctx.t("portal.nav.myHistory")), filters, box);
}

const OPTIONAL_KINDS = ["attendance_confirmation", "missing_clockout", "correction_notice", "weekly_summary", "late_alert", "scheduled_report"] as const;

function submitter(ctx: Ctx, action: (v: Record<string, string>, form: HTMLFormElement) => Promise<void>) {
  return async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const error = form.querySelector(".form-error");
    clearErrors(form, error);
    try {
      await action(formValues(form), form);
    } catch (err) {
      showErrors(form, error, explain(ctx.i18n, err));
    }
  };
}

/** Where I belong and which hours I am held to (names, not ids). */
function placement(ctx: Ctx, me: Me): HTMLElement {
  const shift = me.shift;
  const days = shift ? shift.working_days.map((d) => weekdayName(ctx.i18n.lang, d)).join(", ") : "";
  return h(
    "dl",
    { class: "placement", "data-testid": "placement" },
    h("div", {}, h("dt", {}, ctx.t("portal.col.department")), h("dd", {}, me.department?.name ?? "—")),
    h("div", {}, h("dt", {}, ctx.t("portal.col.location")), h("dd", {}, me.location ? `${me.location.name} (${me.location.timezone})` : "—")),
    h(
      "div",
      {},
      h("dt", {}, ctx.t("portal.col.shift")),
      h(
        "dd",
        {},
        shift
          ? ctx.t("portal.me.shiftHours", {
              name: shift.name,
              start: shift.start_time.slice(0, 5),
              end: shift.end_time.slice(0, 5),
              days,
              grace: shift.grace_minutes,
            })
          : "—",
      ),
    ),
    h("div", {}, h("dt", {}, ctx.t("portal.col.role")), h("dd", {}, roleLabel(ctx, me.role))),
  );
}

export async function mySettingsPage(ctx: Ctx): Promise<Node> {
  const me = await ctx.session.call("GET", "/users/me");
  const kinds = OPTIONAL_KINDS.filter((k) =>
    k === "late_alert"
      ? ctx.session.can("attendance:read_department", "attendance:read_all")
      : k === "scheduled_report"
        ? ctx.session.can("reports:read_department", "reports:read_all")
        : true,
  );
  const profile = h(
    "form",
    {
      class: "card",
      onsubmit: submitter(ctx, async (v) => {
        await ctx.session.call("PUT", "/users/me", { body: { first_name: v.first_name, last_name: v.last_name } });
        ctx.announce(ctx.t("portal.saved"));
      }),
    },
    h("h2", {}, ctx.t("portal.me.profile")),
    h("p", {}, me.email, " · ", me.employee_id),
    placement(ctx, me),
    field(ctx.t("portal.emp.firstName"), h("input", { name: "first_name", value: me.first_name, required: true, maxlength: 100 })),
    field(ctx.t("portal.emp.lastName"), h("input", { name: "last_name", value: me.last_name, required: true, maxlength: 100 })),
    h("div", { class: "form-error", "aria-live": "assertive" }),
    h("button", { type: "submit", class: "primary" }, ctx.t("portal.save")),
  );
  const prefs = h(
    "form",
    {
      class: "card",
      id: "preferences",
      onsubmit: submitter(ctx, async (_v, form) => {
        const chosen = new FormData(form).getAll("kind");
        const body = Object.fromEntries(kinds.map((k) => [k, chosen.includes(k)]));
        const language = new FormData(form).get("language") as Me["language"];
        await ctx.session.call("PUT", "/users/me", { body: { notification_preferences: body, language } });
        ctx.announce(ctx.t("portal.saved"));
      }),
    },
    h(
      "fieldset",
      {},
      h("legend", {}, ctx.t("portal.me.notifications")),
      h("p", { class: "muted" }, ctx.t("portal.me.securityAlways")),
      kinds.map((k) =>
        h(
          "label",
          { class: "check" },
          h("input", { type: "checkbox", name: "kind", value: k, checked: me.notification_preferences[k] ?? true }),
          ctx.t(`portal.kind.${k}`),
        ),
      ),
    ),
    field(
      ctx.t("portal.me.emailLanguage"),
      h(
        "select",
        { name: "language" },
        LANGUAGES.map((lang) => h("option", { value: lang, selected: lang === me.language }, LANGUAGE_NAMES[lang])),
      ),
    ),
    h("div", { class: "form-error", "aria-live": "assertive" }),
    h("button", { type: "submit", class: "primary" }, ctx.t("portal.save")),
  );
  const password = h(
    "form",
    {
      class: "card",
      id: "change-password",
      onsubmit: submitter(ctx, async (v, form) => {
        if (v.new_password !== v.repeat) throw new Error(ctx.t("portal.auth.mismatch"));
        // The answer is a fresh session: every other session was signed out.
        ctx.session.adopt(
          await ctx.session.call("POST", "/auth/change-password", { body: { current_password: v.current_password ?? "", new_password: v.new_password ?? "" } }),
        );
        form.reset();
        ctx.announce(ctx.t("portal.me.passwordChanged"));
      }),
    },
    h("h2", {}, ctx.t("portal.me.changePassword")),
    field(
      ctx.t("portal.me.currentPassword"),
      h("input", { type: "password", name: "current_password", autocomplete: "current-password", required: true, maxlength: 128 }),
    ),
    field(
      ctx.t("portal.auth.newPassword"),
      h("input", { type: "password", name: "new_password", autocomplete: "new-password", required: true, minlength: 12, maxlength: 128 }),
      ctx.t("portal.auth.passwordHint"),
    ),
    field(
      ctx.t("portal.auth.repeatPassword"),
      h("input", { type: "password", name: "repeat", autocomplete: "new-password", required: true, minlength: 12, maxlength: 128 }),
    ),
    h("div", { class: "form-error", "aria-live": "assertive" }),
    h("button", { type: "submit", class: "primary" }, ctx.t("portal.me.changePassword")),
  );
  return h("div", {}, pageHeader(ctx.t("portal.nav.mySettings")), h("div", { class: "grid2" }, profile, prefs, password));
}
