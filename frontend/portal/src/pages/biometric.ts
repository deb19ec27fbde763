// Face verification (docs/biometric.md): my consent and status with withdrawal (self-service),
// where verification is required (admins), and the flagged checks (HR, on the Review page).
import { h } from "../dom";
import type { Schemas } from "../session";
import { alertBox, button, confirmAction, errorText, fetchAll, fmtDateTime, pageHeader, table, type Ctx } from "../ui";

type Check = Schemas["CheckRead"];

export async function myFacePage(ctx: Ctx): Promise<Node> {
  const box = h("div", { "aria-live": "polite" });
  const lang = ctx.i18n.lang;
  const load = async () => {
    const [status, notice] = await Promise.all([ctx.session.call("GET", "/biometric/me"), ctx.session.call("GET", "/biometric/notice")]);
    const consent = status.consent;
    const facts = h(
      "dl",
      { class: "placement", "data-testid": "face-status" },
      h(
        "div",
        {},
        h("dt", {}, ctx.t("portal.face.consent")),
        h(
          "dd",
          {},
          consent
            ? ctx.t("portal.face.consentGiven", { at: fmtDateTime(consent.given_at, lang), version: consent.notice_version })
            : ctx.t("portal.face.noConsent"),
        ),
      ),
      h(
        "div",
        {},
        h("dt", {}, ctx.t("portal.face.template")),
        h("dd", {}, status.enrolled ? ctx.t("portal.face.enrolled", { at: fmtDateTime(status.enrolled_at, lang) }) : ctx.t("portal.face.notEnrolled")),
      ),
      h(
        "div",
        {},
        h("dt", {}, ctx.t("portal.face.required")),
        h("dd", {}, status.required ? ctx.t("portal.face.requiredYes") : ctx.t("portal.face.requiredNo")),
      ),
    );
    const give = async () => {
      try {
        await ctx.session.call("POST", "/biometric/me/consent", { body: { notice_version: notice.version } });
        ctx.announce(ctx.t("portal.face.consented"));
      } catch (err) {
        ctx.announce(errorText(ctx, err), "error");
      }
      await load();
    };
    const withdraw = () =>
      confirmAction(ctx, ctx.t("portal.face.confirmWithdraw"), ctx.t("portal.face.withdraw"), async () => {
        await ctx.session.call("DELETE", "/biometric/me/consent");
        ctx.announce(ctx.t("portal.face.withdrawn"));
        await load();
      });
    box.replaceChildren(
      ...(status.enabled ? [] : [alertBox(ctx.t("portal.face.disabled"))]),
      h("section", { class: "card" }, h("h2", {}, ctx.t("portal.face.status")), facts, h("p", { class: "muted" }, ctx.t("portal.face.badgeAlways"))),
      h(
        "section",
        { class: "card", "aria-labelledby": "face-notice" },
        h("h2", { id: "face-notice" }, ctx.t("portal.face.notice", { version: notice.version })),
        h(
          "div",
          { class: "notice", "data-testid": "face-notice" },
          // The text is wrapped for plain-text mail; paragraphs are what it means.
          notice.text.split(/\n\s*\n/).map((para) => h("p", {}, para.replace(/\s*\n\s*/g, " ").trim())),
        ),
        consent
          ? button(ctx.t("portal.face.withdraw"), withdraw, { class: "danger" })
          : button(ctx.t("portal.face.give"), () => void give(), { class: "primary", disabled: !status.enabled }),
      ),
    );
  };
  await load();
  return h("div", {}, pageHeader(ctx.t("portal.nav.myFace")), box);
}

export async function facePolicyPage(ctx: Ctx): Promise<Node> {
  const [policy, locations, departments] = await Promise.all([
    ctx.session.call("GET", "/biometric/policy"),
    fetchAll(ctx, "/locations"),
    fetchAll(ctx, "/departments"),
  ]);
  const choices = (legend: string, name: string, items: { id: string; name: string }[], chosen: string[]) =>
    h(
      "fieldset",
      {},
      h("legend", {}, legend),
      items.length
        ? items.map((item) =>
            h("label", { class: "check" }, h("input", { type: "checkbox", name, value: item.id, checked: chosen.includes(item.id) }), item.name),
          )
        : h("p", { class: "empty" }, ctx.t("portal.empty")),
    );
  const error = h("div", { class: "form-error", "aria-live": "assertive" });
  const form = h(
    "form",
    {
      class: "card",
      "data-testid": "face-policy",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        error.replaceChildren();
        const data = new FormData(form);
        const ids = (name: string) => data.getAll(name).map(String);
        try {
          await ctx.session.call("PUT", "/biometric/policy", { body: { location_ids: ids("location"), department_ids: ids("department") } });
          ctx.announce(ctx.t("portal.saved"));
        } catch (err) {
          error.replaceChildren(errorText(ctx, err));
        }
      },
    },
    h("p", { class: "muted" }, ctx.t("portal.face.policyIntro")),
    choices(ctx.t("portal.nav.locations"), "location", locations, policy.location_ids),
    choices(ctx.t("portal.nav.departments"), "department", departments, policy.department_ids),
    error,
    h("button", { type: "submit", class: "primary" }, ctx.t("portal.save")),
  );
  return h("div", {}, pageHeader(ctx.t("portal.nav.facePolicy")), form);
}

/** The flagged face checks, for HR's Review page: mismatches, no frame, the service down. */
export async function faceChecksSection(ctx: Ctx): Promise<Node> {
  const box = h("div", { "data-testid": "face-checks" });
  const lang = ctx.i18n.lang;
  const load = async () => {
    const page = await ctx.session.call("GET", "/biometric/checks", { query: { review_status: "pending", limit: 100 } });
    const resolve = (check: Check) => async () => {
      try {
        await ctx.session.call("POST", `/biometric/checks/${check.id}/resolve`);
        ctx.announce(ctx.t("portal.face.resolved"));
      } catch (err) {
        ctx.announce(errorText(ctx, err), "error");
      }
      await load();
    };
    box.replaceChildren(
      h("h2", {}, ctx.t("portal.face.flagged", { count: page.total })),
      h("p", { class: "muted" }, ctx.t("portal.face.flaggedIntro")),
      table(
        ctx.t("portal.face.flagged", { count: page.total }),
        [
          { label: ctx.t("portal.col.employee"), value: (c: Check) => c.employee_name ?? "—" },
          { label: ctx.t("portal.face.when"), value: (c: Check) => fmtDateTime(c.checked_at, lang) },
          { label: ctx.t("portal.face.outcome"), value: (c: Check) => ctx.t(`portal.face.outcome.${c.outcome}`) },
          { label: ctx.t("portal.face.attempts"), value: (c: Check) => String(c.attempts) },
          { label: ctx.t("portal.col.actions"), value: (c: Check) => button(ctx.t("portal.face.markReviewed"), () => void resolve(c)(), { class: "primary" }) },
        ],
        page.items,
        ctx.t("portal.face.noneFlagged"),
      ),
    );
  };
  await load();
  return box;
}
