import { describe, expect, it } from "vitest";
import { WedgeDetector } from "../src/wedge";
import { CodeDebouncer } from "../src/debounce";

function type(detector: WedgeDetector, text: string, start: number, gap: number): string | null {
  let at = start;
  let result: string | null = null;
  for (const key of [...text, "Enter"]) {
    result = detector.feed(key, at);
    at += gap;
  }
  return result;
}

describe("keyboard-wedge detector", () => {
  it("accepts a fast burst ending in Enter", () => {
    expect(type(new WedgeDetector(), "TW1.ABCDEF123", 1000, 8)).toBe("TW1.ABCDEF123");
  });

  it("ignores a person typing the same text", () => {
    expect(type(new WedgeDetector(), "TW1.ABCDEF123", 1000, 150)).toBeNull();
  });

  it("ignores an Enter pressed by itself or after a short burst", () => {
    const d = new WedgeDetector();
    expect(d.feed("Enter", 0)).toBeNull();
    expect(type(d, "ab", 500, 5)).toBeNull();
  });

  it("accepts a burst with a hiccup (a busy kiosk delivers keys in clumps)", () => {
    const d = new WedgeDetector();
    const text = "TW1:K1:ABCDEFGHIJKLMNOPQRSTUVWXYZ:MAC234567";
    let at = 0;
    let out: string | null = null;
    [...text].forEach((key, i) => {
      at += i === 10 ? 600 : 3;
      d.feed(key, at);
    });
    out = d.feed("Enter", at + 3);
    expect(out).toBe(text);
  });

  it("ignores a fast typist (60 ms a key)", () => {
    expect(type(new WedgeDetector(), "TW1.ABCDEF123", 0, 60)).toBeNull();
  });

  it("drops slow keys typed before the burst", () => {
    const d = new WedgeDetector();
    d.feed("x", 0);
    d.feed("y", 400);
    expect(type(d, "CODE128-42", 2500, 10)).toBe("CODE128-42");
  });

  it("ignores modifier keys inside a burst", () => {
    const d = new WedgeDetector();
    const keys = ["Shift", "T", "W", "Shift", "1", "-", "x", "Enter"];
    let out: string | null = null;
    keys.forEach((k, i) => {
      out = d.feed(k, i * 5);
    });
    expect(out).toBe("TW1-x");
  });

  it("needs a fresh burst after each code", () => {
    const d = new WedgeDetector();
    expect(type(d, "FIRST-CODE", 0, 5)).toBe("FIRST-CODE");
    expect(type(d, "SECOND", 1000, 5)).toBe("SECOND");
  });
});

describe("per-text debounce", () => {
  it("drops a repeat of the same text inside the window only", () => {
    const d = new CodeDebouncer(3000);
    expect(d.isRepeat("A", 0)).toBe(false);
    expect(d.isRepeat("A", 1000)).toBe(true);
    expect(d.isRepeat("A", 4500)).toBe(false);
  });

  it("keeps a code held in view as one scan (sliding window)", () => {
    const d = new CodeDebouncer(3000);
    expect(d.isRepeat("A", 0)).toBe(false);
    for (let t = 500; t <= 10_000; t += 500) expect(d.isRepeat("A", t)).toBe(true);
    expect(d.isRepeat("A", 13_500)).toBe(false);
  });

  it("tracks texts independently (two badges alternating)", () => {
    const d = new CodeDebouncer(3000);
    expect(d.isRepeat("A", 0)).toBe(false);
    expect(d.isRepeat("B", 100)).toBe(false);
    expect(d.isRepeat("A", 200)).toBe(true);
    expect(d.isRepeat("B", 300)).toBe(true);
  });
});
