// "Recent exports": reports computed by the worker (a large XLSX/PDF download, docs/reports.md
// "Exports"). Each shows its status and a progress bar, polled every 1.5 s while one is queued or
// running, then a Download button until it expires; and a Delete button. Only your own exports.
import { download, h } from "../dom";
import type { Schemas } from "../session";
import { button, errorText, table, type Ctx } from "../ui";

type Export = Schemas["ExportRead"];

export const POLL_MS = 1500;

/** A size for people: 1.4 MB, 820 kB, 512 B. */
export function size(bytes: number | null | undefined, lang: string): string {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["B", "kB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${value.toLocaleString(lang, { maximumFractionDigits: digits })} ${units[unit]}`;
}

/** Whole percent done, or null while the total is not known. */
export function percent(e: Pick<Export, "progress_done" | "progress_total">): number | null {
  if (!e.progress_total) return null;
  return Math.min(100, Math.floor((100 * e.progress_done) / e.progress_total));
}

/** "in 23 h", "in 40 min" (relative to `now`), or "—". */
export function expiresIn(ctx: Ctx, expiresAt: string | null | undefined, now: number): string {
  if (!expiresAt) return "—";
  const minutes = Math.max(0, Math.round((Date.parse(expiresAt) - now) / 60_000));
  const format = new Intl.RelativeTimeFormat(ctx.i18n.lang, { numeric: "always", style: "short" });
  return minutes >= 90 ? format.format(Math.round(minutes / 60), "hour") : format.format(minutes, "minute");
}

export interface ExportsSection {
  element: HTMLElement;
  /** Show a new export at once and poll it until it is done. */
  track: (e: Export) => void;
}

export function exportsSection(ctx: Ctx): ExportsSection {
  const list = h("div", { "aria-live": "polite", "data-testid": "exports" });
  let exports: Export[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let left = false;
  ctx.onLeave(() => {
    left = true;
    if (timer !== null) clearTimeout(timer);
  });

  const statusCell = (e: Export): Node => {
    const label = ctx.t(`portal.exports.status.${e.status}`);
    if (e.status === "queued" || e.status === "running") {
      const pct = percent(e);
      const bar = h("progress", { max: 100, "aria-label": ctx.t("portal.exports.progress") });
      if (pct !== null) bar.value = pct;
      return h("span", { class: "export-progress", "data-status": e.status }, bar, ` ${label}${pct !== null ? ` ${pct}%` : ""}`);
    }
    if (e.status === "failed") {
      const key = `portal.error.${e.error_code ?? "UNKNOWN"}`;
      const reason = ctx.i18n.has(key) ? ctx.t(key) : (e.error_message ?? "");
      return h("span", { "data-status": e.status, title: reason }, `${label}: ${reason}`);
    }
    return h("span", { "data-status": e.status }, label);
  };

  const render = () => {
    const now = Date.now();
    list.replaceChildren(
      table<Export>(
        ctx.t("portal.exports.title"),
        [
          { label: ctx.t("portal.reports.report"), value: (e) => ctx.t(`portal.reports.kind.${e.kind}`) },
          { label: ctx.t("portal.exports.range"), value: (e) => `${e.filters.from} – ${e.filters.to}` },
          { label: ctx.t("portal.schedules.format"), value: (e) => e.format.toUpperCase() },
          { label: ctx.t("portal.exports.status"), value: statusCell },
          { label: ctx.t("portal.exports.size"), value: (e) => size(e.size_bytes, ctx.i18n.lang) },
          { label: ctx.t("portal.exports.expires"), value: (e) => (e.status === "done" ? expiresIn(ctx, e.expires_at, now) : "—") },
          {
            label: ctx.t("portal.schedules.actions"),
            value: (e) =>
              h(
                "span",
                { class: "actions" },
                e.status === "done"
                  ? button(ctx.t("portal.reports.download"), () => void fetchFile(e), {
                      "aria-label": ctx.t("portal.exports.downloadOne", { file: e.filename }),
                      class: "primary",
                    })
                  : null,
                button(ctx.t("portal.delete"), () => void remove(e), {
                  "aria-label": ctx.t("portal.exports.deleteOne", { file: e.filename }),
                }),
              ),
          },
        ],
        exports,
        ctx.t("portal.exports.empty"),
      ),
    );
  };

  const busy = () => exports.some((e) => e.status === "queued" || e.status === "running");

  const schedule = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    // Stop when nothing moves any more, or when the page was left.
    if (busy() && !left) timer = setTimeout(() => void refresh(), POLL_MS);
  };

  const refresh = async () => {
    try {
      exports = await ctx.session.call("GET", "/reports/exports");
      render();
    } catch (err) {
      list.replaceChildren(h("p", { class: "form-error" }, errorText(ctx, err)));
    }
    schedule();
  };

  const fetchFile = async (e: Export) => {
    try {
      download(await ctx.session.blob(`/reports/exports/${e.id}/file`), e.filename);
    } catch (err) {
      ctx.announce(errorText(ctx, err), "error");
      await refresh();
    }
  };

  const remove = async (e: Export) => {
    try {
      await ctx.session.call("DELETE", `/reports/exports/${e.id}`);
      ctx.announce(ctx.t("portal.exports.deleted"));
    } catch (err) {
      ctx.announce(errorText(ctx, err), "error");
    }
    await refresh();
  };

  const track = (e: Export) => {
    exports = [e, ...exports.filter((x) => x.id !== e.id)];
    render();
    schedule();
  };

  void refresh();
  const element = h(
    "section",
    { class: "exports", "aria-labelledby": "exports-title" },
    h("h2", { id: "exports-title" }, ctx.t("portal.exports.title")),
    h("p", { class: "muted" }, ctx.t("portal.exports.help")),
    list,
  );
  return { element, track };
}
