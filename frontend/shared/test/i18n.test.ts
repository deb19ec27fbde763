import { describe, expect, it } from "vitest";
import { createI18n, detectLanguage, dictionaries, interpolate } from "../src/i18n";

function memoryStorage(): Storage {
  const data = new Map<string, string>();
  return {
    get length() {
      return data.size;
    },
    clear: () => data.clear(),
    getItem: (k) => data.get(k) ?? null,
    key: (i) => [...data.keys()][i] ?? null,
    removeItem: (k) => void data.delete(k),
    setItem: (k, v) => void data.set(k, v),
  };
}

describe("language detection", () => {
  it("picks the first browser language we speak", () => {
    expect(detectLanguage(["fr-FR", "es-ES", "en"], null)).toBe("es");
  });
  it("falls back to English", () => {
    expect(detectLanguage(["de", "fr"], null)).toBe("en");
  });
  it("prefers the remembered choice", () => {
    expect(detectLanguage(["es"], "en")).toBe("en");
  });
  it("remembers a switch across instances", () => {
    const storage = memoryStorage();
    const first = createI18n(storage, ["en-GB"]);
    expect(first.t("common.retry")).toBe("Try again");
    first.setLanguage("es");
    expect(first.t("common.retry")).toBe("Reintentar");
    expect(createI18n(storage, ["en-GB"]).lang).toBe("es");
  });
});

describe("dictionaries", () => {
  it("have the same keys and no empty text", () => {
    expect(Object.keys(dictionaries.es).sort()).toEqual(Object.keys(dictionaries.en).sort());
    for (const dict of Object.values(dictionaries)) {
      for (const [key, text] of Object.entries(dict)) expect(text.trim(), key).not.toBe("");
    }
  });
  it("interpolates placeholders and leaves unknown ones", () => {
    expect(interpolate("Hi {name}, {x}", { name: "Ana" })).toBe("Hi Ana, {x}");
  });
});
