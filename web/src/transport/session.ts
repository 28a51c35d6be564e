// The session's HTTP calls (POST /token, GET /refresh_token) and where its token is kept.
import { errorDetail, parseSession, wire, type SessionSnapshot } from "./protocol";

export type SessionResult =
  | { ok: true; snapshot: SessionSnapshot }
  | { ok: false; kind: "invalid" | "expired" | "network" | "server"; message: string };

const STORAGE_KEY = "parley.session";

export interface TokenStore {
  load(): string | null;
  save(token: string): void;
  clear(): void;
}

/** The token lives in localStorage so that reloading or reopening the page resumes the chat. */
export const localTokenStore: TokenStore = {
  load: () => {
    try {
      return localStorage.getItem(STORAGE_KEY);
    } catch {
      return null;
    }
  },
  save: (token) => {
    try {
      localStorage.setItem(STORAGE_KEY, token);
    } catch {
      // Private mode without storage: the chat works, it just does not survive a reload.
    }
  },
  clear: () => {
    try {
      localStorage.removeItem(STORAGE_KEY);
    } catch {
      // As above.
    }
  },
};

async function call(url: string, init: RequestInit, fetchImpl: typeof fetch): Promise<SessionResult> {
  let res: Response;
  try {
    res = await fetchImpl(url, init);
  } catch {
    return { ok: false, kind: "network", message: "Can't reach the server. Check your connection and try again." };
  }
  let body: unknown = undefined;
  try {
    body = await res.json();
  } catch {
    // Non-JSON bodies (a proxy's error page) are reported by status below.
  }
  if (res.ok) {
    const parsed = parseSession(body);
    if (parsed.ok) return { ok: true, snapshot: parsed.value };
    return { ok: false, kind: "server", message: `Unexpected answer from the server (${parsed.error}).` };
  }
  const detail = errorDetail(body);
  if (res.status === 400 || res.status === 404 || res.status === 422) {
    return { ok: false, kind: url.includes("/refresh_token") ? "expired" : "invalid", message: detail ?? `Request refused (${res.status}).` };
  }
  return { ok: false, kind: "server", message: detail ?? `The server answered ${res.status}. Please try again.` };
}

export function createSession(baseUrl: string, name: string, fetchImpl: typeof fetch = fetch): Promise<SessionResult> {
  const u = new URL("/token", baseUrl);
  u.searchParams.set(wire.name, name);
  return call(u.toString(), { method: "POST" }, fetchImpl);
}

export function refreshSession(baseUrl: string, token: string, fetchImpl: typeof fetch = fetch): Promise<SessionResult> {
  const u = new URL("/refresh_token", baseUrl);
  u.searchParams.set(wire.token, token);
  return call(u.toString(), { method: "GET", cache: "no-store" }, fetchImpl);
}
