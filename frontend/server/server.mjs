// The Scanner App image's static server, the container twin of `tapwork.devstack.frontend` (which
// `tapwork up` runs): the kiosk at /, the portal at /portal/, each a single-page app, and
// /config.js carrying API_URL read at start, so one image serves any API address.
// Files come from sirv (what Vite's own preview serves with); this file only routes. Every answer
// carries the security headers of security-headers.json, the file `tapwork up` reads too.
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import sirv from "sirv";

const root = process.env.STATIC_ROOT ?? "/srv/tapwork";
const port = Number(process.env.PORT ?? 3000);
const apiUrl = process.env.API_URL ?? "http://localhost:8000";
const configJs = `window.TAPWORK_CONFIG = ${JSON.stringify({ apiUrl })};\n`;

// The API's origin for connect-src, as the browser compares it ("" if API_URL is not a URL).
function apiOrigin(url) {
  try {
    const parsed = new URL(url);
    return ["http:", "https:"].includes(parsed.protocol) ? parsed.origin : "";
  } catch {
    return "";
  }
}

const security = JSON.parse(readFileSync(new URL("./security-headers.json", import.meta.url), "utf8"));
const csp = security.contentSecurityPolicy.map((directive) => directive.replace("{api}", apiOrigin(apiUrl)).trim()).join("; ");
const baseHeaders = { "Content-Security-Policy": csp, ...security.headers };

function setSecurityHeaders(req, res) {
  for (const [name, value] of Object.entries(baseHeaders)) res.setHeader(name, value);
  // HSTS only for a request that came over TLS: directly, or through a proxy (ingress) that says so.
  const forwarded = String(req.headers["x-forwarded-proto"] ?? "")
    .split(",")[0]
    .trim();
  if (req.socket.encrypted || forwarded === "https") {
    res.setHeader("Strict-Transport-Security", security.strictTransportSecurity);
  }
}

function setHeaders(res, pathname) {
  if (pathname.startsWith("/assets/")) {
    // Vite puts a content hash in every asset name: safe to cache forever.
    res.setHeader("Cache-Control", "public, max-age=31536000, immutable");
  } else if (pathname.endsWith("/") || pathname.endsWith(".html") || pathname.endsWith("/sw.js") || !path.extname(pathname)) {
    // The shell and the Service Worker must be revalidated or updates never arrive.
    res.setHeader("Cache-Control", "no-cache");
  }
}

function notFound(_req, res) {
  res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
  res.end("Not found\n");
}

const options = { single: true, etag: true, gzip: false, setHeaders, onNoMatch: notFound };
const kiosk = sirv(path.join(root, "scanner"), options);
const portal = sirv(path.join(root, "portal"), options);

const server = http.createServer((req, res) => {
  const url = req.url ?? "/";
  setSecurityHeaders(req, res);
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { Allow: "GET, HEAD" });
    return res.end();
  }
  if (url === "/config.js" || url.startsWith("/config.js?")) {
    res.writeHead(200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache" });
    return res.end(req.method === "HEAD" ? undefined : configJs);
  }
  if (url === "/portal" || url.startsWith("/portal?")) {
    // Without this, "/portal" would fall through to the kiosk's single-page fallback.
    res.writeHead(308, { Location: `/portal/${url.slice("/portal".length)}` });
    return res.end();
  }
  if (url.startsWith("/portal/")) {
    req.url = url.slice("/portal".length);
    return portal(req, res);
  }
  return kiosk(req, res);
});

server.listen(port, "0.0.0.0", () => console.log(JSON.stringify({ message: "listening", port, apiUrl })));
// Docker and Kubernetes stop with SIGTERM: stop accepting, let open responses finish.
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}
