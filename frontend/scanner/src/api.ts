// The three calls a kiosk makes: pair, who-am-I (with the server's clock), and scan.
// A request that never reaches the server (offline, DNS, timeout) is a NetworkError, so the
// caller can queue the scan; an answer from the server is an ApiError with its stable code.
import { ApiError, toApiError } from "@tapwork/shared";
import type { ScanAnswer } from "./feedback";

export { ApiError };

export class NetworkError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = "NetworkError";
  }
}

export interface KioskLocation {
  id: string;
  name: string;
  timezone: string;
}

export interface KioskInfo {
  id: string;
  name: string;
  location: KioskLocation;
}

export interface PairAnswer {
  device_token: string;
  kiosk: KioskInfo;
}

export interface MeAnswer {
  kiosk: KioskInfo;
  /** Server clock minus ours, corrected for half the round trip. */
  offsetMs: number | null;
}

export interface ScanRequest {
  code_data: string;
  client_scan_id: string;
  captured_at?: string;
}

export const APP_VERSION = "0.1.0";
const TIMEOUT_MS = 8000;

export class KioskApi {
  constructor(
    private readonly baseUrl: string,
    private readonly token: () => string | null,
    private readonly fetchFn: typeof fetch = (...args) => fetch(...args),
  ) {}

  private async call(method: string, path: string, body?: unknown): Promise<{ status: number; data: unknown }> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const token = this.token();
    if (token) headers["X-Kiosk-Token"] = token;
    let response: Response;
    try {
      response = await this.fetchFn(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      throw new NetworkError(error);
    }
    const data: unknown = await response.json().catch(() => null);
    if (!response.ok) throw toApiError(response.status, data);
    return { status: response.status, data };
  }

  async pair(pairingCode: string): Promise<PairAnswer> {
    const { data } = await this.call("POST", "/api/v1/kiosks/pair", {
      pairing_code: pairingCode.trim().toUpperCase(),
      app_version: APP_VERSION,
    });
    return data as PairAnswer;
  }

  async me(): Promise<MeAnswer> {
    const sent = Date.now();
    const { data } = await this.call("GET", "/api/v1/kiosks/me");
    const received = Date.now();
    const body = data as { kiosk?: KioskInfo; location?: KioskLocation; server_time?: string } & Partial<KioskInfo>;
    const kiosk = body.kiosk ?? (body as KioskInfo);
    const location = body.location ?? kiosk.location;
    const server = body.server_time ? Date.parse(body.server_time) : Number.NaN;
    const offsetMs = Number.isNaN(server) ? null : Math.round(server - (sent + received) / 2);
    return { kiosk: { id: kiosk.id, name: kiosk.name, location }, offsetMs };
  }

  async scan(request: ScanRequest): Promise<ScanAnswer> {
    const { data } = await this.call("POST", "/api/v1/attendance", request);
    return data as ScanAnswer;
  }
}

/** Whether a failed send should be retried later (the scan stays queued) or is final. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  if (error instanceof ApiError) return error.status === 429 || error.status >= 500;
  return true;
}
