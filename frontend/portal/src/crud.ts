// A generic list + create/edit/delete page for the organisation's simple resources
// (departments, shifts, locations, holidays). Field specs build both the form and the body.
import type { Body, Op, Row } from "./api-types";
import type { PortalKey as MessageKey } from "./i18n";
import { h, field, formValues, type Child } from "./dom";
import { button, confirmAction, modalForm, pageHeader, pager, table, type Column, type Ctx } from "./ui";

export interface Option {
  value: string;
  label: string;
}

/** One form field; `N` is the body's keys (`keyof Schemas["UserCreate"]`), so a field the API
 *  renames or drops fails `tsc` where the page declares it. */
export interface FieldSpec<N extends string = string> {
  name: N;
  label: MessageKey;
  type: "text" | "email" | "number" | "time" | "date" | "select" | "days" | "textarea";
  required?: boolean;
  maxLength?: number;
  min?: number;
  max?: number;
  hint?: MessageKey;
  options?: Option[];
  /** Empty select → null in the body (e.g. "no manager"). */
  nullable?: boolean;
  /** Pre-filled in the create form (the server's default, shown so the preview is meaningful). */
  initial?: string | number;
}

const WEEKDAYS = [1, 2, 3, 4, 5, 6, 7];

export function weekdayName(lang: string, iso: number): string {
  // 2024-01-01 was a Monday.
  return new Date(2024, 0, iso).toLocaleDateString(lang, { weekday: "short" });
}

export function control(ctx: Ctx, spec: FieldSpec, value: unknown): HTMLElement {
  const label = ctx.t(spec.label);
  const hint = spec.hint ? ctx.t(spec.hint) : undefined;
  if (spec.type === "days") {
    const chosen = Array.isArray(value) ? (value as number[]) : [1, 2, 3, 4, 5];
    return h(
      "fieldset",
      { class: "days" },
      h("legend", {}, label),
      WEEKDAYS.map((d) =>
        h("label", {}, h("input", { type: "checkbox", name: spec.name, value: d, checked: chosen.includes(d) }), weekdayName(ctx.i18n.lang, d)),
      ),
    );
  }
  const common = { name: spec.name, required: spec.required ?? false };
  let el: HTMLElement;
  if (spec.type === "select") {
    el = h(
      "select",
      common,
      spec.nullable || !spec.required ? h("option", { value: "" }, "—") : null,
      (spec.options ?? []).map((o) => h("option", { value: o.value, selected: o.value === value }, o.label)),
    );
  } else if (spec.type === "textarea") {
    el = h("textarea", { ...common, maxlength: spec.maxLength ?? 2000, rows: 3 }, String(value ?? ""));
  } else {
    el = h("input", {
      ...common,
      type: spec.type,
      value: value === null || value === undefined ? "" : String(value),
      maxlength: spec.type === "text" || spec.type === "email" ? (spec.maxLength ?? 200) : null,
      min: spec.min ?? null,
      max: spec.max ?? null,
    });
  }
  return field(label, el, hint);
}

/** Form values → a JSON body: numbers as numbers, days as a list, empty optionals as null. */
export function bodyFrom(form: HTMLFormElement, specs: FieldSpec[], editing: boolean): Record<string, unknown>;
/** …typed as the API's body `B`, whose keys the specs were checked against. */
export function bodyFrom<B extends object>(form: HTMLFormElement, specs: FieldSpec<keyof B & string>[], editing: boolean): B;
export function bodyFrom(form: HTMLFormElement, specs: FieldSpec[], editing: boolean): Record<string, unknown> {
  const values = formValues(form);
  const body: Record<string, unknown> = {};
  for (const spec of specs) {
    if (spec.type === "days") {
      body[spec.name] = new FormData(form).getAll(spec.name).map(Number);
      continue;
    }
    const raw = values[spec.name] ?? "";
    if (raw === "") {
      if (spec.nullable || editing) body[spec.name] = spec.nullable ? null : undefined;
      continue;
    }
    body[spec.name] = spec.type === "number" ? Number(raw) : raw;
  }
  for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
  return body;
}

/** The simple resources this page edits: `${api}/${id}` is then a typed item path too. */
export type CrudApi = "/departments" | "/shifts" | "/locations" | "/holidays";
/** The keys of what creating one takes (the edit form shows the same fields). */
type CreateKeys<A extends CrudApi> = keyof Body<Op<A, "POST">> & string;

export interface CrudSpec<A extends CrudApi, T = Row<A>> {
  title: MessageKey;
  api: A;
  writePermission: string;
  columns: Column<T>[];
  fields: () => Promise<FieldSpec<CreateKeys<A>>[]>;
  searchable?: boolean;
  query?: () => Record<string, string>;
  /** Extra content inside the form (the shift threshold preview). */
  formExtra?: (form: HTMLFormElement) => Child;
  rowActions?: (row: T, reload: () => void) => Child[];
  headActions?: (reload: () => void) => Child[];
  newLabel: MessageKey;
  name: (row: T) => string;
}

export async function crudPage<A extends CrudApi>(ctx: Ctx, spec: CrudSpec<A>): Promise<Node> {
  type T = Row<A>;
  // Every CRUD row has an id; TypeScript cannot see it through the generic `Row<A>`.
  const idOf = (row: T) => (row as unknown as { id: string }).id;
  const item = (row: T): `${CrudApi}/${string}` => `${spec.api}/${idOf(row)}`;
  const canWrite = ctx.session.can(spec.writePermission);
  const fields = await spec.fields();
  const listBox = h("div", { "aria-live": "polite" });
  let page = 1;
  let search = "";
  const limit = 25;

  const openForm = (row: T | null) => {
    const body: Child[] = fields.map((f) => control(ctx, f, row ? (row as Record<string, unknown>)[f.name] : f.initial));
    const dialog = modalForm(ctx, ctx.t(row ? "portal.edit" : spec.newLabel), body, ctx.t("portal.save"), async (form) => {
      const payload = bodyFrom(form, fields, row !== null);
      if (row) await ctx.session.callForm("PUT", item(row), payload);
      else await ctx.session.callForm("POST", spec.api, payload);
      ctx.announce(ctx.t("portal.saved"));
      void load();
    });
    const form = dialog.querySelector("form");
    if (form && spec.formExtra) {
      const extra = spec.formExtra(form);
      if (extra instanceof Node) form.querySelector(".form-error")?.before(extra);
    }
  };

  const load = async (): Promise<void> => {
    const query = { page, limit, search: spec.searchable && search ? search : undefined, ...(spec.query?.() ?? {}) };
    // The answer of a generic path is not resolved by TypeScript; its rows are `Row<A>`.
    const answer = (await ctx.session.call("GET", spec.api as CrudApi, { query })) as unknown as { items: T[]; total: number };
    const columns: Column<T>[] = [...spec.columns];
    if (canWrite || spec.rowActions) {
      columns.push({
        label: ctx.t("portal.col.actions"),
        value: (row) =>
          h(
            "div",
            { class: "row-actions" },
            ...(spec.rowActions?.(row, () => void load()) ?? []),
            canWrite ? button(ctx.t("portal.edit"), () => openForm(row), { "aria-label": `${ctx.t("portal.edit")} ${spec.name(row)}` }) : null,
            canWrite
              ? button(
                  ctx.t("portal.delete"),
                  () =>
                    confirmAction(ctx, ctx.t("portal.confirmDelete", { name: spec.name(row) }), ctx.t("portal.delete"), async () => {
                      await ctx.session.call("DELETE", item(row));
                      ctx.announce(ctx.t("portal.deleted"));
                      void load();
                    }),
                  { class: "danger", "aria-label": `${ctx.t("portal.delete")} ${spec.name(row)}` },
                )
              : null,
          ),
      });
    }
    listBox.replaceChildren(
      table(ctx.t(spec.title), columns, answer.items, ctx.t("portal.empty")),
      pager(ctx, page, limit, answer.total, (p) => {
        page = p;
        void load();
      }),
    );
  };
  await load();

  const searchBox = spec.searchable
    ? h(
        "form",
        {
          role: "search",
          class: "filters",
          onsubmit: (e: Event) => {
            e.preventDefault();
            search = (e.currentTarget as HTMLFormElement).querySelector("input")?.value.trim() ?? "";
            page = 1;
            void load();
          },
        },
        field(ctx.t("portal.search"), h("input", { type: "search", name: "search", maxlength: 100 })),
        h("button", { type: "submit" }, ctx.t("portal.search")),
      )
    : null;
  return h(
    "div",
    {},
    pageHeader(
      ctx.t(spec.title),
      ...(spec.headActions?.(() => void load()) ?? []),
      canWrite ? button(ctx.t(spec.newLabel), () => openForm(null), { class: "primary", id: "new-item" }) : null,
    ),
    searchBox,
    listBox,
  );
}
