// Owns the chat WebSocket of one session: connects, reconnects with jittered backoff, resumes
// from the last event id, validates every frame and drops events already delivered, and keeps
// unacknowledged messages, edits, regenerates and continues to resend them (with the same client
// id, so the server stores and answers each once). After `resync_required` or an event that shows
// another branch (`changesBranch`) it delivers nothing more until the owner has reloaded the
// history and says where to go on from (`resync`). It knows nothing of React or of the conversation; `onEvent` receives each new event once,
// in stream order.
//
// Not thread-safe in any sense that matters in a browser: every method and callback runs on the
// page's single event loop.
import { backoffDelay, defaultBackoff, type BackoffConfig } from "./backoff";
import {
  applyReady,
  changesBranch,
  chatUrl,
  clientFrames,
  closeCodes,
  compareStreamIds,
  parseServerFrame,
  type ServerEvent,
} from "./protocol";

/** The subset of the browser WebSocket the transport uses, so tests can drive it. */
export interface SocketLike {
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

export type ConnectionStatus =
  | "connecting" // first attempt in progress
  | "open"
  | "reconnecting" // lost; a retry is scheduled or in progress
  | "expired" // the session is gone; no more retries
  | "deleted" // the conversation was deleted (close 4004); no more retries
  | "closed"; // closed by the owner

/** After a handshake that never opened: is the conversation still there? */
export type SessionCheck = () => Promise<"alive" | "expired" | "deleted" | "unknown">;

export interface ConnectionOptions {
  baseUrl: string;
  token: string;
  /** The person whose conversation this is (`&user=`); absent for a seed session. */
  user?: string;
  /** Resume after this event id; absent: only events from now on. */
  lastEventId?: string;
  createSocket?: SocketFactory;
  /** Asked after a connection attempt fails before opening: a 403 handshake looks like any drop. */
  checkSession?: SessionCheck;
  onEvent: (ev: ServerEvent) => void;
  onStatus?: (status: ConnectionStatus, retryInMs?: number) => void;
  onInvalidFrame?: (error: string, raw: string) => void;
  backoff?: BackoffConfig;
  /**
   * Interval of application pings (`{"type":"ping"}`); a socket that received nothing during a
   * whole interval after a ping is taken as dead and replaced. A browser may otherwise not notice
   * a silently broken connection (a laptop waking up, a NAT timeout) for minutes. 0 disables.
   */
  heartbeatMs?: number;
  random?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

const OPEN = 1;
const CLOSE_NORMAL = 1000;
/** Our own close code for a socket we gave up on (heartbeat missed, or a simulated drop). */
const CLOSE_GIVE_UP = 4000;
const DEFAULT_HEARTBEAT_MS = 15_000;

export class ChatConnection {
  private readonly opts: ConnectionOptions;
  private socket: SocketLike | null = null;
  private status_: ConnectionStatus = "connecting";
  private lastEventId_: string | undefined;
  private attempt = 0;
  private retryTimer: unknown = null;
  private heartbeatTimer: unknown = null;
  private awaitingPong = false;
  private opened = false;
  private pausedForResync = false;
  /** Frames of turns (messages, edits, regenerates, continues) not yet acknowledged, by client id, in send order. */
  private readonly outbox = new Map<string, string>();
  /** Stops and switches asked for while no socket was open, sent on the next open. */
  private readonly pendingStops = new Set<string>();
  private readonly pendingSwitches: string[] = [];
  /** Messages to stop as soon as their ack tells their id, by client id. */
  private readonly stopOnAck = new Set<string>();

  constructor(opts: ConnectionOptions) {
    this.opts = opts;
    this.lastEventId_ = opts.lastEventId;
  }

  get status(): ConnectionStatus {
    return this.status_;
  }

  get lastEventId(): string | undefined {
    return this.lastEventId_;
  }

  /** Client ids of messages not yet acknowledged, oldest first. */
  get unacknowledged(): string[] {
    return [...this.outbox.keys()];
  }

  start(): void {
    this.open();
  }

  /** Queues a user message; it is (re)sent on every (re)connect until acknowledged. */
  send(text: string, clientId: string): void {
    this.sendTurn(clientId, clientFrames.message(text, clientId));
  }

  /** A new version of user message `messageId`; resent like a message until acknowledged. */
  edit(messageId: string, text: string, clientId: string): void {
    this.sendTurn(clientId, clientFrames.edit(messageId, text, clientId));
  }

  /** A new version of reply `messageId`; resent like a message until acknowledged. */
  regenerate(messageId: string, clientId: string): void {
    this.sendTurn(clientId, clientFrames.regenerate(messageId, clientId));
  }

  /** The rest of reply `messageId`, cut at the token limit; resent like a message until acknowledged. */
  continueReply(messageId: string, clientId: string): void {
    this.sendTurn(clientId, clientFrames.continue(messageId, clientId));
  }

  /** Shows version `version` of message `messageId`; no ack: a `branch` event follows. */
  switchVersion(messageId: string, version: number): void {
    const frame = clientFrames.switch(messageId, version);
    if (this.isOpen()) this.socket!.send(frame);
    else this.pendingSwitches.push(frame);
  }

  private sendTurn(clientId: string, frame: string): void {
    this.outbox.set(clientId, frame);
    if (this.isOpen()) this.socket!.send(frame);
  }

  /** Asks the server to stop the reply to user message `messageId`. */
  stop(messageId: string): void {
    if (this.isOpen()) this.socket!.send(clientFrames.stop(messageId));
    else this.pendingStops.add(messageId);
  }

  /**
   * Asks to stop the reply to a message not acknowledged yet (its id is unknown): the stop is
   * sent as soon as the ack names the message.
   */
  stopUnacknowledged(clientId: string): void {
    if (this.outbox.has(clientId)) this.stopOnAck.add(clientId);
  }

  /** Forgets a queued message (the server refused it; the user may send it again). */
  forget(clientId: string): void {
    this.outbox.delete(clientId);
  }

  /**
   * Continues after `resync_required`: the owner has reloaded the history; events resume after
   * `lastEventId` (or from now on when it is undefined).
   */
  resync(lastEventId: string | undefined): void {
    this.lastEventId_ = lastEventId;
    this.pausedForResync = false;
    this.restart();
  }

  /**
   * Delivers no more events until `resync`: the owner reloads the history (the server said it
   * lost track of a message this page showed) and says where to go on from.
   */
  holdForReload(): void {
    this.pausedForResync = true;
  }

  /** Reconnects at once (the browser came back online, or the user asked). */
  reconnectNow(): void {
    if (this.isFinal() || this.status_ === "open") return;
    this.restart();
  }

  /** Cuts the socket as a network failure would; used by the end-to-end tests. */
  simulateDrop(): void {
    this.socket?.close(CLOSE_GIVE_UP, "simulated drop");
  }

  close(): void {
    this.setStatus("closed");
    this.clearRetry();
    this.stopHeartbeat();
    this.detach(CLOSE_NORMAL);
  }

  private isFinal(): boolean {
    return this.status_ === "expired" || this.status_ === "deleted" || this.status_ === "closed";
  }

  private isOpen(): boolean {
    return this.socket !== null && this.socket.readyState === OPEN && this.opened;
  }

  private restart(): void {
    this.clearRetry();
    this.detach(CLOSE_NORMAL);
    this.open();
  }

  private open(): void {
    if (this.isFinal()) return;
    const factory = this.opts.createSocket ?? ((url: string) => new WebSocket(url) as SocketLike);
    const url = chatUrl(this.opts.baseUrl, this.opts.token, this.lastEventId_, this.opts.user);
    this.opened = false;
    const ws = factory(url);
    this.socket = ws;
    ws.onopen = () => {
      if (this.socket !== ws) return;
      this.opened = true;
      this.attempt = 0;
      this.setStatus("open");
      this.startHeartbeat(ws);
      for (const frame of this.outbox.values()) ws.send(frame);
      for (const id of this.pendingStops) ws.send(clientFrames.stop(id));
      this.pendingStops.clear();
      for (const frame of this.pendingSwitches.splice(0)) ws.send(frame);
    };
    ws.onmessage = (ev) => {
      if (this.socket !== ws) return;
      if (typeof ev.data !== "string") {
        this.opts.onInvalidFrame?.("binary frame", "");
        return;
      }
      this.awaitingPong = false;
      this.receive(ev.data);
    };
    ws.onerror = () => {
      // Always followed by onclose, which decides what to do.
    };
    ws.onclose = (ev) => {
      if (this.socket !== ws) return;
      const wasOpen = this.opened;
      this.stopHeartbeat();
      this.socket = null;
      this.opened = false;
      if (ev.code === closeCodes.sessionExpired) {
        this.expire();
        return;
      }
      if (ev.code === closeCodes.conversationDeleted) {
        this.gone();
        return;
      }
      void this.afterDrop(wasOpen);
    };
  }

  private async afterDrop(wasOpen: boolean): Promise<void> {
    if (this.isFinal()) return;
    if (!wasOpen && this.opts.checkSession) {
      this.setStatus("reconnecting");
      const verdict = await this.opts.checkSession().catch(() => "unknown" as const);
      if (verdict === "expired") {
        this.expire();
        return;
      }
      if (verdict === "deleted") {
        this.gone();
        return;
      }
      if (this.status_ !== "reconnecting" || this.socket !== null) return;
    }
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    this.clearRetry();
    const delay = backoffDelay(this.attempt, this.opts.random ?? Math.random, this.opts.backoff ?? defaultBackoff);
    this.attempt += 1;
    this.setStatus("reconnecting", delay);
    const set = this.opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.retryTimer = set(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }

  private startHeartbeat(ws: SocketLike): void {
    const every = this.opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    if (every <= 0) return;
    this.awaitingPong = false;
    const set = this.opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    const tick = () => {
      this.heartbeatTimer = null;
      if (this.socket !== ws) return;
      if (this.awaitingPong) {
        // Nothing arrived for a whole interval after our ping: the path is dead. Closing may not
        // even produce a close event on a broken path, so give up on this socket ourselves.
        this.detach(CLOSE_GIVE_UP);
        void this.afterDrop(true);
        return;
      }
      ws.send(clientFrames.ping());
      this.awaitingPong = true;
      this.heartbeatTimer = set(tick, every);
    };
    this.heartbeatTimer = set(tick, every);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer === null) return;
    const clear = this.opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    clear(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private clearRetry(): void {
    if (this.retryTimer === null) return;
    const clear = this.opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    clear(this.retryTimer);
    this.retryTimer = null;
  }

  private detach(code: number): void {
    this.stopHeartbeat();
    const ws = this.socket;
    this.socket = null;
    this.opened = false;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(code);
      } catch {
        // Closing a socket that never connected may throw in some browsers; it is gone either way.
      }
    }
  }

  private expire(): void {
    this.clearRetry();
    this.detach(CLOSE_NORMAL);
    this.setStatus("expired");
    this.opts.onEvent({ kind: "error", code: "session_expired", message: "" });
  }

  /** The conversation was deleted: nothing more will ever arrive or be accepted. */
  private gone(): void {
    this.clearRetry();
    this.detach(CLOSE_NORMAL);
    this.outbox.clear();
    this.setStatus("deleted");
  }

  private receive(raw: string): void {
    const parsed = parseServerFrame(raw);
    if (!parsed.ok) {
      this.opts.onInvalidFrame?.(parsed.error, raw);
      return;
    }
    const ev = parsed.value;
    if (ev.kind === "ignored") return;
    // Connected without a position: continue from where the stream stood when we joined.
    if (ev.kind === "ready" && this.lastEventId_ === undefined) this.lastEventId_ = ev.lastEventId;
    applyReady(ev);
    if (ev.kind === "ack" && ev.clientId !== undefined) {
      this.outbox.delete(ev.clientId);
      if (this.stopOnAck.delete(ev.clientId)) this.stop(ev.messageId);
    }
    if (ev.kind === "error") {
      if (ev.code === "session_expired") {
        this.expire();
        return;
      }
      // A refused message is not stored; the owner decides whether to offer it again.
      if (ev.clientId !== undefined) {
        this.outbox.delete(ev.clientId);
        this.stopOnAck.delete(ev.clientId);
      }
    }
    if (ev.kind === "resync_required") {
      this.pausedForResync = true;
      this.opts.onEvent(ev);
      return;
    }
    if ("eventId" in ev) {
      if (this.pausedForResync) return;
      if (this.lastEventId_ !== undefined && compareStreamIds(ev.eventId, this.lastEventId_) <= 0) return;
      this.lastEventId_ = ev.eventId;
      // Another branch is shown from here on: the owner reloads it, then resyncs from this event.
      if (changesBranch(ev)) this.pausedForResync = true;
    }
    this.opts.onEvent(ev);
  }

  private setStatus(s: ConnectionStatus, retryInMs?: number): void {
    if (this.status_ === s && retryInMs === undefined) return;
    this.status_ = s;
    this.opts.onStatus?.(s, retryInMs);
  }
}
