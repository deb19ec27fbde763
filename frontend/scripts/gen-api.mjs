// Regenerates shared/src/api/schema.d.ts from the API's OpenAPI document. The document is
// dumped by importing tapwork.main.create_app in Python: no server or database needed.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const tmp = mkdtempSync(join(tmpdir(), "tapwork-openapi-"));
const doc = join(tmp, "openapi.json");
try {
  execFileSync("uv", ["run", "--project", resolve(root, ".."), "python", "-m", "tapwork.devstack.frontend", "openapi", doc], {
    stdio: "inherit",
  });
  execFileSync(join(root, "node_modules", ".bin", "openapi-typescript"), [doc, "-o", join(root, "shared", "src", "api", "schema.d.ts")], { stdio: "inherit" });
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
