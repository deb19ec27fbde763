import "./style.css";
import { KioskApp } from "./app";

const root = document.getElementById("app");
if (root) void new KioskApp(root).start();

// The Service Worker caches the shell, the bundle and the decoder so the kiosk reloads
// without a network. Only in builds: in `vite dev` it would cache stale modules.
if ("serviceWorker" in navigator && import.meta.env.PROD) {
  void navigator.serviceWorker.register("/sw.js").catch((error: unknown) => console.warn("service worker", error));
}
