// Wires the person (HTTP), their conversations (sidebar store), the active conversation's
// transport (WebSocket) and its store together; components below only render what the stores hold.
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import { ChatConnection, type SessionCheck } from "./transport/connection";
import { backoffDelay } from "./transport/backoff";
import { ConversationApi, localTokenStore, nameStore, refreshSession, userStore, type ApiResult } from "./transport/session";
import { changesBranch, limits, type ConversationSummary, type SessionSnapshot } from "./transport/protocol";
import { activeReply, chatReducer, initialChatState, isGenerating, resumePoint } from "./store/chat";
import { conversationsReducer, initialConversations, reusableEmpty, summaryOf, type ConversationsAction } from "./store/conversations";
import { pathForToken, tokenFromPath } from "./store/route";
import { ChatHeader } from "./components/ChatHeader";
import { MessageList } from "./components/MessageList";
import type { VersionFocus } from "./components/MessageActions";
import { Composer } from "./components/Composer";
import { NoticeBanner } from "./components/NoticeBanner";
import { Sidebar, UNTITLED, type EarlierChat } from "./components/Sidebar";
import { ConfirmDialog } from "./components/ConfirmDialog";
import { UndoToast } from "./components/UndoToast";
import { plainText } from "./components/plainText";
import { useMedia } from "./components/useMedia";
import { installTestHooks, recordEvent, recordStop } from "./testHooks";

/** Replay every retained event (see resumePoint and docs/web.md). */
const REPLAY_ALL = "0-0";
/** Longest part of a reply read out by the live region. */
const ANNOUNCE_CHARS = 300;
/** How long a deleted conversation can be brought back before the DELETE is sent. */
export const UNDO_MS = 5000;
/** Below this width the sidebar is a drawer (styles.css uses the same breakpoint). */
const PHONE = "(max-width: 767.98px)";
const EARLIER_TITLE = "Earlier chat";

type Boot = { kind: "loading" } | { kind: "unreachable"; message: string } | { kind: "ready" };
/** How opening a conversation changes the address bar. */
type Nav = "push" | "replace" | "none";

const baseUrl = () => window.location.origin;

function newClientId(): string {
  return typeof crypto !== "undefined" && "randomUUID" in crypto
    ? crypto.randomUUID()
    : `c-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

function setUrl(token: string, nav: Nav) {
  const path = pathForToken(token);
  if (nav === "none" || window.location.pathname === path) return;
  if (nav === "push") window.history.pushState(null, "", path);
  else window.history.replaceState(null, "", path);
}

export function App() {
  const [boot, setBoot] = useState<Boot>({ kind: "loading" });
  const [state, dispatch] = useReducer(chatReducer, initialChatState);
  const [convs, dispatchConvsState] = useReducer(conversationsReducer, initialConversations);
  const [active, setActive] = useState<string | null>(null);
  const [viewLoading, setViewLoading] = useState(true);
  const [info, setInfo] = useState<string | null>(null);
  const [earlier, setEarlier] = useState<EarlierChat | null>(null);
  const [drawer, setDrawer] = useState(false);
  const [confirming, setConfirming] = useState<ConversationSummary | null>(null);
  const [focusRequest, setFocusRequest] = useState(0);
  const [loadingMore, setLoadingMore] = useState(false);
  const [announcement, setAnnouncement] = useState("");
  /** After a switch, the arrows of the message at `index` get the focus back once the branch is reloaded. */
  const [versionFocus, setVersionFocus] = useState<VersionFocus | null>(null);
  const phone = useMedia(PHONE);

  const api = useRef<ConversationApi | null>(null);
  const user = useRef<string | null>(null);
  const conn = useRef<ChatConnection | null>(null);
  const composer = useRef<HTMLTextAreaElement>(null);
  const announced = useRef<Set<string>>(new Set());
  const openSeq = useRef(0);
  const undoTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  /** The active conversation when it was deleted, to return to it on undo. */
  const deletedActive = useRef<string | null>(null);
  const listRefresh = useRef<{ running: boolean; again: boolean }>({ running: false, again: false });
  // Latest values for callbacks that must keep their identity (memoized children, listeners).
  const stateRef = useRef(state);
  stateRef.current = state;
  const convsRef = useRef(convs);
  convsRef.current = convs;
  /** Applies a list change and keeps convsRef current at once, for a decision made right after it. */
  const dispatchConvs = useCallback((action: ConversationsAction) => {
    convsRef.current = conversationsReducer(convsRef.current, action);
    dispatchConvsState(action);
  }, []);
  const activeRef = useRef(active);
  activeRef.current = active;
  const earlierRef = useRef(earlier);
  earlierRef.current = earlier;

  /** A conversation's history: the person's API, or the seed API for the earlier chat (no person). */
  const loadSnapshot = useCallback(async (token: string, person: string | undefined): Promise<ApiResult<SessionSnapshot>> => {
    if (person !== undefined) return api.current!.get(token);
    const s = await refreshSession(baseUrl(), token);
    if (s.ok) return { ok: true, value: s.snapshot };
    return { ok: false, kind: s.kind === "expired" || s.kind === "invalid" ? "not_found" : s.kind, message: s.message };
  }, []);

  const refreshList = useCallback(async () => {
    const guard = listRefresh.current;
    if (!api.current) return;
    if (guard.running) {
      guard.again = true;
      return;
    }
    guard.running = true;
    do {
      guard.again = false;
      const r = await api.current.list();
      if (r.ok) dispatchConvs({ type: "first_page", items: r.value.conversations, nextCursor: r.value.nextCursor });
    } while (guard.again);
    guard.running = false;
  }, []);

  const connect = useCallback((snapshot: SessionSnapshot, person: string | undefined) => {
    conn.current?.close();
    const token = snapshot.token;
    let opens = 0;
    const checkSession: SessionCheck = person === undefined
      ? async () => {
        const r = await refreshSession(baseUrl(), token);
        return r.ok ? "alive" : r.kind === "expired" ? "expired" : "unknown";
      }
      : async () => {
        const r = await api.current!.get(token);
        return r.ok ? "alive" : r.kind === "not_found" ? "deleted" : r.kind === "unauthorized" ? "expired" : "unknown";
      };
    const c = new ChatConnection({
      baseUrl: baseUrl(),
      token,
      user: person,
      lastEventId: resumePoint(snapshot, REPLAY_ALL),
      checkSession,
      onStatus: (status, retryInMs) => {
        if (status === "open") opens += 1;
        dispatch({ type: "connection", status, retryInMs });
      },
      onInvalidFrame: (error, raw) => console.warn(`parley: ignored invalid frame (${error})`, raw),
      onEvent: (event) => {
        const cut = recordEvent(event);
        dispatch({ type: "server", event, now: Date.now() });
        if (cut) c.simulateDrop();
        if (event.kind === "branch") setAnnouncement(`Showing version ${event.version} of ${event.versions}`);
        // A refused switch shows no other branch: no later reload may take the focus for it.
        if (event.kind === "error") setVersionFocus(null);
        // Activity reorders the list and sets titles and previews: the server's words for them.
        if (person !== undefined && ((event.kind === "ack" && !event.duplicate) || event.kind === "reply_end" || event.kind === "message")) {
          void refreshList();
        }
        // The one reload path: the events were trimmed (go on from the snapshot), another branch
        // is shown (go on after the event that changed it, docs/protocol.md "Versions"), or the
        // server no longer has a message this page showed.
        let after: string | "snapshot" | null = null;
        if (event.kind === "resync_required") after = "snapshot";
        else if (changesBranch(event)) after = event.eventId;
        else if (event.kind === "error" && event.code === "message_not_found") {
          c.holdForReload();
          after = c.lastEventId ?? REPLAY_ALL;
        }
        if (after !== null) {
          const from = after;
          const reload = (attempt: number) => void loadSnapshot(token, person).then((r) => {
            if (conn.current !== c) return;
            if (r.ok) {
              for (const m of r.value.messages) announced.current.add(m.id);
              dispatch({ type: "session_loaded", snapshot: r.value });
              c.resync(from === "snapshot" ? r.value.lastEventId : resumePoint(r.value, from));
            } else if (r.kind === "not_found") {
              dispatch({ type: "server", event: { kind: "error", code: "session_expired", message: "" }, now: Date.now() });
              c.close();
            } else if (r.kind === "network" || r.kind === "server") {
              // The transport holds the events meanwhile; going on without the reload would leave
              // another branch on screen than the server's.
              setTimeout(() => reload(attempt + 1), backoffDelay(attempt, Math.random));
            } else {
              c.resync(c.lastEventId);
            }
          });
          reload(0);
        }
      },
    });
    conn.current = c;
    // Seed the "already announced" set so opening a conversation does not read out its history.
    announced.current = new Set(snapshot.messages.map((m) => m.id));
    dispatch({ type: "session_loaded", snapshot });
    c.start();
    installTestHooks(c, () => opens);
  }, [refreshList, loadSnapshot]);

  const bootRef = useRef<() => Promise<void>>(async () => {});

  /** Shows conversation `token` (fetching it unless `snapshot` is given). */
  const open = useCallback(async (token: string, nav: Nav, snapshot?: SessionSnapshot) => {
    const seq = ++openSeq.current;
    conn.current?.close();
    conn.current = null;
    setActive(token);
    setUrl(token, nav);
    setDrawer(false);
    setViewLoading(true);
    const legacy = earlierRef.current?.token === token;
    const person = legacy ? undefined : user.current!;
    const r: ApiResult<SessionSnapshot> = snapshot ? { ok: true, value: snapshot } : await loadSnapshot(token, person);
    if (seq !== openSeq.current) return;
    if (r.ok) {
      setViewLoading(false);
      connect(r.value, person);
      setFocusRequest((n) => n + 1);
      return;
    }
    if (r.kind === "not_found") {
      if (legacy) {
        localTokenStore.clear();
        setEarlier(null);
      }
      dispatchConvs({ type: "removed", token });
      setInfo("That conversation no longer exists: it was deleted or has expired.");
      await openFreshRef.current("replace");
    } else if (r.kind === "unauthorized") {
      userStore.clear();
      await bootRef.current();
    } else {
      setBoot({ kind: "unreachable", message: r.message });
    }
  }, [connect, loadSnapshot]);

  /** Opens an empty conversation: the newest one when it has no message yet, else a new one. */
  const openFresh = useCallback(async (nav: Nav) => {
    const reuse = reusableEmpty(convsRef.current);
    if (reuse) {
      if (reuse.token === activeRef.current && conn.current) {
        setDrawer(false);
        setFocusRequest((n) => n + 1);
        return;
      }
      await open(reuse.token, nav);
      return;
    }
    const seq = ++openSeq.current;
    setViewLoading(true);
    const r = await api.current!.create(nameStore.load() ?? undefined);
    if (seq !== openSeq.current) return;
    if (r.ok) {
      dispatchConvs({ type: "created", item: summaryOf(r.value.token, r.value.sessionStart) });
      await open(r.value.token, nav, r.value);
    } else if (r.kind === "unauthorized") {
      userStore.clear();
      await bootRef.current();
    } else {
      setViewLoading(false);
      setInfo(r.message);
    }
  }, [open]);
  const openFreshRef = useRef(openFresh);
  openFreshRef.current = openFresh;

  /** Finds or creates the person, loads their list and opens the conversation the URL names. */
  const start = useCallback(async () => {
    setBoot({ kind: "loading" });
    let person = userStore.load();
    let firstVisit = false;
    if (!person) {
      const r = await ConversationApi.createUser(baseUrl());
      if (!r.ok) {
        setBoot({ kind: "unreachable", message: r.message });
        return;
      }
      person = r.value;
      userStore.save(person);
      firstVisit = true;
    }
    user.current = person;
    api.current = new ConversationApi(baseUrl(), person);

    // A seed session from before conversations stays reachable as long as it lives.
    const seed = localTokenStore.load();
    let seedAlive = false;
    if (seed) {
      const s = await refreshSession(baseUrl(), seed);
      if (s.ok) {
        seedAlive = true;
        const last = [...s.snapshot.messages].reverse().find((m) => m.msg);
        setEarlier({ token: seed, preview: last ? last.msg.replace(/\s+/g, " ").slice(0, 120) : "" });
        earlierRef.current = { token: seed, preview: "" };
        if (!nameStore.load() && s.snapshot.name) nameStore.save(s.snapshot.name);
      } else if (s.kind === "expired") {
        localTokenStore.clear();
        setEarlier(null);
      }
    }

    const list = await api.current.list();
    if (!list.ok) {
      if (list.kind === "unauthorized") {
        // The person expired: start over as a new one.
        userStore.clear();
        await start();
        return;
      }
      setBoot({ kind: "unreachable", message: list.message });
      return;
    }
    dispatchConvs({ type: "first_page", items: list.value.conversations, nextCursor: list.value.nextCursor });
    setBoot({ kind: "ready" });

    const wanted = tokenFromPath(window.location.pathname);
    if (wanted) await open(wanted, "none");
    else if (firstVisit && seedAlive && seed) await open(seed, "replace");
    else await openFresh("replace");
  }, [open, openFresh]);
  bootRef.current = start;

  // Once per page (StrictMode runs effects twice in development; two people would be created).
  const booted = useRef(false);
  useEffect(() => {
    if (!booted.current) {
      booted.current = true;
      void start();
    }
  }, [start]);
  useEffect(() => () => conn.current?.close(), []);

  // Back and forward move between conversations like pages.
  useEffect(() => {
    const onPop = () => {
      const token = tokenFromPath(window.location.pathname);
      if (token) void open(token, "none");
      else void openFresh("replace");
    };
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, [open, openFresh]);

  useEffect(() => {
    const online = () => conn.current?.reconnectNow();
    const focus = () => void refreshList();
    window.addEventListener("online", online);
    window.addEventListener("focus", focus);
    return () => {
      window.removeEventListener("online", online);
      window.removeEventListener("focus", focus);
    };
  }, [refreshList]);

  // Deleted elsewhere (another tab, another device): leave it for an empty conversation.
  useEffect(() => {
    if (!state.deleted || state.token !== activeRef.current) return;
    dispatchConvs({ type: "removed", token: state.token });
    setInfo("This conversation was deleted.");
    void openFresh("replace");
  }, [state.deleted, state.token, openFresh]);

  // The live region reads each reply once, when it is complete, as plain words (not Markdown).
  useEffect(() => {
    for (const m of state.messages) {
      if (m.role !== "assistant" || !m.id || announced.current.has(m.id)) continue;
      if (m.status === "streaming") continue;
      announced.current.add(m.id);
      const words = plainText(m.text);
      const text = words.length > ANNOUNCE_CHARS ? `${words.slice(0, ANNOUNCE_CHARS)}…` : words;
      setAnnouncement(`Parley replied${m.status === "stopped" ? " (stopped)" : ""}: ${text}`);
    }
  }, [state.messages]);

  const send = useCallback((text: string) => {
    const c = conn.current;
    if (!c) return;
    const clientId = newClientId();
    setInfo(null);
    dispatch({ type: "local_send", clientId, text, timestamp: new Date().toISOString() });
    c.send(text, clientId);
  }, []);

  const retry = useCallback((clientId: string) => {
    const m = stateRef.current.messages.find((x) => x.clientId === clientId);
    if (!m || !conn.current) return;
    dispatch({ type: "resend", clientId });
    conn.current.send(m.text, clientId);
  }, []);

  const edit = useCallback((messageId: string, text: string) => {
    const c = conn.current;
    if (!c || isGenerating(stateRef.current)) return;
    const clientId = newClientId();
    dispatch({ type: "local_edit", clientId, messageId, text, timestamp: new Date().toISOString() });
    c.edit(messageId, text, clientId);
    composer.current?.focus();
  }, []);

  const requestReply = useCallback((request: "regenerate" | "continue", messageId: string) => {
    const c = conn.current;
    if (!c || isGenerating(stateRef.current)) return;
    const clientId = newClientId();
    dispatch({ type: "local_reply_request", clientId, request, messageId });
    if (request === "regenerate") c.regenerate(messageId, clientId);
    else c.continueReply(messageId, clientId);
    composer.current?.focus();
  }, []);

  const switchVersion = useCallback((messageId: string, version: number, focus: "prev" | "next") => {
    const c = conn.current;
    const s = stateRef.current;
    if (!c || isGenerating(s)) return;
    const index = s.messages.findIndex((m) => m.id === messageId);
    setVersionFocus({ index, which: focus, fromId: messageId });
    c.switchVersion(messageId, version);
  }, []);

  const stop = useCallback(() => {
    const s = stateRef.current;
    const id = activeReply(s);
    if (id) {
      conn.current?.stop(id);
      recordStop();
    } else {
      const pending = s.messages.find((m) => m.role === "user" && m.status === "sending");
      if (pending?.clientId) {
        conn.current?.stopUnacknowledged(pending.clientId);
        recordStop();
      }
    }
    composer.current?.focus();
  }, []);

  // Escape stops a streaming reply from anywhere on the page, unless something nearer used it: a
  // dialog, the rename field, the drawer (they mark it handled or own it).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== "Escape" || e.defaultPrevented) return;
      if (document.querySelector("dialog[open]")) return;
      if (e.target instanceof Element && e.target.closest("[data-own-escape]")) return;
      if (!isGenerating(stateRef.current)) return;
      e.preventDefault();
      stop();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [stop]);

  const clearVersionFocus = useCallback(() => setVersionFocus(null), []);
  const draftShown = useCallback(() => dispatch({ type: "draft_shown" }), []);
  const versionActions = useMemo(() => ({ edit, requestReply, switchVersion }), [edit, requestReply, switchVersion]);

  const newChat = useCallback(() => {
    setInfo(null);
    void openFresh("push");
  }, [openFresh]);

  const select = useCallback((token: string) => {
    if (token === activeRef.current) {
      setDrawer(false);
      setFocusRequest((n) => n + 1);
      return;
    }
    setInfo(null);
    void open(token, "push");
  }, [open]);

  const loadMore = useCallback(async () => {
    const cursor = convsRef.current.nextCursor;
    if (!cursor || !api.current) return;
    setLoadingMore(true);
    const r = await api.current.list(cursor);
    setLoadingMore(false);
    if (r.ok) dispatchConvs({ type: "next_page", items: r.value.conversations, nextCursor: r.value.nextCursor });
    else setInfo(r.message);
  }, []);

  const rename = useCallback(async (token: string, title: string): Promise<string | null> => {
    const r = await api.current!.rename(token, title);
    if (!r.ok) return r.kind === "not_found" ? "This conversation no longer exists." : r.message;
    dispatchConvs({ type: "renamed", token, title: r.value.title });
    dispatch({ type: "renamed", token, title: r.value.title });
    return null;
  }, []);

  /** Sends the DELETE of the conversation waiting out its undo window, now. */
  const commitDelete = useCallback(() => {
    const pending = convsRef.current.pending;
    if (undoTimer.current) clearTimeout(undoTimer.current);
    undoTimer.current = null;
    if (!pending) return;
    deletedActive.current = null;
    dispatchConvs({ type: "delete_committed" });
    void api.current!.remove(pending.item.token).then((r) => {
      if (r.ok || r.kind === "not_found") return;
      dispatchConvs({ type: "created", item: pending.item });
      setInfo(`Couldn't delete “${pending.item.title || UNTITLED}”: ${r.message}`);
    });
  }, []);

  const confirmDelete = useCallback((item: ConversationSummary) => {
    setConfirming(null);
    commitDelete();
    dispatchConvs({ type: "delete_pending", token: item.token });
    undoTimer.current = setTimeout(commitDelete, UNDO_MS);
    if (item.token === activeRef.current) {
      deletedActive.current = item.token;
      void openFresh("push");
    } else {
      setFocusRequest((n) => n + 1);
    }
  }, [commitDelete, openFresh]);

  const undoDelete = useCallback(() => {
    if (undoTimer.current) clearTimeout(undoTimer.current);
    undoTimer.current = null;
    const back = deletedActive.current;
    deletedActive.current = null;
    dispatchConvs({ type: "delete_undone" });
    if (back) void open(back, "push");
    else setFocusRequest((n) => n + 1);
  }, [open]);

  // Leaving the page within the undo window: the delete still happens.
  useEffect(() => {
    const onHide = () => {
      const pending = convsRef.current.pending;
      if (pending && api.current) void api.current.remove(pending.item.token, { keepalive: true });
    };
    window.addEventListener("pagehide", onHide);
    return () => window.removeEventListener("pagehide", onHide);
  }, []);

  if (boot.kind === "loading") {
    return <div className="loading" role="status" aria-live="polite">Loading your chats…</div>;
  }
  if (boot.kind === "unreachable") {
    return (
      <main className="welcome">
        <div className="welcome__card" role="alert">
          <h1 className="welcome__title">Can't load your chats</h1>
          <p className="welcome__lead">{boot.message}</p>
          <button type="button" className="button button--primary" autoFocus onClick={() => void start()}>Try again</button>
        </div>
      </main>
    );
  }

  const generating = isGenerating(state);
  const legacyView = earlier !== null && active === earlier.token;
  // The list has the server's title as soon as the first message set it; the snapshot has the one at opening.
  const title = legacyView ? EARLIER_TITLE : convs.items.find((c) => c.token === active)?.title || state.title;
  const drawerOpen = drawer && phone;
  const pendingTitle = convs.pending ? convs.pending.item.title || UNTITLED : "";
  return (
    <div className={`app${drawerOpen ? " app--drawer" : ""}`}>
      <a className="skip-link" href="#composer" onClick={(e) => { e.preventDefault(); composer.current?.focus(); }}>Skip to message box</a>
      <Sidebar
        items={convs.items}
        earlier={earlier}
        active={active}
        hasMore={convs.nextCursor !== null}
        loadingMore={loadingMore}
        open={drawerOpen}
        hrefFor={pathForToken}
        onSelect={select}
        onNewChat={newChat}
        onLoadMore={() => void loadMore()}
        onRename={rename}
        onDelete={setConfirming}
        onClose={() => setDrawer(false)}
      />
      {drawerOpen && <div className="backdrop" aria-hidden="true" onClick={() => setDrawer(false)} />}
      <div className="main-col" inert={drawerOpen || undefined}>
        <ChatHeader
          title={title}
          connection={state.connection}
          drawerOpen={drawerOpen}
          onMenu={() => setDrawer(true)}
          onNewChat={newChat}
          onReconnect={() => conn.current?.reconnectNow()}
        />
        <main className="chat" aria-busy={viewLoading || undefined}>
          <MessageList
            messages={viewLoading ? [] : state.messages}
            name={state.name}
            onRetry={retry}
            onSuggestion={send}
            versionActions={versionActions}
            locked={generating || state.connection !== "open" || state.expired || state.deleted}
            versionFocus={versionFocus}
            onVersionFocused={clearVersionFocus}
            editDraft={state.editDraft}
            onDraftShown={draftShown}
            disabled={state.expired || viewLoading}
            live={state.connection === "open"}
          />
          <div className="chat__bottom" id="composer">
            {info && (
              <div className="notice notice--info" role="status" data-testid="info">
                <p className="notice__text">{info}</p>
                <div className="notice__actions">
                  <button type="button" className="button button--ghost button--small" onClick={() => setInfo(null)} aria-label="Dismiss message">Dismiss</button>
                </div>
              </div>
            )}
            {state.notice && (
              <NoticeBanner notice={state.notice} onDismiss={() => dispatch({ type: "dismiss_notice" })} onNewChat={newChat} />
            )}
            <Composer
              ref={composer}
              generating={generating}
              disabled={state.expired || state.deleted || viewLoading}
              maxChars={limits.maxMessageChars}
              focusRequest={focusRequest}
              onSend={send}
              onStop={stop}
            />
          </div>
        </main>
      </div>
      {convs.pending && <UndoToast text={`Deleted “${pendingTitle}”.`} onUndo={undoDelete} />}
      {confirming && (
        <ConfirmDialog
          title="Delete this conversation?"
          body={`“${confirming.title || UNTITLED}” and all its messages will be deleted.`}
          confirm="Delete"
          onConfirm={() => confirmDelete(confirming)}
          onCancel={() => setConfirming(null)}
        />
      )}
      <div className="visually-hidden" aria-live="polite" aria-atomic="true" data-testid="live-region">{announcement}</div>
    </div>
  );
}
