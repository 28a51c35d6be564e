import { describe, expect, it } from "vitest";
import type { ConversationSummary } from "../transport/protocol";
import { conversationsReducer, initialConversations, reusableEmpty, searchTitles, summaryOf, type ConversationsAction, type ConversationsState } from "./conversations";

const c = (token: string, title = "", messages = 2): ConversationSummary => ({ token, title, created: "t0", updated: "t1", messages, preview: `about ${token}` });
const run = (state: ConversationsState, ...actions: ConversationsAction[]) => actions.reduce(conversationsReducer, state);
const tokens = (s: ConversationsState) => s.items.map((x) => x.token);
const page = (items: ConversationSummary[], nextCursor: string | null = null): ConversationsAction => ({ type: "first_page", items, nextCursor });

describe("conversations store", () => {
  it("shows the first page, appends later ones, and never lists one twice", () => {
    let s = run(initialConversations, page([c("a"), c("b")], "cur1"));
    expect(s.loaded).toBe(true);
    expect(s.nextCursor).toBe("cur1");
    // "b" got activity meanwhile and the next page holds it again: it is not shown twice.
    s = run(s, { type: "next_page", items: [c("b"), c("c")], nextCursor: null });
    expect(tokens(s)).toEqual(["a", "b", "c"]);
    expect(s.nextCursor).toBeNull();
  });

  it("replaces only the top of the list when the first page is fetched again", () => {
    const one = run(initialConversations, page([c("a"), c("b")], "cur1"));
    // One page loaded: the new first page is the whole list.
    expect(tokens(run(one, page([c("b"), c("a")], "cur2")))).toEqual(["b", "a"]);
    expect(run(one, page([c("b"), c("a")], "cur2")).nextCursor).toBe("cur2");
    // Two pages loaded: what they hold stays, the top is the server's new order.
    const two = run(one, { type: "next_page", items: [c("c"), c("d")], nextCursor: "cur3" });
    const again = run(two, page([c("d"), c("a")], "x"));
    expect(tokens(again)).toEqual(["d", "a", "b", "c"]);
    expect(again.nextCursor).toBe("cur3");
  });

  it("puts a created conversation on top and renames in place", () => {
    const s = run(initialConversations, page([c("a", "Old")]), { type: "created", item: summaryOf("n", "t") }, { type: "renamed", token: "a", title: "New" });
    expect(s.items.map((x) => [x.token, x.title])).toEqual([["n", ""], ["a", "New"]]);
  });

  it("hides a deleted conversation during the undo window and puts it back where it was on undo", () => {
    const s = run(initialConversations, page([c("a"), c("b"), c("c")]), { type: "delete_pending", token: "b" });
    expect(tokens(s)).toEqual(["a", "c"]);
    expect(s.pending?.item.token).toBe("b");
    // A refresh while the DELETE has not been sent yet still lists it on the server: not shown.
    const refreshed = run(s, page([c("a"), c("b"), c("c")]));
    expect(tokens(refreshed)).toEqual(["a", "c"]);
    expect(tokens(run(refreshed, { type: "delete_undone" }))).toEqual(["a", "b", "c"]);
    const committed = run(refreshed, { type: "delete_committed" });
    expect(committed.pending).toBeNull();
    expect(tokens(committed)).toEqual(["a", "c"]);
  });

  it("forgets a conversation removed elsewhere, pending or not", () => {
    const s = run(initialConversations, page([c("a"), c("b")]), { type: "delete_pending", token: "a" }, { type: "removed", token: "a" }, { type: "removed", token: "b" });
    expect(s.items).toEqual([]);
    expect(s.pending).toBeNull();
    expect(run(s, { type: "delete_undone" })).toBe(s);
  });

  it("searches titles case-insensitively, untitled ones by their shown name", () => {
    const items = [c("a", "Rainy afternoon ideas"), c("b", "Recursion in Python"), c("c", "")];
    expect(searchTitles(items, "  RAIN ", "New chat").map((x) => x.token)).toEqual(["a"]);
    expect(searchTitles(items, "new", "New chat").map((x) => x.token)).toEqual(["c"]);
    expect(searchTitles(items, "", "New chat")).toBe(items);
  });

  it("offers the newest conversation for New chat only while it is empty", () => {
    expect(reusableEmpty(run(initialConversations, page([c("a", "", 0), c("b")])))?.token).toBe("a");
    expect(reusableEmpty(run(initialConversations, page([c("b"), c("a", "", 0)])))).toBeUndefined();
    expect(reusableEmpty(initialConversations)).toBeUndefined();
  });
});
