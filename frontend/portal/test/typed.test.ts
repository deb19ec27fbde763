// The portal is typed end to end: rename a field or an endpoint in the API's generated schema
// and the portal no longer compiles, at the call site that uses it. This compiles the portal
// once with a copy of schema.d.ts in which a request field, a response field, a form field and
// a path were renamed, and reads where the type checker complains.
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const portal = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const schemaPath = resolve(portal, "../shared/src/api/schema.d.ts");

/** Renames `field` inside the `component: { ... }` block of the generated schema. */
function renameField(text: string, component: string, field: string, to: string): string {
  const start = text.indexOf(`\n        ${component}: {\n`);
  const end = text.indexOf("\n        };", start);
  if (start < 0 || end < 0) throw new Error(`no component ${component}`);
  const block = text.slice(start, end);
  const renamed = block.replace(new RegExp(`\\n {12}${field}(\\??):`), `\n            ${to}$1:`);
  if (renamed === block) throw new Error(`no field ${component}.${field}`);
  return text.slice(0, start) + renamed + text.slice(end);
}

function renamePath(text: string, from: string, to: string): string {
  if (!text.includes(`"${from}": {`)) throw new Error(`no path ${from}`);
  return text.replace(`"${from}": {`, `"${to}": {`);
}

/** Type errors of the portal compiled against `schema`, as "file: message" lines. */
function typeErrors(schema: string): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(portal, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (!config) throw new Error("cannot read tsconfig.json");
  const host = ts.createCompilerHost(config.options);
  const read = host.getSourceFile;
  host.getSourceFile = (name, language, ...rest) =>
    resolve(name) === schemaPath ? ts.createSourceFile(name, schema, language) : read.call(host, name, language, ...rest);
  const program = ts.createProgram(
    config.fileNames.filter((f) => f.includes("/src/")),
    config.options,
    host,
  );
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => `${d.file ? relative(portal, d.file.fileName) : "?"}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
}

describe("the portal is typed by the API's schema", () => {
  it("fails to compile where a renamed field or endpoint is used", { timeout: 180_000 }, () => {
    let schema = readFileSync(schemaPath, "utf8");
    // A request body field (the correction form), a response field (the dashboard), a field
    // a form declares (the shift editor), and an endpoint (revoking a kiosk).
    schema = renameField(schema, "RecordUpdate", "check_out_at", "clock_out_at");
    schema = renameField(schema, "Dashboard", "late", "late_people");
    schema = renameField(schema, "ShiftCreate", "grace_minutes", "grace_period_minutes");
    schema = renameField(schema, "HeldScan", "timezone", "zone");
    schema = renamePath(schema, "/api/v1/kiosks/{kiosk_id}/revoke", "/api/v1/kiosks/{kiosk_id}/disable");
    const errors = typeErrors(schema);
    const at = (file: string, word: string) => errors.some((e) => e.startsWith(`src/pages/${file}`) && e.includes(word));
    expect(at("attendance.ts", "check_out_at"), errors.join("\n")).toBe(true);
    expect(at("attendance.ts", "timezone"), errors.join("\n")).toBe(true);
    expect(at("dashboard.ts", "late"), errors.join("\n")).toBe(true);
    expect(at("org.ts", "grace_minutes"), errors.join("\n")).toBe(true);
    // The only path call in kiosks.ts that changed; the portal compiles cleanly otherwise.
    expect(at("kiosks.ts", "POST"), errors.join("\n")).toBe(true);
  });
});
