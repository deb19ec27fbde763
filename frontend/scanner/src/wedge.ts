// Keyboard-wedge scanners (USB/Bluetooth) "type" a code as a burst of keystrokes ending in
// Enter, far faster than a person types. We accept a burst only when every gap between keys is
// short, so a person typing on the same keyboard never triggers a scan.

export interface WedgeOptions {
  /** Longest pause between two keys of one scan (scanners: < 20 ms; people: > 80 ms). */
  maxGapMs: number;
  /** Shortest code worth sending (badge codes are far longer). */
  minLength: number;
  /** Longest code we accept: beyond it the burst is garbage, not a badge. */
  maxLength: number;
}

export const DEFAULT_WEDGE: WedgeOptions = { maxGapMs: 50, minLength: 4, maxLength: 512 };

export class WedgeDetector {
  private buffer = "";
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: WedgeOptions = DEFAULT_WEDGE) {}

  /** Feed one key (KeyboardEvent.key) and its time; returns the code when a burst completes. */
  feed(key: string, at: number): string | null {
    const gap = at - this.lastAt;
    this.lastAt = at;
    if (key === "Enter") {
      const code = this.buffer;
      this.buffer = "";
      const ok = gap <= this.options.maxGapMs && code.length >= this.options.minLength;
      return ok && code.length <= this.options.maxLength ? code : null;
    }
    if (key.length !== 1) return null; // Shift, Alt... are part of a burst but add no text
    // A slow key starts a new burst: whatever came before was typed by a person.
    this.buffer = gap <= this.options.maxGapMs ? this.buffer + key : key;
    if (this.buffer.length > this.options.maxLength) this.buffer = "";
    return null;
  }

  reset(): void {
    this.buffer = "";
    this.lastAt = Number.NEGATIVE_INFINITY;
  }
}
