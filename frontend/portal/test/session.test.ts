import { describe, expect, it } from "vitest";
import { Session, buildUrl } from "../src/session";

function memoryStorage(): Storage {
  const data = new Map<string, string>();
  return {
    get length() {
      return data.size;
    },
    clear: () => data.clear(),
    getItem: (k) => data.get(k) ?? null,
    key: (i) => [...data.keys()][i] ?? null,
    removeItem: (k) => void data.delete(k),
    setItem: (k, v) => void data.set(k, v),
  };
}

const user = { id: "u1", email: "a@b.c", first_name: "Ana", last_name: "Ruiz", role: "hr_manager", permissions: ["users:read_all"] };
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const pair = (n: number) => ({ access_token: `access${n}`, refresh_token: `refresh${n}`, expires_in: 900, token_type: "bearer", user });

/** A fake API: access tokens older than `valid` are refused; refresh rotates once per token. */
function fakeApi() {
  const calls: { url: string; auth: string | null; body: string | null }[] = [];
  let valid = "access1";
  let refreshable = "refresh1";
  let n = 1;
  const fetcher = (async (url: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    const body = typeof init.body === "string" ? init.body : null;
    calls.push({ url, auth: headers.get("Authorization"), body });
    await new Promise((r) => setTimeout(r, 1));
    if (url.endsWith("/auth/login")) return json(200, pair(1));
    if (url.endsWith("/auth/refresh")) {
      const sent = JSON.parse(body ?? "{}").refresh_token;
      if (sent !== refreshable) return json(401, { error: { code: "REFRESH_TOKEN_REUSED", message: "reused" } });
      n += 1;
      valid = `access${n}`;
      refreshable = `refresh${n}`;
      return json(200, pair(n));
    }
    if (headers.get("Authorization") !== `Bearer ${valid}`) return json(401, { error: { code: "UNAUTHORIZED", message: "expired" } });
    return json(200, { ok: true });
  }) as typeof fetch;
  return {
    calls,
    fetcher,
    expire() {
      valid = "none-yet";
    },
    revokeFamily() {
      valid = "none";
      refreshable = "none";
    },
  };
}

describe("session", () => {
  it("builds API URLs without empty parameters", () => {
    expect(buildUrl("http://api", "/users", { search: "ana", page: 2, role: "", x: null })).toBe("http://api/api/v1/users?search=ana&page=2");
  });

  it("signs in, stores the session and sends the bearer token", async () => {
    const api = fakeApi();
    const storage = memoryStorage();
    const s = new Session("http://api", storage, api.fetcher);
    await s.login("a@b.c", "pw");
    expect(s.user?.first_name).toBe("Ana");
    expect(s.can("users:read_all")).toBe(true);
    expect(s.can("audit:read")).toBe(false);
    await s.call("GET", "/users");
    expect(api.calls.at(-1)?.auth).toBe("Bearer access1");
    // A new tab (a new Session on the same storage) is signed in too.
    expect(new Session("http://api", storage, api.fetcher).user?.email).toBe("a@b.c");
  });

  it("refreshes once on 401, rotates the pair and retries", async () => {
    const api = fakeApi();
    const s = new Session("http://api", memoryStorage(), api.fetcher);
    await s.login("a@b.c", "pw");
    api.expire();
    await s.call("GET", "/users/me"); // refused with access1 → refresh → access2
    await expect(s.call("GET", "/users/me")).resolves.toEqual({ ok: true });
    expect(api.calls.filter((c) => c.url.endsWith("/auth/refresh"))).toHaveLength(1);
    expect(api.calls.at(-1)?.auth).toBe("Bearer access2");
  });

  it("shares one refresh between concurrent 401s (a second would replay a rotated token)", async () => {
    const api = fakeApi();
    const s = new Session("http://api", memoryStorage(), api.fetcher);
    await s.login("a@b.c", "pw");
    api.expire();
    const answers = await Promise.all([s.call("GET", "/users"), s.call("GET", "/shifts"), s.call("GET", "/locations")]);
    expect(answers).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(api.calls.filter((c) => c.url.endsWith("/auth/refresh"))).toHaveLength(1);
    expect(s.user).not.toBeNull();
  });

  it("signs out when the refresh is refused", async () => {
    const api = fakeApi();
    const storage = memoryStorage();
    const s = new Session("http://api", storage, api.fetcher);
    await s.login("a@b.c", "pw");
    let notified = false;
    s.onChange((next) => (notified = next === null));
    api.revokeFamily();
    await expect(s.call("GET", "/users/me")).rejects.toMatchObject({ status: 401 });
    expect(s.user).toBeNull();
    expect(notified).toBe(true);
    expect(storage.length).toBe(0);
  });

  it("turns the error envelope into ApiError and a dead network into NETWORK_ERROR", async () => {
    const s = new Session("http://api", null, (async () => json(409, { error: { code: "EMAIL_TAKEN", message: "taken", details: {} } })) as typeof fetch);
    await expect(
      s.call("POST", "/users", { body: { email: "ana@example.com", employee_id: "E1", first_name: "Ana", last_name: "Ruiz" } }),
    ).rejects.toMatchObject({ code: "EMAIL_TAKEN", status: 409 });
    const offline = new Session("http://api", null, (async () => {
      throw new TypeError("Failed to fetch");
    }) as typeof fetch);
    await expect(offline.call("GET", "/users/me")).rejects.toMatchObject({ code: "NETWORK_ERROR" });
  });
});
