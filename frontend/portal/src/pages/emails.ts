// Email delivery status (queued / sending / sent / failed), retry one failed mail, or every
// failed mail matching the filters after a relay outage (with a confirmation naming the count).
import { h, field } from "../dom";
import type { Schemas } from "../session";
import { button, confirmAction, errorText, fmtDateTime, mailKindLabel, type Ctx, type Route } from "../ui";
import { listPage } from "./audit";

type Mail = Schemas["NotificationRead"];

const STATUSES = ["queued", "sending", "sent", "failed"];
const KINDS = [
  "attendance_confirmation",
  "late_alert",
  "missing_clockout",
  "correction_notice",
  "weekly_summary",
  "scheduled_report",
  "welcome",
  "email_verification",
  "invitation",
  "account_exists",
  "password_reset",
  "password_changed",
  "admin_alert",
];

type RetryBody = Schemas["BulkRetry"];

/** The bulk-retry body for the page's filters: status is implied (failed only). */
function retryFilter(query: Record<string, string>): RetryBody {
  const body: Record<string, string> = {};
  for (const key of ["kind", "to", "since", "until"]) if (query[key]) body[key] = query[key] as string;
  return { ...(body as Omit<RetryBody, "dry_run">), dry_run: false };
}

function retryAllButton(ctx: Ctx, query: () => Record<string, string>, reload: () => void): HTMLElement {
  return button(
    ctx.t("portal.mail.retryAll"),
    async () => {
      const filter = retryFilter(query());
      try {
        const preview = await ctx.session.call("POST", "/notifications/retry", { body: { ...filter, dry_run: true } });
        if (preview.requeued === 0) {
          ctx.announce(ctx.t("portal.mail.retryAllNone"));
          return;
        }
        confirmAction(ctx, ctx.t("portal.mail.confirmRetryAll", { count: preview.requeued }), ctx.t("portal.mail.retryAll"), async () => {
          const done = await ctx.session.call("POST", "/notifications/retry", { body: filter });
          ctx.announce(ctx.t("portal.mail.retriedAll", { count: done.requeued }));
          reload();
        });
      } catch (err) {
        ctx.announce(errorText(ctx, err), "error");
      }
    },
    { id: "retry-all", title: ctx.t("portal.mail.retryAllHint") },
  );
}

export function emailsPage(ctx: Ctx, route: Route): Promise<Node> {
  const lang = ctx.i18n.lang;
  const canRetry = ctx.session.can("settings:write");
  return listPage<Mail>(
    ctx,
    route,
    ctx.t("portal.nav.emails"),
    (query) => ctx.session.call("GET", "/notifications", { query }),
    (state) => [
      field(
        ctx.t("portal.col.status"),
        h(
          "select",
          { name: "status" },
          h("option", { value: "" }, ctx.t("portal.all")),
          STATUSES.map((s) => h("option", { value: s, selected: s === state.status }, ctx.t(`portal.mail.${s}` as never))),
        ),
      ),
      field(
        ctx.t("portal.mail.kind"),
        h(
          "select",
          { name: "kind" },
          h("option", { value: "" }, ctx.t("portal.all")),
          KINDS.map((k) => h("option", { value: k, selected: k === state.kind }, mailKindLabel(ctx, k))),
        ),
      ),
      field(ctx.t("portal.mail.to"), h("input", { name: "to", type: "search", maxlength: 100, value: state.to ?? "" })),
      field(ctx.t("portal.mail.since"), h("input", { type: "date", name: "since", value: state.since ?? "" })),
      field(ctx.t("portal.mail.until"), h("input", { type: "date", name: "until", value: state.until ?? "" })),
    ],
    { status: "", kind: "", to: "", since: "", until: "" },
    async (reload) => [
      { label: ctx.t("portal.audit.when"), value: (m) => fmtDateTime(m.created_at, lang) },
      { label: ctx.t("portal.mail.to"), value: (m) => m.to },
      { label: ctx.t("portal.mail.kind"), value: (m) => mailKindLabel(ctx, m.kind) },
      { label: ctx.t("portal.mail.subject"), value: (m) => m.subject ?? "—" },
      {
        label: ctx.t("portal.col.status"),
        value: (m) => h("span", { class: `pill m-${m.status}`, "data-status": m.status }, ctx.t(`portal.mail.${m.status}` as never)),
      },
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
    canRetry ? (query, reload) => [retryAllButton(ctx, query, reload)] : undefined,
  );
}
