// The offline queue: scans that could not reach the API wait in IndexedDB (surviving reloads
// and power cuts) with the time they were captured, and are sent in capture order when the
// network returns. The client scan id makes re-sending safe: the API answers a replay with
// the stored answer, so a scan sent twice is still recorded once.

export interface QueuedScan {
  /** Insertion order (IndexedDB auto-increment key): the order we send in. */
  seq?: number;
  client_scan_id: string;
  code_data: string;
  captured_at: string;
  attempts: number;
}

const STORE = "scans";

/** crypto.randomUUID exists only in secure contexts (https, localhost); a kiosk opened over
 * plain http on the LAN still needs scan ids, so build a v4 UUID from getRandomValues. */
export function newScanId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export class ScanQueue {
  private constructor(private readonly db: IDBDatabase) {}

  static open(name = "tapwork-kiosk", factory: IDBFactory = indexedDB): Promise<ScanQueue> {
    return new Promise((resolve, reject) => {
      const req = factory.open(name, 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore(STORE, { keyPath: "seq", autoIncrement: true });
      };
      req.onsuccess = () => resolve(new ScanQueue(req.result));
      req.onerror = () => reject(req.error);
    });
  }

  private store(mode: IDBTransactionMode): IDBObjectStore {
    return this.db.transaction(STORE, mode).objectStore(STORE);
  }

  async add(scan: Omit<QueuedScan, "seq" | "attempts">): Promise<void> {
    await request(this.store("readwrite").add({ ...scan, attempts: 0 }));
  }

  async list(): Promise<QueuedScan[]> {
    return request(this.store("readonly").getAll() as IDBRequest<QueuedScan[]>);
  }

  async peek(): Promise<QueuedScan | undefined> {
    const cursor = await request(this.store("readonly").openCursor());
    return cursor ? (cursor.value as QueuedScan) : undefined;
  }

  async remove(seq: number): Promise<void> {
    await request(this.store("readwrite").delete(seq));
  }

  async bumpAttempts(scan: QueuedScan): Promise<void> {
    await request(this.store("readwrite").put({ ...scan, attempts: scan.attempts + 1 }));
  }

  async count(): Promise<number> {
    return request(this.store("readonly").count());
  }

  close(): void {
    this.db.close();
  }
}

/** done: the API gave a final answer (accepted or rejected); retry: try later; stop: wait. */
export type SendOutcome = "done" | "retry" | "stop";

export interface DrainOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  schedule?: (fn: () => void, ms: number) => () => void;
  onCount?: (count: number) => void;
  /** 0..1; spreads retries ±20 % so kiosks that lost the network together don't retry together. */
  random?: () => number;
}

/** Sends queued scans one at a time, oldest first; backs off exponentially on failure. */
export class QueueDrainer {
  private running = false;
  private again = false;
  private failures = 0;
  private cancelTimer: (() => void) | null = null;
  private current: Promise<void> = Promise.resolve();
  private readonly schedule: (fn: () => void, ms: number) => () => void;

  constructor(
    private readonly queue: ScanQueue,
    private readonly send: (scan: QueuedScan) => Promise<SendOutcome>,
    private readonly options: DrainOptions,
  ) {
    this.schedule =
      options.schedule ??
      ((fn, ms) => {
        const id = setTimeout(fn, ms);
        return () => clearTimeout(id);
      });
  }

  /** The delay before retry number `failures` (1, 2, 4... × base, capped), jittered. */
  delayFor(failures: number): number {
    const base = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (failures - 1));
    const jitter = 0.8 + 0.4 * (this.options.random ?? Math.random)();
    return Math.round(base * jitter);
  }

  /** Start sending now (network came back, a scan was queued, the app started). */
  kick(): Promise<void> {
    this.failures = 0;
    this.cancelTimer?.();
    this.cancelTimer = null;
    return this.run();
  }

  /** Resolves when the drain in progress (if any) has finished. */
  idle(): Promise<void> {
    return this.current;
  }

  private run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.current;
    }
    this.current = this.loop();
    return this.current;
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      do {
        this.again = false;
        await this.drainOnce();
      } while (this.again);
    } finally {
      this.running = false;
    }
  }

  private async drainOnce(): Promise<void> {
    for (;;) {
      const scan = await this.queue.peek();
      if (!scan || scan.seq === undefined) break;
      const outcome = await this.send(scan).catch((): SendOutcome => "retry");
      if (outcome === "done") {
        await this.queue.remove(scan.seq);
        this.failures = 0;
        this.options.onCount?.(await this.queue.count());
        continue;
      }
      await this.queue.bumpAttempts(scan);
      if (outcome === "retry") {
        this.failures += 1;
        this.cancelTimer?.();
        this.cancelTimer = this.schedule(() => {
          this.cancelTimer = null;
          void this.run();
        }, this.delayFor(this.failures));
      }
      break;
    }
    this.options.onCount?.(await this.queue.count());
  }
}
