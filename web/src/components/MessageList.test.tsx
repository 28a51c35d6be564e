// @vitest-environment happy-dom
// A streamed delta must re-render only the streaming message: every other Message is memoized
// and receives the same props. Each message's copy button (rendered by Message on every render
// of it) counts the renders.
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { chatReducer, initialChatState, type ChatAction, type ChatState } from "../store/chat";
import { MessageList } from "./MessageList";

const renders = vi.hoisted(() => new Map<string, number>());
vi.mock("./CopyButton", () => ({
  CopyButton: (p: { text: string }) => {
    renders.set(p.text, (renders.get(p.text) ?? 0) + 1);
    return null;
  },
  copyText: async () => true,
}));

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const run = (s: ChatState, ...a: ChatAction[]) => a.reduce(chatReducer, s);
const human = (id: string, msg: string) => ({ id, source: "human" as const, msg, timestamp: "2026-12-01T10:00:00Z" });
const bot = (id: string, replyTo: string, msg: string) => ({ id, source: "bot" as const, msg, timestamp: "2026-12-01T10:00:01Z", replyTo });

const versionProps = { versionActions: { edit: () => {}, requestReply: () => {}, switchVersion: () => {} }, locked: false, versionFocus: null, onVersionFocused: () => {} };

let root: Root;
let host: HTMLElement;
beforeEach(() => {
  host = document.createElement("div");
  document.body.appendChild(host);
  root = createRoot(host);
  renders.clear();
});
afterEach(() => {
  act(() => root.unmount());
  host.remove();
});

describe("MessageList rendering", () => {
  it("re-renders only the streaming message on each delta", () => {
    const onRetry = () => {};
    const onSuggestion = () => {};
    let s = run(initialChatState, {
      type: "session_loaded",
      snapshot: { token: "T", name: "You", sessionStart: "s", messages: [human("u1", "first question"), bot("b1", "u1", "first answer"), human("u2", "second question")] },
    }, { type: "server", event: { kind: "reply_start", eventId: "9-0", replyTo: "u2" }, now: 0 });
    const show = (state: ChatState, live = true) =>
      act(() => root.render(<MessageList messages={state.messages} name="You" onRetry={onRetry} onSuggestion={onSuggestion} live={live} {...versionProps} />));
    show(s);
    const before = new Map(renders);
    expect([...before.keys()].sort()).toEqual(["first answer", "first question", "second question"]);

    for (let i = 0; i < 5; i++) {
      s = run(s, { type: "server", event: { kind: "delta", eventId: `${10 + i}-0`, replyTo: "u2", text: `w${i} ` }, now: 0 });
      show(s);
    }
    expect(host.textContent).toContain("w0 w1 w2 w3 w4");
    expect(renders).toEqual(before);

    // The reply ends: it renders (now with its copy button), the others still do not.
    s = run(s, { type: "server", event: { kind: "reply_end", eventId: "20-0", replyTo: "u2", message: bot("b2", "u2", "w0 w1 w2 w3 w4"), hasText: true }, now: 0 });
    show(s);
    expect(renders.get("w0 w1 w2 w3 w4")).toBe(1);
    for (const [text, n] of before) expect(renders.get(text)).toBe(n);
  });

  it("stops the cursor of a streaming reply while the connection is down", () => {
    const s = run(initialChatState, {
      type: "session_loaded",
      snapshot: { token: "T", name: "You", sessionStart: "s", messages: [human("u1", "q")] },
    }, { type: "server", event: { kind: "reply_start", eventId: "2-0", replyTo: "u1" }, now: 0 },
    { type: "server", event: { kind: "delta", eventId: "3-0", replyTo: "u1", text: "Once" }, now: 0 });
    const show = (live: boolean) => act(() => root.render(<MessageList messages={s.messages} name="You" onRetry={() => {}} onSuggestion={() => {}} live={live} {...versionProps} />));
    show(true);
    expect(host.querySelector(".cursor")?.classList.contains("cursor--paused")).toBe(false);
    show(false);
    expect(host.querySelector(".cursor")?.classList.contains("cursor--paused")).toBe(true);
  });
});
