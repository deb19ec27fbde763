// The portal shell: history routing under /portal/, the permission-filtered navigation, the
// language switch, and page loading. Pages are functions (ctx, route) → Node.
import { LANGUAGES, LANGUAGE_NAMES, runtimeConfig, type Language } from "@tapwork/shared";
import { createPortalI18n } from "./i18n";
import { h } from "./dom";
import { PUBLIC_PATHS, home, navFor, pageFor, type Section } from "./nav";
import { Session } from "./session";
import { errorText, loading, type Ctx, type Route } from "./ui";
import { authPage } from "./pages/auth";
import { dashboardPage } from "./pages/dashboard";
import { employeesPage, employeePage } from "./pages/employees";
import { orgPage } from "./pages/org";
import { kiosksPage } from "./pages/kiosks";
import { rolesPage } from "./pages/roles";
import { attendancePage, reviewPage } from "./pages/attendance";
import { auditPage } from "./pages/audit";
import { emailsPage } from "./pages/emails";
import { incidentsPage } from "./pages/incidents";
import { myBadgePage, myHistoryPage, mySettingsPage } from "./pages/me";
import { reportsPage } from "./pages/reports";
import { facePolicyPage, myFacePage } from "./pages/biometric";

const BASE = "/portal";
type Page = (ctx: Ctx, route: Route) => Promise<Node> | Node;

function pageOf(path: string): Page {
  if (PUBLIC_PATHS.includes(path)) return authPage;
  if (path === "/") return dashboardPage;
  if (path.startsWith("/employees/")) return employeePage;
  const pages: Record<string, Page> = {
    "/employees": employeesPage,
    "/departments": orgPage,
    "/shifts": orgPage,
    "/locations": orgPage,
    "/holidays": orgPage,
    "/kiosks": kiosksPage,
    "/roles": rolesPage,
    "/attendance": attendancePage,
    "/review": reviewPage,
    "/reports": reportsPage,
    "/audit": auditPage,
    "/emails": emailsPage,
    "/incidents": incidentsPage,
    "/me/badge": myBadgePage,
    "/me/history": myHistoryPage,
    "/me/settings": mySettingsPage,
    "/me/face": myFacePage,
    "/biometric": facePolicyPage,
  };
  return pages[path] ?? notFound;
}

function notFound(ctx: Ctx): Node {
  return h("section", {}, h("h1", {}, ctx.t("portal.notFound.title")), h("p", {}, ctx.t("portal.notFound.body")));
}

const SECTIONS: Section[] = ["attendance", "people", "org", "admin", "me"];

export function startPortal(root: HTMLElement): void {
  const i18n = createPortalI18n();
  let storage: Storage | null = null;
  try {
    storage = localStorage;
  } catch {
    storage = null;
  }
  const session = new Session(runtimeConfig().apiUrl, storage);
  let cleanups: (() => void)[] = [];
  const status = h("div", { class: "toast", role: "status", "aria-live": "polite" });
  const ctx: Ctx = {
    session,
    i18n,
    t: (key, vars) => i18n.t(key, vars),
    navigate(path, replace = false) {
      const url = `${BASE}${path === "/" ? "/" : path}`;
      if (replace) history.replaceState(null, "", url);
      else history.pushState(null, "", url);
      void render();
    },
    announce(message, tone = "ok") {
      status.textContent = message;
      status.dataset.tone = tone;
      status.classList.add("show");
      window.setTimeout(() => status.classList.remove("show"), 4000);
    },
    onLeave(cleanup) {
      cleanups.push(cleanup);
    },
  };

  function currentRoute(): Route {
    let path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : location.pathname;
    path = path.replace(/\/+$/, "") || "/";
    return { path, query: new URLSearchParams(location.search) };
  }

  function shell(content: HTMLElement): HTMLElement {
    const user = session.user;
    const permissions = user?.permissions ?? [];
    const items = navFor(permissions);
    const current = currentRoute().path;
    const nav = h(
      "nav",
      { id: "nav", "aria-label": i18n.t("portal.nav.label") },
      SECTIONS.map((section) => {
        const links = items.filter((item) => item.section === section);
        if (!links.length) return null;
        return h(
          "div",
          { class: "nav-group" },
          h("h2", {}, i18n.t(`portal.section.${section}`)),
          h(
            "ul",
            {},
            links.map((item) => {
              const active = current === item.path || (item.path !== "/" && current.startsWith(`${item.path}/`));
              return h("li", {}, h("a", { href: `${BASE}${item.path}`, "data-link": true, "aria-current": active ? "page" : null }, i18n.t(item.label)));
            }),
          ),
        );
      }),
    );
    const menu = h("button", { type: "button", class: "menu", "aria-controls": "nav", "aria-expanded": "false" }, i18n.t("portal.menu"));
    menu.addEventListener("click", () => {
      const open = document.body.classList.toggle("nav-open");
      menu.setAttribute("aria-expanded", String(open));
    });
    const header = h(
      "header",
      { class: "topbar" },
      h("a", { class: "skip", href: "#content" }, i18n.t("portal.skip")),
      menu,
      h("a", { class: "brand", href: `${BASE}/`, "data-link": true }, i18n.t("portal.title")),
      h("span", { class: "spacer" }),
      languageSelect(),
      user ? h("span", { class: "who", "data-testid": "who" }, `${user.first_name} ${user.last_name}`) : null,
      user
        ? h(
            "button",
            {
              type: "button",
              id: "sign-out",
              onclick: async () => {
                await session.logout();
                ctx.navigate("/login");
              },
            },
            i18n.t("portal.signOut"),
          )
        : null,
    );
    return h("div", { class: "layout" }, header, user ? nav : null, content, status);
  }

  function languageSelect(): HTMLElement {
    const select = h(
      "select",
      { id: "language", "aria-label": i18n.t("common.language"), onchange: () => i18n.setLanguage(select.value as Language) },
      LANGUAGES.map((lang) => h("option", { value: lang, selected: lang === i18n.lang }, LANGUAGE_NAMES[lang])),
    );
    return select;
  }

  let renderSeq = 0;
  async function render(): Promise<void> {
    for (const cleanup of cleanups) cleanup();
    cleanups = [];
    document.body.classList.remove("nav-open");
    const seq = ++renderSeq;
    const route = currentRoute();
    const user = session.user;
    if (!user && !PUBLIC_PATHS.includes(route.path)) {
      const next = route.path === "/" ? "" : `?next=${encodeURIComponent(route.path)}`;
      history.replaceState(null, "", `${BASE}/login${next}`);
      return render();
    }
    if (user && route.path === "/login") return ctx.navigate(home(user.permissions), true);
    if (user && !PUBLIC_PATHS.includes(route.path) && !pageFor(route.path, user.permissions)) {
      // Not granted: the dashboard is not for employees; send them to their own pages.
      if (route.path === "/") return ctx.navigate(home(user.permissions), true);
      root.replaceChildren(shell(h("main", { id: "content", tabindex: "-1" }, forbidden())));
      return;
    }
    const main = h("main", { id: "content", tabindex: "-1" }, loading(ctx));
    root.replaceChildren(shell(main));
    let node: Node;
    try {
      node = await pageOf(route.path)(ctx, route);
    } catch (err) {
      node = h("div", { class: "alert", role: "alert" }, errorText(ctx, err));
    }
    if (seq !== renderSeq) return; // a newer navigation won
    main.replaceChildren(node);
    const title = main.querySelector("h1")?.textContent;
    document.title = title ? `${title} — ${i18n.t("portal.title")}` : i18n.t("portal.title");
    main.focus({ preventScroll: true });
  }

  function forbidden(): Node {
    return h("section", {}, h("h1", {}, i18n.t("portal.forbidden.title")), h("p", {}, i18n.t("portal.forbidden.body")));
  }

  document.addEventListener("click", (e) => {
    const link = (e.target as Element | null)?.closest?.("a[data-link]");
    if (!(link instanceof HTMLAnchorElement) || e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    ctx.navigate(link.pathname.slice(BASE.length) || "/");
  });
  window.addEventListener("popstate", () => void render());
  i18n.onChange(() => void render());
  // Signed out elsewhere (refresh refused): back to the sign-in page.
  session.onChange((s) => {
    if (!s && !PUBLIC_PATHS.includes(currentRoute().path)) void render();
  });
  void render();
}
