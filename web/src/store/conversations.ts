// The person's conversations as the sidebar shows them: a pure reducer over pages of
// `GET /api/conversations`, local changes (create, rename) and a delete that waits out its undo
// window before anything is sent. Items are keyed by token, so a refresh racing a page never
// shows one twice.
import type { ConversationSummary } from "../transport/protocol";

export interface PendingDelete {
  item: ConversationSummary;
  /** Where it stood, to put it back there on undo. */
  index: number;
}

export interface ConversationsState {
  items: ConversationSummary[];
  /** Cursor of the next page; null when every page is loaded. */
  nextCursor: string | null;
  /** True once the first page arrived. */
  loaded: boolean;
  /** Pages loaded so far. */
  pages: number;
  /** Deleted in the page, not yet on the server (undo is still possible). */
  pending: PendingDelete | null;
}

export type ConversationsAction =
  /** The first page, fetched again: it replaces the top of the list, later pages are kept. */
  | { type: "first_page"; items: ConversationSummary[]; nextCursor: string | null }
  | { type: "next_page"; items: ConversationSummary[]; nextCursor: string | null }
  | { type: "created"; item: ConversationSummary }
  | { type: "renamed"; token: string; title: string }
  /** Gone from the server (deleted elsewhere, or the DELETE went through). */
  | { type: "removed"; token: string }
  | { type: "delete_pending"; token: string }
  | { type: "delete_undone" }
  /** The undo window ended; the item is forgotten (the DELETE is on its way). */
  | { type: "delete_committed" };

export const initialConversations: ConversationsState = { items: [], nextCursor: null, loaded: false, pages: 0, pending: null };

const without = (items: ConversationSummary[], tokens: Set<string>) => items.filter((c) => !tokens.has(c.token));

export function conversationsReducer(state: ConversationsState, action: ConversationsAction): ConversationsState {
  switch (action.type) {
    case "first_page": {
      const pendingToken = state.pending?.item.token;
      const fresh = action.items.filter((c) => c.token !== pendingToken);
      if (state.pages <= 1) return { ...state, items: fresh, nextCursor: action.nextCursor, loaded: true, pages: 1 };
      // Later pages are loaded: keep what they hold (their cursor still marks where the next starts).
      const rest = without(state.items, new Set(fresh.map((c) => c.token)));
      return { ...state, items: [...fresh, ...rest], loaded: true };
    }
    case "next_page": {
      const seen = new Set(state.items.map((c) => c.token));
      if (state.pending) seen.add(state.pending.item.token);
      return {
        ...state,
        items: [...state.items, ...action.items.filter((c) => !seen.has(c.token))],
        nextCursor: action.nextCursor,
        pages: state.pages + 1,
      };
    }
    case "created":
      return { ...state, items: [action.item, ...without(state.items, new Set([action.item.token]))] };
    case "renamed": {
      const rename = (c: ConversationSummary) => (c.token === action.token ? { ...c, title: action.title } : c);
      return {
        ...state,
        items: state.items.map(rename),
        pending: state.pending && { ...state.pending, item: rename(state.pending.item) },
      };
    }
    case "removed":
      return {
        ...state,
        items: without(state.items, new Set([action.token])),
        pending: state.pending?.item.token === action.token ? null : state.pending,
      };
    case "delete_pending": {
      const index = state.items.findIndex((c) => c.token === action.token);
      if (index < 0) return state;
      return { ...state, items: state.items.filter((_, i) => i !== index), pending: { item: state.items[index], index } };
    }
    case "delete_undone": {
      if (!state.pending) return state;
      const { item, index } = state.pending;
      const items = without(state.items, new Set([item.token]));
      return { ...state, items: [...items.slice(0, index), item, ...items.slice(index)], pending: null };
    }
    case "delete_committed":
      return { ...state, pending: null };
  }
}

/** The items whose title matches `query` (case-insensitive, over what is loaded). */
export function searchTitles(items: ConversationSummary[], query: string, untitled: string): ConversationSummary[] {
  const q = query.trim().toLocaleLowerCase();
  if (!q) return items;
  return items.filter((c) => (c.title || untitled).toLocaleLowerCase().includes(q));
}

/** The newest conversation when it has no message yet: New chat opens it instead of another. */
export function reusableEmpty(state: ConversationsState): ConversationSummary | undefined {
  const top = state.items[0];
  return top && top.messages === 0 ? top : undefined;
}

/** The summary a just-created conversation shows before the next list refresh. */
export function summaryOf(token: string, created: string): ConversationSummary {
  return { token, title: "", created, updated: created, messages: 0, preview: "" };
}
