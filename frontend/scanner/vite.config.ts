import { defineConfig } from "vitest/config";

export default defineConfig({
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  test: { environment: "node", include: ["test/**/*.test.ts"] },
});
