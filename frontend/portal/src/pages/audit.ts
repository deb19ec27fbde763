// The audit log with filters, and email delivery status (queued / sending / sent / failed).
import { h, field, formValues } from "../dom";
import type { Schemas } from "../session";
import { button, fmtDateTime, pageHeader, pager, table, errorText, type Ctx } from "../ui";

type Audit = Schemas["AuditRead"];
type Mail = Schemas["NotificationRead"];

function changes(a: Audit): string {
  const keys = new Set([...Object.keys(a.old_values ?? {}), ...Object.keys(a.new_values ?? {})]);
  return [...keys].map((k) => `${k}: ${JSON.stringify(a.old_values?.[k] ?? null)} → ${JSON.stringify(a.new_values?.[k] ?? null)}`).join("; ");
}

async function listPage<T>(
  ctx: Ctx,
  title: string,
  api: string,
  filterFields: HTMLElement[],
  columns: (reload: () => void) => { label: string; value: (row: T) => Node | string | number }[],
): Promise<Node> {
  const box = h("div", { "aria-live": "polite" });
  let page = 1;
  let query: Record<string, string> = {};
  const limit = 50;
  const load = async () => {
    const answer = await ctx.session.call<{ items: T[]; total: number }>("GET", api, { query: { ...query, page, limit } });
    box.replaceChildren(
      table(title, columns(() => void load()), answer.items, ctx.t("portal.empty")),
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
        const v = formValues(e.currentTarget as HTMLFormElement);
        // Dates from the date inputs become whole-day instants in the viewer's time zone.
        if (v.since) v.since = new Date(`${v.since}T00:00:00`).toISOString();
        if (v.until) v.until = new Date(`${v.until}T23:59:59`).toISOString();
        query = v;
        page = 1;
        void load();
      },
    },
    ...filterFields,
    h("button", { type: "submit" }, ctx.t("portal.filter")),
  );
  await load();
  return h("div", {}, pageHeader(title), filters, box);
}

export function auditPage(ctx: Ctx): Promise<Node> {
  const lang = ctx.i18n.lang;
  return listPage<Audit>(
    ctx,
    ctx.t("portal.nav.audit"),
    "/audit",
    [
      field(ctx.t("portal.audit.action"), h("input", { name: "action", maxlength: 64, placeholder: "user.update" })),
      field(ctx.t("portal.audit.resource"), h("input", { name: "resource_type", maxlength: 64, placeholder: "user" })),
      field(ctx.t("portal.att.from"), h("input", { type: "date", name: "since" })),
      field(ctx.t("portal.att.to"), h("input", { type: "date", name: "until" })),
    ],
    () => [
      { label: ctx.t("portal.audit.when"), value: (a) => fmtDateTime(a.created_at, lang) },
      { label: ctx.t("portal.audit.actor"), value: (a) => a.actor_label },
      { label: ctx.t("portal.audit.action"), value: (a) => h("code", {}, a.action) },
      { label: ctx.t("portal.audit.resource"), value: (a) => `${a.resource_type}${a.resource_id ? ` ${a.resource_id.slice(0, 8)}` : ""}` },
      { label: ctx.t("portal.audit.changes"), value: (a) => h("span", { class: "changes" }, changes(a)) },
      { label: ctx.t("portal.audit.ip"), value: (a) => a.ip ?? "—" },
    ],
  );
}

export function emailsPage(ctx: Ctx): Promise<Node> {
  const lang = ctx.i18n.lang;
  const canRetry = ctx.session.can("settings:write");
  const statuses = ["queued", "sending", "sent", "failed"];
  return listPage<Mail>(
    ctx,
    ctx.t("portal.nav.emails"),
    "/notifications",
    [
      field(
        ctx.t("portal.col.status"),
        h("select", { name: "status" }, h("option", { value: "" }, ctx.t("portal.all")), statuses.map((s) => h("option", { value: s }, ctx.t(`portal.mail.${s}` as never)))),
      ),
      field(ctx.t("portal.mail.to"), h("input", { name: "to", type: "search", maxlength: 254 })),
    ],
    (reload) => [
      { label: ctx.t("portal.audit.when"), value: (m) => fmtDateTime(m.created_at, lang) },
      { label: ctx.t("portal.mail.to"), value: (m) => m.to },
      { label: ctx.t("portal.mail.kind"), value: (m) => m.kind },
      { label: ctx.t("portal.mail.subject"), value: (m) => m.subject ?? "—" },
      { label: ctx.t("portal.col.status"), value: (m) => h("span", { class: `pill m-${m.status}`, "data-status": m.status }, ctx.t(`portal.mail.${m.status}` as never)) },
      { label: ctx.t("portal.mail.attempts"), value: (m) => m.attempts },
      { label: ctx.t("portal.mail.lastError"), value: (m) => m.last_error ?? "—" },
      {
        label: ctx.t("portal.col.actions"),
        value: (m) =>
          canRetry && m.status === "failed"
            ? button(ctx.t("portal.mail.retry"), async () => {
                try {
                  await ctx.session.call("POST", `/notifications/${m.id}/retry`);
                  ctx.announce(ctx.t("portal.mail.retried"));
                } catch (err) {
                  ctx.announce(errorText(ctx, err), "error");
                }
                reload();
              })
            : "—",
      },
    ],
  );
}
