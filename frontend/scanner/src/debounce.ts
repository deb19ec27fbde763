// Debounce per code text, not "same as the last code": a camera that sees two badges in turn
// (or a looping clip) would otherwise post each of them again and again. The window slides:
// a badge held in front of the camera stays one scan until it has been gone for windowMs
// (otherwise holding it past the API's debounce would check the person out again).

export class CodeDebouncer {
  private readonly seen = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  /** True when this text was accepted less than windowMs ago (then the scan is dropped). */
  isRepeat(text: string, now: number): boolean {
    const last = this.seen.get(text);
    this.seen.set(text, now);
    if (last !== undefined && now - last < this.windowMs) return true;
    if (this.seen.size > 256) this.prune(now);
    return false;
  }

  private prune(now: number): void {
    for (const [text, at] of this.seen) if (now - at >= this.windowMs) this.seen.delete(text);
  }
}
