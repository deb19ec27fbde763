// The signed-in session and every API call the portal makes. Access tokens are short-lived: on
// a 401 the refresh token is traded once for a new pair (the server rotates it and revokes the
// family if an old one is replayed), then the request is retried once. Concurrent 401s share
// one refresh, or the second refresh would replay a rotated token and sign everyone out.
import { ApiError, toApiError } from "@tapwork/shared";
import type { Answer, ApiPath, BaseOptions, CallArgs, MethodOf, Op, Query, Schemas } from "./api-types";

export type { ApiPath, Query, Schemas } from "./api-types";
export type SessionOut = Schemas["SessionOut"];
export type SessionUser = Schemas["SessionUser"];

export interface StoredSession {
  access: string;
  refresh: string;
  user: SessionUser;
}

/** What goes over the wire: a JSON body of any shape (the typed `call` decides which). */
interface WireOptions extends BaseOptions {
  body?: unknown;
}

const STORAGE_KEY = "tapwork.portal.session";

export function buildUrl(base: string, path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") params.set(name, String(value));
  }
  const qs = params.toString();
  return `${base}/api/v1${path}${qs ? `?${qs}` : ""}`;
}

export class Session {
  private current: StoredSession | null;
  private refreshing: Promise<boolean> | null = null;
  private readonly listeners = new Set<(s: StoredSession | null) => void>();

  constructor(
    private readonly apiUrl: string,
    private readonly storage: Storage | null,
    private readonly fetcher: typeof fetch = (...args) => fetch(...args),
  ) {
    this.current = readStored(storage);
  }

  get user(): SessionUser | null {
    return this.current?.user ?? null;
  }

  can(...permissions: string[]): boolean {
    const held = this.current?.user.permissions ?? [];
    return permissions.some((p) => held.includes(p));
  }

  onChange(listener: (s: StoredSession | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stores a session answer from login / accept-invite / change-password / refresh. */
  adopt(answer: SessionOut): void {
    this.set({ access: answer.access_token, refresh: answer.refresh_token, user: answer.user });
  }

  async login(email: string, password: string): Promise<void> {
    this.adopt(await this.call("POST", "/auth/login", { body: { email, password }, anonymous: true }));
  }

  async logout(): Promise<void> {
    const refresh = this.current?.refresh;
    this.set(null);
    if (refresh) {
      // Best effort: the tokens are gone from this browser either way.
      await this.call("POST", "/auth/logout", { body: { refresh_token: refresh }, anonymous: true }).catch(() => undefined);
    }
  }

  /** JSON in, JSON out, both typed by the API's schema for `method path` (api-types.ts);
   *  errors become ApiError with the envelope's code. */
  async call<P extends ApiPath, M extends MethodOf<P>>(method: M, path: P, ...[options]: CallArgs<Op<P, M>>): Promise<Answer<Op<P, M>>> {
    return (await this.json(method, path, options ?? {})) as Answer<Op<P, M>>;
  }

  /** For the generic CRUD form only (crud.ts), whose field names are checked against the
   *  schema where each page declares them (`FieldSpec<keyof XCreate>`). */
  async callForm(method: "POST" | "PUT", path: ApiPath, body: Record<string, unknown>): Promise<unknown> {
    return this.json(method, path, { body });
  }

  private async json(method: string, path: string, options: WireOptions): Promise<unknown> {
    const response = await this.send(method, path, options);
    if (response.status === 204) return undefined;
    const type = response.headers.get("content-type") ?? "";
    return type.includes("json") ? await response.json() : await response.text();
  }

  /** For binary answers (badge PNG, badge sheet PDF). */
  async blob(path: ApiPath, query: Query = {}): Promise<Blob> {
    return (await this.send("GET", path, { query })).blob();
  }

  /** A report file, or (202) the export the API queued instead because it is large. */
  async reportFile(path: ApiPath, query: Query = {}): Promise<{ file: Blob } | { queued: Schemas["ExportRead"] }> {
    const response = await this.send("GET", path, { query });
    if (response.status === 202) return { queued: (await response.json()) as Schemas["ExportRead"] };
    return { file: await response.blob() };
  }

  private async send(method: string, path: string, options: WireOptions): Promise<Response> {
    const attempt = () => this.attempt(method, path, options);
    let response = await attempt();
    if (response.status === 401 && !options.anonymous && this.current) {
      if (await this.refresh()) response = await attempt();
      else this.set(null); // refresh refused: the session is over, show the sign-in page
    }
    if (!response.ok) {
      let body: unknown = null;
      try {
        body = await response.json();
      } catch {
        body = null;
      }
      throw toApiError(response.status, body);
    }
    return response;
  }

  private async attempt(method: string, path: string, options: WireOptions): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json" };
    let body: BodyInit | undefined;
    if (options.raw) {
      headers["Content-Type"] = options.raw.type;
      body = options.raw.data;
    } else if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    if (!options.anonymous && this.current) headers.Authorization = `Bearer ${this.current.access}`;
    try {
      return await this.fetcher(buildUrl(this.apiUrl, path, options.query), { method, headers, body });
    } catch {
      throw new ApiError(0, "NETWORK_ERROR", "network error");
    }
  }

  private refresh(): Promise<boolean> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<boolean> {
    const token = this.current?.refresh;
    if (!token) return false;
    const response = await this.fetcher(buildUrl(this.apiUrl, "/auth/refresh"), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ refresh_token: token }),
    }).catch(() => null);
    // A network blip is not a refused session: keep the tokens and let the caller retry.
    if (response === null) throw new ApiError(0, "NETWORK_ERROR", "network error");
    if (!response.ok) return false;
    this.adopt((await response.json()) as SessionOut);
    return true;
  }

  private set(next: StoredSession | null): void {
    this.current = next;
    if (next) this.storage?.setItem(STORAGE_KEY, JSON.stringify(next));
    else this.storage?.removeItem(STORAGE_KEY);
    for (const listener of this.listeners) listener(next);
  }
}

function readStored(storage: Storage | null): StoredSession | null {
  try {
    const raw = storage?.getItem(STORAGE_KEY);
    const parsed = raw ? (JSON.parse(raw) as StoredSession) : null;
    return parsed?.access && parsed.refresh && parsed.user ? parsed : null;
  } catch {
    return null;
  }
}
