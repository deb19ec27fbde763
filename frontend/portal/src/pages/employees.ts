// Employees: search / filter / paginate, invite, CSV import with the per-row error report,
// badge sheets (PDF), and one employee's page: edit, (de)activate, delete, badge.
import { control, bodyFrom, type FieldSpec, type Option } from "../crud";
import { clearErrors, explain, showErrors } from "../errors";
import { h, field, download } from "../dom";
import { LANGUAGES, LANGUAGE_NAMES } from "@tapwork/shared";
import { readFilters, writeFilters } from "../filters";
import type { Schemas } from "../session";
import { alertBox, button, confirmAction, errorText, fetchAll, modalForm, pageHeader, pager, roleLabel, table, type Ctx, type Route } from "../ui";

type User = Schemas["UserRead"];
type ImportResult = Schemas["ImportResult"];

interface Lookups {
  departments: Option[];
  shifts: Option[];
  locations: Option[];
  roles: Option[];
  /** The role filter of the list goes by role name. */
  roleNames: Option[];
}

async function lookups(ctx: Ctx): Promise<Lookups> {
  const opt = (rows: { id: string; name: string }[]) => rows.map((r) => ({ value: r.id, label: r.name }));
  const get = (perm: string, path: "/departments" | "/shifts" | "/locations") =>
    ctx.session.can(perm) ? fetchAll(ctx, path).then(opt) : Promise.resolve([] as Option[]);
  const [departments, shifts, locations, roleRows] = await Promise.all([
    get("departments:read", "/departments"),
    get("shifts:read", "/shifts"),
    get("locations:read", "/locations"),
    ctx.session.can("roles:read") ? fetchAll(ctx, "/roles") : Promise.resolve([]),
  ]);
  const roles = roleRows.map((r) => ({ value: r.id, label: roleLabel(ctx, r.name) }));
  const roleNames = roleRows.map((r) => ({ value: r.name, label: roleLabel(ctx, r.name) }));
  return { departments, shifts, locations, roles, roleNames };
}

/** The fields both inviting (UserCreate) and editing (UserUpdate) take. */
type UserField = keyof Schemas["UserCreate"] & keyof Schemas["UserUpdate"];

function userFields(l: Lookups, withRole: boolean): FieldSpec<UserField>[] {
  const fields: FieldSpec<UserField>[] = [
    { name: "first_name", label: "portal.emp.firstName", type: "text", required: true, maxLength: 100 },
    { name: "last_name", label: "portal.emp.lastName", type: "text", required: true, maxLength: 100 },
    { name: "email", label: "portal.auth.email", type: "email", required: true, maxLength: 254 },
    { name: "employee_id", label: "portal.col.employeeId", type: "text", required: true, maxLength: 32 },
    { name: "department_id", label: "portal.col.department", type: "select", nullable: true, options: l.departments },
    { name: "shift_id", label: "portal.col.shift", type: "select", nullable: true, options: l.shifts },
    { name: "location_id", label: "portal.col.location", type: "select", nullable: true, options: l.locations },
  ];
  if (withRole) fields.push({ name: "role_id", label: "portal.col.role", type: "select", options: l.roles });
  return fields;
}

function stateOf(ctx: Ctx, u: User): HTMLElement {
  const [key, cls] = !u.is_active
    ? (["portal.emp.inactive", "off"] as const)
    : u.invitation_pending
      ? (["portal.emp.invited", "warn"] as const)
      : (["portal.emp.active", "ok"] as const);
  return h("span", { class: `pill ${cls}` }, ctx.t(key));
}

async function sheet(ctx: Ctx, query: Record<string, string>): Promise<void> {
  try {
    const blob = await ctx.session.blob("/badges/sheet.pdf", query);
    // A new tab shows the PDF to print; a blocked pop-up falls back to a download.
    if (!window.open(URL.createObjectURL(blob), "_blank")) download(blob, "badges.pdf");
  } catch (err) {
    ctx.announce(errorText(ctx, err), "error");
  }
}

function importDialog(ctx: Ctx, reload: () => void): void {
  const report = h("div", { "aria-live": "polite", "data-testid": "import-report" });
  const fileInput = h("input", { type: "file", name: "file", accept: ".csv,text/csv", required: true });
  modalForm(
    ctx,
    ctx.t("portal.emp.import"),
    [
      h("p", {}, ctx.t("portal.emp.importIntro")),
      field(ctx.t("portal.emp.csvFile"), fileInput),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "skip_invalid" }), ctx.t("portal.emp.skipInvalid")),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "send_invites", checked: true }), ctx.t("portal.emp.sendInvites")),
      report,
    ],
    ctx.t("portal.emp.importRun"),
    async (form) => {
      const file = fileInput.files?.[0];
      if (!file) throw new Error(ctx.t("portal.emp.csvFile"));
      const checked = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).checked;
      report.replaceChildren();
      try {
        const result = await ctx.session.call("POST", "/users/import", {
          query: { skip_invalid: checked("skip_invalid"), send_invites: checked("send_invites") },
          raw: { data: await file.text(), type: "text/csv" },
        });
        report.replaceChildren(
          importReport(ctx, result.errors),
          h("p", { class: "ok" }, ctx.t("portal.emp.importDone", { created: result.created, updated: result.updated, skipped: result.skipped })),
        );
        reload();
      } catch (err) {
        const rows = (err as { details?: { errors?: ImportResult["errors"] } }).details?.errors;
        if (rows) report.replaceChildren(alertBox(ctx.t("portal.emp.importRejected")), importReport(ctx, rows));
        else throw err;
      }
      return false; // keep the dialog open so the report can be read
    },
  );
}

function importReport(ctx: Ctx, rows: ImportResult["errors"]): HTMLElement {
  return table(
    ctx.t("portal.emp.importErrors"),
    [
      { label: ctx.t("portal.emp.row"), value: (e: ImportResult["errors"][number]) => e.row },
      { label: ctx.t("portal.emp.field"), value: (e: ImportResult["errors"][number]) => e.field },
      { label: ctx.t("portal.emp.message"), value: (e: ImportResult["errors"][number]) => e.message },
    ],
    rows,
    ctx.t("portal.emp.noImportErrors"),
  );
}

export async function employeesPage(ctx: Ctx, route: Route): Promise<Node> {
  const l = await lookups(ctx);
  const canWrite = ctx.session.can("users:write");
  const box = h("div", { "aria-live": "polite" });
  const defaults = { search: "", department_id: "", is_active: "", role: "" };
  const state = { ...readFilters(route, defaults), page: Number(route.query.get("page")) || 1 };
  const limit = 25;

  const load = async () => {
    writeFilters(ctx, state, defaults);
    const answer = await ctx.session.call("GET", "/users", {
      query: { page: state.page, limit, search: state.search || undefined, department_id: state.department_id, is_active: state.is_active, role: state.role },
    });
    const deptName = new Map(l.departments.map((d) => [d.value, d.label]));
    box.replaceChildren(
      table(
        ctx.t("portal.nav.employees"),
        [
          { label: ctx.t("portal.col.name"), value: (u: User) => h("a", { href: `/portal/employees/${u.id}`, "data-link": true }, u.full_name) },
          { label: ctx.t("portal.col.employeeId"), value: (u: User) => u.employee_id },
          { label: ctx.t("portal.auth.email"), value: (u: User) => u.email },
          { label: ctx.t("portal.col.department"), value: (u: User) => (u.department_id ? (deptName.get(u.department_id) ?? "—") : "—") },
          { label: ctx.t("portal.col.role"), value: (u: User) => roleLabel(ctx, u.role) },
          { label: ctx.t("portal.col.status"), value: (u: User) => stateOf(ctx, u) },
        ],
        answer.items,
        ctx.t("portal.empty"),
      ),
      pager(ctx, state.page, limit, answer.total, (p) => {
        state.page = p;
        void load();
      }),
    );
  };

  const filters = h(
    "form",
    {
      role: "search",
      class: "filters",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget as HTMLFormElement);
        state.search = String(f.get("search") ?? "").trim();
        state.department_id = String(f.get("department_id") ?? "");
        state.is_active = String(f.get("is_active") ?? "");
        state.role = String(f.get("role") ?? "");
        state.page = 1;
        void load();
      },
    },
    field(ctx.t("portal.search"), h("input", { type: "search", name: "search", maxlength: 100, value: state.search })),
    l.departments.length > 1 || ctx.session.can("users:read_all")
      ? field(
          ctx.t("portal.col.department"),
          h(
            "select",
            { name: "department_id" },
            h("option", { value: "" }, ctx.t("portal.all")),
            l.departments.map((d) => h("option", { value: d.value, selected: d.value === state.department_id }, d.label)),
          ),
        )
      : null,
    field(
      ctx.t("portal.col.status"),
      h(
        "select",
        { name: "is_active" },
        h("option", { value: "" }, ctx.t("portal.all")),
        h("option", { value: "true", selected: state.is_active === "true" }, ctx.t("portal.emp.active")),
        h("option", { value: "false", selected: state.is_active === "false" }, ctx.t("portal.emp.inactive")),
      ),
    ),
    l.roleNames.length
      ? field(
          ctx.t("portal.col.role"),
          h(
            "select",
            { name: "role" },
            h("option", { value: "" }, ctx.t("portal.all")),
            l.roleNames.map((r) => h("option", { value: r.value, selected: r.value === state.role }, r.label)),
          ),
        )
      : null,
    h("button", { type: "submit" }, ctx.t("portal.filter")),
  );

  const invite = () => {
    // The language of the invitation and of every later email (the server defaults to mine).
    const languages = LANGUAGES.map((lang) => ({ value: lang, label: LANGUAGE_NAMES[lang] }));
    const fields: FieldSpec<keyof Schemas["UserCreate"]>[] = [
      ...userFields(l, l.roles.length > 0),
      { name: "language", label: "portal.me.emailLanguage", type: "select", options: languages, initial: ctx.i18n.lang },
    ];
    modalForm(
      ctx,
      ctx.t("portal.emp.invite"),
      fields.map((f) => control(ctx, f, f.initial)),
      ctx.t("portal.emp.sendInvite"),
      async (form) => {
        await ctx.session.call("POST", "/users", { body: bodyFrom<Schemas["UserCreate"]>(form, fields, false) });
        ctx.announce(ctx.t("portal.emp.invited"));
        void load();
      },
    );
  };

  await load();
  return h(
    "div",
    {},
    pageHeader(
      ctx.t("portal.nav.employees"),
      ctx.session.can("badges:read_all")
        ? button(ctx.t("portal.emp.sheet"), () => void sheet(ctx, state.department_id ? { department_id: state.department_id } : {}))
        : null,
      ctx.session.can("users:import") ? button(ctx.t("portal.emp.import"), () => importDialog(ctx, () => void load())) : null,
      canWrite ? button(ctx.t("portal.emp.invite"), invite, { class: "primary", id: "invite" }) : null,
    ),
    filters,
    box,
  );
}

async function badgeBox(ctx: Ctx, user: User): Promise<HTMLElement> {
  const box = h("section", { class: "card badge-card", "aria-labelledby": "badge-title" }, h("h2", { id: "badge-title" }, ctx.t("portal.badge.title")));
  if (!ctx.session.can("badges:read_all")) return box;
  const render = async () => {
    const blob = await ctx.session.blob(`/users/${user.id}/badge`, { format: "png" });
    const img = h("img", { src: URL.createObjectURL(blob), alt: ctx.t("portal.badge.alt", { name: user.full_name }), class: "qr", width: 240, height: 240 });
    const actions = ctx.session.can("badges:write")
      ? [
          button(ctx.t("portal.badge.regenerate"), () =>
            confirmAction(ctx, ctx.t("portal.badge.confirmRegenerate"), ctx.t("portal.badge.regenerate"), async () => {
              await ctx.session.call("POST", `/users/${user.id}/badge/regenerate`);
              ctx.announce(ctx.t("portal.badge.regenerated"));
              await render();
            }),
          ),
          button(
            ctx.t("portal.badge.revoke"),
            () =>
              confirmAction(ctx, ctx.t("portal.badge.confirmRevoke"), ctx.t("portal.badge.revoke"), async () => {
                await ctx.session.call("POST", `/users/${user.id}/badge/revoke`);
                ctx.announce(ctx.t("portal.badge.revoked"));
              }),
            { class: "danger" },
          ),
        ]
      : [];
    box.replaceChildren(
      box.firstChild as Node,
      img,
      h(
        "div",
        { class: "actions" },
        button(ctx.t("portal.emp.sheet"), () => void sheet(ctx, { user_id: user.id })),
        ...actions,
      ),
    );
  };
  await render().catch((err) => box.append(alertBox(errorText(ctx, err))));
  return box;
}

export async function employeePage(ctx: Ctx, route: Route): Promise<Node> {
  const id = route.path.split("/")[2] ?? "";
  const [user, l] = await Promise.all([ctx.session.call("GET", `/users/${encodeURIComponent(id)}`), lookups(ctx)]);
  const canWrite = ctx.session.can("users:write");
  const fields = userFields(l, l.roles.length > 0);
  const values = user as unknown as Record<string, unknown>;
  const error = h("div", { "aria-live": "assertive" });
  const form = h(
    "form",
    {
      class: "card",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        error.replaceChildren();
        try {
          await ctx.session.call("PUT", `/users/${user.id}`, { body: bodyFrom<Schemas["UserUpdate"]>(form, fields, true) });
          clearErrors(form, error);
          ctx.announce(ctx.t("portal.saved"));
        } catch (err) {
          showErrors(form, error, explain(ctx.i18n, err));
        }
      },
    },
    h(
      "fieldset",
      { disabled: !canWrite },
      fields.map((f) => control(ctx, f, values[f.name])),
    ),
    error,
    canWrite ? h("button", { type: "submit", class: "primary" }, ctx.t("portal.save")) : null,
  );
  const actions = [
    canWrite && user.invitation_pending
      ? button(ctx.t("portal.emp.resend"), async () => {
          await ctx.session.call("POST", `/users/${user.id}/resend-invite`).then(
            () => ctx.announce(ctx.t("portal.emp.invited")),
            (err) => ctx.announce(errorText(ctx, err), "error"),
          );
        })
      : null,
    canWrite
      ? button(user.is_active ? ctx.t("portal.emp.deactivate") : ctx.t("portal.emp.activate"), () =>
          confirmAction(
            ctx,
            ctx.t(user.is_active ? "portal.emp.confirmDeactivate" : "portal.emp.confirmActivate", { name: user.full_name }),
            ctx.t("portal.yes"),
            async () => {
              await ctx.session.call("PUT", `/users/${user.id}`, { body: { is_active: !user.is_active } });
              ctx.navigate(route.path, true);
            },
          ),
        )
      : null,
    ctx.session.can("users:delete")
      ? button(
          ctx.t("portal.delete"),
          () =>
            confirmAction(ctx, ctx.t("portal.confirmDelete", { name: user.full_name }), ctx.t("portal.delete"), async () => {
              await ctx.session.call("DELETE", `/users/${user.id}`);
              ctx.navigate("/employees");
            }),
          { class: "danger" },
        )
      : null,
  ];
  return h(
    "div",
    {},
    pageHeader(user.full_name, stateOf(ctx, user), ...actions),
    h("p", {}, h("a", { href: "/portal/employees", "data-link": true }, ctx.t("portal.emp.back"))),
    h("div", { class: "grid2" }, form, await badgeBox(ctx, user)),
  );
}
