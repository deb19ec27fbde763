// The one mapping from an API error (code, and for input errors field + type) to a sentence
// for a person, in their language, shown next to the field it concerns. The API's own
// `message` is for developers and never shown.
import { ApiError } from "@tapwork/shared";
import { h } from "./dom";
import type { PortalI18n } from "./i18n";

export interface FieldProblem {
  /** The form control's name (`check_out_at`), from the API's `body.check_out_at`. */
  field: string;
  message: string;
}

export interface Explanation {
  /** For the form as a whole. */
  message: string;
  fields: FieldProblem[];
}

interface ApiFieldError {
  field?: string;
  type?: string;
}

function fieldName(path: string): string {
  const parts = path.split(".");
  // "body.email", "query.until", "body.notification_preferences.late_alert" → the form field.
  return (["body", "query", "path"].includes(parts[0] ?? "") ? parts[1] : parts[0]) ?? "";
}

function fieldMessage(i18n: PortalI18n, field: string, type: string): string {
  for (const key of [`portal.fieldAt.${field}.${type}`, `portal.field.${type}`]) {
    if (i18n.has(key)) return i18n.t(key);
  }
  return i18n.t("portal.field.value_error");
}

export function explain(i18n: PortalI18n, error: unknown): Explanation {
  if (!(error instanceof ApiError)) {
    // Our own checks throw plain Errors with a translated message already.
    const message = error instanceof Error && error.message ? error.message : i18n.t("portal.error.UNKNOWN");
    return { message, fields: [] };
  }
  const codeKey = `portal.error.${error.code}`;
  const generic = error.status >= 500 ? "portal.error.INTERNAL_ERROR" : "portal.error.UNKNOWN";
  const message = i18n.has(codeKey) ? i18n.t(codeKey) : i18n.t(generic);
  const fields: FieldProblem[] = [];
  const listed = (error.details.fields as ApiFieldError[] | undefined) ?? [];
  for (const item of Array.isArray(listed) ? listed : []) {
    const field = fieldName(item.field ?? "");
    if (!field) continue;
    const type = item.type ?? "value_error";
    // An unknown field is the portal's bug, not the person's: say which, in the summary.
    fields.push({ field, message: type === "extra_forbidden" ? `${field}: ${fieldMessage(i18n, field, type)}` : fieldMessage(i18n, field, type) });
  }
  // A conflict on one field ("this email is taken") belongs next to that field.
  const conflictField = error.details.field;
  if (typeof conflictField === "string" && !fields.length) fields.push({ field: conflictField, message });
  return { message, fields };
}

/** Clears earlier messages, then puts each problem next to its control (aria-invalid, described
 *  by the message) and the rest, with the summary, in the form's alert region. */
export function showErrors(form: HTMLFormElement, summary: Element | null, explanation: Explanation): void {
  clearErrors(form, summary);
  const unplaced: string[] = [];
  for (const problem of explanation.fields) {
    const control = form.querySelector<HTMLElement>(`[name="${CSS.escape(problem.field)}"]`);
    if (!control) {
      unplaced.push(problem.message);
      continue;
    }
    const id = `${control.id || problem.field}-error`;
    const note = h("small", { class: "field-error", id, "data-field": problem.field }, problem.message);
    const holder = control.closest(".field, fieldset") ?? control.parentElement;
    holder?.append(note);
    control.setAttribute("aria-invalid", "true");
    control.setAttribute("aria-describedby", [control.getAttribute("aria-describedby"), id].filter(Boolean).join(" "));
  }
  const first = form.querySelector<HTMLElement>("[aria-invalid=true]");
  summary?.replaceChildren(
    h(
      "div",
      { class: "alert", role: "alert" },
      h("p", {}, explanation.message),
      unplaced.length
        ? h(
            "ul",
            {},
            unplaced.map((m) => h("li", {}, m)),
          )
        : null,
    ),
  );
  first?.focus();
}

export function clearErrors(form: HTMLFormElement, summary: Element | null): void {
  for (const note of form.querySelectorAll(".field-error")) note.remove();
  for (const control of form.querySelectorAll("[aria-invalid]")) {
    control.removeAttribute("aria-invalid");
    const rest = (control.getAttribute("aria-describedby") ?? "").split(" ").filter((id) => id && !id.endsWith("-error"));
    if (rest.length) control.setAttribute("aria-describedby", rest.join(" "));
    else control.removeAttribute("aria-describedby");
  }
  summary?.replaceChildren();
}

/** One line for places without a form (a toast, a page that failed to load). */
export function errorLine(i18n: PortalI18n, error: unknown): string {
  const { message, fields } = explain(i18n, error);
  return fields.length ? `${message} ${fields.map((f) => f.message).join(" ")}` : message;
}
