// The store's side of message versions: what an edit, regenerate, continue and switch do to the
// list, here and from another tab, a history reload racing the live events, and replays and
// duplicates that must never double a message.
import { describe, expect, it } from "vitest";
import type { HistoryMessage, ServerEvent, SessionSnapshot } from "../transport/protocol";
import { activeReply, chatReducer, describeError, initialChatState, isGenerating, resumePoint, type ChatAction, type ChatState } from "./chat";
import { versionStep } from "./versions";

const run = (state: ChatState, ...actions: ChatAction[]) => actions.reduce(chatReducer, state);
const server = (event: ServerEvent): ChatAction => ({ type: "server", event, now: 0 });
const snap = (messages: HistoryMessage[], lastEventId?: string): SessionSnapshot => ({ token: "T", name: "You", sessionStart: "s", messages, lastEventId });
const reload = (messages: HistoryMessage[], lastEventId?: string): ChatAction => ({ type: "session_loaded", snapshot: snap(messages, lastEventId) });
const loaded = (messages: HistoryMessage[]) => run(initialChatState, reload(messages));
const view = (s: ChatState) => s.messages.map((m) => `${m.role}:${m.text}:${m.status}${m.versions ? `:${m.version}/${m.versions}` : ""}`);

const human = (id: string, msg: string, extra: Partial<HistoryMessage> = {}): HistoryMessage => ({ id, source: "human", msg, timestamp: "t", ...extra });
const bot = (id: string, replyTo: string, msg: string, extra: Partial<HistoryMessage> = {}): HistoryMessage => ({ id, source: "bot", msg, timestamp: "t", replyTo, ...extra });
const start = (eventId: string, replyTo: string, extra: Partial<Extract<ServerEvent, { kind: "reply_start" }>> = {}) =>
  server({ kind: "reply_start", eventId, replyTo, ...extra });
const delta = (eventId: string, replyTo: string, text: string) => server({ kind: "delta", eventId, replyTo, text });
const end = (eventId: string, replyTo: string, message: HistoryMessage) => server({ kind: "reply_end", eventId, replyTo, message, hasText: true });
const requested = (eventId: string, request: "regenerate" | "continue", replyTo: string, messageId: string, clientId?: string) =>
  server({ kind: "reply_requested", eventId, request, replyTo, messageId, clientId });

// A conversation of two turns: 1-0 "Hi" → 2-0, 3-0 "More" → 4-0.
const twoTurns = [human("1-0", "Hi"), bot("2-0", "1-0", "Hello"), human("3-0", "More"), bot("4-0", "3-0", "Sure")];

describe("edit", () => {
  it("shows an own edit at once in place of the message, drops what followed, then takes the server's copy", () => {
    let s = run(loaded(twoTurns), { type: "local_edit", clientId: "c1", messageId: "1-0", text: "Hey", timestamp: "t2" });
    expect(view(s)).toEqual(["user:Hey:sending:2/2"]);
    expect(isGenerating(s)).toBe(true);
    const event = server({ kind: "message", eventId: "5-0", message: human("5-0", "Hey", { clientId: "c1", editOf: "1-0", version: 2, versions: 2 }) });
    s = run(s, event, server({ kind: "ack", clientId: "c1", messageId: "5-0", duplicate: false }), event);
    expect(view(s)).toEqual(["user:Hey:sent:2/2"]);
    expect(s.messages[0]).toMatchObject({ id: "5-0", key: "c1" });
    expect(s.pendingVersion).toBeNull();
    expect(activeReply(s)).toBe("5-0");
    s = run(s, reload([human("5-0", "Hey", { version: 2, versions: 2 })], "5-0"), start("6-0", "5-0"), delta("7-0", "5-0", "Yo"), end("8-0", "5-0", bot("8-0", "5-0", "Yo")));
    expect(view(s)).toEqual(["user:Hey:sent:2/2", "assistant:Yo:done"]);
    expect(isGenerating(s)).toBe(false);
  });

  it("replaces the edited message and what followed when the edit comes from another tab", () => {
    const event = server({ kind: "message", eventId: "5-0", message: human("5-0", "Again?", { editOf: "3-0", version: 2, versions: 2 }) });
    const s = run(loaded(twoTurns), event, event);
    expect(view(s)).toEqual(["user:Hi:sent", "assistant:Hello:done", "user:Again?:sent:2/2"]);
  });

  it("puts everything back and says why when the server refuses the edit", () => {
    const before = loaded(twoTurns);
    const s = run(before, { type: "local_edit", clientId: "c1", messageId: "3-0", text: "x", timestamp: "t" },
      server({ kind: "error", code: "reply_in_progress", message: "a reply is being written", clientId: "c1" }));
    expect(s.messages).toEqual(before.messages);
    expect(s.pendingVersion).toBeNull();
    expect(s.notice?.text).toBe(describeError("reply_in_progress"));
    expect(isGenerating(s)).toBe(false);
    // What was typed is offered again in the edit box, once.
    expect(s.editDraft).toEqual({ messageId: "3-0", text: "x" });
    expect(run(s, { type: "draft_shown" }).editDraft).toBeNull();
    expect(run(s, { type: "local_edit", clientId: "c2", messageId: "3-0", text: "y", timestamp: "t" }).editDraft).toBeNull();
  });

  it("undoes a refused edit to the reloaded history when a reload came in between", () => {
    const s = run(loaded(twoTurns), { type: "local_edit", clientId: "c1", messageId: "3-0", text: "x", timestamp: "t" },
      reload([...twoTurns, human("9-0", "from another tab")]),
      server({ kind: "error", code: "rate_limited", message: "", retryAfterMs: 1000, clientId: "c1" }));
    expect(view(s)).toEqual(["user:Hi:sent", "assistant:Hello:done", "user:More:sent", "assistant:Sure:done", "user:from another tab:sent"]);
  });
});

describe("regenerate", () => {
  it("drops the reply at once, streams the new version after its question and keeps its place among the versions", () => {
    let s = run(loaded(twoTurns), { type: "local_reply_request", clientId: "c2", request: "regenerate", messageId: "2-0" });
    expect(view(s)).toEqual(["user:Hi:sent"]);
    expect(activeReply(s)).toBe("1-0");
    s = run(s, requested("5-0", "regenerate", "1-0", "2-0", "c2"), server({ kind: "ack", clientId: "c2", messageId: "1-0", duplicate: false }));
    expect(s.pendingVersion).toBeNull();
    s = run(s, reload([human("1-0", "Hi")], "5-0"));
    s = run(s, start("6-0", "1-0", { request: "regenerate", version: 2, versions: 2 }), delta("7-0", "1-0", "Hey"), delta("8-0", "1-0", " there"));
    expect(view(s)).toEqual(["user:Hi:sent", "assistant:Hey there:streaming:2/2"]);
    s = run(s, end("9-0", "1-0", bot("9-0", "1-0", "Hey there")));
    expect(view(s)).toEqual(["user:Hi:sent", "assistant:Hey there:done:2/2"]);
    expect(s.messages[1].id).toBe("9-0");
  });

  it("follows a regenerate from another tab, and a replayed or duplicated event changes nothing more", () => {
    const ask = requested("5-0", "regenerate", "3-0", "4-0");
    let s = run(loaded(twoTurns), ask, ask);
    expect(view(s)).toEqual(["user:Hi:sent", "assistant:Hello:done", "user:More:sent"]);
    const newStart = start("6-0", "3-0", { request: "regenerate", version: 2, versions: 2 });
    s = run(s, newStart, delta("7-0", "3-0", "Ok"), end("8-0", "3-0", bot("8-0", "3-0", "Ok")));
    const again = run(s, newStart, delta("7-0", "3-0", "Ok"), end("8-0", "3-0", bot("8-0", "3-0", "Ok")));
    expect(view(again)).toEqual(["user:Hi:sent", "assistant:Hello:done", "user:More:sent", "assistant:Ok:done:2/2"]);
    expect(again).toBe(s);
  });

  it("starts a newer version over a finished reply still shown, but ignores a replayed start of the one shown", () => {
    const shown = loaded([human("1-0", "Hi"), bot("2-0", "1-0", "Hello", { version: 1, versions: 2 })]);
    expect(run(shown, start("3-0", "1-0"))).toBe(shown);
    expect(run(shown, start("3-0", "1-0", { request: "regenerate", version: 1, versions: 2 }))).toBe(shown);
    const s = run(shown, start("9-0", "1-0", { request: "regenerate", version: 3, versions: 3 }));
    expect(view(s)).toEqual(["user:Hi:sent", "assistant::streaming:3/3"]);
  });

  it("ends with exactly one reply when the reload already holds the new version the events are building", () => {
    let s = run(loaded([human("1-0", "Hi")]), start("6-0", "1-0", { request: "regenerate", version: 2, versions: 2 }), delta("7-0", "1-0", "Hey"));
    s = run(s, reload([human("1-0", "Hi"), bot("9-0", "1-0", "Hey there", { version: 2, versions: 2 })], "9-0"));
    s = run(s, delta("8-0", "1-0", " there"), end("9-0", "1-0", bot("9-0", "1-0", "Hey there")));
    expect(view(s)).toEqual(["user:Hi:sent", "assistant:Hey there:done:2/2"]);
  });
});

describe("continue", () => {
  const cut = [human("1-0", "Tell a story"), bot("2-0", "1-0", "Once upon", { finish: "length" }), human("3-0", "And?"), bot("4-0", "3-0", "Then")];

  it("keeps the cut reply, drops what followed, and writes on from its text; a discard goes back to that text", () => {
    let s = run(loaded(cut), { type: "local_reply_request", clientId: "c3", request: "continue", messageId: "2-0" });
    expect(view(s)).toEqual(["user:Tell a story:sent", "assistant:Once upon:streaming"]);
    expect(activeReply(s)).toBe("1-0");
    s = run(s, requested("5-0", "continue", "1-0", "2-0", "c3"));
    // The reload shows the branch ending at the question (the continued reply is not on it); the
    // reply being continued stays until the new version starts.
    s = run(s, reload([human("1-0", "Tell a story")], "5-0"));
    expect(view(s)).toEqual(["user:Tell a story:sent", "assistant:Once upon:streaming"]);
    s = run(s, start("6-0", "1-0", { request: "continue", continueOf: "2-0", version: 2, versions: 2 }));
    expect(view(s)).toEqual(["user:Tell a story:sent", "assistant:Once upon:streaming:2/2"]);
    s = run(s, delta("7-0", "1-0", " a time"));
    expect(view(s)[1]).toBe("assistant:Once upon a time:streaming:2/2");
    s = run(s, server({ kind: "reply_discard", eventId: "8-0", replyTo: "1-0" }));
    expect(view(s)[1]).toBe("assistant:Once upon:streaming:2/2");
    s = run(s, start("9-0", "1-0", { request: "continue", continueOf: "2-0", version: 2, versions: 2 }), delta("10-0", "1-0", " a time there"),
      end("11-0", "1-0", bot("11-0", "1-0", "Once upon a time there", { finish: "length" })));
    expect(view(s)).toEqual(["user:Tell a story:sent", "assistant:Once upon a time there:done:2/2"]);
    expect(s.messages[1]).toMatchObject({ id: "11-0", finish: "length" });
  });

  it("follows a continue from another tab; its start finds the continued text even after the reload", () => {
    const ask = requested("5-0", "continue", "1-0", "2-0");
    let s = run(loaded(cut), ask, reload([human("1-0", "Tell a story")], "5-0"), ask);
    expect(view(s)).toEqual(["user:Tell a story:sent", "assistant:Once upon:streaming"]);
    s = run(s, start("6-0", "1-0", { request: "continue", continueOf: "2-0", version: 2, versions: 2 }), delta("7-0", "1-0", "!"));
    expect(view(s)[1]).toBe("assistant:Once upon!:streaming:2/2");
  });

  it("puts the reply back as it was when the continue is refused", () => {
    const before = loaded(cut);
    const s = run(before, { type: "local_reply_request", clientId: "c3", request: "continue", messageId: "2-0" },
      server({ kind: "error", code: "invalid_target", message: "", field: "message_id", clientId: "c3" }));
    expect(s.messages).toEqual(before.messages);
    expect(s.notice?.text).toBe("That message can't be changed that way.");
  });
});

describe("switch and withdrawal", () => {
  it("shows the reloaded branch after a switch, keyed by message ids, without doubling anything", () => {
    const v2 = [human("1-0", "Hi"), bot("9-0", "1-0", "Hey", { version: 2, versions: 2 })];
    let s = loaded(v2);
    s = run(s, server({ kind: "branch", eventId: "10-0", leaf: "4-0", messageId: "2-0", version: 1, versions: 2 }));
    expect(s.messages).toEqual(loaded(v2).messages);
    const v1 = [human("1-0", "Hi"), bot("2-0", "1-0", "Hello", { version: 1, versions: 2 }), human("3-0", "More"), bot("4-0", "3-0", "Sure")];
    s = run(s, reload(v1, "10-0"), reload(v1, "10-0"));
    expect(view(s)).toEqual(["user:Hi:sent", "assistant:Hello:done:1/2", "user:More:sent", "assistant:Sure:done"]);
  });

  it("drops on a reload what is on another branch, but keeps a message newer than the snapshot", () => {
    const edited = [human("5-0", "Hey", { version: 2, versions: 2 }), bot("6-0", "5-0", "Yo")];
    let s = loaded(edited);
    s = run(s, server({ kind: "message", eventId: "12-0", message: human("12-0", "from another tab") }));
    s = run(s, start("13-0", "12-0"), delta("14-0", "12-0", "Par"));
    // A switch back to version 1 (event 11-0), loaded before 12-0 was written.
    s = run(s, reload([human("1-0", "Hi", { version: 1, versions: 2 }), bot("2-0", "1-0", "Hello")], "11-0"));
    expect(view(s)).toEqual(["user:Hi:sent:1/2", "assistant:Hello:done", "user:from another tab:sent", "assistant:Par:streaming"]);
    expect(isGenerating(s)).toBe(true);
    s = run(loaded(edited), reload([human("1-0", "Hi", { version: 1, versions: 2 }), bot("2-0", "1-0", "Hello")], "11-0"));
    expect(view(s)).toEqual(["user:Hi:sent:1/2", "assistant:Hello:done"]);
    expect(isGenerating(s)).toBe(false);
  });

  it("clears the queue words when a regenerate is withdrawn", () => {
    let s = run(loaded([human("1-0", "Hi")]), server({ kind: "waiting", replyTo: "1-0", ahead: 0, workers: 1, message: "You are next" }));
    s = run(s, server({ kind: "reply_withdrawn", eventId: "5-0", replyTo: "1-0", leaf: "2-0" }));
    expect(s.notice).toBeNull();
  });

  it("steps between versions within their range", () => {
    const m = { key: "k", role: "user" as const, text: "", timestamp: "", status: "sent" as const };
    expect(versionStep({ ...m, version: 2, versions: 3 }, -1)).toBe(1);
    expect(versionStep({ ...m, version: 2, versions: 3 }, 1)).toBe(3);
    expect(versionStep({ ...m, version: 1, versions: 3 }, -1)).toBeNull();
    expect(versionStep({ ...m, version: 3, versions: 3 }, 1)).toBeNull();
    expect(versionStep(m, 1)).toBeNull();
  });

  it("says the version errors in words", () => {
    for (const code of ["message_not_found", "invalid_target", "reply_in_progress"]) {
      expect(describeError(code)).toMatch(/^[A-Z][^_]*[.!]$/);
    }
  });
});

describe("resumePoint with versions", () => {
  it("reads from the first unanswered message of the branch, never before `after`", () => {
    const open = (messages: HistoryMessage[], after = "0-0") => resumePoint(snap(messages, "20-0"), after);
    expect(open(twoTurns)).toBe("20-0");
    expect(open([...twoTurns, human("5-0", "Next"), human("6-0", "And next")])).toBe("5-0");
    // A regenerate reloaded for its reply_requested (12-0): the question is older than the event.
    expect(open([human("1-0", "Hi")], "12-0")).toBe("12-0");
    // After resync_required the client reads on from the snapshot.
    expect(open([human("1-0", "Hi")], "20-0")).toBe("20-0");
  });
});
