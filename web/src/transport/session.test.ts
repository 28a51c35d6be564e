import { describe, expect, it } from "vitest";
import { createSession, refreshSession } from "./session";

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
