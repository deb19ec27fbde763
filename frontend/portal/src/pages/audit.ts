// The audit log with filters; `listPage`, the filtered list it shares with the email page.
import { h, field, formValues } from "../dom";
import type { Query, Schemas } from "../session";
import { readFilters, writeFilters } from "../filters";
import {
  actionLabel,
  fetchAll,
  fieldNameLabel,
  fmtAt,
  fmtDateTime,
  fmtMinutes,
  pageHeader,
  pager,
  roleLabel,
  sourceLabel,
  statusLabel,
  table,
  type Ctx,
  type Route,
} from "../ui";

type Audit = Schemas["AuditRead"];

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Names for the ids the log mentions (people, departments, shifts, locations, kiosks, roles):
 *  whatever lists this reader may see. */
async function nameBook(ctx: Ctx): Promise<Map<string, string>> {
  const book = new Map<string, string>();
  const add = async <R extends { id: string }>(perm: string, rows: () => Promise<R[]>, name: (row: R) => string) => {
    if (!ctx.session.can(perm)) return;
    for (const row of await rows().catch(() => [] as R[])) book.set(row.id, name(row));
  };
  await Promise.all([
    add(
      "users:read_all",
      () => fetchAll(ctx, "/users", {}, 5),
      (r) => r.full_name,
    ),
    add(
      "departments:read",
      () => fetchAll(ctx, "/departments", {}, 5),
      (r) => r.name,
    ),
    add(
      "shifts:read",
      () => fetchAll(ctx, "/shifts", {}, 5),
      (r) => r.name,
    ),
    add(
      "locations:read",
      () => fetchAll(ctx, "/locations", {}, 5),
      (r) => r.name,
    ),
    add(
      "kiosks:read",
      () => fetchAll(ctx, "/kiosks", {}, 5),
      (r) => r.name,
    ),
    add(
      "roles:read",
      () => fetchAll(ctx, "/roles", {}, 5),
      (r) => roleLabel(ctx, r.name),
    ),
  ]);
  return book;
}

function valueText(ctx: Ctx, name: string, value: unknown, zone: string | null, book: Map<string, string>): string {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return ctx.t(value ? "portal.audit.yes" : "portal.audit.no");
  if (typeof value === "number") return name.endsWith("minutes") || name === "minutes_late" ? fmtMinutes(value) : String(value);
  if (Array.isArray(value)) return value.map((v) => valueText(ctx, name, v, zone, book)).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  const text = String(value);
  if (ISO_INSTANT.test(text)) return fmtAt(ctx, text, zone);
  if (UUID.test(text)) return book.get(text) ?? text.slice(0, 8);
  if (name === "status") return statusLabel(ctx, text);
  if (name === "source") return sourceLabel(ctx, text);
  if (name === "role") return roleLabel(ctx, text);
  return text;
}

/** What changed, in words: "Check-out: — → 17:20 (New York time)". */
function changes(ctx: Ctx, a: Audit, zone: string | null, book: Map<string, string>): HTMLElement {
  const keys = [...new Set([...Object.keys(a.old_values ?? {}), ...Object.keys(a.new_values ?? {})])];
  const list = keys.length
    ? h(
        "ul",
        { class: "changes" },
        keys.map((k) => {
          const before = a.old_values && k in a.old_values ? valueText(ctx, k, a.old_values[k], zone, book) : null;
          const after = valueText(ctx, k, a.new_values?.[k], zone, book);
          return h("li", {}, h("strong", {}, fieldNameLabel(ctx, k)), ": ", before === null ? after : `${before} → ${after}`);
        }),
      )
    : h("p", { class: "muted" }, ctx.t("portal.audit.nothing"));
  const raw = h(
    "details",
    { class: "raw" },
    h("summary", {}, ctx.t("portal.audit.raw")),
    h("pre", {}, JSON.stringify({ old: a.old_values, new: a.new_values }, null, 2)),
  );
  return h("div", {}, list, raw);
}

/** A filtered, paged list whose filters live in the URL. `actions` builds header buttons that
 *  act on the current filters (the date inputs' values as whole-day instants). */
export async function listPage<T>(
  ctx: Ctx,
  route: Route,
  title: string,
  /** One page of the list, typed by the API's schema at the caller. */
  fetchPage: (query: Query) => Promise<{ items: T[]; total: number }>,
  filterFields: (state: Record<string, string>) => HTMLElement[],
  defaults: Record<string, string>,
  columns: (reload: () => void, rows: T[]) => Promise<{ label: string; value: (row: T) => Node | string | number }[]>,
  actions?: (query: () => Record<string, string>, reload: () => void) => HTMLElement[],
): Promise<Node> {
  const box = h("div", { "aria-live": "polite" });
  // Filters live in the URL, so a reload or a shared link shows the same entries.
  const state: Record<string, string> & { page?: number } = readFilters(route, defaults);
  let page = Number(route.query.get("page")) || 1;
  const limit = 50;
  const currentQuery = (): Record<string, string> => {
    const query: Record<string, string> = {};
    for (const [key, value] of Object.entries(state)) if (key !== "page" && value) query[key] = String(value);
    // Dates from the date inputs become whole-day instants in the viewer's time zone.
    if (query.since) query.since = new Date(`${query.since}T00:00:00`).toISOString();
    if (query.until) query.until = new Date(`${query.until}T23:59:59`).toISOString();
    return query;
  };
  const load = async () => {
    writeFilters(ctx, { ...state, page }, defaults);
    const query = currentQuery();
    const answer = await fetchPage({ ...query, page, limit });
    box.replaceChildren(
      table(title, await columns(() => void load(), answer.items), answer.items, ctx.t("portal.empty")),
      pager(ctx, page, limit, answer.total, (p) => {
        page = p;
        void load();
      }),
    );
  };
  const filters = h(
    "form",
    {
      class: "filters",
      role: "search",
      onsubmit: (e: Event) => {
        e.preventDefault();
        Object.assign(state, formValues(e.currentTarget as HTMLFormElement));
        page = 1;
        void load();
      },
    },
    ...filterFields(state),
    h("button", { type: "submit" }, ctx.t("portal.filter")),
  );
  await load();
  return h("div", {}, pageHeader(title, ...(actions ? actions(currentQuery, () => void load()) : [])), filters, box);
}

export async function auditPage(ctx: Ctx, route: Route): Promise<Node> {
  const [actions, book] = await Promise.all([ctx.session.call("GET", "/audit/actions"), nameBook(ctx)]);
  return listPage<Audit>(
    ctx,
    route,
    ctx.t("portal.nav.audit"),
    (query) => ctx.session.call("GET", "/audit", { query }),
    (state) => [
      field(
        ctx.t("portal.audit.action"),
        h(
          "select",
          { name: "action" },
          h("option", { value: "" }, ctx.t("portal.all")),
          actions.map((a) => h("option", { value: a, selected: a === state.action }, actionLabel(ctx, a))),
        ),
      ),
      field(ctx.t("portal.audit.resource"), h("input", { name: "resource_type", maxlength: 64, placeholder: "user", value: state.resource_type ?? "" })),
      field(ctx.t("portal.att.from"), h("input", { type: "date", name: "since", value: state.since ?? "" })),
      field(ctx.t("portal.att.to"), h("input", { type: "date", name: "until", value: state.until ?? "" })),
    ],
    { action: "", resource_type: "", since: "", until: "" },
    async (_reload, rows) => {
      // Attendance times are shown where they happened: the zone of each record on this page.
      const recordIds = [...new Set(rows.filter((a) => a.resource_type === "attendance_record" && a.resource_id).map((a) => a.resource_id as string))];
      const zones = new Map<string, string>();
      await Promise.all(
        recordIds.map((id) =>
          ctx.session
            .call("GET", `/attendance/${id}`)
            .then((r) => {
              zones.set(id, r.timezone);
              if (r.employee_name) book.set(id, r.employee_name);
            })
            .catch(() => undefined),
        ),
      );
      return [
        { label: ctx.t("portal.audit.when"), value: (a) => fmtDateTime(a.created_at, ctx.i18n.lang) },
        {
          label: ctx.t("portal.audit.actor"),
          value: (a) => (a.actor_type === "system" ? ctx.t("portal.audit.system") : ((a.actor_id && book.get(a.actor_id)) ?? a.actor_label)),
        },
        { label: ctx.t("portal.audit.action"), value: (a) => h("span", { title: a.action, "data-action": a.action }, actionLabel(ctx, a.action)) },
        {
          label: ctx.t("portal.audit.resource"),
          value: (a) => (a.resource_id ? (book.get(a.resource_id) ?? `${a.resource_type} ${a.resource_id.slice(0, 8)}`) : a.resource_type),
        },
        { label: ctx.t("portal.audit.changes"), value: (a) => changes(ctx, a, a.resource_id ? (zones.get(a.resource_id) ?? null) : null, book) },
        { label: ctx.t("portal.audit.ip"), value: (a) => a.ip ?? "—" },
      ];
    },
  );
}
