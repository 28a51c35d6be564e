import { describe, expect, it } from "vitest";
import type { ServerEvent, SessionSnapshot } from "../transport/protocol";
import { activeReply, resumePoint, chatReducer, describeError, initialChatState, isGenerating, type ChatAction, type ChatState } from "./chat";

const NOW = 1_800_000_000_000;
const snapshot = (messages: SessionSnapshot["messages"] = []): SessionSnapshot => ({ token: "T", name: "Ada", sessionStart: "s", messages });
const run = (state: ChatState, ...actions: ChatAction[]) => actions.reduce(chatReducer, state);
const server = (event: ServerEvent): ChatAction => ({ type: "server", event, now: NOW });
const loaded = (messages: SessionSnapshot["messages"] = []) => run(initialChatState, { type: "session_loaded", snapshot: snapshot(messages) });
const view = (s: ChatState) => s.messages.map((m) => `${m.role}:${m.text}:${m.status}`);

const human = (id: string, msg: string) => ({ id, source: "human" as const, msg, timestamp: "2026-11-26T22:00:00Z" });
const bot = (id: string, replyTo: string, msg: string, extra = {}) => ({ id, source: "bot" as const, msg, timestamp: "2026-11-26T22:00:01Z", replyTo, ...extra });
const ack = (clientId: string, messageId: string): ChatAction => server({ kind: "ack", clientId, messageId, duplicate: false });
const start = (eventId: string, replyTo = "u1") => server({ kind: "reply_start", eventId, replyTo });
const delta = (eventId: string, text: string, replyTo = "u1") => server({ kind: "delta", eventId, replyTo, text });
const end = (eventId: string, msg: string, extra = {}, replyTo = "u1") =>
  server({ kind: "reply_end", eventId, replyTo, message: bot("b-" + replyTo, replyTo, msg, extra), hasText: true });

describe("chat store", () => {
  it("loads the history of a session", () => {
    const s = loaded([human("u1", "Hi"), bot("b1", "u1", "Hello"), human("u2", "Stop"), bot("b2", "u2", "Hel", { stopped: true })]);
    expect(s.name).toBe("Ada");
    expect(view(s)).toEqual(["user:Hi:sent", "assistant:Hello:done", "user:Stop:sent", "assistant:Hel:stopped"]);
  });

  it("shows a sent message at once and marks it stored on ack", () => {
    let s = run(loaded(), { type: "local_send", clientId: "c1", text: "Hi", timestamp: "t" });
    expect(view(s)).toEqual(["user:Hi:sending"]);
    expect(isGenerating(s)).toBe(true);
    s = run(s, ack("c1", "u1"));
    expect(s.messages[0]).toMatchObject({ id: "u1", status: "sent", key: "c1" });
    expect(activeReply(s)).toBe("u1");
  });

  it("merges the message event and the ack in either order, never doubling the message", () => {
    const msgEvent = server({ kind: "message", eventId: "1-0", message: human("u1", "Hi") });
    const send: ChatAction = { type: "local_send", clientId: "c1", text: "Hi", timestamp: "t" };
    const eventFirst = run(loaded(), send, msgEvent, ack("c1", "u1"), msgEvent);
    const ackFirst = run(loaded(), send, ack("c1", "u1"), msgEvent, ack("c1", "u1"));
    for (const s of [eventFirst, ackFirst]) {
      expect(view(s)).toEqual(["user:Hi:sent"]);
      expect(s.messages[0]).toMatchObject({ id: "u1", key: "c1" });
    }
  });

  it("shows messages sent from another tab", () => {
    const s = run(loaded(), server({ kind: "message", eventId: "1-0", message: human("u1", "from tab B") }));
    expect(view(s)).toEqual(["user:from tab B:sent"]);
  });

  it("streams a reply token by token and ends with the stored text", () => {
    let s = run(loaded([human("u1", "Hi")]), start("2-0"));
    expect(view(s)).toEqual(["user:Hi:sent", "assistant::streaming"]);
    s = run(s, delta("3-0", "Hel"), delta("4-0", "lo"));
    expect(view(s)[1]).toBe("assistant:Hello:streaming");
    expect(activeReply(s)).toBe("u1");
    s = run(s, end("5-0", "Hello"));
    expect(view(s)[1]).toBe("assistant:Hello:done");
    expect(s.messages[1]).toMatchObject({ id: "b-u1", key: "reply-u1", replyTo: "u1" });
    expect(isGenerating(s)).toBe(false);
  });

  it("ignores a replay of a finished reply, so its text appears exactly once", () => {
    const done = run(loaded([human("u1", "Hi")]), start("2-0"), delta("3-0", "Hello"), end("4-0", "Hello"));
    const replayed = run(done, start("2-0"), delta("3-0", "Hello"), end("4-0", "Hello"));
    expect(replayed).toBe(done);
    const fromHistory = run(loaded([human("u1", "Hi"), bot("b-u1", "u1", "Hello")]), start("2-0"), delta("3-0", "Hello"), end("4-0", "Hello"));
    expect(view(fromHistory)).toEqual(["user:Hi:sent", "assistant:Hello:done"]);
  });

  it("drops a dead attempt's partial text on reply_discard", () => {
    const s = run(loaded([human("u1", "Hi")]), start("2-0"), delta("3-0", "Hel"), server({ kind: "reply_discard", eventId: "4-0", replyTo: "u1" }));
    expect(view(s)[1]).toBe("assistant::streaming");
    expect(view(run(s, start("5-0"), delta("6-0", "Hello"), end("7-0", "Hello")))[1]).toBe("assistant:Hello:done");
  });

  it("joins a reply already in progress and lets reply_end complete it", () => {
    const s = run(loaded([human("u1", "Hi")]), delta("9-0", "lo"));
    expect(view(s)[1]).toBe("assistant:lo:streaming");
    expect(view(run(s, end("10-0", "Hello")))[1]).toBe("assistant:Hello:done");
  });

  it("keeps the streamed text when reply_end carries none", () => {
    const s = run(loaded([human("u1", "Hi")]), start("2-0"), delta("3-0", "Hel"),
      server({ kind: "reply_end", eventId: "4-0", replyTo: "u1", message: bot("reply-u1", "u1", "", { stopped: true }), hasText: false }));
    expect(view(s)[1]).toBe("assistant:Hel:stopped");
  });

  it("marks a stopped reply and keeps its partial text", () => {
    const s = run(loaded([human("u1", "Hi")]), start("2-0"), delta("3-0", "Hel"), end("4-0", "Hel", { stopped: true }));
    expect(view(s)[1]).toBe("assistant:Hel:stopped");
  });

  it("places each reply after its own question", () => {
    const s = run(loaded([human("u1", "one"), human("u2", "two")]), start("2-0", "u2"), start("3-0", "u1"));
    expect(s.messages.map((m) => m.replyTo ?? m.id)).toEqual(["u1", "u1", "u2", "u2"]);
  });

  it("turns a refused message into a human notice with the wait", () => {
    let s = run(loaded(), { type: "local_send", clientId: "c1", text: "Hi", timestamp: "t" });
    s = run(s, server({ kind: "error", code: "rate_limited", message: "too many", retryAfterMs: 2500, clientId: "c1" }));
    expect(s.messages[0]).toMatchObject({ status: "failed", errorCode: "rate_limited" });
    expect(s.notice).toEqual({ code: "rate_limited", text: "You're sending messages too quickly. Try again in 3 s.", retryAt: NOW + 2500 });
    s = run(s, { type: "resend", clientId: "c1" });
    expect(s.messages[0].status).toBe("sending");
    expect(s.notice).toBeNull();
  });

  it("applies busy to the oldest unacknowledged message when the frame names none", () => {
    const s = run(loaded(), { type: "local_send", clientId: "c1", text: "a", timestamp: "t" }, server({ kind: "error", code: "busy", message: "", retryAfterMs: 1000 }));
    expect(s.messages[0].status).toBe("failed");
    expect(s.notice?.text).toMatch(/busy/);
  });

  it("marks a failed generation on the reply", () => {
    const s = run(loaded([human("u1", "Hi")]), start("2-0"), server({
      kind: "reply_error", eventId: "3-0", replyTo: "u1", code: "model_failed", message: "model failed",
      reply: bot("b1", "u1", "", { error: "model_failed" }),
    }));
    expect(s.messages[1]).toMatchObject({ status: "error", errorCode: "model_failed", id: "b1" });
    expect(s.notice?.code).toBe("model_failed");
    expect(isGenerating(s)).toBe(false);
  });

  it("drops the partial text of the last attempt when the reply fails for good", () => {
    const s = run(loaded([human("u1", "Hi")]), start("2-0"), delta("3-0", "half a sen"), server({
      kind: "reply_error", eventId: "4-0", replyTo: "u1", code: "model_failed", message: "model failed",
    }));
    expect(s.messages[1]).toMatchObject({ status: "error", errorCode: "model_failed", text: "" });
  });

  it("remembers an expired session and gives up on unsent messages", () => {
    const pending: ChatAction = { type: "local_send", clientId: "c1", text: "Hi", timestamp: "t" };
    const s = run(loaded(), pending, server({ kind: "error", code: "session_expired", message: "" }));
    expect(s.expired).toBe(true);
    expect(s.messages[0]).toMatchObject({ status: "failed", errorCode: "session_expired" });
    expect(isGenerating(s)).toBe(false);
    expect(run(loaded(), pending, { type: "connection", status: "expired" }).messages[0].status).toBe("failed");
    expect(s.notice?.text).toMatch(/new chat/i);
    expect(run(loaded(), { type: "connection", status: "expired" }).expired).toBe(true);
  });

  it("keeps unsent messages and live replies across a history reload of the same session", () => {
    let s = run(loaded([human("u1", "Hi")]), start("2-0"), delta("3-0", "Hel"), { type: "local_send", clientId: "c2", text: "more", timestamp: "t" });
    s = run(s, { type: "session_loaded", snapshot: snapshot([human("u1", "Hi")]) });
    expect(view(s)).toEqual(["user:Hi:sent", "assistant:Hel:streaming", "user:more:sending"]);
    s = run(s, { type: "session_loaded", snapshot: snapshot([human("u1", "Hi"), bot("b1", "u1", "Hello")]) });
    expect(view(s)).toEqual(["user:Hi:sent", "assistant:Hello:done", "user:more:sending"]);
  });

  it("starts empty for a new session", () => {
    const old = loaded([human("u1", "Hi")]);
    const s = run(old, { type: "session_loaded", snapshot: { ...snapshot(), token: "T2" } });
    expect(s.messages).toEqual([]);
  });

  it("has a human sentence for every documented error code", () => {
    const codes = ["bad_frame", "unknown_type", "binary_not_supported", "empty_message", "message_too_long", "invalid_text",
      "rate_limited", "busy", "unavailable", "session_expired", "internal", "model_failed"];
    for (const c of codes) {
      const text = describeError(c);
      expect(text).toMatch(/^[A-Z].*[.!]$/);
      expect(text).not.toContain("_");
    }
    expect(describeError("busy", 10_000)).toBe("The assistant is busy with other conversations right now. Try again in 10 s.");
  });

  it("resumes after the snapshot unless a reply may be streaming already", () => {
    const at = (messages: SessionSnapshot["messages"]) => resumePoint({ ...snapshot(messages), lastEventId: "9-0" }, "0-0");
    expect(at([])).toBe("9-0");
    expect(at([human("u1", "Hi"), bot("b1", "u1", "Hello")])).toBe("9-0");
    expect(at([human("u1", "Hi"), bot("b1", "u1", "Hello"), human("u2", "More")])).toBe("0-0");
    expect(resumePoint(snapshot([]), "0-0")).toBe("0-0");
  });
});

describe("honest waiting", () => {
  it("shows the server's words while a message waits, until a worker answers", () => {
    let s = run(loaded([human("u1", "hi")]), server({ kind: "waiting", replyTo: "u1", ahead: 3, workers: 1, message: "3 messages ahead of you" }));
    expect(s.notice).toEqual({ code: "waiting", text: "3 messages ahead of you" });
    s = run(s, start("5-0"));
    expect(s.notice).toBeNull();
  });

  it("removes a message withdrawn by a stop before any reply started", () => {
    const s = run(loaded([human("u0", "kept"), bot("b0", "u0", "yes"), human("u1", "never mind")]),
      server({ kind: "waiting", replyTo: "u1", ahead: 0, workers: 0, message: "No model is running right now." }),
      server({ kind: "message_withdrawn", eventId: "9-0", messageId: "u1" }));
    expect(view(s)).toEqual(["user:kept:sent", "assistant:yes:done"]);
    expect(s.notice).toBeNull();
  });
});

describe("chat store: conversations", () => {
  it("takes the title from the snapshot and follows a rename of this conversation only", () => {
    let s = run(initialChatState, { type: "session_loaded", snapshot: { ...snapshot(), title: "Trip plans" } });
    expect(s.title).toBe("Trip plans");
    s = run(s, { type: "renamed", token: "other", title: "x" });
    expect(s.title).toBe("Trip plans");
    expect(run(s, { type: "renamed", token: "T", title: "Holiday" }).title).toBe("Holiday");
  });

  it("marks a conversation deleted elsewhere: nothing pending will be sent, nothing is generating", () => {
    let s = run(loaded([human("u1", "Hi")]), { type: "local_send", clientId: "c1", text: "more", timestamp: "t" });
    s = run(s, { type: "connection", status: "deleted" });
    expect(s.deleted).toBe(true);
    expect(view(s)).toEqual(["user:Hi:sent", "user:more:failed"]);
    expect(isGenerating(s)).toBe(false);
  });

  it("starts a switched-to conversation afresh: its own messages, no notice of the other", () => {
    const a = run(loaded([human("u1", "in A")]), server({ kind: "error", code: "busy", message: "", retryAfterMs: 1000 }));
    expect(a.notice?.code).toBe("busy");
    const b = run(a, { type: "session_loaded", snapshot: { token: "B", name: "You", sessionStart: "s", messages: [human("v1", "in B")], title: "" } });
    expect(view(b)).toEqual(["user:in B:sent"]);
    expect(b.notice).toBeNull();
    expect(b.connection).toBe("connecting");
  });
});
