// The conversation as the page shows it: a pure reducer over server events and user actions.
// Every event may arrive more than once (replay after a reconnect, a second tab, a history reload
// racing a live event), so each transition is idempotent and keyed by message ids.
import { compareStreamIds, isStreamId, type ErrorCode, type HistoryMessage, type ServerEvent, type SessionSnapshot } from "../transport/protocol";
import type { ConnectionStatus } from "../transport/connection";
import { applyEdit, editLocally, isNewerVersion, requestReply, startText, type EditDraft, type PendingVersion } from "./versions";

export type MessageStatus =
  | "sending" // local, not yet acknowledged
  | "sent" // stored by the server
  | "failed" // refused by the server; may be sent again
  | "streaming" // bot reply in progress
  | "done"
  | "stopped"
  | "error";

/**
 * One message as shown: the version of it on the branch shown (a branch change reloads the
 * history as a `session_loaded`, which replaces the list keyed by message ids like any snapshot).
 */
export interface ChatMessage {
  /** Stable React key: the client id for local messages, else the server id. */
  key: string;
  /** Server message id (human or bot); for a reply in progress, undefined until it ends. */
  id?: string;
  clientId?: string;
  role: "user" | "assistant";
  text: string;
  timestamp: string;
  status: MessageStatus;
  /** For assistant messages: the user message answered. */
  replyTo?: string;
  errorCode?: ErrorCode;
  /** Which version this is (1-based) and how many the message has; absent: the only one. */
  version?: number;
  versions?: number;
  /** For replies: "length" when it ended at the token limit (it can be continued). */
  finish?: string;
  /** For an edit not yet reloaded: the message it is a new version of. */
  editOf?: string;
  /** For a reply being continued: the text it started with (a reply_discard goes back to it). */
  base?: string;
}

export interface Notice {
  code: ErrorCode;
  text: string;
  /** Epoch ms after which the action may be retried, for rate_limited and busy. */
  retryAt?: number;
}

export interface ChatState {
  name: string;
  token: string;
  /** The conversation's title ("" until its first message; always "" for a seed session). */
  title: string;
  messages: ChatMessage[];
  connection: ConnectionStatus;
  retryInMs?: number;
  notice: Notice | null;
  expired: boolean;
  /** The conversation was deleted (elsewhere): the view must leave it. */
  deleted: boolean;
  /** An edit, regenerate or continue of this page not yet acknowledged. */
  pendingVersion: PendingVersion | null;
  /** A refused edit's text, to open the edit box with again (nothing typed is lost). */
  editDraft: EditDraft | null;
}

export type ChatAction =
  | { type: "session_loaded"; snapshot: SessionSnapshot }
  | { type: "local_send"; clientId: string; text: string; timestamp: string }
  | { type: "resend"; clientId: string }
  /** This page asks for a new version: shown at once, undone if the server refuses it. */
  | { type: "local_edit"; clientId: string; messageId: string; text: string; timestamp: string }
  | { type: "local_reply_request"; clientId: string; request: "regenerate" | "continue"; messageId: string }
  /** The edit box has taken the refused edit's text. */
  | { type: "draft_shown" }
  | { type: "server"; event: ServerEvent; now: number }
  | { type: "connection"; status: ConnectionStatus; retryInMs?: number }
  | { type: "renamed"; token: string; title: string }
  | { type: "dismiss_notice" };

export const initialChatState: ChatState = {
  name: "",
  token: "",
  title: "",
  messages: [],
  connection: "connecting",
  notice: null,
  expired: false,
  deleted: false,
  pendingVersion: null,
  editDraft: null,
};

/** A human sentence for each server error code (docs/protocol.md). */
export function describeError(code: ErrorCode, retryAfterMs?: number, detail = ""): string {
  const wait = retryAfterMs !== undefined ? ` Try again in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s.` : "";
  switch (code) {
    case "rate_limited":
      return `You're sending messages too quickly.${wait || " Please wait a moment."}`;
    case "busy":
      return `The assistant is busy with other conversations right now.${wait || " Please try again shortly."}`;
    case "session_expired":
      return "This chat has expired. Start a new chat to continue.";
    case "conversation_full":
      return "This conversation holds as many messages as it can. Start a new chat to continue.";
    case "model_failed":
      return "The model couldn't finish this reply. Please try sending your message again.";
    case "unavailable":
      return "The service is temporarily unavailable. Your message was not lost; please try again shortly.";
    case "message_too_long":
      return "That message is too long. Please shorten it and send it again.";
    case "empty_message":
      return "Type a message before sending.";
    case "invalid_text":
      return "That message contains characters that can't be sent. Please remove them and try again.";
    case "internal":
      return "Something went wrong on the server. Your message was not saved; please try again.";
    case "reply_in_progress":
      return "A reply is still being written. Wait for it to finish (or stop it), then try again.";
    case "message_not_found":
      return "That message is no longer in this conversation. The conversation was reloaded; please try again.";
    case "invalid_target":
      return "That message can't be changed that way.";
    case "bad_frame":
    case "unknown_type":
    case "binary_not_supported":
      return `The server could not read a request from this page${detail ? ` (${detail})` : ""}. Reloading the page may help.`;
    default:
      return `Something went wrong${detail ? `: ${detail.replace(/[.]$/, "")}` : ""}. Please try again.`;
  }
}

function fromHistory(m: HistoryMessage): ChatMessage {
  const versions = m.versions !== undefined ? { version: m.version, versions: m.versions } : {};
  if (m.source === "human") {
    return { key: m.id, id: m.id, clientId: m.clientId, role: "user", text: m.msg, timestamp: m.timestamp, status: "sent", ...versions };
  }
  const out: ChatMessage = {
    key: m.id,
    id: m.id,
    role: "assistant",
    text: m.msg,
    timestamp: m.timestamp,
    status: m.error ? "error" : m.stopped ? "stopped" : "done",
    replyTo: m.replyTo,
    errorCode: m.error,
    ...versions,
  };
  if (m.finish !== undefined) out.finish = m.finish;
  return out;
}

const isFinal = (m: ChatMessage) => m.status === "done" || m.status === "stopped" || m.status === "error";

function replyIndex(messages: ChatMessage[], replyTo: string): number {
  return messages.findIndex((m) => m.role === "assistant" && m.replyTo === replyTo);
}

/** Inserts an assistant message right after the user message it answers (or at the end). */
function insertReply(messages: ChatMessage[], reply: ChatMessage): ChatMessage[] {
  const at = messages.findIndex((m) => m.role === "user" && m.id === reply.replyTo);
  if (at < 0) return [...messages, reply];
  let end = at + 1;
  while (end < messages.length && messages[end].role === "assistant") end++;
  return [...messages.slice(0, end), reply, ...messages.slice(end)];
}

/** A session that is gone stores nothing more: pending messages will never be acknowledged. */
function unsent(messages: ChatMessage[]): ChatMessage[] {
  if (!messages.some((m) => m.status === "sending")) return messages;
  return messages.map((m) => (m.status === "sending" ? { ...m, status: "failed", errorCode: "session_expired" } : m));
}

function replace(messages: ChatMessage[], i: number, m: ChatMessage): ChatMessage[] {
  const out = messages.slice();
  out[i] = m;
  return out;
}

function applyUserMessage(messages: ChatMessage[], m: HistoryMessage): ChatMessage[] {
  if (messages.some((x) => x.role === "user" && x.id === m.id)) return messages;
  const local = messages.findIndex(
    (x) => x.role === "user" && x.id === undefined && m.clientId !== undefined && x.clientId === m.clientId,
  );
  if (local >= 0) return replace(messages, local, { ...messages[local], id: m.id, timestamp: m.timestamp || messages[local].timestamp, status: "sent" });
  return [...messages, fromHistory(m)];
}

function applyAck(messages: ChatMessage[], clientId: string | undefined, messageId: string): ChatMessage[] {
  const local = clientId === undefined
    ? messages.findIndex((x) => x.role === "user" && x.status === "sending")
    : messages.findIndex((x) => x.role === "user" && x.clientId === clientId);
  if (local < 0) return messages;
  // The `message` event may have arrived first (it is published before the ack is sent): then the
  // server's copy is already listed and the local one merges into it.
  const dup = messages.findIndex((x, i) => i !== local && x.role === "user" && x.id === messageId);
  if (dup >= 0) {
    const merged = { ...messages[dup], key: messages[local].key, clientId: messages[local].clientId };
    return replace(messages, dup, merged).filter((_, i) => i !== local);
  }
  return replace(messages, local, { ...messages[local], id: messageId, status: "sent" });
}

function applyReply(state: ChatState, ev: Extract<ServerEvent, { replyTo: string }>): ChatState {
  const { messages } = state;
  const i = replyIndex(messages, ev.replyTo);
  const existing = i >= 0 ? messages[i] : undefined;
  // A replayed event of a finished reply; but a new version of it starts afresh.
  if (existing && isFinal(existing) && !(ev.kind === "reply_start" && isNewerVersion(existing, ev))) return state;
  switch (ev.kind) {
    case "reply_start":
    case "reply_discard": {
      const base = ev.kind === "reply_start" ? startText(messages, existing, ev) : existing?.base;
      const fresh: ChatMessage = {
        key: existing?.key ?? `reply-${ev.replyTo}`,
        role: "assistant",
        text: base ?? "",
        timestamp: existing?.timestamp ?? "",
        status: "streaming",
        replyTo: ev.replyTo,
      };
      if (base !== undefined) fresh.base = base;
      const version = ev.kind === "reply_start" ? ev : existing;
      if (version?.versions !== undefined) {
        fresh.version = version.version;
        fresh.versions = version.versions;
      }
      return { ...state, messages: existing ? replace(messages, i, fresh) : insertReply(messages, fresh) };
    }
    case "delta": {
      if (!existing) {
        // A delta without its start: resumed in the middle of a reply we never saw begin. Show
        // what arrives; reply_end replaces it with the complete text.
        const partial: ChatMessage = { key: `reply-${ev.replyTo}`, role: "assistant", text: ev.text, timestamp: "", status: "streaming", replyTo: ev.replyTo };
        return { ...state, messages: insertReply(messages, partial) };
      }
      return { ...state, messages: replace(messages, i, { ...existing, text: existing.text + ev.text, status: "streaming" }) };
    }
    case "reply_end": {
      const done = { ...fromHistory(ev.message), key: existing?.key ?? ev.message.id, replyTo: ev.replyTo };
      if (!ev.hasText) done.text = existing?.text ?? "";
      if (done.versions === undefined && existing?.versions !== undefined) {
        done.version = existing.version;
        done.versions = existing.versions;
      }
      if (messages.some((x) => x.role === "assistant" && x.id === ev.message.id)) return state;
      return { ...state, messages: existing ? replace(messages, i, done) : insertReply(messages, done) };
    }
    default:
      return state;
  }
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case "session_loaded": {
      const s = action.snapshot;
      const fromServer = s.messages.map(fromHistory);
      // Keep local messages the snapshot does not know yet (sent while it was being fetched),
      // and replies still streaming to a message shown. A stored message missing from it is not
      // new when it is older than the snapshot: it is on another branch, so it goes.
      const known = new Set(fromServer.map((m) => m.id));
      const knownReplies = new Set(fromServer.filter((m) => m.role === "assistant").map((m) => m.replyTo));
      const newer = (id: string) => s.lastEventId === undefined || !isStreamId(id) || compareStreamIds(id, s.lastEventId) > 0;
      const keptUsers = state.token === s.token
        ? state.messages.filter((m) => m.role === "user" && (m.id === undefined || (!known.has(m.id) && newer(m.id))))
        : [];
      const shown = new Set([...known, ...keptUsers.map((m) => m.id)]);
      const keep = state.token === s.token
        ? state.messages.filter((m) =>
            m.role === "user" ? keptUsers.includes(m) : m.status === "streaming" && !knownReplies.has(m.replyTo) && shown.has(m.replyTo))
        : [];
      let messages = fromServer;
      for (const m of keep) messages = m.role === "assistant" ? insertReply(messages, m) : [...messages, m];
      const same = state.token === s.token;
      // A version request still unanswered is undone to what the server holds, should it be refused.
      const pendingVersion = same && state.pendingVersion ? { ...state.pendingVersion, previous: fromServer } : null;
      return {
        ...state,
        pendingVersion,
        name: s.name,
        token: s.token,
        title: s.title ?? "",
        messages,
        expired: false,
        deleted: false,
        connection: same ? state.connection : "connecting",
        notice: same ? state.notice : null,
      };
    }
    case "local_send":
      return {
        ...state,
        notice: null,
        messages: [
          ...state.messages,
          { key: action.clientId, clientId: action.clientId, role: "user", text: action.text, timestamp: action.timestamp, status: "sending" },
        ],
      };
    case "local_edit": {
      const messages = editLocally(state.messages, action.messageId, action.clientId, action.text, action.timestamp);
      if (!messages) return state;
      const edit = { messageId: action.messageId, text: action.text };
      return { ...state, notice: null, editDraft: null, messages, pendingVersion: { clientId: action.clientId, previous: state.messages, edit } };
    }
    case "draft_shown":
      return state.editDraft ? { ...state, editDraft: null } : state;
    case "local_reply_request": {
      const r = state.messages.find((m) => m.role === "assistant" && m.id === action.messageId);
      if (!r?.replyTo) return state;
      const messages = requestReply(state.messages, action.request, action.messageId, r.replyTo);
      return { ...state, notice: null, messages, pendingVersion: { clientId: action.clientId, previous: state.messages } };
    }
    case "resend": {
      const i = state.messages.findIndex((m) => m.clientId === action.clientId);
      if (i < 0) return state;
      return { ...state, notice: null, messages: replace(state.messages, i, { ...state.messages[i], status: "sending" }) };
    }
    case "connection": {
      const expired = action.status === "expired";
      const deleted = action.status === "deleted";
      return {
        ...state,
        connection: action.status,
        retryInMs: action.retryInMs,
        expired: state.expired || expired,
        deleted: state.deleted || deleted,
        pendingVersion: expired || deleted ? null : state.pendingVersion,
        messages: expired || deleted ? unsent(state.messages) : state.messages,
      };
    }
    case "renamed":
      return action.token === state.token ? { ...state, title: action.title } : state;
    case "dismiss_notice":
      return { ...state, notice: null };
    case "server":
      return applyServer(state, action.event, action.now);
  }
}

/** The version request of this page named by `clientId` was taken (acked, or its event arrived). */
function settle(state: ChatState, clientId: string | undefined): ChatState {
  return clientId !== undefined && state.pendingVersion?.clientId === clientId ? { ...state, pendingVersion: null } : state;
}

function applyServer(state: ChatState, ev: ServerEvent, now: number): ChatState {
  switch (ev.kind) {
    case "ack":
      return settle({ ...state, messages: applyAck(state.messages, ev.clientId, ev.messageId) }, ev.clientId);
    case "message": {
      if (ev.message.source !== "human") return state;
      const m = ev.message;
      if (m.editOf !== undefined) return settle({ ...state, messages: applyEdit(state.messages, { ...m, editOf: m.editOf }) }, m.clientId);
      return { ...state, messages: applyUserMessage(state.messages, m) };
    }
    case "reply_requested":
      return settle({ ...state, messages: requestReply(state.messages, ev.request, ev.messageId, ev.replyTo) }, ev.clientId);
    case "reply_withdrawn":
    case "branch":
      // The history reload that follows shows the branch; a queued turn no longer waits.
      return state.notice?.code === "waiting" ? { ...state, notice: null } : state;
    case "reply_start":
    case "delta":
    case "reply_discard":
    case "reply_end": {
      const next = applyReply(state, ev);
      // The wait is over once a worker answers.
      return next.notice?.code === "waiting" ? { ...next, notice: null } : next;
    }
    case "waiting":
      return { ...state, notice: { code: "waiting", text: ev.message } };
    case "message_withdrawn": {
      const messages = state.messages.filter(
        (m) => !(m.role === "user" && m.id === ev.messageId) && !(m.role === "assistant" && m.replyTo === ev.messageId),
      );
      const notice = state.notice?.code === "waiting" ? null : state.notice;
      return { ...state, messages, notice };
    }
    case "reply_error": {
      const notice = { code: ev.code, text: describeError(ev.code, undefined, ev.message) };
      if (ev.replyTo === undefined) return { ...state, notice };
      const i = replyIndex(state.messages, ev.replyTo);
      if (i >= 0 && isFinal(state.messages[i])) return state;
      const failed: ChatMessage = {
        key: i >= 0 ? state.messages[i].key : `reply-${ev.replyTo}`,
        id: ev.reply?.id,
        role: "assistant",
        // The reply failed for good: text an attempt streamed is not part of it (docs/protocol.md).
        text: ev.reply?.msg ?? "",
        timestamp: ev.reply?.timestamp ?? "",
        status: "error",
        replyTo: ev.replyTo,
        errorCode: ev.code,
      };
      return {
        ...state,
        notice,
        messages: i >= 0 ? replace(state.messages, i, failed) : insertReply(state.messages, failed),
      };
    }
    case "error": {
      const notice: Notice = { code: ev.code, text: describeError(ev.code, ev.retryAfterMs, ev.message) };
      if (ev.retryAfterMs !== undefined) notice.retryAt = now + ev.retryAfterMs;
      // A refused edit, regenerate or continue: nothing changed on the server, so neither here.
      if (ev.clientId !== undefined && state.pendingVersion?.clientId === ev.clientId) {
        return { ...state, messages: state.pendingVersion.previous, pendingVersion: null, notice, editDraft: state.pendingVersion.edit ?? null };
      }
      let messages = state.messages;
      const refused = ev.clientId !== undefined
        ? messages.findIndex((m) => m.clientId === ev.clientId && m.status === "sending")
        : ["rate_limited", "busy", "message_too_long", "empty_message"].includes(ev.code)
          ? messages.findIndex((m) => m.status === "sending")
          : -1;
      if (refused >= 0) messages = replace(messages, refused, { ...messages[refused], status: "failed", errorCode: ev.code });
      if (ev.code === "session_expired") return { ...state, messages: unsent(messages), notice, expired: true };
      return { ...state, messages, notice };
    }
    case "resync_required":
    case "ready":
    case "ignored":
      return state;
  }
}

/**
 * Where to start reading session events after loading a snapshot; never before `after`, the
 * earliest event that can matter (`0-0` when a conversation is opened, the event that changed
 * the branch when it is reloaded for one, the snapshot's own id after `resync_required`).
 * Normally right after the snapshot (`snapshot.lastEventId`). But while a user message of the
 * branch has no reply yet, that reply may be streaming already and its beginning lies before the
 * snapshot, outside the history: then read from that message on (a message's id is the id of its
 * `message` event, so its reply's events all follow it), or from `after` when that is later, so
 * the reply is rebuilt from its `reply_start`; the store skips what the history already holds.
 * Should those events have been trimmed, the server answers resync_required and the client
 * continues from the snapshot.
 */
export function resumePoint(snapshot: SessionSnapshot, after: string): string {
  const answered = new Set(snapshot.messages.filter((m) => m.source === "bot").map((m) => m.replyTo));
  const unanswered = snapshot.messages.find((m) => m.source === "human" && !answered.has(m.id));
  if (!unanswered) return snapshot.lastEventId ?? after;
  if (!isStreamId(unanswered.id) || !isStreamId(after) || compareStreamIds(unanswered.id, after) <= 0) return after;
  return unanswered.id;
}

/** The user message whose reply is being generated now, if any (for the Stop button). */
export function activeReply(state: ChatState): string | undefined {
  const streaming = state.messages.find((m) => m.role === "assistant" && m.status === "streaming");
  if (streaming) return streaming.replyTo;
  // Acknowledged but not yet started: the reply is queued; stopping it is allowed too.
  const answered = new Set(state.messages.filter((m) => m.role === "assistant").map((m) => m.replyTo));
  const waiting = state.messages.find((m) => m.role === "user" && m.status === "sent" && m.id !== undefined && !answered.has(m.id));
  return waiting?.id;
}

/** True while a sent user message has no finished reply yet. */
export function isGenerating(state: ChatState): boolean {
  if (state.expired || state.deleted) return false;
  return activeReply(state) !== undefined || state.pendingVersion !== null || state.messages.some((m) => m.status === "sending");
}
