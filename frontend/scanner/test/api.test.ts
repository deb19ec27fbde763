import { describe, expect, it } from "vitest";
import { ApiError, KioskApi, NetworkError, isRetryable } from "../src/api";

function stub(handler: (request: Request) => Response | Promise<Response>) {
  const seen: Request[] = [];
  const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    seen.push(request);
    return handler(request);
  }) as typeof fetch;
  return { seen, fetchFn };
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

describe("KioskApi", () => {
  it("sends the device token, version and kiosk clock with a scan", async () => {
    const { seen, fetchFn } = stub(() => json(200, { action: "check_in", status: "on_time" }));
    const api = new KioskApi("http://api.test", () => "tok-1", fetchFn);
    const answer = await api.scan({ code_data: "TW1:X", client_scan_id: "id-1" });
    expect(answer.action).toBe("check_in");
    const request = seen[0]!;
    expect(request.url).toBe("http://api.test/api/v1/attendance");
    expect(request.headers.get("X-Kiosk-Token")).toBe("tok-1");
    expect(request.headers.get("X-Kiosk-Version")).toBe("0.1.0");
    expect(Date.parse(request.headers.get("X-Kiosk-Time") ?? "")).not.toBeNaN();
    expect(await request.json()).toEqual({ code_data: "TW1:X", client_scan_id: "id-1" });
  });

  it("reports the offline-queue length once the queue is open, and not before", async () => {
    const { seen, fetchFn } = stub(() => json(200, { kiosk: { id: "k", name: "K", location: null }, server_time: new Date().toISOString() }));
    let queued: number | null = null;
    const api = new KioskApi(
      "http://api.test",
      () => "t",
      fetchFn,
      () => queued,
    );
    await api.me();
    queued = 3;
    await api.me();
    expect(seen[0]!.headers.has("X-Kiosk-Queue")).toBe(false);
    expect(seen[1]!.headers.get("X-Kiosk-Queue")).toBe("3");
  });

  it("turns the error envelope into an ApiError with its code and details", async () => {
    const { fetchFn } = stub(() => json(409, { error: { code: "REST_PERIOD", message: "Too soon", details: { available_at: "2026-12-01T15:00:00Z" } } }));
    const api = new KioskApi("http://api.test", () => "t", fetchFn);
    const error = await api.scan({ code_data: "x", client_scan_id: "y" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 409, code: "REST_PERIOD", details: { available_at: "2026-12-01T15:00:00Z" } });
    expect(isRetryable(error)).toBe(false);
  });

  it("reports a request that never reached the server as a NetworkError (queue it)", async () => {
    const { fetchFn } = stub(() => {
      throw new TypeError("Failed to fetch");
    });
    const api = new KioskApi("http://api.test", () => "t", fetchFn);
    const error = await api.scan({ code_data: "x", client_scan_id: "y" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect(isRetryable(error)).toBe(true);
  });

  it("retries rate limits and server errors, not other answers", () => {
    expect(isRetryable(new ApiError(429, "RATE_LIMITED", ""))).toBe(true);
    expect(isRetryable(new ApiError(503, "INTERNAL_ERROR", ""))).toBe(true);
    expect(isRetryable(new ApiError(403, "BADGE_REVOKED", ""))).toBe(false);
  });

  it("computes the clock offset against the server's time", async () => {
    const ahead = new Date(Date.now() + 5 * 60_000).toISOString();
    const location = { id: "l", name: "HQ", timezone: "Europe/Madrid" };
    const { fetchFn } = stub(() => json(200, { kiosk: { id: "k", name: "Door", location }, location, server_time: ahead, clock_offset_ms: null }));
    const me = await new KioskApi("http://api.test", () => "t", fetchFn).me();
    expect(me.kiosk.name).toBe("Door");
    expect(me.offsetMs).toBeGreaterThan(4.9 * 60_000);
    expect(me.offsetMs).toBeLessThan(5.1 * 60_000);
  });

  it("pairs without a token and trims the code", async () => {
    const location = { id: "l", name: "HQ", timezone: "UTC" };
    const { seen, fetchFn } = stub(() => json(200, { device_token: "dev", kiosk: { id: "k", name: "Door", location } }));
    const answer = await new KioskApi("http://api.test", () => null, fetchFn).pair("  abcd-2345 ");
    expect(answer.device_token).toBe("dev");
    expect(seen[0]!.headers.get("X-Kiosk-Token")).toBeNull();
    expect(await seen[0]!.json()).toMatchObject({ pairing_code: "abcd-2345" });
  });
});
