import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";
import { runtimeConfig } from "../config";

export type { paths, components } from "./schema";

/** The API's error envelope: {"error": {"code", "message", "details"}}. */
export interface ApiErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Reads the envelope out of any error body; falls back to a code derived from the status. */
export function toApiError(status: number, body: unknown): ApiError {
  const err = (body as { error?: Partial<ApiErrorBody> } | null)?.error;
  if (err && typeof err.code === "string") {
    return new ApiError(status, err.code, err.message ?? err.code, err.details ?? {});
  }
  return new ApiError(status, status >= 500 ? "INTERNAL_ERROR" : `HTTP_${status}`, `HTTP ${status}`);
}

export interface ClientOptions {
  baseUrl?: string;
  /** Headers added to every request (Authorization, X-Kiosk-Token...), read at call time. */
  headers?: () => Record<string, string>;
  fetch?: typeof fetch;
}

/** A typed client for /api/v1 (types generated from the API's OpenAPI document). */
export function createApiClient(options: ClientOptions = {}) {
  const client = createClient<paths>({
    baseUrl: options.baseUrl ?? runtimeConfig().apiUrl,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const extra = options.headers;
  if (extra) {
    const auth: Middleware = {
      onRequest({ request }) {
        for (const [name, value] of Object.entries(extra())) request.headers.set(name, value);
        return request;
      },
    };
    client.use(auth);
  }
  return client;
}

export type ApiClient = ReturnType<typeof createApiClient>;
