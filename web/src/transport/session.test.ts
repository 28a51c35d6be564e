import { describe, expect, it } from "vitest";
import { ConversationApi, createSession, refreshSession } from "./session";

const BASE = "http://127.0.0.1:3500";

/** A fetch that answers like the gateway would, and records what it was asked. */
function answering(status: number, body: unknown) {
  const calls: { url: string; method?: string }[] = [];
  const impl = (async (url: string, init?: RequestInit) => {
    calls.push({ url, method: init?.method });
    const text = typeof body === "string" ? body : JSON.stringify(body);
    return new Response(text, { status, headers: { "content-type": "application/json" } });
  }) as typeof fetch;
  return { impl, calls };
}

describe("session calls", () => {
  it("creates a session with POST /token?name=", async () => {
    const { impl, calls } = answering(200, { token: "T", name: "Ada Lovelace", session_start: "s", messages: [] });
    const r = await createSession(BASE, "Ada Lovelace", impl);
    expect(calls).toEqual([{ url: `${BASE}/token?name=Ada+Lovelace`, method: "POST" }]);
    expect(r).toEqual({ ok: true, snapshot: { token: "T", name: "Ada Lovelace", sessionStart: "s", messages: [] } });
  });

  it("reports the server's reason for a refused name", async () => {
    const { impl } = answering(400, { detail: { loc: "name", msg: "Enter a valid name" } });
    expect(await createSession(BASE, "\u0007", impl)).toEqual({ ok: false, kind: "invalid", message: "Enter a valid name" });
  });

  it("tells an expired session from other failures", async () => {
    const expired = answering(400, { detail: "Session expired or does not exist" });
    expect(await refreshSession(BASE, "T", expired.impl)).toEqual({ ok: false, kind: "expired", message: "Session expired or does not exist" });
    expect(expired.calls[0].url).toBe(`${BASE}/refresh_token?token=T`);
    const down = answering(502, "<html>Bad gateway</html>");
    expect(await refreshSession(BASE, "T", down.impl)).toMatchObject({ ok: false, kind: "server", message: "The server answered 502. Please try again." });
    const offline = (async () => { throw new TypeError("Failed to fetch"); }) as typeof fetch;
    expect(await refreshSession(BASE, "T", offline)).toMatchObject({ ok: false, kind: "network" });
  });

  it("rejects a success answer of the wrong shape", async () => {
    const { impl } = answering(200, { token: "T", name: "Ada", messages: [{ id: "u1", source: "alien", msg: "x" }] });
    expect(await refreshSession(BASE, "T", impl)).toEqual({
      ok: false, kind: "server", message: 'Unexpected answer from the server (messages[0].source: expected "human" or "bot").',
    });
  });
});

/** A fetch answering each call from a script of [status, body], recording method, url, headers and body. */
function scripted(...answers: [number, unknown][]) {
  const calls: { url: string; method?: string; auth?: string; body?: string; keepalive?: boolean }[] = [];
  const impl = (async (url: string, init?: RequestInit) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    calls.push({ url, method: init?.method, auth: headers.Authorization, body: init?.body as string | undefined, keepalive: init?.keepalive });
    const [status, body] = answers.shift() ?? [500, {}];
    return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  }) as typeof fetch;
  return { impl, calls };
}

describe("conversation calls", () => {
  it("creates a person, then names them with Authorization: Bearer on every call", async () => {
    const u = scripted([201, { user: "U1" }]);
    expect(await ConversationApi.createUser(BASE, u.impl)).toEqual({ ok: true, value: "U1" });
    expect(u.calls).toEqual([{ url: `${BASE}/api/users`, method: "POST", auth: undefined, body: undefined, keepalive: undefined }]);

    const conv = { token: "T1", name: "You", session_start: "s", messages: [], last_event_id: "0-0", title: "" };
    const s = scripted([201, conv], [200, { conversations: [], next_cursor: null }], [200, conv], [200, { token: "T1", title: "Trip" }], [204, null]);
    const api = new ConversationApi(BASE, "U1", s.impl);
    expect(await api.create("Ada")).toMatchObject({ ok: true, value: { token: "T1", title: "" } });
    expect(await api.list("c 2", 20)).toEqual({ ok: true, value: { conversations: [], nextCursor: null } });
    expect(await api.get("T1")).toMatchObject({ ok: true, value: { token: "T1" } });
    expect(await api.rename("T1", "Trip")).toEqual({ ok: true, value: { token: "T1", title: "Trip" } });
    expect(await api.remove("T1", { keepalive: true })).toEqual({ ok: true, value: undefined });
    expect(s.calls.map((c) => [c.method, c.url, c.auth, c.body])).toEqual([
      ["POST", `${BASE}/api/conversations`, "Bearer U1", '{"name":"Ada"}'],
      ["GET", `${BASE}/api/conversations?limit=20&cursor=c+2`, "Bearer U1", undefined],
      ["GET", `${BASE}/api/conversations/T1`, "Bearer U1", undefined],
      ["PATCH", `${BASE}/api/conversations/T1`, "Bearer U1", '{"title":"Trip"}'],
      ["DELETE", `${BASE}/api/conversations/T1`, "Bearer U1", undefined],
    ]);
    expect(s.calls[4].keepalive).toBe(true);
  });

  it("sorts refusals by what the page can do about them", async () => {
    const s = scripted(
      [401, { detail: "Unknown or missing user token" }],
      [404, { detail: "Conversation not found" }],
      [400, { detail: { loc: "title", msg: "Enter a title of 1 to 80 characters" } }],
      [409, { detail: { loc: "conversations", msg: "You have 1000 conversations, the most kept; delete one to start another" } }],
      [503, { detail: "Storage is unavailable; nothing was changed; try again shortly" }],
    );
    const api = new ConversationApi(BASE, "U1", s.impl);
    expect(await api.list()).toEqual({ ok: false, kind: "unauthorized", message: "Unknown or missing user token" });
    expect(await api.get("T")).toEqual({ ok: false, kind: "not_found", message: "Conversation not found" });
    expect(await api.rename("T", "\u0007")).toEqual({ ok: false, kind: "invalid", message: "Enter a title of 1 to 80 characters" });
    expect(await api.create()).toMatchObject({ ok: false, kind: "full" });
    expect(await api.remove("T")).toEqual({ ok: false, kind: "server", message: "Storage is unavailable; nothing was changed; try again shortly" });
  });
});
