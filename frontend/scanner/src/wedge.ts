// Keyboard-wedge scanners (USB/Bluetooth) "type" a code as a burst of keystrokes ending in
// Enter, far faster than a person types. We accept a burst when its keys come, on average,
// faster than any person types. An average (not every gap) because a busy kiosk delivers
// keys in uneven clumps; a long pause still starts a new burst, so a person typing before a
// scan never pollutes the code.

export interface WedgeOptions {
  /** Mean gap between keys of one scan (scanners: 5-20 ms; fast typists: > 60 ms). */
  maxMeanGapMs: number;
  /** A pause this long ends whatever came before: the next key starts a new burst. */
  resetGapMs: number;
  /** Shortest code worth sending (badge codes are far longer). */
  minLength: number;
  /** Longest code we accept: beyond it the burst is garbage, not a badge. */
  maxLength: number;
}

export const DEFAULT_WEDGE: WedgeOptions = { maxMeanGapMs: 35, resetGapMs: 1000, minLength: 4, maxLength: 512 };

export class WedgeDetector {
  private buffer = "";
  private firstAt = 0;
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: WedgeOptions = DEFAULT_WEDGE) {}

  /** Feed one key (KeyboardEvent.key) and its time; returns the code when a burst completes. */
  feed(key: string, at: number): string | null {
    const gap = at - this.lastAt;
    this.lastAt = at;
    if (key === "Enter") {
      const code = this.buffer;
      const meanGap = (at - this.firstAt) / Math.max(1, code.length);
      this.buffer = "";
      const ok = gap <= this.options.resetGapMs && meanGap <= this.options.maxMeanGapMs;
      return ok && code.length >= this.options.minLength && code.length <= this.options.maxLength ? code : null;
    }
    if (key.length !== 1) return null; // Shift, Alt... are part of a burst but add no text
    if (gap > this.options.resetGapMs || this.buffer.length >= this.options.maxLength) {
      this.buffer = "";
    }
    if (this.buffer === "") this.firstAt = at;
    this.buffer += key;
    return null;
  }

  reset(): void {
    this.buffer = "";
    this.lastAt = Number.NEGATIVE_INFINITY;
  }
}
