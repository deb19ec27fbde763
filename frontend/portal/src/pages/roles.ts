// Roles and their permissions. System roles are shown but not editable (the API refuses).
import { h, field, formValues } from "../dom";
import type { Schemas } from "../session";
import { button, confirmAction, fetchAll, modalForm, pageHeader, permissionLabel, roleDescription, roleLabel, table, type Ctx } from "../ui";

type Role = Schemas["RoleRead"];

/** A role's permissions in words, with the names the API uses one click away. */
function permissionCell(ctx: Ctx, names: string[], describe: (name: string) => string): HTMLElement {
  return h(
    "div",
    { class: "perm-list" },
    h(
      "ul",
      {},
      names.map((name) => h("li", { "data-permission": name }, describe(name))),
    ),
    names.length ? h("details", { class: "raw" }, h("summary", {}, ctx.t("portal.role.rawNames")), h("code", {}, names.join(", "))) : null,
  );
}

export async function rolesPage(ctx: Ctx): Promise<Node> {
  const canWrite = ctx.session.can("roles:write");
  const catalogue = await ctx.session.call("GET", "/roles/permissions");
  const box = h("div", { "aria-live": "polite" });
  const described = new Map(catalogue.map((p) => [p.name, p.description]));
  const describe = (name: string) => permissionLabel(ctx.i18n, name, described.get(name));

  const open = (role: Role | null) =>
    modalForm(
      ctx,
      ctx.t(role ? "portal.edit" : "portal.role.new"),
      [
        field(ctx.t("portal.col.name"), h("input", { name: "name", required: true, maxlength: 64, value: role?.name ?? "" })),
        field(ctx.t("portal.col.description"), h("textarea", { name: "description", maxlength: 500, rows: 2 }, role?.description ?? "")),
        h(
          "fieldset",
          { class: "perms" },
          h("legend", {}, ctx.t("portal.role.permissions")),
          catalogue.map((p) =>
            h(
              "label",
              {},
              h("input", { type: "checkbox", name: "permissions", value: p.name, checked: role?.permissions.includes(p.name) ?? false }),
              h("span", { class: "perm-words" }, permissionLabel(ctx.i18n, p.name, p.description)),
              h("code", { class: "perm-raw" }, p.name),
            ),
          ),
        ),
      ],
      ctx.t("portal.save"),
      async (form) => {
        const v = formValues(form);
        const [name, description] = [v.name ?? "", v.description ?? ""];
        const permissions = new FormData(form).getAll("permissions").map(String);
        if (role) await ctx.session.call("PUT", `/roles/${role.id}`, { body: { name, description, permissions } });
        else await ctx.session.call("POST", "/roles", { body: { name, description, permissions } });
        ctx.announce(ctx.t("portal.saved"));
        void load();
      },
    );

  const load = async () => {
    const roles = await fetchAll(ctx, "/roles");
    box.replaceChildren(
      table(
        ctx.t("portal.nav.roles"),
        [
          {
            label: ctx.t("portal.col.name"),
            value: (r: Role) => h("span", {}, roleLabel(ctx, r.name), r.is_system ? h("span", { class: "pill" }, ctx.t("portal.role.system")) : null),
          },
          { label: ctx.t("portal.col.description"), value: (r: Role) => roleDescription(ctx, r.name, r.is_system, r.description) },
          { label: ctx.t("portal.role.permissions"), value: (r: Role) => permissionCell(ctx, r.permissions, describe) },
          { label: ctx.t("portal.col.people"), value: (r: Role) => r.user_count },
          {
            label: ctx.t("portal.col.actions"),
            value: (r: Role) =>
              canWrite && !r.is_system
                ? h(
                    "div",
                    { class: "row-actions" },
                    button(ctx.t("portal.edit"), () => open(r)),
                    button(
                      ctx.t("portal.delete"),
                      () =>
                        confirmAction(ctx, ctx.t("portal.confirmDelete", { name: r.name }), ctx.t("portal.delete"), async () => {
                          await ctx.session.call("DELETE", `/roles/${r.id}`);
                          void load();
                        }),
                      { class: "danger" },
                    ),
                  )
                : "—",
          },
        ],
        roles,
        ctx.t("portal.empty"),
      ),
    );
  };
  await load();
  return h("div", {}, pageHeader(ctx.t("portal.nav.roles"), canWrite ? button(ctx.t("portal.role.new"), () => open(null), { class: "primary" }) : null), box);
}
