// Hooks the end-to-end tests read through `window.__parley`: the events the transport delivered
// (to prove each arrived exactly once) and a way to cut the socket mid-reply as a network blip
// would. They only observe or drop the connection, so they are harmless in a person's browser.
import type { ChatConnection } from "./transport/connection";
import type { ServerEvent } from "./transport/protocol";

export interface DeliveredEvent {
  kind: ServerEvent["kind"];
  eventId?: string;
  replyTo?: string;
  text?: string;
  /** A reply_start of a continue: the reply it starts from. */
  continueOf?: string;
  /** performance.now() at delivery. */
  at: number;
}

export interface ParleyTestHooks {
  events: DeliveredEvent[];
  /** Cuts the socket right after the next delta is delivered. */
  dropOnNextDelta: () => void;
  drop: () => void;
  lastEventId: () => string | undefined;
  status: () => string;
  connects: () => number;
  /** Stop frames handed to the transport. */
  stopsSent: () => number;
}

declare global {
  interface Window {
    __parley?: ParleyTestHooks;
  }
}

let armed = false;
let stops = 0;

export function recordStop(): void {
  stops += 1;
}

export function installTestHooks(conn: ChatConnection, connects: () => number): void {
  window.__parley = {
    events: [],
    dropOnNextDelta: () => {
      armed = true;
    },
    drop: () => conn.simulateDrop(),
    lastEventId: () => conn.lastEventId,
    status: () => conn.status,
    connects,
    stopsSent: () => stops,
  };
}

/** Records a delivered event; returns true when the socket should be cut now. */
export function recordEvent(ev: ServerEvent): boolean {
  const hooks = window.__parley;
  if (!hooks) return false;
  const e: DeliveredEvent = { kind: ev.kind, at: Math.round(performance.now()) };
  if ("eventId" in ev) e.eventId = ev.eventId;
  if ("replyTo" in ev && ev.replyTo !== undefined) e.replyTo = ev.replyTo;
  if (ev.kind === "delta") e.text = ev.text;
  if (ev.kind === "reply_end") e.text = ev.message.msg;
  if (ev.kind === "reply_start" && ev.continueOf !== undefined) e.continueOf = ev.continueOf;
  hooks.events.push(e);
  if (armed && ev.kind === "delta") {
    armed = false;
    return true;
  }
  return false;
}
