// The three calls a kiosk makes: pair, who-am-I (with the server's clock), and scan, through
// the typed client generated from the API's OpenAPI document. A request that never reaches the
// server (offline, DNS, timeout) is a NetworkError, so the caller can queue the scan; an answer
// from the server is an ApiError with its stable code.
import { ApiError, createApiClient, toApiError, type paths } from "@tapwork/shared";

export { ApiError };

// Typed by path (the API contract), not by schema class names, which may be renamed freely.
type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;
type PairOp = paths["/api/v1/kiosks/pair"]["post"];
type ScanOp = paths["/api/v1/attendance"]["post"];
export type PairAnswer = Json<PairOp["responses"][200]>;
export type KioskInfo = PairAnswer["kiosk"];
export type KioskLocation = KioskInfo["location"];
export type ScanRequest = Json<ScanOp["requestBody"]>;
export type ScanAnswer = Json<ScanOp["responses"][200]>;
type FaceVerifyOp = paths["/api/v1/biometric/kiosk/verify"]["post"];
export type FaceCheck = Json<FaceVerifyOp["responses"][200]>;
/** The scan answer's face step (present when biometrics are on). */
export interface FaceStep {
  outcome: "match" | "mismatch" | "unavailable" | "no_image" | null;
  check_id: string | null;
  retry: boolean;
  enroll_available: boolean;
}

export class NetworkError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = "NetworkError";
  }
}

export interface MeAnswer {
  kiosk: KioskInfo;
  /** Server clock minus ours, corrected for half the round trip. */
  offsetMs: number | null;
}

export const APP_VERSION = "0.1.0";
const TIMEOUT_MS = 8000;

interface Result<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

async function settle<T>(call: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await call;
  } catch (error) {
    throw new NetworkError(error); // fetch itself failed: nothing reached the server
  }
  if (!result.response.ok || result.data === undefined) {
    throw toApiError(result.response.status, result.error ?? null);
  }
  return result.data;
}

export class KioskApi {
  private readonly client;

  constructor(baseUrl: string, token: () => string | null, fetchFn?: typeof fetch, queued: () => number | null = () => null) {
    this.client = createApiClient({
      baseUrl,
      // The server records the app version, this clock (for the admins' offset column) and
      // how many scans wait in the offline queue (fleet health on the portal's kiosks page).
      headers: () => {
        const headers: Record<string, string> = {
          "X-Kiosk-Version": APP_VERSION,
          "X-Kiosk-Time": new Date().toISOString(),
        };
        const value = token();
        if (value) headers["X-Kiosk-Token"] = value;
        const waiting = queued();
        if (waiting !== null) headers["X-Kiosk-Queue"] = String(waiting);
        return headers;
      },
      ...(fetchFn ? { fetch: fetchFn } : {}),
    });
  }

  pair(pairingCode: string): Promise<PairAnswer> {
    return settle(
      this.client.POST("/api/v1/kiosks/pair", {
        body: { pairing_code: pairingCode.trim(), app_version: APP_VERSION },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      }),
    );
  }

  async me(): Promise<MeAnswer> {
    const sent = Date.now();
    const body = await settle(this.client.GET("/api/v1/kiosks/me", { signal: AbortSignal.timeout(TIMEOUT_MS) }));
    const received = Date.now();
    const server = Date.parse(body.server_time);
    const offsetMs = Number.isNaN(server) ? null : Math.round(server - (sent + received) / 2);
    return { kiosk: { ...body.kiosk, location: body.location ?? body.kiosk.location }, offsetMs };
  }

  /** Whether to send a camera frame with each online scan (face verification is on here). */
  async captureFace(): Promise<boolean> {
    const body = await settle(this.client.GET("/api/v1/biometric/kiosk/config", { signal: AbortSignal.timeout(TIMEOUT_MS) }));
    return body.capture_face;
  }

  enrollFace(codeData: string, images: string[]): Promise<unknown> {
    return settle(
      this.client.POST("/api/v1/biometric/kiosk/enroll", {
        body: { code_data: codeData, images },
        signal: AbortSignal.timeout(30_000),
      }),
    );
  }

  verifyFace(checkId: string, codeData: string, image: string): Promise<FaceCheck> {
    return settle(
      this.client.POST("/api/v1/biometric/kiosk/verify", {
        body: { check_id: checkId, code_data: codeData, image },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      }),
    );
  }

  scan(request: ScanRequest): Promise<ScanAnswer> {
    return settle(this.client.POST("/api/v1/attendance", { body: request, signal: AbortSignal.timeout(TIMEOUT_MS) }));
  }
}

/** Whether a failed send should be retried later (the scan stays queued) or is final. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  if (error instanceof ApiError) return error.status === 429 || error.status >= 500;
  return true;
}
