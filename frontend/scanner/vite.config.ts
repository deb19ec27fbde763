import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Plugin } from "vite";
import { defineConfig } from "vitest/config";

const here = fileURLToPath(new URL(".", import.meta.url));

// Emits sw.js with the exact list of built files (hashed names) to precache, so a kiosk that
// loaded once can reload with no network: shell, bundle, styles and the wasm decoder.
function serviceWorker(): Plugin {
  return {
    name: "tapwork-service-worker",
    apply: "build",
    enforce: "post",
    generateBundle(_options, bundle) {
      const built = Object.keys(bundle).filter((name) => !name.endsWith(".map"));
      const publicFiles = readdirSync(`${here}public`);
      const precache = [...new Set(["/", "/index.html", "/config.js", ...publicFiles.map((f) => `/${f}`), ...built.map((f) => `/${f}`)])];
      const version = createHash("sha256").update(precache.join("\n")).digest("hex").slice(0, 12);
      const template = readFileSync(`${here}src/sw.template.js`, "utf8");
      this.emitFile({
        type: "asset",
        fileName: "sw.js",
        source: `const VERSION = ${JSON.stringify(version)};\nconst PRECACHE = ${JSON.stringify(precache)};\n${template}`,
      });
    },
  };
}

export default defineConfig({
  base: "/",
  plugins: [serviceWorker()],
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", assetsInlineLimit: 0 },
  test: { environment: "node", include: ["test/**/*.test.ts"] },
});
