import { useEffect, useId, useRef, useState, type KeyboardEvent, type MouseEvent } from "react";
import type { ConversationSummary } from "../transport/protocol";
import { limits } from "../transport/protocol";
import { searchTitles } from "../store/conversations";
import { NewChatIcon } from "./ChatHeader";

export const UNTITLED = "New chat";

/** The seed session of this browser, from before conversations: still reachable, read-only here. */
export interface EarlierChat {
  token: string;
  preview: string;
}

export interface SidebarProps {
  items: ConversationSummary[];
  earlier: EarlierChat | null;
  active: string | null;
  hasMore: boolean;
  loadingMore: boolean;
  /** Phones: the sidebar is a drawer, open or not. */
  open: boolean;
  hrefFor: (token: string) => string;
  onSelect: (token: string) => void;
  onNewChat: () => void;
  onLoadMore: () => void;
  /** Resolves to an error message, or null when renamed. */
  onRename: (token: string, title: string) => Promise<string | null>;
  onDelete: (item: ConversationSummary) => void;
  onClose: () => void;
}

function RenameField(props: { item: ConversationSummary; onDone: () => void; onRename: SidebarProps["onRename"] }) {
  const [value, setValue] = useState(props.item.title);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const settled = useRef(false);
  const errorId = useId();

  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, []);

  const save = async () => {
    if (settled.current || saving) return;
    const title = value.trim();
    if (title === props.item.title || title === "") {
      settled.current = true;
      props.onDone();
      return;
    }
    setSaving(true);
    const err = await props.onRename(props.item.token, title);
    setSaving(false);
    if (err) {
      setError(err);
      input.current?.focus();
      return;
    }
    settled.current = true;
    props.onDone();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "Enter") {
      e.preventDefault();
      void save();
    } else if (e.key === "Escape") {
      // Handled here: Escape must neither stop a reply nor close the drawer (App, Sidebar).
      e.preventDefault();
      e.stopPropagation();
      settled.current = true;
      props.onDone();
    }
  };

  return (
    <div className="conv__rename">
      <input
        ref={input}
        className="conv__rename-input"
        aria-label="Conversation title"
        value={value}
        maxLength={limits.maxTitleChars}
        disabled={saving}
        onChange={(e) => setValue(e.target.value)}
        onKeyDown={onKeyDown}
        onBlur={() => void save()}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errorId : undefined}
        data-own-escape=""
      />
      {error && <p id={errorId} className="conv__error" role="alert">{error}</p>}
    </div>
  );
}

/** The person's conversations: New chat, search over titles, and each item's rename and delete. */
export function Sidebar(props: SidebarProps) {
  const [query, setQuery] = useState("");
  const [renaming, setRenaming] = useState<string | null>(null);
  const searchId = useId();
  const first = useRef<HTMLButtonElement>(null);
  const shown = searchTitles(props.items, query, UNTITLED);

  useEffect(() => {
    if (props.open) first.current?.focus();
  }, [props.open]);

  const onKeyDown = (e: KeyboardEvent<HTMLElement>) => {
    if (e.key === "Escape" && props.open && !e.defaultPrevented) {
      e.preventDefault();
      props.onClose();
    }
  };

  const follow = (token: string) => (e: MouseEvent<HTMLAnchorElement>) => {
    // A plain click switches in place; modified clicks (new tab, new window) go to the browser.
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    props.onSelect(token);
  };

  return (
    <aside id="sidebar" className={`sidebar${props.open ? " sidebar--open" : ""}`} aria-label="Conversations" onKeyDown={onKeyDown}>
      <div className="sidebar__top">
        <div className="sidebar__brand">
          <span className="chat-header__logo" aria-hidden="true">P</span>
          <span>Parley</span>
        </div>
        <button type="button" className="icon-button sidebar__close" aria-label="Close conversations" onClick={props.onClose}>
          <svg aria-hidden="true" viewBox="0 0 24 24" width="18" height="18"><path d="M6 6l12 12M18 6L6 18" stroke="currentColor" strokeWidth="2" strokeLinecap="round" fill="none" /></svg>
        </button>
      </div>
      <button ref={first} type="button" className="button button--outline sidebar__new" onClick={props.onNewChat}>
        <NewChatIcon />
        <span>New chat</span>
      </button>
      <div className="sidebar__search">
        <label htmlFor={searchId} className="visually-hidden">Search conversations</label>
        <input
          id={searchId}
          type="search"
          className="sidebar__search-input"
          placeholder="Search titles"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
      </div>
      <nav className="sidebar__list" aria-label="Conversation list">
        {query && shown.length === 0 && <p className="sidebar__empty" role="status">No loaded conversation has “{query.trim()}” in its title.</p>}
        <ul className="conv-list" data-testid="conversation-list">
          {shown.map((c) => {
            const title = c.title || UNTITLED;
            const active = c.token === props.active;
            return (
              <li key={c.token} className={`conv${active ? " conv--active" : ""}`} data-testid="conversation" data-token={c.token}>
                {renaming === c.token ? (
                  <RenameField item={c} onRename={props.onRename} onDone={() => setRenaming(null)} />
                ) : (
                  <>
                    <a className="conv__link" href={props.hrefFor(c.token)} aria-current={active ? "page" : undefined} onClick={follow(c.token)}>
                      <span className="conv__title">{title}</span>
                      {c.preview && <span className="conv__preview">{c.preview}</span>}
                    </a>
                    <div className="conv__actions">
                      <button type="button" className="icon-button conv__action" aria-label={`Rename ${title}`} onClick={() => setRenaming(c.token)}>
                        <svg aria-hidden="true" viewBox="0 0 24 24" width="16" height="16"><path d="M4 20h4L19 9l-4-4L4 16v4zM14 6l4 4" stroke="currentColor" strokeWidth="1.8" strokeLinejoin="round" fill="none" /></svg>
                      </button>
                      <button type="button" className="icon-button conv__action" aria-label={`Delete ${title}`} onClick={() => props.onDelete(c)}>
                        <svg aria-hidden="true" viewBox="0 0 24 24" width="16" height="16"><path d="M5 7h14M10 7V5h4v2M7 7l1 12h8l1-12" stroke="currentColor" strokeWidth="1.8" strokeLinejoin="round" strokeLinecap="round" fill="none" /></svg>
                      </button>
                    </div>
                  </>
                )}
              </li>
            );
          })}
        </ul>
        {props.hasMore && (
          <button type="button" className="button button--ghost button--small sidebar__more" disabled={props.loadingMore} onClick={props.onLoadMore}>
            {props.loadingMore ? "Loading…" : "Show more"}
          </button>
        )}
        {props.earlier && (
          <div className="sidebar__earlier">
            <h2 className="sidebar__heading">From before</h2>
            <ul className="conv-list">
              <li className={`conv${props.earlier.token === props.active ? " conv--active" : ""}`} data-testid="earlier-chat">
                <a className="conv__link" href={props.hrefFor(props.earlier.token)} aria-current={props.earlier.token === props.active ? "page" : undefined} onClick={follow(props.earlier.token)}>
                  <span className="conv__title">Earlier chat</span>
                  {props.earlier.preview && <span className="conv__preview">{props.earlier.preview}</span>}
                </a>
              </li>
            </ul>
          </div>
        )}
      </nav>
    </aside>
  );
}
