// Kiosks: enrol (shows the one-time pairing code to type on the device), new code, revoke,
// and fleet health as reported by the device: last seen, clock offset, offline queue, with
// flags for a silent kiosk (its incident is open), a drifting clock and held scans.
import { h, field, formValues } from "../dom";
import type { Schemas } from "../session";
import { button, confirmAction, fetchAll, fmtAt, fmtDateTime, modalForm, pageHeader, pager, table, type Ctx } from "../ui";

type Kiosk = Schemas["KioskRead"];
type Enrolled = Schemas["KioskEnrolled"];

function offsetText(ctx: Ctx, ms: number | null): string {
  if (ms === null) return "—";
  const seconds = Math.round(ms / 1000);
  if (Math.abs(seconds) < 2) return ctx.t("portal.kiosk.inSync");
  return ctx.t(seconds > 0 ? "portal.kiosk.ahead" : "portal.kiosk.behind", { seconds: Math.abs(seconds) });
}

/** A clock this far off is flagged: queued scans are stamped on the server's clock, but the
 *  kiosk's own display and anything else it times are that far wrong. */
export const DRIFT_FLAG_MS = 60_000;

function healthFlags(ctx: Ctx, k: Kiosk): Node | string {
  if (k.status !== "active") return "—";
  if (!k.last_seen_at) return h("span", { class: "pill", "data-flag": "unknown" }, ctx.t("portal.kiosk.flag.unknown"));
  const flags: HTMLElement[] = [];
  if (k.silent_since) {
    const time = fmtAt(ctx, k.last_seen_at, k.location.timezone);
    flags.push(h("span", { class: "pill m-failed", "data-flag": "silent" }, ctx.t("portal.kiosk.flag.silent", { time })));
  }
  if (k.clock_offset_ms !== null && Math.abs(k.clock_offset_ms) >= DRIFT_FLAG_MS) {
    const seconds = Math.round(Math.abs(k.clock_offset_ms) / 1000);
    flags.push(h("span", { class: "pill m-queued", "data-flag": "drifting" }, ctx.t("portal.kiosk.flag.drifting", { seconds })));
  }
  if (k.offline_queue) {
    flags.push(h("span", { class: "pill m-queued", "data-flag": "queued" }, ctx.t("portal.kiosk.flag.queued", { count: k.offline_queue })));
  }
  if (!flags.length) return h("span", { class: "pill m-sent", "data-flag": "ok" }, ctx.t("portal.kiosk.flag.ok"));
  return h("div", { class: "flags" }, ...flags);
}

function showCode(ctx: Ctx, enrolled: Enrolled): void {
  modalForm(
    ctx,
    ctx.t("portal.kiosk.codeTitle", { name: enrolled.kiosk.name }),
    [
      h("p", {}, ctx.t("portal.kiosk.codeIntro")),
      h("p", { class: "pairing-code", "data-testid": "pairing-code" }, enrolled.pairing_code),
      h("p", { class: "muted" }, ctx.t("portal.kiosk.codeExpires", { time: fmtDateTime(enrolled.pairing_expires_at, ctx.i18n.lang) })),
    ],
    ctx.t("portal.done"),
    async () => undefined,
  );
}

export async function kiosksPage(ctx: Ctx): Promise<Node> {
  // kiosks:enroll (HR) sets kiosks up; kiosks:write (admins) also revokes and brings back.
  const canWrite = ctx.session.can("kiosks:write");
  const canEnrol = canWrite || ctx.session.can("kiosks:enroll");
  const locations = await fetchAll(ctx, "/locations");
  const box = h("div", { "aria-live": "polite" });
  let page = 1;
  const limit = 25;

  const load = async () => {
    const answer = await ctx.session.call("GET", "/kiosks", { query: { page, limit } });
    box.replaceChildren(
      table(
        ctx.t("portal.nav.kiosks"),
        [
          { label: ctx.t("portal.col.name"), value: (k: Kiosk) => k.name },
          { label: ctx.t("portal.col.location"), value: (k: Kiosk) => k.location.name },
          {
            label: ctx.t("portal.col.status"),
            value: (k: Kiosk) =>
              h(
                "span",
                { class: `pill ${k.status}`, "data-status": k.status },
                ctx.i18n.has(`portal.kiosk.status.${k.status}`) ? ctx.t(`portal.kiosk.status.${k.status}` as never) : k.status,
              ),
          },
          { label: ctx.t("portal.kiosk.lastSeen"), value: (k: Kiosk) => fmtAt(ctx, k.last_seen_at, k.location.timezone) },
          { label: ctx.t("portal.kiosk.offset"), value: (k: Kiosk) => offsetText(ctx, k.clock_offset_ms) },
          { label: ctx.t("portal.kiosk.queue"), value: (k: Kiosk) => (k.offline_queue ?? "—") as string | number },
          { label: ctx.t("portal.kiosk.version"), value: (k: Kiosk) => k.app_version ?? "—" },
          { label: ctx.t("portal.kiosk.health"), value: (k: Kiosk) => healthFlags(ctx, k) },
          ...(canEnrol
            ? [
                {
                  label: ctx.t("portal.col.actions"),
                  value: (k: Kiosk) =>
                    h(
                      "div",
                      { class: "row-actions" },
                      canWrite || k.status !== "revoked"
                        ? button(ctx.t("portal.kiosk.newCode"), async () => {
                            showCode(ctx, await ctx.session.call("POST", `/kiosks/${k.id}/pairing-code`));
                            void load();
                          })
                        : null,
                      canWrite && k.status !== "revoked"
                        ? button(
                            ctx.t("portal.kiosk.revoke"),
                            () =>
                              confirmAction(ctx, ctx.t("portal.kiosk.confirmRevoke", { name: k.name }), ctx.t("portal.kiosk.revoke"), async () => {
                                await ctx.session.call("POST", `/kiosks/${k.id}/revoke`);
                                void load();
                              }),
                            { class: "danger" },
                          )
                        : null,
                    ),
                },
              ]
            : []),
        ],
        answer.items,
        ctx.t("portal.empty"),
      ),
      pager(ctx, page, limit, answer.total, (p) => {
        page = p;
        void load();
      }),
    );
  };
  await load();

  const enrol = () =>
    modalForm(
      ctx,
      ctx.t("portal.kiosk.enrol"),
      [
        field(ctx.t("portal.col.name"), h("input", { name: "name", required: true, maxlength: 120 })),
        field(
          ctx.t("portal.col.location"),
          h(
            "select",
            { name: "location_id", required: true },
            locations.map((l) => h("option", { value: l.id }, l.name)),
          ),
        ),
      ],
      ctx.t("portal.kiosk.enrol"),
      async (form) => {
        const v = formValues(form);
        const enrolled = await ctx.session.call("POST", "/kiosks", { body: { name: v.name ?? "", location_id: v.location_id ?? "" } });
        void load();
        // After this dialog closes, so the code shows in its own dialog.
        setTimeout(() => showCode(ctx, enrolled));
      },
    );

  return h(
    "div",
    {},
    pageHeader(ctx.t("portal.nav.kiosks"), canEnrol ? button(ctx.t("portal.kiosk.enrol"), enrol, { class: "primary", id: "enrol-kiosk" }) : null),
    box,
  );
}
