// Wires the session (HTTP), the transport (WebSocket) and the store together; components below
// only render what the store holds.
import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { ChatConnection } from "./transport/connection";
import { createSession, localTokenStore, refreshSession } from "./transport/session";
import type { SessionSnapshot } from "./transport/protocol";
import { activeReply, chatReducer, initialChatState, isGenerating, resumePoint } from "./store/chat";
import { NameForm } from "./components/NameForm";
import { ChatHeader } from "./components/ChatHeader";
import { MessageList } from "./components/MessageList";
import { Composer } from "./components/Composer";
import { NoticeBanner } from "./components/NoticeBanner";
import { installTestHooks, recordEvent, recordStop } from "./testHooks";

/** The gateway's message limit (docs/protocol.md); longer text is refused before sending. */
const MAX_MESSAGE_CHARS = 8000;
/** Replay every retained event (see resumePoint and docs/web.md). */
const REPLAY_ALL = "0-0";
/** Longest part of a reply read out by the live region. */
const ANNOUNCE_CHARS = 300;

type Phase =
  | { kind: "loading" }
  | { kind: "unreachable"; message: string }
  | { kind: "welcome"; info: string | null }
  | { kind: "chat" };

const baseUrl = () => window.location.origin;

function newClientId(): string {
  return typeof crypto !== "undefined" && "randomUUID" in crypto
    ? crypto.randomUUID()
    : `c-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}


export function App() {
  const [phase, setPhase] = useState<Phase>({ kind: "loading" });
  const [state, dispatch] = useReducer(chatReducer, initialChatState);
  const [busy, setBusy] = useState(false);
  const [formError, setFormError] = useState<string | null>(null);
  const [announcement, setAnnouncement] = useState("");
  const conn = useRef<ChatConnection | null>(null);
  const composer = useRef<HTMLTextAreaElement>(null);
  const announced = useRef<Set<string>>(new Set());

  const connect = useCallback((snapshot: SessionSnapshot) => {
    conn.current?.close();
    const token = snapshot.token;
    let opens = 0;
    const c = new ChatConnection({
      baseUrl: baseUrl(),
      token,
      lastEventId: resumePoint(snapshot, REPLAY_ALL),
      checkSession: async () => {
        const r = await refreshSession(baseUrl(), token);
        return r.ok ? "alive" : r.kind === "expired" ? "expired" : "unknown";
      },
      onStatus: (status, retryInMs) => {
        if (status === "open") opens += 1;
        dispatch({ type: "connection", status, retryInMs });
      },
      onInvalidFrame: (error, raw) => console.warn(`parley: ignored invalid frame (${error})`, raw),
      onEvent: (event) => {
        const cut = recordEvent(event);
        dispatch({ type: "server", event, now: Date.now() });
        if (cut) c.simulateDrop();
        if (event.kind === "resync_required") {
          void refreshSession(baseUrl(), token).then((r) => {
            if (conn.current !== c) return;
            if (r.ok) {
              dispatch({ type: "session_loaded", snapshot: r.snapshot });
              c.resync(r.snapshot.lastEventId);
            } else if (r.kind === "expired") {
              dispatch({ type: "server", event: { kind: "error", code: "session_expired", message: "" }, now: Date.now() });
              c.close();
            } else {
              c.resync(c.lastEventId);
            }
          });
        }
      },
    });
    conn.current = c;
    // Seed the "already announced" set so reloading does not read out the whole history.
    announced.current = new Set(snapshot.messages.map((m) => m.id));
    dispatch({ type: "session_loaded", snapshot });
    c.start();
    installTestHooks(c, () => opens);
  }, []);

  const startSession = useCallback(async (name: string) => {
    setBusy(true);
    setFormError(null);
    const r = await createSession(baseUrl(), name);
    setBusy(false);
    if (!r.ok) {
      setFormError(r.message);
      setPhase({ kind: "welcome", info: null });
      return;
    }
    localTokenStore.save(r.snapshot.token);
    setPhase({ kind: "chat" });
    connect(r.snapshot);
  }, [connect]);

  const resume = useCallback(async () => {
    const token = localTokenStore.load();
    if (!token) {
      setPhase({ kind: "welcome", info: null });
      return;
    }
    setPhase({ kind: "loading" });
    const r = await refreshSession(baseUrl(), token);
    if (r.ok) {
      setPhase({ kind: "chat" });
      connect(r.snapshot);
    } else if (r.kind === "expired") {
      localTokenStore.clear();
      setPhase({ kind: "welcome", info: "Your previous chat has expired. Start a new one below." });
    } else {
      // Keep the token: the session may well be alive once the server is reachable again.
      setPhase({ kind: "unreachable", message: r.message });
    }
  }, [connect]);

  useEffect(() => {
    void resume();
    return () => conn.current?.close();
  }, [resume]);

  useEffect(() => {
    if (phase.kind === "chat") composer.current?.focus();
  }, [phase.kind]);

  useEffect(() => {
    const online = () => conn.current?.reconnectNow();
    window.addEventListener("online", online);
    return () => window.removeEventListener("online", online);
  }, []);

  // The live region reads each reply once, when it is complete, rather than every streamed token.
  useEffect(() => {
    for (const m of state.messages) {
      if (m.role !== "assistant" || !m.id || announced.current.has(m.id)) continue;
      if (m.status === "streaming") continue;
      announced.current.add(m.id);
      const text = m.text.length > ANNOUNCE_CHARS ? `${m.text.slice(0, ANNOUNCE_CHARS)}…` : m.text;
      setAnnouncement(`Parley replied${m.status === "stopped" ? " (stopped)" : ""}: ${text}`);
    }
  }, [state.messages]);

  const send = useCallback((text: string) => {
    const c = conn.current;
    if (!c) return;
    const clientId = newClientId();
    dispatch({ type: "local_send", clientId, text, timestamp: new Date().toISOString() });
    c.send(text, clientId);
  }, []);

  const retry = useCallback((clientId: string) => {
    const m = state.messages.find((x) => x.clientId === clientId);
    if (!m || !conn.current) return;
    dispatch({ type: "resend", clientId });
    conn.current.send(m.text, clientId);
  }, [state.messages]);

  const stop = useCallback(() => {
    const id = activeReply(state);
    if (id) {
      conn.current?.stop(id);
      recordStop();
    } else {
      const pending = state.messages.find((m) => m.role === "user" && m.status === "sending");
      if (pending?.clientId) {
        conn.current?.stopUnacknowledged(pending.clientId);
        recordStop();
      }
    }
    composer.current?.focus();
  }, [state]);

  const newChat = useCallback(() => {
    conn.current?.close();
    conn.current = null;
    localTokenStore.clear();
    const name = state.name;
    if (name) void startSession(name);
    else setPhase({ kind: "welcome", info: null });
    setTimeout(() => composer.current?.focus(), 0);
  }, [state.name, startSession]);

  if (phase.kind === "loading") {
    return <div className="loading" role="status" aria-live="polite">Loading your chat…</div>;
  }
  if (phase.kind === "unreachable") {
    return (
      <main className="welcome">
        <div className="welcome__card" role="alert">
          <h1 className="welcome__title">Can't load your chat</h1>
          <p className="welcome__lead">{phase.message}</p>
          <button type="button" className="button button--primary" autoFocus onClick={() => void resume()}>Try again</button>
        </div>
      </main>
    );
  }
  if (phase.kind === "welcome") {
    return <NameForm busy={busy} error={formError} info={phase.info} onSubmit={startSession} />;
  }

  const generating = isGenerating(state);
  return (
    <div className="app">
      <a className="skip-link" href="#composer-input" onClick={(e) => { e.preventDefault(); composer.current?.focus(); }}>Skip to message box</a>
      <ChatHeader name={state.name} connection={state.connection} onNewChat={newChat} onReconnect={() => conn.current?.reconnectNow()} />
      <main className="chat">
        <MessageList messages={state.messages} name={state.name} onRetry={retry} onSuggestion={send} disabled={state.expired} />
        <div className="chat__bottom">
          {state.notice && (
            <NoticeBanner notice={state.notice} onDismiss={() => dispatch({ type: "dismiss_notice" })} onNewChat={newChat} />
          )}
          <Composer ref={composer} generating={generating} disabled={state.expired || busy} maxChars={MAX_MESSAGE_CHARS} onSend={send} onStop={stop} />
        </div>
      </main>
      <div className="visually-hidden" aria-live="polite" aria-atomic="true" data-testid="live-region">{announcement}</div>
    </div>
  );
}
