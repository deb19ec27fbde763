// Fails the build when the Scanner App's first load is over budget. Counts every file a fresh
// kiosk downloads (everything in scanner/dist, the wasm decoder included), gzipped.
import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const BUDGET_BYTES = 600 * 1024;
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "scanner", "dist");

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

if (!existsSync(dist)) {
  console.error("budget: scanner/dist is missing; run the build first");
  process.exit(1);
}
let total = 0;
const rows = [];
for (const path of files(dist)) {
  const size = gzipSync(readFileSync(path), { level: 9 }).length;
  total += size;
  rows.push([relative(dist, path), size]);
}
rows.sort((a, b) => b[1] - a[1]);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
if (process.env.BUDGET_VERBOSE) for (const [name, size] of rows) console.log(`  ${kb(size).padStart(9)}  ${name}`);
const verdict = total <= BUDGET_BYTES ? "ok" : "OVER BUDGET";
console.log(`scanner first load: ${kb(total)} gzipped (budget ${kb(BUDGET_BYTES)}) ${verdict}`);
if (total > BUDGET_BYTES) process.exit(1);
