import { beforeEach, describe, expect, it } from "vitest";
import { ChatConnection, type ConnectionOptions, type ConnectionStatus, type SocketLike } from "./connection";
import type { ServerEvent } from "./protocol";

/** A scripted stand-in for the browser's WebSocket: the test plays the server. */
class ScriptedSocket implements SocketLike {
  readyState = 0;
  onopen: SocketLike["onopen"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onclose: SocketLike["onclose"] = null;
  onerror: SocketLike["onerror"] = null;
  sent: unknown[] = [];
  closedWith: number | undefined;
  constructor(readonly url: string) {}
  send(data: string) {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sent.push(JSON.parse(data));
  }
  close(code?: number) {
    this.closedWith = code;
    this.readyState = 3;
  }
  // server side
  accept() {
    this.readyState = 1;
    this.onopen?.({});
  }
  push(frame: unknown) {
    this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code, reason: "" });
  }
}

interface Harness {
  conn: ChatConnection;
  sockets: ScriptedSocket[];
  events: ServerEvent[];
  statuses: ConnectionStatus[];
  invalid: string[];
  timers: { fn: () => void; ms: number }[];
  fireTimer: () => number;
  last: () => ScriptedSocket;
}

function harness(overrides: Partial<ConnectionOptions> = {}): Harness {
  const sockets: ScriptedSocket[] = [];
  const events: ServerEvent[] = [];
  const statuses: ConnectionStatus[] = [];
  const invalid: string[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const conn = new ChatConnection({
    baseUrl: "http://127.0.0.1:3500",
    token: "T",
    createSocket: (url) => {
      const s = new ScriptedSocket(url);
      sockets.push(s);
      return s;
    },
    onEvent: (e) => events.push(e),
    onStatus: (s) => statuses.push(s),
    onInvalidFrame: (e) => invalid.push(e),
    random: () => 0.5,
    backoff: { baseMs: 1000, maxMs: 8000, minMs: 100 },
    setTimer: (fn, ms) => {
      const t = { fn, ms };
      timers.push(t);
      return t;
    },
    clearTimer: (h) => {
      const i = timers.indexOf(h as (typeof timers)[number]);
      if (i >= 0) timers.splice(i, 1);
    },
    ...overrides,
  });
  return {
    conn, sockets, events, statuses, invalid, timers,
    fireTimer: () => {
      const t = timers.shift();
      if (!t) throw new Error("no timer pending");
      t.fn();
      return t.ms;
    },
    last: () => sockets[sockets.length - 1],
  };
}

const delta = (id: string, text: string) => ({ type: "delta", reply_to: "u1", text, id });
const flush = () => new Promise((r) => setTimeout(r, 0));

describe("ChatConnection", () => {
  let h: Harness;
  beforeEach(() => {
    h = harness({ lastEventId: "0-0" });
    h.conn.start();
  });

  it("connects with the resume point and reports the open socket", () => {
    expect(h.last().url).toBe("ws://127.0.0.1:3500/chat?token=T&last_event_id=0-0");
    h.last().accept();
    expect(h.conn.status).toBe("open");
    expect(h.statuses).toEqual(["open"]);
  });

  it("delivers each event once, in stream order, dropping replays", () => {
    h.last().accept();
    h.last().push(delta("5-0", "a"));
    h.last().push(delta("5-0", "a"));
    h.last().push(delta("4-9", "old"));
    h.last().push(delta("5-1", "b"));
    h.last().push(delta("10-0", "c"));
    h.last().push(delta("9-5", "late"));
    expect(h.events.map((e) => (e.kind === "delta" ? e.text : e.kind))).toEqual(["a", "b", "c"]);
    expect(h.conn.lastEventId).toBe("10-0");
  });

  it("reconnects with backoff after a drop and resumes after the last event", () => {
    h.last().accept();
    h.last().push(delta("7-0", "He"));
    h.last().drop();
    expect(h.conn.status).toBe("reconnecting");
    expect(h.timers.map((t) => t.ms)).toEqual([550]);
    h.fireTimer();
    expect(h.sockets).toHaveLength(2);
    expect(h.last().url).toContain("last_event_id=7-0");
    h.last().accept();
    // The server replays from after 7-0; an overlap would be dropped too.
    h.last().push(delta("7-0", "He"));
    h.last().push(delta("8-0", "llo"));
    expect(h.events.map((e) => (e.kind === "delta" ? e.text : ""))).toEqual(["He", "llo"]);
  });

  it("backs off further on each failed attempt and resets once connected", async () => {
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      h.last().drop();
      await flush();
      delays.push(h.fireTimer());
    }
    expect(delays).toEqual([550, 1050, 2050, 4050]);
    h.last().accept();
    h.last().drop();
    expect(h.fireTimer()).toBe(550);
  });

  it("resends unacknowledged messages with the same client id after reconnecting", () => {
    h.last().accept();
    h.conn.send("first", "c1");
    h.conn.send("second", "c2");
    h.last().push({ type: "ack", id: "u1", seq: 1, duplicate: false, client_id: "c1" });
    h.last().drop();
    h.fireTimer();
    h.last().accept();
    expect(h.last().sent).toEqual([{ type: "message", text: "second", client_id: "c2" }]);
    expect(h.conn.unacknowledged).toEqual(["c2"]);
  });

  it("queues messages and stops while offline and sends them on open", () => {
    h.conn.send("hello", "c1");
    h.conn.stop("u0");
    expect(h.last().sent).toEqual([]);
    h.last().accept();
    expect(h.last().sent).toEqual([
      { type: "message", text: "hello", client_id: "c1" },
      { type: "stop", message_id: "u0" },
    ]);
  });

  it("forgets a message the server refused", () => {
    h.last().accept();
    h.conn.send("spam", "c1");
    h.last().push({ type: "error", code: "rate_limited", message: "slow down", retry_after_ms: 900, client_id: "c1" });
    expect(h.conn.unacknowledged).toEqual([]);
    expect(h.events).toEqual([{ kind: "error", code: "rate_limited", message: "slow down", retryAfterMs: 900, clientId: "c1" }]);
  });

  it("reports invalid frames without delivering them", () => {
    h.last().accept();
    h.last().push("{oops");
    h.last().push({ type: "delta", reply_to: "u1", id: "1-0" });
    h.last().onmessage?.({ data: new ArrayBuffer(2) });
    expect(h.invalid).toEqual(["frame is not JSON", "text: expected a string", "binary frame"]);
    expect(h.events).toEqual([]);
    expect(h.conn.status).toBe("open");
  });

  it("stops retrying when the session turns out to be expired", async () => {
    h = harness({ checkSession: async () => "expired" });
    h.conn.start();
    h.last().drop(1006);
    await flush();
    expect(h.conn.status).toBe("expired");
    expect(h.timers).toEqual([]);
    expect(h.events).toEqual([{ kind: "error", code: "session_expired", message: "" }]);
  });

  it("keeps retrying when the session check says it is alive", async () => {
    h = harness({ checkSession: async () => "alive" });
    h.conn.start();
    h.last().drop(1006);
    await flush();
    expect(h.conn.status).toBe("reconnecting");
    expect(h.timers).toHaveLength(1);
  });

  it("connects to a person's conversation with user= and stops for good when it is deleted (4004)", () => {
    h = harness({ user: "U1" });
    h.conn.start();
    expect(h.last().url).toBe("ws://127.0.0.1:3500/chat?token=T&user=U1");
    h.last().accept();
    h.conn.send("unsent", "c1");
    h.last().drop(4004);
    expect(h.conn.status).toBe("deleted");
    expect(h.statuses.at(-1)).toBe("deleted");
    expect(h.timers).toEqual([]);
    expect(h.conn.unacknowledged).toEqual([]);
    h.conn.reconnectNow();
    expect(h.sockets).toHaveLength(1);
  });

  it("stops retrying when the check after a refused handshake says the conversation is gone", async () => {
    h = harness({ user: "U1", checkSession: async () => "deleted" });
    h.conn.start();
    h.last().drop(1006);
    await flush();
    expect(h.conn.status).toBe("deleted");
    expect(h.timers).toEqual([]);
  });

  it("treats a session_expired error frame as final", () => {
    h.last().accept();
    h.last().push({ type: "error", code: "session_expired", message: "Session expired or does not exist" });
    expect(h.conn.status).toBe("expired");
    h.last().drop();
    expect(h.timers).toEqual([]);
  });

  it("pauses on resync_required until the owner reloads, then resumes from the new point", () => {
    h.last().accept();
    h.last().push({ type: "resync_required", message: "reload" });
    h.last().push(delta("50-0", "ignored until resync"));
    expect(h.events).toEqual([{ kind: "resync_required" }]);
    h.conn.resync("60-0");
    expect(h.sockets).toHaveLength(2);
    expect(h.sockets[0].closedWith).toBe(1000);
    expect(h.last().url).toContain("last_event_id=60-0");
    h.last().accept();
    h.last().push(delta("61-0", "x"));
    expect(h.events.at(-1)).toMatchObject({ kind: "delta", text: "x" });
  });

  it("takes its position from the ready frame when it had none", () => {
    h = harness();
    h.conn.start();
    expect(h.last().url).not.toContain("last_event_id");
    h.last().accept();
    h.last().push({ type: "ready", token: "T", name: "Ada", session_start: "s", last_event_id: "30-0" });
    h.last().push(delta("29-0", "old"));
    expect(h.conn.lastEventId).toBe("30-0");
    expect(h.events).toEqual([{ kind: "ready", lastEventId: "30-0" }]);
  });

  it("does nothing more once closed by its owner", () => {
    h.last().accept();
    h.conn.close();
    expect(h.conn.status).toBe("closed");
    expect(h.last().closedWith).toBe(1000);
    expect(h.timers).toEqual([]);
    h.conn.reconnectNow();
    expect(h.sockets).toHaveLength(1);
  });

  it("a simulated drop behaves like a network failure", () => {
    h.last().accept();
    h.conn.simulateDrop();
    expect(h.last().closedWith).toBe(4000);
    h.last().drop(4000);
    expect(h.conn.status).toBe("reconnecting");
  });

  it("pings a quiet socket and replaces it when nothing comes back", () => {
    h = harness({ heartbeatMs: 15_000 });
    h.conn.start();
    h.last().accept();
    expect(h.timers.map((t) => t.ms)).toEqual([15_000]);
    h.fireTimer();
    expect(h.last().sent).toEqual([{ type: "ping" }]);
    h.last().push({ type: "pong" });
    h.fireTimer();
    expect(h.last().sent).toEqual([{ type: "ping" }, { type: "ping" }]);
    expect(h.sockets).toHaveLength(1);
    // No pong this time: the next tick gives up on the socket and schedules a reconnect.
    h.fireTimer();
    expect(h.sockets[0].closedWith).toBe(4000);
    expect(h.conn.status).toBe("reconnecting");
    expect(h.timers.map((t) => t.ms)).toEqual([550]);
    h.fireTimer();
    expect(h.sockets).toHaveLength(2);
  });

  it("stops a message's reply as soon as its ack tells the id", () => {
    h.last().accept();
    h.conn.send("long story", "c1");
    h.conn.stopUnacknowledged("c1");
    h.conn.stopUnacknowledged("unknown");
    expect(h.last().sent).toEqual([{ type: "message", text: "long story", client_id: "c1" }]);
    h.last().push({ type: "ack", id: "u7", seq: 1, duplicate: false, client_id: "c1" });
    expect(h.last().sent.at(-1)).toEqual({ type: "stop", message_id: "u7" });
    h.last().push({ type: "ack", id: "u7", seq: 1, duplicate: true, client_id: "c1" });
    expect(h.last().sent).toHaveLength(2);
  });
});

describe("ChatConnection and message versions", () => {
  let h: Harness;
  beforeEach(() => {
    h = harness({ lastEventId: "0-0" });
    h.conn.start();
  });

  it("keeps edits, regenerates and continues until acknowledged and resends them with their client id", () => {
    h.conn.edit("1-0", "Fixed", "c1");
    h.last().accept();
    h.conn.regenerate("2-0", "c2");
    h.conn.continueReply("3-0", "c3");
    expect(h.last().sent).toEqual([
      { type: "edit", message_id: "1-0", text: "Fixed", client_id: "c1" },
      { type: "regenerate", message_id: "2-0", client_id: "c2" },
      { type: "continue", message_id: "3-0", client_id: "c3" },
    ]);
    h.last().push({ type: "ack", id: "9-0", seq: 2, duplicate: false, client_id: "c1" });
    h.last().push({ type: "error", code: "reply_in_progress", message: "wait", client_id: "c3" });
    expect(h.conn.unacknowledged).toEqual(["c2"]);
    h.last().drop();
    h.fireTimer();
    h.last().accept();
    expect(h.last().sent).toEqual([{ type: "regenerate", message_id: "2-0", client_id: "c2" }]);
  });

  it("sends a switch at once when open, else on the next open; it is never resent after that", () => {
    h.conn.switchVersion("2-0", 1);
    expect(h.last().sent).toEqual([]);
    h.last().accept();
    expect(h.last().sent).toEqual([{ type: "switch", message_id: "2-0", version: 1 }]);
    h.conn.switchVersion("2-0", 2);
    expect(h.last().sent).toHaveLength(2);
    h.last().drop();
    h.fireTimer();
    h.last().accept();
    expect(h.last().sent).toEqual([]);
  });

  it("delivers an event that changes the branch, then nothing until the owner resyncs", () => {
    h.last().accept();
    h.last().push({ type: "branch", id: "40-0", leaf: "5-0", message_id: "2-0", version: 1, versions: 2 });
    h.last().push(delta("41-0", "before the reload"));
    h.last().push({ type: "ack", id: "1-0", seq: 1, duplicate: true, client_id: "c9" });
    expect(h.events.map((e) => e.kind)).toEqual(["branch", "ack"]);
    expect(h.conn.lastEventId).toBe("40-0");
    h.conn.resync("40-0");
    expect(h.last().url).toContain("last_event_id=40-0");
    h.last().accept();
    h.last().push(delta("41-0", "after"));
    expect(h.events.at(-1)).toMatchObject({ kind: "delta", text: "after" });
  });

  it("pauses likewise after an edit's message, reply_requested and reply_withdrawn, but not a plain message", () => {
    h.last().accept();
    h.last().push({ type: "message", id: "10-0", message_id: "10-0", source: "human", msg: "Hi", timestamp: "t", seq: 1 });
    h.last().push(delta("11-0", "live"));
    expect(h.events.map((e) => e.kind)).toEqual(["message", "delta"]);
    const changing = [
      { type: "message", id: "12-0", message_id: "12-0", source: "human", msg: "Fixed", timestamp: "t", seq: 2, edit_of: "10-0", version: 2, versions: 2 },
      { type: "reply_requested", id: "13-0", kind: "regenerate", reply_to: "12-0", message_id: "14-0", seq: 3 },
      { type: "reply_withdrawn", id: "15-0", reply_to: "12-0", seq: 3, leaf: "14-0" },
    ];
    for (const frame of changing) {
      const before = h.events.length;
      h.last().push(frame);
      h.last().push(delta("99-0", "dropped"));
      expect(h.events.slice(before).map((e) => e.kind)).toEqual([frame.type]);
      h.conn.resync(frame.id);
      h.last().accept();
    }
  });
});
