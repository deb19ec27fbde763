import { describe, expect, it } from "vitest";
import { portalDictionaries } from "../src/i18n";

describe("portal dictionaries", () => {
  it("have the same keys in both languages and no empty text", () => {
    expect(Object.keys(portalDictionaries.es).sort()).toEqual(Object.keys(portalDictionaries.en).sort());
    for (const dict of Object.values(portalDictionaries)) {
      for (const [key, text] of Object.entries(dict)) expect(text.trim(), key).not.toBe("");
    }
  });
});
