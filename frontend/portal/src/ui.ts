// Shared widgets: error text, tables, pagination, modal forms, confirmations, status messages.
import { errorLine, explain, showErrors } from "./errors";
import { formatAt, viewerZone } from "./time";
import type { PortalI18n } from "./i18n";
import { h, type Child } from "./dom";
import type { ListPath, Row } from "./api-types";
import type { Session } from "./session";

export interface Ctx {
  session: Session;
  i18n: PortalI18n;
  t: PortalI18n["t"];
  navigate(path: string, replace?: boolean): void;
  /** Polite screen-reader + visual message ("Saved", "Invitation sent"). */
  announce(message: string, tone?: "ok" | "error"): void;
  /** Runs when the page is left (stop polling). */
  onLeave(cleanup: () => void): void;
}

export interface Route {
  path: string;
  query: URLSearchParams;
}

/** A human, translated sentence for any error (see errors.ts: the one mapping). */
export function errorText(ctx: Ctx, error: unknown): string {
  return errorLine(ctx.i18n, error);
}

export function alertBox(message: string): HTMLElement {
  return h("p", { class: "alert", role: "alert" }, message);
}

export function pageHeader(title: string, ...actions: Child[]): HTMLElement {
  return h("div", { class: "page-head" }, h("h1", {}, title), h("div", { class: "actions" }, ...actions));
}

export function button(label: string, onclick: () => void, attrs: Record<string, string | boolean> = {}): HTMLButtonElement {
  return h("button", { type: "button", ...attrs, onclick }, label);
}

export interface Column<T> {
  label: string;
  value: (row: T) => Child;
}

export function table<T>(caption: string, columns: Column<T>[], rows: T[], empty: string): HTMLElement {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    h(
      "table",
      {},
      h("caption", { class: "sr-only" }, caption),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          columns.map((c) => h("th", { scope: "col" }, c.label)),
        ),
      ),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h(
            "tr",
            {},
            columns.map((c) => h("td", { "data-label": c.label }, c.value(row))),
          ),
        ),
      ),
    ),
  );
}

export function pager(ctx: Ctx, page: number, limit: number, total: number, go: (page: number) => void): HTMLElement {
  const pages = Math.max(1, Math.ceil(total / limit));
  return h(
    "nav",
    { class: "pager", "aria-label": ctx.t("portal.pager.label") },
    button(ctx.t("portal.pager.prev"), () => go(page - 1), { disabled: page <= 1 }),
    h("span", {}, ctx.t("portal.pager.status", { page, pages, total })),
    button(ctx.t("portal.pager.next"), () => go(page + 1), { disabled: page >= pages }),
  );
}

/** A modal form in a native <dialog> (focus trap, Escape to close, for free). Resolves when the
 *  submit handler succeeds; a thrown error is shown inside the dialog and the form stays open. */
export function modalForm(
  ctx: Ctx,
  title: string,
  body: Child[],
  submitLabel: string,
  /** Resolve `false` to keep the dialog open (to show a result inside it). */
  onSubmit: (form: HTMLFormElement) => Promise<void | boolean>,
): HTMLDialogElement {
  const error = h("div", { class: "form-error", "aria-live": "assertive" });
  const submit = h("button", { type: "submit", class: "primary" }, submitLabel);
  const dialog = h("dialog", { "aria-labelledby": "dialog-title" });
  const form = h(
    "form",
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        submit.disabled = true;
        error.replaceChildren();
        try {
          if ((await onSubmit(form)) !== false) dialog.close();
        } catch (err) {
          showErrors(form, error, explain(ctx.i18n, err));
        } finally {
          submit.disabled = false;
        }
      },
    },
    h("h2", { id: "dialog-title" }, title),
    ...body,
    error,
    h(
      "div",
      { class: "actions" },
      button(ctx.t("portal.cancel"), () => dialog.close()),
      submit,
    ),
  );
  dialog.append(form);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

export function confirmAction(ctx: Ctx, question: string, confirmLabel: string, action: () => Promise<void>): void {
  modalForm(ctx, question, [], confirmLabel, async () => action());
}

export function fmtDateTime(iso: string | null | undefined, lang: string): string {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });
}

export function fmtTime(iso: string | null | undefined, lang: string): string {
  if (!iso) return "—";
  return new Date(iso).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
}

export function fmtMinutes(minutes: number | null | undefined): string {
  if (minutes === null || minutes === undefined) return "—";
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, "0")}m`;
}

export function statusLabel(ctx: Ctx, status: string): string {
  const key = `portal.status.${status}`;
  return ctx.i18n.has(key) ? ctx.t(key) : status;
}

export function loading(ctx: Ctx): HTMLElement {
  return h("p", { class: "loading", role: "status" }, ctx.t("common.loading"));
}

/** Fetches every page of a list endpoint (for small lookups: shifts, locations, holidays);
 *  the rows are typed by the endpoint's schema. */
export async function fetchAll<P extends ListPath>(ctx: Ctx, path: P, query: Record<string, string | number> = {}, max = 20): Promise<Row<P>[]> {
  const out: Row<P>[] = [];
  for (let page = 1; page <= max; page++) {
    // TypeScript cannot resolve the answer of a generic path; `Row<P>` is read from the schema.
    const answer = (await ctx.session.call("GET", path as ListPath, { query: { ...query, page, limit: 200 } })) as unknown as {
      items: Row<P>[];
      total: number;
    };
    out.push(...answer.items);
    if (out.length >= answer.total || answer.items.length === 0) break;
  }
  return out;
}

/** An instant shown in the zone of the place it belongs to, labelled when that differs from the
 *  viewer's clock (time.ts). Without a zone, the viewer's own. */
export function fmtAt(ctx: Ctx, iso: string | null | undefined, zone: string | null | undefined, style: "datetime" | "time" = "datetime"): string {
  return formatAt(iso, ctx.i18n.lang, zone || viewerZone(), { inZone: (time, place) => ctx.t("portal.time.inZone", { time, zone: place }) }, style);
}

function labelOr(ctx: Ctx, key: string, raw: string): string {
  return ctx.i18n.has(key) ? ctx.t(key) : raw.replace(/_/g, " ");
}

/** System roles in words ("HR manager"); custom roles keep the name their admin gave them. */
export const roleLabel = (ctx: Ctx, name: string): string => labelOr(ctx, `portal.roleName.${name}`, name);
/** System roles' descriptions in the viewer's language; custom roles keep their admin's words. */
export function roleDescription(ctx: Ctx, name: string, isSystem: boolean, raw: string): string {
  const key = `portal.roleDescription.${name}`;
  return isSystem && ctx.i18n.has(key) ? ctx.t(key) : raw;
}
/** Why a scan was held for review ("The previous day was never checked out"). */
export const heldReasonLabel = (ctx: Ctx, code: string): string => labelOr(ctx, `portal.heldReason.${code}`, code);
export const sourceLabel = (ctx: Ctx, source: string): string => labelOr(ctx, `portal.source.${source}`, source);
export const mailKindLabel = (ctx: Ctx, kind: string): string => labelOr(ctx, `portal.mailKind.${kind}`, kind);
export const actionLabel = (ctx: Ctx, action: string): string => labelOr(ctx, `portal.action.${action}`, action);
export const fieldNameLabel = (ctx: Ctx, name: string): string => labelOr(ctx, `portal.fieldName.${name}`, name);

/** A permission in words ("See every employee"); an unknown one keeps the API's description. */
export function permissionLabel(i18n: PortalI18n, name: string, description?: string): string {
  const key = `portal.perm.${name}`;
  return i18n.has(key) ? i18n.t(key) : (description ?? name);
}

/** The "Corrected" mark on a record changed or added by hand. */
export function correctedMark(ctx: Ctx, corrected: boolean | undefined): HTMLElement | null {
  return corrected ? h("span", { class: "pill corrected", title: ctx.t("portal.correctedHint"), "data-testid": "corrected" }, ctx.t("portal.corrected")) : null;
}
