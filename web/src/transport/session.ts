// The HTTP calls: the seed contract (POST /token, GET /refresh_token), a person and their
// conversations (/api/users, /api/conversations), and where the browser keeps its tokens.
import {
  clientBodies,
  errorDetail,
  parseConversationPage,
  parseRenamed,
  parseSession,
  parseUser,
  wire,
  type ConversationPage,
  type ParseResult,
  type SessionSnapshot,
} from "./protocol";

/**
 * A failed call, by what the caller can do about it: `invalid` (400, the server's message says
 * why), `unauthorized` (401: the person is unknown or expired), `not_found` (404: deleted,
 * expired or not theirs), `full` (409), `network`, `server` (anything else).
 */
export type ApiFailure = {
  ok: false;
  kind: "invalid" | "unauthorized" | "not_found" | "full" | "network" | "server";
  message: string;
};
export type ApiResult<T> = { ok: true; value: T } | ApiFailure;

export type SessionResult =
  | { ok: true; snapshot: SessionSnapshot }
  | { ok: false; kind: "invalid" | "expired" | "network" | "server"; message: string };

/** A value kept in localStorage; storage may be unavailable (private mode), then nothing persists. */
export interface TokenStore {
  load(): string | null;
  save(token: string): void;
  clear(): void;
}

export function storedValue(key: string): TokenStore {
  return {
    load: () => {
      try {
        return localStorage.getItem(key);
      } catch {
        return null;
      }
    },
    save: (value) => {
      try {
        localStorage.setItem(key, value);
      } catch {
        // Without storage the page works; it just does not survive a reload.
      }
    },
    clear: () => {
      try {
        localStorage.removeItem(key);
      } catch {
        // As above.
      }
    },
  };
}

/** The seed client's session token (one chat per browser), kept reachable after the migration. */
export const localTokenStore = storedValue("parley.session");
/** The person's user token. */
export const userStore = storedValue("parley.user");
/** The name a migrated seed session used, told to the model in new conversations too. */
export const nameStore = storedValue("parley.name");

const NETWORK_MESSAGE = "Can't reach the server. Check your connection and try again.";

async function request<T>(
  url: string,
  init: RequestInit,
  parse: ((body: unknown) => ParseResult<T>) | null,
  fetchImpl: typeof fetch,
): Promise<ApiResult<T>> {
  let res: Response;
  try {
    res = await fetchImpl(url, { cache: "no-store", ...init });
  } catch {
    return { ok: false, kind: "network", message: NETWORK_MESSAGE };
  }
  let body: unknown = undefined;
  if (res.status !== 204) {
    try {
      body = await res.json();
    } catch {
      // Non-JSON bodies (a proxy's error page) are reported by status below.
    }
  }
  if (res.ok) {
    if (!parse) return { ok: true, value: undefined as T };
    const parsed = parse(body);
    if (parsed.ok) return parsed;
    return { ok: false, kind: "server", message: `Unexpected answer from the server (${parsed.error}).` };
  }
  const detail = errorDetail(body);
  const kind = res.status === 400 || res.status === 422 ? "invalid"
    : res.status === 401 ? "unauthorized"
      : res.status === 404 ? "not_found"
        : res.status === 409 ? "full"
          : "server";
  return { ok: false, kind, message: detail ?? (kind === "server" ? `The server answered ${res.status}. Please try again.` : `Request refused (${res.status}).`) };
}

function asSession(r: ApiResult<SessionSnapshot>, refusedMeans: "invalid" | "expired"): SessionResult {
  if (r.ok) return { ok: true, snapshot: r.value };
  if (r.kind === "network" || r.kind === "server") return { ok: false, kind: r.kind, message: r.message };
  return { ok: false, kind: refusedMeans, message: r.message };
}

export async function createSession(baseUrl: string, name: string, fetchImpl: typeof fetch = fetch): Promise<SessionResult> {
  const u = new URL("/token", baseUrl);
  u.searchParams.set(wire.name, name);
  return asSession(await request(u.toString(), { method: "POST" }, parseSession, fetchImpl), "invalid");
}

export async function refreshSession(baseUrl: string, token: string, fetchImpl: typeof fetch = fetch): Promise<SessionResult> {
  const u = new URL("/refresh_token", baseUrl);
  u.searchParams.set(wire.token, token);
  return asSession(await request(u.toString(), { method: "GET" }, parseSession, fetchImpl), "expired");
}

/** The person's side of the API; every call but `createUser` carries `Authorization: Bearer`. */
export class ConversationApi {
  constructor(
    private readonly baseUrl: string,
    private readonly user: string,
    private readonly fetchImpl: typeof fetch = (...a) => fetch(...a),
  ) {}

  static createUser(baseUrl: string, fetchImpl: typeof fetch = fetch): Promise<ApiResult<string>> {
    return request(new URL("/api/users", baseUrl).toString(), { method: "POST" }, parseUser, fetchImpl);
  }

  private url(token?: string): URL {
    return new URL(token === undefined ? "/api/conversations" : `/api/conversations/${encodeURIComponent(token)}`, this.baseUrl);
  }

  private init(method: string, body?: string): RequestInit {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.user}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return { method, headers, body };
  }

  create(name?: string): Promise<ApiResult<SessionSnapshot>> {
    return request(this.url().toString(), this.init("POST", clientBodies.create(name)), parseSession, this.fetchImpl);
  }

  list(cursor?: string | null, limit?: number): Promise<ApiResult<ConversationPage>> {
    const u = this.url();
    if (limit !== undefined) u.searchParams.set(wire.limit, String(limit));
    if (cursor) u.searchParams.set(wire.cursor, cursor);
    return request(u.toString(), this.init("GET"), parseConversationPage, this.fetchImpl);
  }

  get(token: string): Promise<ApiResult<SessionSnapshot>> {
    return request(this.url(token).toString(), this.init("GET"), parseSession, this.fetchImpl);
  }

  rename(token: string, title: string): Promise<ApiResult<{ token: string; title: string }>> {
    return request(this.url(token).toString(), this.init("PATCH", clientBodies.rename(title)), parseRenamed, this.fetchImpl);
  }

  remove(token: string, opts: { keepalive?: boolean } = {}): Promise<ApiResult<void>> {
    return request(this.url(token).toString(), { ...this.init("DELETE"), keepalive: opts.keepalive }, null, this.fetchImpl);
  }
}
