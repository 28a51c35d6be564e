// The wire contract with parley-gateway (docs/protocol.md), and the only module that knows its
// field names. Server frames are validated here and turned into `ServerEvent`s, the shape the rest
// of the client works with; client frames are built here. A frame of the wrong shape is rejected
// with a reason naming the field, never half-applied.

/** A message as stored in the session history (GET /refresh_token, `message`/`reply_end` events). */
export interface HistoryMessage {
  id: string;
  source: "human" | "bot";
  msg: string;
  timestamp: string;
  /** For bot messages: the id of the user message answered. */
  replyTo?: string;
  stopped?: boolean;
  /** Error code when the reply failed. */
  error?: string;
  /** The client's own id of a human message, when the server echoes it. */
  clientId?: string;
  /** For bot messages: why the reply ended when it matters; "length" (the token limit) can be continued. */
  finish?: string;
  /** Which of the message's versions this is (1-based) and how many there are; absent: the only one. */
  version?: number;
  versions?: number;
  /** An edit: the id of the message this is a new version of (`message` events only). */
  editOf?: string;
}

/** Where a message stands among its versions (docs/protocol.md "Versions"). */
export interface VersionInfo {
  version: number;
  versions: number;
}

export interface SessionSnapshot {
  token: string;
  name: string;
  sessionStart: string;
  messages: HistoryMessage[];
  /** Id of the newest session event when the snapshot was taken, if the server tells it. */
  lastEventId?: string;
  /** A person's conversation only: its title ("" until the first message). */
  title?: string;
}

/** One item of `GET /api/conversations`. */
export interface ConversationSummary {
  token: string;
  title: string;
  created: string;
  updated: string;
  /** Messages in its history, the person's and the replies. */
  messages: number;
  preview: string;
}

export interface ConversationPage {
  conversations: ConversationSummary[];
  /** Pass as `cursor` for the next page; null when this was the last. */
  nextCursor: string | null;
}

/**
 * Limits the gateway enforces, with its defaults (docs/configuration.md) until it says otherwise:
 * the `ready` frame announces MAX_MESSAGE_CHARS (applyReady).
 */
export const limits = {
  /** MAX_MESSAGE_CHARS, counted in Unicode code points as the gateway counts. */
  maxMessageChars: 8000,
  /** Longest conversation title a rename may set. */
  maxTitleChars: 80,
};

/** The name the model is told when a conversation is created without one (docs/protocol.md). */
export const DEFAULT_NAME = "You";

/** Length of `text` in Unicode code points (not UTF-16 units: an emoji counts once). */
export function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** WebSocket close codes the gateway uses (docs/protocol.md "Close codes"). */
export const closeCodes = {
  sessionExpired: 4001,
  conversationDeleted: 4004,
};

/** Error codes documented in docs/protocol.md; unknown codes are kept as plain strings. */
export type ErrorCode =
  | "bad_frame"
  | "unknown_type"
  | "binary_not_supported"
  | "empty_message"
  | "message_too_long"
  | "invalid_text"
  | "rate_limited"
  | "busy"
  | "unavailable"
  | "session_expired"
  | "conversation_full"
  | "message_not_found"
  | "invalid_target"
  | "reply_in_progress"
  | "internal"
  | "model_failed"
  | (string & {});

/** What a validated server frame means to the client. Events carrying `eventId` are resumable. */
export type ServerEvent =
  | { kind: "ack"; clientId?: string; messageId: string; duplicate: boolean }
  | { kind: "message"; eventId: string; message: HistoryMessage }
  | {
      kind: "reply_start";
      eventId: string;
      replyTo: string;
      /** A new version of the reply (absent for the first): how it was asked for and its place. */
      request?: "regenerate" | "continue";
      /** For a continue: the reply whose text this one starts with. */
      continueOf?: string;
      version?: number;
      versions?: number;
    }
  /** A new version of reply `messageId` to `replyTo` was asked for; the branch changes. */
  | { kind: "reply_requested"; eventId: string; replyTo: string; request: "regenerate" | "continue"; messageId: string; clientId?: string }
  /** A queued regenerate or continue was stopped before a worker took it; the branch ending at `leaf` is back. */
  | { kind: "reply_withdrawn"; eventId: string; replyTo: string; leaf: string }
  /** A switch made version `version` of `versions` of `messageId` the one shown. */
  | { kind: "branch"; eventId: string; leaf: string; messageId: string; version: number; versions: number }
  | { kind: "delta"; eventId: string; replyTo: string; text: string }
  | { kind: "reply_discard"; eventId: string; replyTo: string }
  /** Where a message of this socket waits for a worker, with the server's words for it. */
  | { kind: "waiting"; replyTo: string; ahead: number; workers: number; message: string }
  /** A stop withdrew the message before any reply started: it is no longer in the history. */
  | { kind: "message_withdrawn"; eventId: string; messageId: string }
  | {
      kind: "reply_end";
      eventId: string;
      replyTo: string;
      /** The stored bot entry; `msg` is "" and `hasText` false when the event carries no text. */
      message: HistoryMessage;
      hasText: boolean;
    }
  | {
      kind: "reply_error";
      eventId: string;
      replyTo?: string;
      code: ErrorCode;
      message: string;
      /** The error-marked bot entry stored in the history, when the server sends it. */
      reply?: HistoryMessage;
    }
  | {
      kind: "error";
      code: ErrorCode;
      message: string;
      retryAfterMs?: number;
      clientId?: string;
      field?: string;
    }
  | { kind: "resync_required" }
  /** Sent once per connection: where the session's event stream stands now. */
  | { kind: "ready"; lastEventId?: string; maxMessageChars?: number }
  | { kind: "ignored"; type: string };

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** Wire names of everything the client sends or reads, in one place. */
export const wire = {
  type: "type",
  eventId: "id",
  // client frames
  message: "message",
  text: "text",
  clientId: "client_id",
  stop: "stop",
  stopMessageId: "message_id",
  ping: "ping",
  edit: "edit",
  regenerate: "regenerate",
  continue: "continue",
  switch: "switch",
  targetId: "message_id",
  // server frames
  ack: "ack",
  ackMessageId: "id",
  ackDuplicate: "duplicate",
  ready: "ready",
  replyStart: "reply_start",
  delta: "delta",
  deltaText: "text",
  replyDiscard: "reply_discard",
  replyEnd: "reply_end",
  replyTo: "reply_to",
  error: "error",
  errorCode: "code",
  errorMessage: "message",
  retryAfterMs: "retry_after_ms",
  errorField: "field",
  resyncRequired: "resync_required",
  waiting: "waiting",
  messageWithdrawn: "message_withdrawn",
  replyRequested: "reply_requested",
  replyWithdrawn: "reply_withdrawn",
  branch: "branch",
  requestKind: "kind",
  continueOf: "continue_of",
  editOf: "edit_of",
  version: "version",
  versions: "versions",
  leaf: "leaf",
  finish: "finish",
  // the history entry nested in `message` events, and in `reply_end` and `error` events
  nestedMessage: "message",
  nestedReply: "reply",
  flatMessageId: "message_id",
  // history entries
  id: "id",
  source: "source",
  msg: "msg",
  timestamp: "timestamp",
  stopped: "stopped",
  // HTTP
  token: "token",
  name: "name",
  sessionStart: "session_start",
  messages: "messages",
  lastEventId: "last_event_id",
  maxMessageChars: "max_message_chars",
  detail: "detail",
  // a person and their conversations
  user: "user",
  title: "title",
  conversations: "conversations",
  nextCursor: "next_cursor",
  cursor: "cursor",
  limit: "limit",
  created: "created",
  updated: "updated",
  messageCount: "messages",
  preview: "preview",
} as const;

/** Server frame types that carry no state the client needs (heartbeats, hello). */
const ignoredTypes = new Set(["pong"]);

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

const STREAM_ID = /^\d+-\d+$/;

/** True when `s` is a Redis stream id (`<ms>-<seq>`), the form of every resumable event id. */
export function isStreamId(s: unknown): s is string {
  return typeof s === "string" && STREAM_ID.test(s);
}

/** Orders two stream ids numerically (-1, 0, 1); both parts may exceed 2^53, hence BigInt. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(BigInt);
  const [bm, bs] = b.split("-").map(BigInt);
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  return 0;
}

class FrameError extends Error {}

function str(o: Json, field: string, where = ""): string {
  const v = o[field];
  if (typeof v !== "string") throw new FrameError(`${where}${field}: expected a string`);
  return v;
}

function optStr(o: Json, field: string, where = ""): string | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new FrameError(`${where}${field}: expected a string`);
  return v;
}

function optNum(o: Json, field: string): number | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
    throw new FrameError(`${field}: expected a non-negative number`);
  return v;
}

/** Ids may be numbers or strings on the wire; the client keeps them as strings. */
function idStr(o: Json, field: string, where = ""): string {
  const v = o[field];
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  if (typeof v !== "string" || v === "") throw new FrameError(`${where}${field}: expected an id`);
  return v;
}

function optIdStr(o: Json, field: string, where = ""): string | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  return idStr(o, field, where);
}

function count(o: Json, field: string, where = ""): number {
  const v = o[field];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new FrameError(`${where}${field}: expected a whole number from 1`);
  return v;
}

/**
 * `version` and `versions` come together or not at all, with 1 <= version <= versions; absent
 * means the message has no other version.
 */
function optVersion(o: Json, where = ""): VersionInfo | undefined {
  if ((o[wire.version] ?? null) === null && (o[wire.versions] ?? null) === null) return undefined;
  const version = count(o, wire.version, where);
  const versions = count(o, wire.versions, where);
  if (version > versions) throw new FrameError(`${where}${wire.version}: ${version} is more than versions (${versions})`);
  return { version, versions };
}

function requestKind(o: Json, field: string): "regenerate" | "continue" {
  const v = o[field];
  if (v !== "regenerate" && v !== "continue") throw new FrameError(`${field}: expected "regenerate" or "continue"`);
  return v;
}

function eventId(o: Json): string {
  const v = o[wire.eventId];
  if (!isStreamId(v)) throw new FrameError(`${wire.eventId}: expected a stream id like 1700000000000-0`);
  return v;
}

/** Validates one history entry (HTTP snapshot or nested in an event). */
export function parseHistoryMessage(v: unknown, where = "message."): HistoryMessage {
  if (!isObject(v)) throw new FrameError(`${where.slice(0, -1) || "message"}: expected an object`);
  const source = v[wire.source];
  if (source !== "human" && source !== "bot")
    throw new FrameError(`${where}${wire.source}: expected "human" or "bot"`);
  const out: HistoryMessage = {
    id: idStr(v, wire.id, where),
    source,
    msg: str(v, wire.msg, where),
    timestamp: optStr(v, wire.timestamp, where) ?? "",
  };
  const replyTo = optIdStr(v, wire.replyTo, where);
  if (replyTo !== undefined) out.replyTo = replyTo;
  if (v[wire.stopped] === true) out.stopped = true;
  const err = optStr(v, wire.error, where);
  if (err !== undefined) out.error = err;
  const clientId = optStr(v, wire.clientId, where);
  if (clientId !== undefined) out.clientId = clientId;
  const finish = optStr(v, wire.finish, where);
  if (finish !== undefined) out.finish = finish;
  const version = optVersion(v, where);
  if (version) {
    out.version = version.version;
    out.versions = version.versions;
  }
  const editOf = optIdStr(v, wire.editOf, where);
  if (editOf !== undefined) out.editOf = editOf;
  return out;
}

/** The message of a `message` event: nested under `message`, or the event itself. */
function eventMessage(o: Json, nestedKey: string, fallbackSource: "human" | "bot"): HistoryMessage {
  const nested = o[nestedKey];
  if (isObject(nested)) return parseHistoryMessage(nested, `${nestedKey}.`);
  // Flat form: the event carries the entry's fields, with its own `message_id`.
  const flat: Json = {
    [wire.id]: o[wire.flatMessageId],
    [wire.source]: o[wire.source] ?? fallbackSource,
    [wire.msg]: o[wire.msg] ?? o[wire.text],
    [wire.timestamp]: o[wire.timestamp],
    [wire.replyTo]: o[wire.replyTo],
    [wire.stopped]: o[wire.stopped],
    [wire.error]: typeof o[wire.error] === "string" ? o[wire.error] : undefined,
    [wire.clientId]: o[wire.clientId],
    [wire.finish]: o[wire.finish],
    [wire.version]: o[wire.version],
    [wire.versions]: o[wire.versions],
    [wire.editOf]: o[wire.editOf],
  };
  return parseHistoryMessage(flat, "");
}

/** Parses and validates one text frame from the server. */
export function parseServerFrame(raw: string): ParseResult<ServerEvent> {
  let o: unknown;
  try {
    o = JSON.parse(raw);
  } catch {
    return { ok: false, error: "frame is not JSON" };
  }
  if (!isObject(o)) return { ok: false, error: "frame: expected a JSON object" };
  try {
    return { ok: true, value: toEvent(o) };
  } catch (e) {
    if (e instanceof FrameError) return { ok: false, error: e.message };
    throw e;
  }
}

function toEvent(o: Json): ServerEvent {
  const type = str(o, wire.type);
  switch (type) {
    case wire.ack:
      return {
        kind: "ack",
        clientId: optStr(o, wire.clientId),
        messageId: idStr(o, wire.ackMessageId),
        duplicate: o[wire.ackDuplicate] === true,
      };
    case wire.message:
      return { kind: "message", eventId: eventId(o), message: eventMessage(o, wire.nestedMessage, "human") };
    case wire.replyStart: {
      const ev: ServerEvent = { kind: "reply_start", eventId: eventId(o), replyTo: idStr(o, wire.replyTo) };
      if (o[wire.requestKind] !== undefined) ev.request = requestKind(o, wire.requestKind);
      const continueOf = optIdStr(o, wire.continueOf);
      if (continueOf !== undefined) {
        if (ev.request !== "continue") throw new FrameError(`${wire.continueOf}: only a continue has it`);
        ev.continueOf = continueOf;
      }
      const version = optVersion(o);
      if (version) {
        ev.version = version.version;
        ev.versions = version.versions;
      }
      return ev;
    }
    case wire.replyRequested: {
      const ev: ServerEvent = {
        kind: "reply_requested",
        eventId: eventId(o),
        replyTo: idStr(o, wire.replyTo),
        request: requestKind(o, wire.requestKind),
        messageId: idStr(o, wire.targetId),
      };
      const clientId = optStr(o, wire.clientId);
      if (clientId !== undefined) ev.clientId = clientId;
      return ev;
    }
    case wire.replyWithdrawn:
      return { kind: "reply_withdrawn", eventId: eventId(o), replyTo: idStr(o, wire.replyTo), leaf: str(o, wire.leaf) };
    case wire.branch: {
      const version = optVersion(o);
      if (!version) throw new FrameError(`${wire.version}: expected a whole number from 1`);
      return { kind: "branch", eventId: eventId(o), leaf: idStr(o, wire.leaf), messageId: idStr(o, wire.targetId), ...version };
    }
    case wire.delta:
      return {
        kind: "delta",
        eventId: eventId(o),
        replyTo: idStr(o, wire.replyTo),
        text: str(o, wire.deltaText),
      };
    case wire.replyDiscard:
      return { kind: "reply_discard", eventId: eventId(o), replyTo: idStr(o, wire.replyTo) };
    case wire.replyEnd: {
      const replyTo = idStr(o, wire.replyTo);
      if (isObject(o[wire.nestedReply])) {
        const message = parseHistoryMessage(o[wire.nestedReply], `${wire.nestedReply}.`);
        return { kind: "reply_end", eventId: eventId(o), replyTo, message: { ...message, replyTo }, hasText: true };
      }
      // Flat form: optional message_id, stopped and text beside reply_to.
      const text = optStr(o, wire.deltaText);
      const message: HistoryMessage = {
        id: optIdStr(o, wire.flatMessageId) ?? `reply-${replyTo}`,
        source: "bot",
        msg: text ?? optStr(o, wire.msg) ?? "",
        timestamp: optStr(o, wire.timestamp) ?? "",
        replyTo,
      };
      if (o[wire.stopped] === true) message.stopped = true;
      const finish = optStr(o, wire.finish);
      if (finish !== undefined) message.finish = finish;
      return { kind: "reply_end", eventId: eventId(o), replyTo, message, hasText: text !== undefined || typeof o[wire.msg] === "string" };
    }
    case wire.error: {
      const code = str(o, wire.errorCode);
      const message = optStr(o, wire.errorMessage) ?? "";
      if (o[wire.eventId] !== undefined) {
        const ev: ServerEvent = { kind: "reply_error", eventId: eventId(o), replyTo: optIdStr(o, wire.replyTo), code, message };
        if (isObject(o[wire.nestedReply])) ev.reply = parseHistoryMessage(o[wire.nestedReply], `${wire.nestedReply}.`);
        return ev;
      }
      const ev: ServerEvent = { kind: "error", code, message };
      const retry = optNum(o, wire.retryAfterMs);
      if (retry !== undefined) ev.retryAfterMs = retry;
      const clientId = optStr(o, wire.clientId);
      if (clientId !== undefined) ev.clientId = clientId;
      const field = optStr(o, wire.errorField);
      if (field !== undefined) ev.field = field;
      return ev;
    }
    case wire.resyncRequired:
      return { kind: "resync_required" };
    case wire.waiting:
      return {
        kind: "waiting",
        replyTo: idStr(o, wire.replyTo),
        ahead: optNum(o, "ahead") ?? 0,
        workers: optNum(o, "workers") ?? 0,
        message: str(o, "message"),
      };
    case wire.messageWithdrawn:
      return { kind: "message_withdrawn", eventId: eventId(o), messageId: idStr(o, "message_id") };
    case wire.ready: {
      const max = o[wire.maxMessageChars];
      if (max !== undefined && !(typeof max === "number" && Number.isInteger(max) && max > 0))
        throw new FrameError(`${wire.maxMessageChars}: expected a positive whole number`);
      const limit = max === undefined ? {} : { maxMessageChars: max as number };
      const last = o[wire.lastEventId];
      if (last === undefined || last === null || last === "") return { kind: "ready", ...limit };
      if (!isStreamId(last)) throw new FrameError(`${wire.lastEventId}: expected a stream id`);
      return { kind: "ready", lastEventId: last, ...limit };
    }
    default:
      if (ignoredTypes.has(type)) return { kind: "ignored", type };
      throw new FrameError(`${wire.type}: unknown frame type "${type}"`);
  }
}

/** Parses the JSON body of POST /token and GET /refresh_token. */
export function parseSession(body: unknown): ParseResult<SessionSnapshot> {
  try {
    if (!isObject(body)) throw new FrameError("session: expected a JSON object");
    const list = body[wire.messages] ?? [];
    if (!Array.isArray(list)) throw new FrameError(`${wire.messages}: expected an array`);
    const snap: SessionSnapshot = {
      token: str(body, wire.token),
      name: str(body, wire.name),
      sessionStart: optStr(body, wire.sessionStart) ?? "",
      messages: list.map((m, i) => parseHistoryMessage(m, `${wire.messages}[${i}].`)),
    };
    const last = body[wire.lastEventId];
    if (isStreamId(last)) snap.lastEventId = last;
    const title = optStr(body, wire.title);
    if (title !== undefined) snap.title = title;
    return { ok: true, value: snap };
  } catch (e) {
    if (e instanceof FrameError) return { ok: false, error: e.message };
    throw e;
  }
}

function parsing<T>(body: unknown, read: (o: Json) => T, what: string): ParseResult<T> {
  try {
    if (!isObject(body)) throw new FrameError(`${what}: expected a JSON object`);
    return { ok: true, value: read(body) };
  } catch (e) {
    if (e instanceof FrameError) return { ok: false, error: e.message };
    throw e;
  }
}

/** Parses the body of `POST /api/users`: the person's token. */
export function parseUser(body: unknown): ParseResult<string> {
  return parsing(body, (o) => str(o, wire.user), "user");
}

function conversationSummary(v: unknown, where: string): ConversationSummary {
  if (!isObject(v)) throw new FrameError(`${where.slice(0, -1)}: expected an object`);
  const count = v[wire.messageCount];
  if (typeof count !== "number" || !Number.isInteger(count) || count < 0)
    throw new FrameError(`${where}${wire.messageCount}: expected a count`);
  return {
    token: str(v, wire.token, where),
    title: str(v, wire.title, where),
    created: optStr(v, wire.created, where) ?? "",
    updated: optStr(v, wire.updated, where) ?? "",
    messages: count,
    preview: optStr(v, wire.preview, where) ?? "",
  };
}

/** Parses the body of `GET /api/conversations`. */
export function parseConversationPage(body: unknown): ParseResult<ConversationPage> {
  return parsing(body, (o) => {
    const list = o[wire.conversations];
    if (!Array.isArray(list)) throw new FrameError(`${wire.conversations}: expected an array`);
    return {
      conversations: list.map((c, i) => conversationSummary(c, `${wire.conversations}[${i}].`)),
      nextCursor: optStr(o, wire.nextCursor) ?? null,
    };
  }, "conversations");
}

/** Parses the body of `PATCH /api/conversations/{T}`. */
export function parseRenamed(body: unknown): ParseResult<{ token: string; title: string }> {
  return parsing(body, (o) => ({ token: str(o, wire.token), title: str(o, wire.title) }), "rename");
}

export const clientBodies = {
  rename: (title: string) => JSON.stringify({ [wire.title]: title }),
  create: (name?: string) => JSON.stringify(name ? { [wire.name]: name } : {}),
};

/** Reads the human text of an HTTP error body: `{"detail": "..."}` or `{"detail": {"msg": ...}}`. */
export function errorDetail(body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  const d = body[wire.detail];
  if (typeof d === "string") return d;
  if (isObject(d) && typeof d["msg"] === "string") return d["msg"];
  return undefined;
}

export const clientFrames = {
  message: (text: string, clientId: string) =>
    JSON.stringify({ [wire.type]: wire.message, [wire.text]: text, [wire.clientId]: clientId }),
  stop: (messageId: string) =>
    JSON.stringify({ [wire.type]: wire.stop, [wire.stopMessageId]: messageId }),
  ping: () => JSON.stringify({ [wire.type]: wire.ping }),
  edit: (messageId: string, text: string, clientId: string) =>
    JSON.stringify({ [wire.type]: wire.edit, [wire.targetId]: messageId, [wire.text]: text, [wire.clientId]: clientId }),
  regenerate: (messageId: string, clientId: string) =>
    JSON.stringify({ [wire.type]: wire.regenerate, [wire.targetId]: messageId, [wire.clientId]: clientId }),
  continue: (messageId: string, clientId: string) =>
    JSON.stringify({ [wire.type]: wire.continue, [wire.targetId]: messageId, [wire.clientId]: clientId }),
  switch: (messageId: string, version: number) =>
    JSON.stringify({ [wire.type]: wire.switch, [wire.targetId]: messageId, [wire.version]: version }),
};

/**
 * Events after which the branch shown is another one (docs/protocol.md "Versions"): an edit's
 * `message`, `reply_requested`, `reply_withdrawn` and `branch`. The client reloads the history
 * then and reads the events after the one that changed it.
 */
export function changesBranch(ev: ServerEvent): ev is Extract<ServerEvent, { eventId: string }> {
  return (ev.kind === "message" && ev.message.editOf !== undefined)
    || ev.kind === "reply_requested" || ev.kind === "reply_withdrawn" || ev.kind === "branch";
}

/**
 * The WebSocket URL for a session, resuming after `lastEventId` when given; `user` for a
 * person's conversation (a seed session has none).
 */
export function chatUrl(base: string, token: string, lastEventId?: string, user?: string): string {
  const u = new URL("/chat", base);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.searchParams.set(wire.token, token);
  if (lastEventId !== undefined) u.searchParams.set(wire.lastEventId, lastEventId);
  if (user !== undefined) u.searchParams.set(wire.user, user);
  return u.toString();
}

/** Takes the limits a `ready` frame announces, so every counter uses the server's own number. */
export function applyReady(ev: ServerEvent): void {
  if (ev.kind === "ready" && ev.maxMessageChars !== undefined) limits.maxMessageChars = ev.maxMessageChars;
}
