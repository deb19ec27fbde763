// Filters kept in the URL (?status=late&page=2): a reload, the back button and a shared link
// show the same list. Defaults stay out of the URL so plain links stay plain.
import type { Route } from "./ui";

export function readFilters<T extends Record<string, string>>(route: Route, defaults: T): T {
  const out: Record<string, string> = { ...defaults };
  for (const name of Object.keys(defaults)) {
    const value = route.query.get(name);
    if (value !== null) out[name] = value;
  }
  return out as T;
}

export function writeFilters(_ctx: unknown, state: Record<string, string | number>, defaults: Record<string, string>): void {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(state)) {
    if (name === "page" ? value !== 1 : value !== "" && value !== defaults[name]) params.set(name, String(value));
  }
  const qs = params.toString();
  const url = `${location.pathname}${qs ? `?${qs}` : ""}`;
  if (url !== `${location.pathname}${location.search}`) history.replaceState(null, "", url);
}
