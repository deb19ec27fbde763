// Spanish dictionary: must have exactly the keys of en.ts (the type checker enforces it).
import type { en } from "./en";

export const es: Record<keyof typeof en, string> = {
  "common.language": "Idioma",
  "common.retry": "Reintentar",
  "common.loading": "Cargando…",

  "portal.title": "Portal TAPWORK",
  "portal.placeholder": "El portal de administración y RR. HH. está en construcción.",
};
