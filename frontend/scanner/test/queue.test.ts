import { webcrypto } from "node:crypto";
import { IDBFactory } from "fake-indexeddb";
import { beforeEach, describe, expect, it } from "vitest";
import { QueueDrainer, ScanQueue, newScanId, type QueuedScan, type SendOutcome } from "../src/queue";

// Node 18 (Debian 12) has Web Crypto only as a module, not as a global like browsers do.
if (!("crypto" in globalThis)) Object.defineProperty(globalThis, "crypto", { value: webcrypto });

let factory: IDBFactory;
beforeEach(() => {
  factory = new IDBFactory();
});

function scan(n: number) {
  return {
    client_scan_id: `id-${n}`,
    code_data: `CODE-${n}`,
    captured_at: new Date(Date.UTC(2026, 11, 1, 8, n)).toISOString(),
  };
}

/** A manual timer: tests fire scheduled retries themselves, no sleeping. */
function manualTimers(drainer: () => QueueDrainer) {
  const pending: { fn: () => void; ms: number }[] = [];
  return {
    pending,
    schedule: (fn: () => void, ms: number) => {
      const entry = { fn, ms };
      pending.push(entry);
      return () => pending.splice(pending.indexOf(entry), 1);
    },
    fire: async () => {
      const entry = pending.shift();
      entry?.fn();
      await drainer().idle();
    },
  };
}

describe("ScanQueue", () => {
  it("keeps scans with their capture time, in order, across reopen (reload)", async () => {
    const first = await ScanQueue.open("k", factory);
    for (const n of [3, 1, 2]) await first.add(scan(n));
    first.close();
    const reopened = await ScanQueue.open("k", factory);
    const all = await reopened.list();
    expect(all.map((s) => s.client_scan_id)).toEqual(["id-3", "id-1", "id-2"]);
    expect(all[0]?.captured_at).toBe(scan(3).captured_at);
    expect(await reopened.count()).toBe(3);
  });
});

describe("QueueDrainer", () => {
  it("sends everything in order exactly once when the network is up", async () => {
    const queue = await ScanQueue.open("k", factory);
    for (const n of [1, 2, 3]) await queue.add(scan(n));
    const sent: string[] = [];
    const counts: number[] = [];
    const drainer = new QueueDrainer(
      queue,
      async (s) => {
        sent.push(s.client_scan_id);
        return "done";
      },
      { baseDelayMs: 1000, maxDelayMs: 60000, onCount: (c) => counts.push(c) },
    );
    await drainer.kick();
    expect(sent).toEqual(["id-1", "id-2", "id-3"]);
    expect(await queue.count()).toBe(0);
    expect(counts.at(-1)).toBe(0);
  });

  it("stops at the first failure, keeps order, and backs off exponentially", async () => {
    const queue = await ScanQueue.open("k", factory);
    for (const n of [1, 2]) await queue.add(scan(n));
    const timers = manualTimers(() => drainer);
    let online = false;
    const sent: string[] = [];
    const drainer: QueueDrainer = new QueueDrainer(
      queue,
      async (s: QueuedScan): Promise<SendOutcome> => {
        if (!online) throw new TypeError("Failed to fetch");
        sent.push(s.client_scan_id);
        return "done";
      },
      { baseDelayMs: 1000, maxDelayMs: 4000, schedule: timers.schedule, random: () => 0.5 },
    );
    await drainer.kick();
    expect(timers.pending.map((t) => t.ms)).toEqual([1000]);
    await timers.fire();
    await timers.fire();
    await timers.fire();
    expect(timers.pending.map((t) => t.ms)).toEqual([4000]); // capped
    expect(sent).toEqual([]);
    expect((await queue.peek())?.attempts).toBe(4);
    online = true;
    await drainer.kick(); // the "online" event
    expect(sent).toEqual(["id-1", "id-2"]);
    expect(timers.pending).toEqual([]);
    expect(await queue.count()).toBe(0);
  });

  it("spreads retries by ±20 %", async () => {
    const queue = await ScanQueue.open("k", factory);
    const make = (r: number) => new QueueDrainer(queue, async () => "done", { baseDelayMs: 1000, maxDelayMs: 60000, random: () => r });
    expect(make(0).delayFor(1)).toBe(800);
    expect(make(1).delayFor(1)).toBe(1200);
    expect(make(0.5).delayFor(7)).toBe(60000);
  });

  it("removes scans the API answered with a rejection (a final answer)", async () => {
    const queue = await ScanQueue.open("k", factory);
    await queue.add(scan(1));
    const drainer = new QueueDrainer(queue, async () => "done", { baseDelayMs: 1, maxDelayMs: 1 });
    await drainer.kick();
    expect(await queue.count()).toBe(0);
  });

  it("keeps the queue and waits when told to stop (revoked kiosk)", async () => {
    const queue = await ScanQueue.open("k", factory);
    await queue.add(scan(1));
    const timers = manualTimers(() => drainer);
    const drainer: QueueDrainer = new QueueDrainer(queue, async () => "stop", {
      baseDelayMs: 1,
      maxDelayMs: 1,
      schedule: timers.schedule,
    });
    await drainer.kick();
    expect(await queue.count()).toBe(1);
    expect(timers.pending).toEqual([]);
  });

  it("never sends a scan twice when kicked while draining", async () => {
    const queue = await ScanQueue.open("k", factory);
    for (const n of [1, 2, 3]) await queue.add(scan(n));
    const sent: string[] = [];
    const drainer = new QueueDrainer(
      queue,
      async (s) => {
        sent.push(s.client_scan_id);
        await new Promise((r) => setTimeout(r, 1));
        return "done";
      },
      { baseDelayMs: 1, maxDelayMs: 1 },
    );
    await Promise.all([drainer.kick(), drainer.kick(), drainer.kick()]);
    await drainer.idle();
    expect(sent).toEqual(["id-1", "id-2", "id-3"]);
  });
});

describe("newScanId", () => {
  it("makes v4 UUIDs even where crypto.randomUUID is missing (plain http)", () => {
    const original = crypto.randomUUID;
    Object.defineProperty(crypto, "randomUUID", { value: undefined, configurable: true });
    try {
      const ids = new Set(Array.from({ length: 100 }, () => newScanId()));
      expect(ids.size).toBe(100);
      for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    } finally {
      Object.defineProperty(crypto, "randomUUID", { value: original, configurable: true });
    }
  });
});
