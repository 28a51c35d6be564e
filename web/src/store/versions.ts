// Message versions in the conversation store (docs/protocol.md "Versions"): how the list changes
// the moment an edit, regenerate or continue is asked for (here or in another tab), before the
// history reload that every branch change is followed by (App) brings the server's branch. Each
// function is pure and idempotent: applied twice, or after the reload, it changes nothing more.
import type { ServerEvent } from "../transport/protocol";
import type { ChatMessage } from "./chat";

/** An edit, regenerate or continue sent and not yet acknowledged, and the list to go back to if it is refused. */
export interface PendingVersion {
  clientId: string;
  previous: ChatMessage[];
  /** For an edit: what was typed, offered again in the edit box should the server refuse it. */
  edit?: EditDraft;
}

/** The text of an edit of message `messageId` the server refused, to be edited again. */
export interface EditDraft {
  messageId: string;
  text: string;
}

/** The version to switch to from `m` one step back (-1) or on (+1), or null at either end. */
export function versionStep(m: ChatMessage, step: -1 | 1): number | null {
  if (!m.version || !m.versions || m.versions < 2) return null;
  const to = m.version + step;
  return to >= 1 && to <= m.versions ? to : null;
}

/** A new version of user message `messageId` with `text`: it takes the old one's place, and what followed it goes. */
export function editLocally(messages: ChatMessage[], messageId: string, clientId: string, text: string, timestamp: string): ChatMessage[] | null {
  const i = messages.findIndex((m) => m.role === "user" && m.id === messageId);
  if (i < 0) return null;
  const versions = (messages[i].versions ?? 1) + 1;
  const edited: ChatMessage = { key: clientId, clientId, role: "user", text, timestamp, status: "sending", editOf: messageId, version: versions, versions };
  return [...messages.slice(0, i), edited];
}

/** An edit's `message` event: merges into the local edit when it is ours, else replaces `editOf` and what followed it. */
export function applyEdit(messages: ChatMessage[], m: { id: string; editOf: string; clientId?: string; msg: string; timestamp: string; version?: number; versions?: number }): ChatMessage[] {
  if (messages.some((x) => x.role === "user" && x.id === m.id)) return messages;
  const server = { id: m.id, timestamp: m.timestamp, version: m.version, versions: m.versions, editOf: m.editOf };
  const local = messages.findIndex((x) => x.role === "user" && x.id === undefined && m.clientId !== undefined && x.clientId === m.clientId);
  if (local >= 0) {
    const out = messages.slice();
    out[local] = { ...messages[local], ...server, timestamp: m.timestamp || messages[local].timestamp, status: "sent" };
    return out;
  }
  const edited: ChatMessage = { key: m.id, ...server, clientId: m.clientId, role: "user", text: m.msg, status: "sent" };
  const i = messages.findIndex((x) => x.role === "user" && x.id === m.editOf);
  return i < 0 ? [...messages, edited] : [...messages.slice(0, i), edited];
}

/**
 * A new version of reply `messageId` to `replyTo` was asked for. Regenerate: the reply and what
 * followed go; the new one streams in after `replyTo`. Continue: the reply stays, marked as being
 * written on from its own text (`base`), and what followed it goes.
 */
export function requestReply(messages: ChatMessage[], request: "regenerate" | "continue", messageId: string, replyTo: string): ChatMessage[] {
  const i = messages.findIndex((m) => m.role === "assistant" && m.id === messageId);
  if (i < 0) {
    const q = messages.findIndex((m) => m.role === "user" && m.id === replyTo);
    return q < 0 ? messages : messages.slice(0, q + 1);
  }
  if (request === "regenerate") return messages.slice(0, i);
  const r = messages[i];
  if (r.status === "streaming" && r.base !== undefined && i === messages.length - 1) return messages;
  return [...messages.slice(0, i), { ...r, status: "streaming", base: r.text }];
}

/** The text a new reply version starts with: for a continue, the continued reply's. */
export function startText(messages: ChatMessage[], existing: ChatMessage | undefined, ev: Extract<ServerEvent, { kind: "reply_start" }>): string | undefined {
  if (ev.continueOf === undefined) return undefined;
  if (existing && existing.id === ev.continueOf) return existing.base ?? existing.text;
  return messages.find((m) => m.role === "assistant" && m.id === ev.continueOf)?.text;
}

/** A reply_start for a newer version than the finished reply shown: it replaces it (a replay of the shown one does not). */
export function isNewerVersion(existing: ChatMessage, ev: Extract<ServerEvent, { kind: "reply_start" }>): boolean {
  return ev.version !== undefined && ev.version > (existing.version ?? 1);
}
