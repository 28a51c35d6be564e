// @vitest-environment happy-dom
// The version controls of a message: which appear where, their accessible names, the inline edit
// box's keys (Enter saves, Shift+Enter does not, Escape cancels and gives the focus back to Edit).
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ChatMessage } from "../store/chat";
import { Message } from "./Message";
import type { VersionActions } from "./MessageActions";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let root: Root;
let host: HTMLElement;
let calls: unknown[][];
const actions: VersionActions = {
  edit: (...a) => calls.push(["edit", ...a]),
  requestReply: (...a) => calls.push(["reply", ...a]),
  switchVersion: (...a) => calls.push(["switch", ...a]),
};
beforeEach(() => {
  calls = [];
  host = document.createElement("div");
  document.body.appendChild(host);
  root = createRoot(host);
});
afterEach(() => {
  act(() => root.unmount());
  host.remove();
});

const user: ChatMessage = { key: "1-0", id: "1-0", role: "user", text: "Hi", timestamp: "", status: "sent", version: 2, versions: 3 };
const reply: ChatMessage = { key: "2-0", id: "2-0", role: "assistant", text: "Once", timestamp: "", status: "done", replyTo: "1-0", finish: "length" };

function show(message: ChatMessage, locked = false) {
  act(() => root.render(<Message message={message} onRetry={() => {}} paused={false} actions={actions} locked={locked} onVersionFocused={() => {}} />));
}
const button = (name: string) => host.querySelector<HTMLButtonElement>(`button[aria-label="${name}"]`);
const key = (el: Element, k: string, shiftKey = false) =>
  act(() => { el.dispatchEvent(new KeyboardEvent("keydown", { key: k, shiftKey, bubbles: true, cancelable: true })); });

describe("message version controls", () => {
  it("opens the edit box again with the text of a refused edit", () => {
    let shown = 0;
    act(() => root.render(<Message message={user} onRetry={() => {}} paused={false} actions={actions} locked={false} onVersionFocused={() => {}} draft={"Hi\u0007"} onDraftShown={() => { shown += 1; }} />));
    const box = host.querySelector<HTMLTextAreaElement>('textarea[aria-label="Edit message"]');
    expect(box?.value).toBe("Hi\u0007");
    expect(document.activeElement).toBe(box);
    expect(shown).toBe(1);
  });

  it("offers Edit and the arrows on a message of the person, read as Version 2 of 3", () => {
    show(user);
    expect(button("Edit message")).not.toBeNull();
    expect(button("Regenerate reply")).toBeNull();
    const count = host.querySelector('[data-testid="version-count"]')!;
    expect(count.querySelector(".visually-hidden")?.textContent).toBe("Version 2 of 3");
    expect(count.querySelector('[aria-hidden="true"]')?.textContent).toBe("2 / 3");
    act(() => button("Previous version")!.click());
    act(() => button("Next version")!.click());
    expect(calls).toEqual([["switch", "1-0", 1, "prev"], ["switch", "1-0", 3, "next"]]);
  });

  it("offers Regenerate on a reply and Continue only on one cut at the token limit", () => {
    show(reply);
    act(() => button("Regenerate reply")!.click());
    act(() => button("Continue reply")!.click());
    expect(calls).toEqual([["reply", "regenerate", "2-0"], ["reply", "continue", "2-0"]]);
    show({ ...reply, finish: "stop" });
    expect(button("Continue reply")).toBeNull();
    expect(host.querySelector('[data-testid="versions"]')).toBeNull();
  });

  it("disables every control while versions cannot change", () => {
    show(user, true);
    for (const name of ["Edit message", "Previous version", "Next version"]) expect(button(name)!.disabled).toBe(true);
  });

  it("edits inline: Shift+Enter keeps editing, Escape cancels back to Edit, Enter saves the new text", () => {
    show(user);
    act(() => button("Edit message")!.click());
    const box = host.querySelector<HTMLTextAreaElement>('textarea[aria-label="Edit message"]')!;
    expect(box.value).toBe("Hi");
    expect(document.activeElement).toBe(box);
    key(box, "Enter", true);
    key(box, "Escape");
    expect(host.querySelector("textarea")).toBeNull();
    expect(document.activeElement).toBe(button("Edit message"));
    expect(calls).toEqual([]);
    act(() => button("Edit message")!.click());
    const again = host.querySelector<HTMLTextAreaElement>("textarea")!;
    act(() => {
      const set = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value")!.set!;
      set.call(again, "Hello there ");
      again.dispatchEvent(new Event("input", { bubbles: true }));
    });
    key(again, "Enter");
    expect(calls).toEqual([["edit", "1-0", "Hello there"]]);
    expect(host.querySelector("textarea")).toBeNull();
  });
});
