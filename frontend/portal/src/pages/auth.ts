// Pages reached without a session: sign in, password reset (request and confirm), email
// verification and invitation acceptance. Email links land on these with ?token=.
import { h, field, formValues } from "../dom";
import { explain, showErrors } from "../errors";
import { home } from "../nav";
import type { Schemas } from "../session";
import { alertBox, errorText, type Ctx, type Route } from "../ui";

function card(title: string, ...children: (Node | null)[]): HTMLElement {
  return h("section", { class: "auth card" }, h("h1", {}, title), ...children);
}

function form(ctx: Ctx, submitLabel: string, fields: HTMLElement[], onSubmit: (values: Record<string, string>) => Promise<void>): HTMLFormElement {
  const error = h("div", { class: "form-error", "aria-live": "assertive" });
  const submit = h("button", { type: "submit", class: "primary" }, submitLabel);
  const el = h(
    "form",
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        submit.disabled = true;
        error.replaceChildren();
        try {
          await onSubmit(formValues(el));
        } catch (err) {
          showErrors(el, error, explain(ctx.i18n, err));
        } finally {
          submit.disabled = false;
        }
      },
    },
    ...fields,
    error,
    submit,
  );
  return el;
}

const input = (name: string, type: string, autocomplete: string, extra: Record<string, string | number | boolean> = {}) =>
  h("input", { name, type, autocomplete, required: true, maxlength: type === "password" ? 128 : 254, ...extra });

function passwordFields(ctx: Ctx): HTMLElement[] {
  return [
    field(ctx.t("portal.auth.newPassword"), input("password", "password", "new-password", { minlength: 12 }), ctx.t("portal.auth.passwordHint")),
    field(ctx.t("portal.auth.repeatPassword"), input("repeat", "password", "new-password", { minlength: 12 })),
  ];
}

function checkRepeat(ctx: Ctx, values: Record<string, string>): void {
  if (values.password !== values.repeat) throw new Error(ctx.t("portal.auth.mismatch"));
}

function login(ctx: Ctx, route: Route): Node {
  const next = route.query.get("next");
  return card(
    ctx.t("portal.auth.signInTitle"),
    form(
      ctx,
      ctx.t("portal.auth.signIn"),
      [
        field(ctx.t("portal.auth.email"), input("email", "email", "username")),
        field(ctx.t("portal.auth.password"), input("password", "password", "current-password")),
      ],
      async (v) => {
        await ctx.session.login(v.email ?? "", v.password ?? "");
        const perms = ctx.session.user?.permissions ?? [];
        ctx.navigate(next?.startsWith("/") && !next.startsWith("//") ? next : home(perms), true);
      },
    ),
    h("p", {}, h("a", { href: "/portal/reset-password", "data-link": true }, ctx.t("portal.auth.forgot"))),
  );
}

function resetPassword(ctx: Ctx, route: Route): Node {
  const token = route.query.get("token");
  if (!token) {
    const done = h("div", { "aria-live": "polite" });
    return card(
      ctx.t("portal.auth.resetTitle"),
      h("p", {}, ctx.t("portal.auth.resetIntro")),
      form(ctx, ctx.t("portal.auth.resetSend"), [field(ctx.t("portal.auth.email"), input("email", "email", "username"))], async (v) => {
        await ctx.session.call("POST", "/auth/password-reset", { body: { email: v.email ?? "" }, anonymous: true });
        // Same answer whether or not the address has an account (no enumeration).
        done.replaceChildren(h("p", { class: "ok" }, ctx.t("portal.auth.resetSent")));
      }),
      done,
      h("p", {}, h("a", { href: "/portal/login", "data-link": true }, ctx.t("portal.auth.backToSignIn"))),
    );
  }
  return card(
    ctx.t("portal.auth.chooseTitle"),
    form(ctx, ctx.t("portal.auth.setPassword"), passwordFields(ctx), async (v) => {
      checkRepeat(ctx, v);
      await ctx.session.call("POST", "/auth/password-reset/confirm", { body: { token, new_password: v.password ?? "" }, anonymous: true });
      ctx.announce(ctx.t("portal.auth.resetDone"));
      ctx.navigate("/login", true);
    }),
  );
}

async function verifyEmail(ctx: Ctx, route: Route): Promise<Node> {
  const token = route.query.get("token");
  let message: Node;
  try {
    if (!token) throw new Error(ctx.t("portal.error.INVALID_TOKEN"));
    await ctx.session.call("POST", "/auth/verify-email", { body: { token }, anonymous: true });
    message = h("p", { class: "ok", "data-testid": "verified" }, ctx.t("portal.auth.verified"));
  } catch (err) {
    message = alertBox(errorText(ctx, err));
  }
  return card(ctx.t("portal.auth.verifyTitle"), message, h("p", {}, h("a", { href: "/portal/login", "data-link": true }, ctx.t("portal.auth.backToSignIn"))));
}

async function acceptInvite(ctx: Ctx, route: Route): Promise<Node> {
  const token = route.query.get("token") ?? "";
  // Say whose account this is before anyone chooses a password for it.
  let holder: Schemas["InvitationOut"];
  try {
    holder = await ctx.session.call("POST", "/auth/invitation", { body: { token }, anonymous: true });
  } catch (err) {
    return card(
      ctx.t("portal.auth.inviteTitle"),
      alertBox(errorText(ctx, err)),
      h("p", {}, h("a", { href: "/portal/login", "data-link": true }, ctx.t("portal.auth.backToSignIn"))),
    );
  }
  return card(
    ctx.t("portal.auth.inviteTitle"),
    h("p", { "data-testid": "invite-holder" }, ctx.t("portal.auth.inviteFor", { name: holder.full_name, email: holder.email })),
    h("p", {}, ctx.t("portal.auth.inviteIntro")),
    form(
      ctx,
      ctx.t("portal.auth.inviteAccept"),
      [h("input", { type: "hidden", name: "username", autocomplete: "username", value: holder.email }), ...passwordFields(ctx)],
      async (v) => {
        checkRepeat(ctx, v);
        const answer = await ctx.session.call("POST", "/auth/accept-invite", { body: { token, password: v.password ?? "" }, anonymous: true });
        ctx.session.adopt(answer);
        ctx.navigate("/me/badge", true);
      },
    ),
  );
}

export function authPage(ctx: Ctx, route: Route): Node | Promise<Node> {
  switch (route.path) {
    case "/reset-password":
      return resetPassword(ctx, route);
    case "/verify-email":
      return verifyEmail(ctx, route);
    case "/accept-invite":
      return acceptInvite(ctx, route);
    default:
      return login(ctx, route);
  }
}
