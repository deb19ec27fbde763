// Runtime configuration written by the static server as /config.js (window.TAPWORK_CONFIG), so
// one build works against any API address.
export interface TapworkConfig {
  apiUrl: string;
}

declare global {
  interface Window {
    TAPWORK_CONFIG?: Partial<TapworkConfig>;
  }
}

const FALLBACK_API_URL = "http://localhost:8000";

export function runtimeConfig(): TapworkConfig {
  const fromServer = typeof window !== "undefined" ? window.TAPWORK_CONFIG : undefined;
  const apiUrl = (fromServer?.apiUrl ?? FALLBACK_API_URL).replace(/\/+$/, "");
  return { apiUrl };
}
