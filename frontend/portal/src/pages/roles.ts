// Roles and their permissions. System roles are shown but not editable (the API refuses).
import { h, field, formValues } from "../dom";
import type { Schemas } from "../session";
import { button, confirmAction, fetchAll, modalForm, pageHeader, roleLabel, table, type Ctx } from "../ui";

type Role = Schemas["RoleRead"];
type Permission = Schemas["PermissionRead"];

export async function rolesPage(ctx: Ctx): Promise<Node> {
  const canWrite = ctx.session.can("roles:write");
  const catalogue = await ctx.session.call<Permission[]>("GET", "/roles/permissions");
  const box = h("div", { "aria-live": "polite" });

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
              h("code", {}, p.name),
              " ",
              h("span", { class: "muted" }, p.description),
            ),
          ),
        ),
      ],
      ctx.t("portal.save"),
      async (form) => {
        const v = formValues(form);
        const body = { name: v.name, description: v.description ?? "", permissions: new FormData(form).getAll("permissions") };
        if (role) await ctx.session.call("PUT", `/roles/${role.id}`, { body });
        else await ctx.session.call("POST", "/roles", { body });
        ctx.announce(ctx.t("portal.saved"));
        void load();
      },
    );

  const load = async () => {
    const roles = await fetchAll<Role>(ctx, "/roles");
    box.replaceChildren(
      table(
        ctx.t("portal.nav.roles"),
        [
          {
            label: ctx.t("portal.col.name"),
            value: (r: Role) => h("span", {}, roleLabel(ctx, r.name), r.is_system ? h("span", { class: "pill" }, ctx.t("portal.role.system")) : null),
          },
          { label: ctx.t("portal.col.description"), value: (r: Role) => r.description },
          { label: ctx.t("portal.role.permissions"), value: (r: Role) => h("span", { class: "perm-list" }, r.permissions.join(", ")) },
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
