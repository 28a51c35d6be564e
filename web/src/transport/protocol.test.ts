import { describe, expect, it } from "vitest";
import { applyReady, chatUrl, clientBodies, clientFrames, codePointLength, compareStreamIds, errorDetail, isStreamId, limits, parseConversationPage, parseRenamed, parseServerFrame, parseSession, parseUser } from "./protocol";

const ok = (raw: unknown) => {
  const r = parseServerFrame(typeof raw === "string" ? raw : JSON.stringify(raw));
  if (!r.ok) throw new Error(`expected ok, got ${r.error}`);
  return r.value;
};
const err = (raw: unknown) => {
  const r = parseServerFrame(typeof raw === "string" ? raw : JSON.stringify(raw));
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.value)}`);
  return r.error;
};

const botEntry = { id: "b1", source: "bot", msg: "Hello!", timestamp: "2026-11-26T22:00:00.000Z", seq: 1, reply_to: "u1" };

describe("the ready frame's limits", () => {
  it("are checked and then used by every counter", () => {
    expect(err({ type: "ready", last_event_id: "1-0", max_message_chars: "10" })).toContain("max_message_chars");
    expect(err({ type: "ready", last_event_id: "1-0", max_message_chars: 0 })).toContain("max_message_chars");
    const before = limits.maxMessageChars;
    applyReady(ok({ type: "ready", last_event_id: "1-0", max_message_chars: 1234 }));
    expect(limits.maxMessageChars).toBe(1234);
    applyReady(ok({ type: "ready", last_event_id: "1-0" }));
    expect(limits.maxMessageChars).toBe(1234);
    limits.maxMessageChars = before;
  });
});

describe("parseServerFrame", () => {
  it("reads the gateway's ack", () => {
    expect(ok({ type: "ack", id: "u1", seq: 1, duplicate: false, client_id: "c1" })).toEqual({
      kind: "ack", messageId: "u1", clientId: "c1", duplicate: false,
    });
    expect(ok({ type: "ack", id: "u1", seq: 1, duplicate: true })).toMatchObject({ duplicate: true, clientId: undefined });
  });

  it("reads a message event, nested or flat", () => {
    const nested = ok({ type: "message", id: "5-0", message: { id: "u1", source: "human", msg: "Hi", timestamp: "t", seq: 1 } });
    expect(nested).toEqual({ kind: "message", eventId: "5-0", message: { id: "u1", source: "human", msg: "Hi", timestamp: "t" } });
    const flat = ok({ type: "message", id: "5-0", message_id: "u1", source: "human", msg: "Hi", timestamp: "t", seq: 1, client_id: "c9" });
    expect(flat).toMatchObject({ kind: "message", message: { id: "u1", source: "human", msg: "Hi", clientId: "c9" } });
  });

  it("reads the worker's reply events", () => {
    expect(ok({ type: "reply_start", reply_to: "u1", seq: 1, attempt: 1, id: "6-0" })).toEqual({ kind: "reply_start", eventId: "6-0", replyTo: "u1" });
    expect(ok({ type: "delta", reply_to: "u1", text: "Hel", id: "7-0" })).toEqual({ kind: "delta", eventId: "7-0", replyTo: "u1", text: "Hel" });
    expect(ok({ type: "reply_discard", reply_to: "u1", attempt: 1, id: "8-0" })).toEqual({ kind: "reply_discard", eventId: "8-0", replyTo: "u1" });
    expect(ok({ type: "reply_end", reply_to: "u1", finish: "stop", reply: botEntry, id: "9-0" })).toEqual({
      kind: "reply_end", eventId: "9-0", replyTo: "u1", hasText: true,
      message: { id: "b1", source: "bot", msg: "Hello!", timestamp: botEntry.timestamp, replyTo: "u1" },
    });
    expect(ok({ type: "reply_end", reply_to: "u1", message_id: "b2", stopped: true, id: "9-2" })).toEqual({
      kind: "reply_end", eventId: "9-2", replyTo: "u1", hasText: false,
      message: { id: "b2", source: "bot", msg: "", timestamp: "", replyTo: "u1", stopped: true },
    });
    expect(ok({ type: "reply_end", reply_to: "u1", text: "Hi", id: "9-3" })).toMatchObject({ hasText: true, message: { id: "reply-u1", msg: "Hi" } });
    const stopped = ok({ type: "reply_end", reply_to: "u1", finish: "cancelled", reply: { ...botEntry, stopped: true }, id: "9-1" });
    expect(stopped).toMatchObject({ message: { stopped: true } });
  });

  it("tells a reply's error event from a frame error by its event id", () => {
    const ev = ok({ type: "error", code: "model_failed", message: "model crashed", reply_to: "u1", reply: { ...botEntry, msg: "", error: "model_failed" }, id: "10-0" });
    expect(ev).toMatchObject({ kind: "reply_error", eventId: "10-0", replyTo: "u1", code: "model_failed", reply: { id: "b1", error: "model_failed" } });
    const frame = ok({ type: "error", code: "rate_limited", message: "too many messages; slow down", retry_after_ms: 1200, client_id: "c1" });
    expect(frame).toEqual({ kind: "error", code: "rate_limited", message: "too many messages; slow down", retryAfterMs: 1200, clientId: "c1" });
    expect(ok({ type: "error", code: "bad_frame", message: "unknown field 'x'", field: "x" })).toMatchObject({ field: "x" });
  });

  it("reads ready, resync_required and ignores pong", () => {
    expect(ok({ type: "ready", token: "T", name: "Ada", session_start: "s", last_event_id: "12-3" })).toEqual({ kind: "ready", lastEventId: "12-3" });
    expect(ok({ type: "ready", token: "T", name: "Ada", session_start: "s", last_event_id: "" })).toEqual({ kind: "ready" });
    expect(ok({ type: "ready", token: "T", name: "Ada", session_start: "s", last_event_id: "1-0", max_message_chars: 500 })).toEqual(
      { kind: "ready", lastEventId: "1-0", maxMessageChars: 500 });
    expect(ok({ type: "resync_required", message: "reload" })).toEqual({ kind: "resync_required" });
    expect(ok({ type: "pong" })).toEqual({ kind: "ignored", type: "pong" });
  });

  it("rejects frames of the wrong shape, naming the field", () => {
    expect(err("not json")).toBe("frame is not JSON");
    expect(err("[1,2]")).toBe("frame: expected a JSON object");
    expect(err({ kind: "ack" })).toBe("type: expected a string");
    expect(err({ type: "surprise" })).toBe('type: unknown frame type "surprise"');
    expect(err({ type: "delta", reply_to: "u1", text: 5, id: "1-0" })).toBe("text: expected a string");
    expect(err({ type: "delta", reply_to: "u1", text: "x" })).toMatch(/^id: expected a stream id/);
    expect(err({ type: "delta", reply_to: "u1", text: "x", id: "abc" })).toMatch(/^id: expected a stream id/);
    expect(err({ type: "reply_start", id: "1-0" })).toBe("reply_to: expected an id");
    expect(err({ type: "reply_end", reply_to: "u1", reply: { ...botEntry, source: "robot" }, id: "1-0" })).toBe('reply.source: expected "human" or "bot"');
    expect(err({ type: "error", code: "busy", retry_after_ms: -5 })).toBe("retry_after_ms: expected a non-negative number");
    expect(err({ type: "ack", seq: 1 })).toBe("id: expected an id");
  });
});

describe("stream ids", () => {
  it("validates the <ms>-<seq> form", () => {
    expect(isStreamId("1700000000000-0")).toBe(true);
    expect(isStreamId("0-0")).toBe(true);
    for (const bad of ["", "1", "1-", "-1", "a-1", "1-2-3", 5, null]) expect(isStreamId(bad)).toBe(false);
  });

  it("orders numerically, not as text", () => {
    expect(compareStreamIds("9-0", "10-0")).toBe(-1);
    expect(compareStreamIds("10-2", "10-10")).toBe(-1);
    expect(compareStreamIds("10-10", "10-10")).toBe(0);
    expect(compareStreamIds("18446744073709551615-1", "18446744073709551615-0")).toBe(1);
  });
});

describe("parseSession", () => {
  it("reads a refresh_token answer with history", () => {
    const r = parseSession({
      token: "T", name: "Ada", session_start: "2026-11-26T22:00:00Z",
      messages: [{ id: "u1", source: "human", msg: "Hi", timestamp: "t1", seq: 1 }, botEntry],
    });
    expect(r.ok && r.value.messages.map((m) => [m.source, m.msg, m.replyTo])).toEqual([["human", "Hi", undefined], ["bot", "Hello!", "u1"]]);
  });

  it("names the bad entry", () => {
    const r = parseSession({ token: "T", name: "Ada", messages: [botEntry, { id: "u2", source: "human" }] });
    expect(r).toEqual({ ok: false, error: "messages[1].msg: expected a string" });
    expect(parseSession({ name: "Ada" })).toEqual({ ok: false, error: "token: expected a string" });
  });

  it("keeps a last_event_id when the server sends one", () => {
    const r = parseSession({ token: "T", name: "Ada", messages: [], last_event_id: "3-0" });
    expect(r.ok && r.value.lastEventId).toBe("3-0");
  });
});

describe("client frames and urls", () => {
  it("builds the documented client frames", () => {
    expect(JSON.parse(clientFrames.message("Hi", "c1"))).toEqual({ type: "message", text: "Hi", client_id: "c1" });
    expect(JSON.parse(clientFrames.stop("u1"))).toEqual({ type: "stop", message_id: "u1" });
  });

  it("builds the chat url with an optional resume point", () => {
    expect(chatUrl("http://localhost:3500", "a b")).toBe("ws://localhost:3500/chat?token=a+b");
    expect(chatUrl("https://chat.example/", "T", "5-1")).toBe("wss://chat.example/chat?token=T&last_event_id=5-1");
  });

  it("reads both HTTP error detail forms", () => {
    expect(errorDetail({ detail: "Session expired or does not exist" })).toBe("Session expired or does not exist");
    expect(errorDetail({ detail: { loc: "name", msg: "Enter a valid name" } })).toBe("Enter a valid name");
    expect(errorDetail("nope")).toBeUndefined();
  });
});

describe("waiting and withdrawn frames", () => {
  it("parses both", () => {
    expect(parseServerFrame(JSON.stringify({ type: "waiting", reply_to: "1-0", ahead: 2, workers: 1, message: "2 messages ahead of you" })))
      .toEqual({ ok: true, value: { kind: "waiting", replyTo: "1-0", ahead: 2, workers: 1, message: "2 messages ahead of you" } });
    expect(parseServerFrame(JSON.stringify({ id: "3-0", type: "message_withdrawn", message_id: "1-0", seq: 1 })))
      .toEqual({ ok: true, value: { kind: "message_withdrawn", eventId: "3-0", messageId: "1-0" } });
  });
});

describe("a person and their conversations", () => {
  it("reads the user token, the list page, a conversation and a rename", () => {
    expect(parseUser({ user: "U1" })).toEqual({ ok: true, value: "U1" });
    expect(parseUser({ token: "U1" })).toEqual({ ok: false, error: "user: expected a string" });
    const page = parseConversationPage({
      conversations: [{ token: "T1", title: "Trip", created: "2026-12-01T10:00:00.000Z", updated: "2026-12-01T11:00:00.000Z", messages: 4, preview: "Sure, here" }],
      next_cursor: "c2",
    });
    expect(page).toEqual({ ok: true, value: { conversations: [{ token: "T1", title: "Trip", created: "2026-12-01T10:00:00.000Z", updated: "2026-12-01T11:00:00.000Z", messages: 4, preview: "Sure, here" }], nextCursor: "c2" } });
    expect(parseConversationPage({ conversations: [], next_cursor: null })).toEqual({ ok: true, value: { conversations: [], nextCursor: null } });
    const conv = parseSession({ token: "T1", name: "You", session_start: "s", messages: [], last_event_id: "0-0", title: "Trip" });
    expect(conv.ok && conv.value.title).toBe("Trip");
    expect(parseRenamed({ token: "T1", title: "New" })).toEqual({ ok: true, value: { token: "T1", title: "New" } });
  });

  it("rejects a list of the wrong shape, naming the field", () => {
    expect(parseConversationPage({ conversations: {} })).toEqual({ ok: false, error: "conversations: expected an array" });
    expect(parseConversationPage({ conversations: [{ token: "T", title: "x", messages: "4" }] }))
      .toEqual({ ok: false, error: "conversations[0].messages: expected a count" });
    expect(parseConversationPage({ conversations: [{ token: "T", messages: 1 }] }))
      .toEqual({ ok: false, error: "conversations[0].title: expected a string" });
  });

  it("builds the bodies and the person's chat url", () => {
    expect(JSON.parse(clientBodies.rename("Holiday"))).toEqual({ title: "Holiday" });
    expect(JSON.parse(clientBodies.create())).toEqual({});
    expect(JSON.parse(clientBodies.create("Ada"))).toEqual({ name: "Ada" });
    expect(chatUrl("http://localhost:3500", "T", "5-1", "U")).toBe("ws://localhost:3500/chat?token=T&last_event_id=5-1&user=U");
  });

  it("counts message length in code points, as the gateway does", () => {
    expect(codePointLength("abc")).toBe(3);
    expect("😀".length).toBe(2);
    expect(codePointLength("😀😀")).toBe(2);
    expect(codePointLength("é")).toBe(1);
    expect(codePointLength("")).toBe(0);
  });
});
