import { defineConfig } from "vitest/config";

// Served by tapwork.frontend under /portal/ on port 3000 (the Scanner App owns /).
export default defineConfig({
  base: "/portal/",
  build: { outDir: "dist", emptyOutDir: true },
  test: { environment: "node", include: ["test/**/*.test.ts"] },
});
