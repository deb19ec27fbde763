import "./style.css";
import { KioskApp } from "./app";

const root = document.getElementById("app");
if (root) void new KioskApp(root).start();

// The Service Worker caches the shell, the bundle and the decoder so the kiosk reloads
// without a network. Only in builds: in `vite dev` it would cache stale modules.
if ("serviceWorker" in navigator && import.meta.env.PROD) {
  // A kiosk runs for weeks: pick up a new build by itself. Not on the very first install
  // (clients.claim() also fires controllerchange then, and nothing changed).
  const updating = navigator.serviceWorker.controller !== null;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (updating) location.reload();
  });
  navigator.serviceWorker
    .register("/sw.js")
    .then((registration) => setInterval(() => void registration.update().catch(() => undefined), 60 * 60_000))
    .catch((error: unknown) => console.warn("service worker", error));
}
