import { describe, expect, it } from "vitest";
import { home, navFor, pageFor } from "../src/nav";

const EMPLOYEE = ["badges:read_own", "badges:regenerate_own", "attendance:read_own"];
const SUPERVISOR = [
  ...EMPLOYEE,
  "users:read_department",
  "attendance:read_department",
  "reports:read_department",
  "departments:read",
  "shifts:read",
  "locations:read",
  "holidays:read",
];
const HR = [...SUPERVISOR, "users:read_all", "users:write", "roles:read", "kiosks:read", "attendance:review", "notifications:read"];

describe("navigation by permission", () => {
  it("gives employees only self-service", () => {
    expect(navFor(EMPLOYEE).map((i) => i.path)).toEqual(["/me/badge", "/me/history", "/me/settings", "/me/face"]);
    expect(home(EMPLOYEE)).toBe("/me/badge");
    expect(pageFor("/employees", EMPLOYEE)).toBeNull();
    expect(pageFor("/", EMPLOYEE)).toBeNull();
  });
  it("gives supervisors their dashboard and people but no administration", () => {
    const paths = navFor(SUPERVISOR).map((i) => i.path);
    expect(paths).toContain("/");
    expect(paths).toContain("/employees");
    expect(paths).not.toContain("/kiosks");
    expect(paths).not.toContain("/review");
    expect(paths).not.toContain("/audit");
    expect(home(SUPERVISOR)).toBe("/");
  });
  it("matches detail pages to their list's permission", () => {
    expect(pageFor("/employees/0b1c", SUPERVISOR)?.path).toBe("/employees");
    expect(pageFor("/kiosks", HR)?.path).toBe("/kiosks");
    expect(pageFor("/audit", HR)).toBeNull(); // audit:read is admin-only
    expect(pageFor("/me/settings", [])?.path).toBe("/me/settings");
  });
});
