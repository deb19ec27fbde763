// Minimal i18n shared by the Scanner App and the portal: flat keys, {name} placeholders,
// language from navigator.languages, switchable and remembered in localStorage.
import { en } from "./en";
import { es } from "./es";

export const LANGUAGES = ["en", "es"] as const;
export type Language = (typeof LANGUAGES)[number];
export type MessageKey = keyof typeof en;
export type Dictionary = Record<MessageKey, string>;
export const dictionaries: Record<Language, Dictionary> = { en, es };
export const LANGUAGE_NAMES: Record<Language, string> = { en: "English", es: "Español" };

const STORAGE_KEY = "tapwork.lang";

function isLanguage(value: unknown): value is Language {
  return typeof value === "string" && (LANGUAGES as readonly string[]).includes(value);
}

/** The remembered choice wins; otherwise the first browser language we speak; else English. */
export function detectLanguage(browser: readonly string[], stored: string | null): Language {
  if (isLanguage(stored)) return stored;
  for (const tag of browser) {
    const base = tag.toLowerCase().split("-")[0];
    if (isLanguage(base)) return base;
  }
  return "en";
}

export function interpolate(template: string, vars: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

export interface I18n<K extends string = MessageKey> {
  readonly lang: Language;
  t(key: K, vars?: Record<string, string | number>): string;
  has(key: string): key is K;
  setLanguage(lang: Language): void;
  onChange(listener: (lang: Language) => void): () => void;
}

function safeStorage(): Storage | null {
  try {
    return typeof localStorage !== "undefined" ? localStorage : null;
  } catch {
    return null; // storage disabled (privacy mode): fall back to the browser language
  }
}

/** `dicts` lets an app add its own keys (the portal does) without shipping them to the kiosk. */
export function createI18n<K extends string = MessageKey>(
  storage: Storage | null = safeStorage(),
  browser: readonly string[] = typeof navigator !== "undefined" ? navigator.languages : [],
  dicts: Record<Language, Record<K, string>> = dictionaries as unknown as Record<Language, Record<K, string>>,
): I18n<K> {
  let lang = detectLanguage(browser, storage?.getItem(STORAGE_KEY) ?? null);
  const listeners = new Set<(lang: Language) => void>();
  const apply = () => {
    if (typeof document !== "undefined") document.documentElement.lang = lang;
  };
  apply();
  return {
    get lang() {
      return lang;
    },
    t(key, vars) {
      return interpolate(dicts[lang][key] ?? dicts.en[key] ?? key, vars);
    },
    has(key): key is K {
      return key in dicts.en;
    },
    setLanguage(next) {
      lang = next;
      storage?.setItem(STORAGE_KEY, next);
      apply();
      for (const listener of listeners) listener(next);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
