import { describe, expect, it } from "vitest";
import { createPortalI18n } from "../src/i18n";
import { permissionsEn } from "../src/i18n/permissions.en";
import { permissionLabel } from "../src/ui";

const english = createPortalI18n(null, ["en"]);
const spanish = createPortalI18n(null, ["es"]);

describe("permissions in words on the Roles page", () => {
  it("says what a permission lets a person do, in both languages", () => {
    expect(permissionLabel(english, "users:read_all")).toBe("See every employee");
    expect(permissionLabel(spanish, "users:read_all")).toBe("Ver a todos los empleados");
    expect(permissionLabel(english, "attendance:review")).toBe("Approve or reject held scans");
    expect(permissionLabel(spanish, "attendance:review")).toBe("Aprobar o rechazar lecturas retenidas");
  });
  it("has a sentence for every permission in each language, never the raw name", () => {
    for (const key of Object.keys(permissionsEn)) {
      const name = key.replace("portal.perm.", "");
      for (const i18n of [english, spanish]) {
        const words = permissionLabel(i18n, name);
        expect(words, `${i18n.lang} ${name}`).not.toContain(":");
        expect(words).not.toBe(name);
      }
      expect(permissionLabel(spanish, name)).not.toBe(permissionLabel(english, name));
    }
  });
  it("falls back to the API's description for a permission it does not know yet", () => {
    expect(permissionLabel(english, "payroll:export", "Export payroll")).toBe("Export payroll");
    expect(permissionLabel(spanish, "payroll:export")).toBe("payroll:export");
  });
});
