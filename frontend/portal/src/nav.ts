// Which pages a user may open, from the permissions in the login answer. The API enforces the
// same rules; hiding what would only answer 403 keeps the portal honest and uncluttered.
import type { PortalKey as MessageKey } from "./i18n";

export type Section = "org" | "people" | "attendance" | "admin" | "me";

export interface NavItem {
  path: string;
  label: MessageKey;
  section: Section;
  /** Any one of these grants the page. */
  any: string[];
}

export const NAV: NavItem[] = [
  { path: "/", label: "portal.nav.dashboard", section: "attendance", any: ["attendance:read_department", "attendance:read_all"] },
  { path: "/employees", label: "portal.nav.employees", section: "people", any: ["users:read_department", "users:read_all"] },
  { path: "/attendance", label: "portal.nav.attendance", section: "attendance", any: ["attendance:read_department", "attendance:read_all"] },
  { path: "/reports", label: "portal.nav.reports", section: "attendance", any: ["reports:read_all", "reports:read_department"] },
  { path: "/review", label: "portal.nav.review", section: "attendance", any: ["attendance:review"] },
  { path: "/departments", label: "portal.nav.departments", section: "org", any: ["departments:read"] },
  { path: "/shifts", label: "portal.nav.shifts", section: "org", any: ["shifts:read"] },
  { path: "/locations", label: "portal.nav.locations", section: "org", any: ["locations:read"] },
  { path: "/holidays", label: "portal.nav.holidays", section: "org", any: ["holidays:read"] },
  { path: "/kiosks", label: "portal.nav.kiosks", section: "admin", any: ["kiosks:read"] },
  { path: "/roles", label: "portal.nav.roles", section: "admin", any: ["roles:read"] },
  { path: "/audit", label: "portal.nav.audit", section: "admin", any: ["audit:read"] },
  { path: "/biometric", label: "portal.nav.facePolicy", section: "admin", any: ["settings:write"] },
  { path: "/emails", label: "portal.nav.emails", section: "admin", any: ["notifications:read"] },
  { path: "/incidents", label: "portal.nav.incidents", section: "admin", any: ["settings:write"] },
  { path: "/me/badge", label: "portal.nav.myBadge", section: "me", any: ["badges:read_own"] },
  { path: "/me/history", label: "portal.nav.myHistory", section: "me", any: ["attendance:read_own"] },
  { path: "/me/settings", label: "portal.nav.mySettings", section: "me", any: [] },
  { path: "/me/face", label: "portal.nav.myFace", section: "me", any: [] },
];

/** Pages that need no session (links in emails land here). */
export const PUBLIC_PATHS = ["/login", "/reset-password", "/verify-email", "/accept-invite"];

export function allowed(item: NavItem, permissions: readonly string[]): boolean {
  return item.any.length === 0 || item.any.some((p) => permissions.includes(p));
}

export function navFor(permissions: readonly string[]): NavItem[] {
  return NAV.filter((item) => allowed(item, permissions));
}

/** The page for a path ("/employees/42" belongs to "/employees"), or null when not granted. */
export function pageFor(path: string, permissions: readonly string[]): NavItem | null {
  const match = NAV.filter((item) => path === item.path || (item.path !== "/" && path.startsWith(`${item.path}/`))).sort(
    (a, b) => b.path.length - a.path.length,
  )[0];
  return match && allowed(match, permissions) ? match : null;
}

/** Where a user lands after signing in: the dashboard if they may see it, else their badge. */
export function home(permissions: readonly string[]): string {
  return navFor(permissions)[0]?.path ?? "/me/settings";
}
