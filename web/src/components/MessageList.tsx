import { useEffect, useLayoutEffect, useRef, useState } from "react";
import type { ChatMessage } from "../store/chat";
import { Message } from "./Message";
import type { VersionActions, VersionFocus } from "./MessageActions";
import { DEFAULT_NAME } from "../transport/protocol";

/** Distance from the bottom, in pixels, within which new text keeps the view pinned to the end. */
const STICK_THRESHOLD_PX = 80;

const suggestions = [
  "Tell me a short story about a brave little robot",
  "Explain recursion with a code example",
  "Give me three ideas for a rainy afternoon",
];

export function MessageList(props: {
  messages: ChatMessage[];
  name: string;
  onRetry: (clientId: string) => void;
  onSuggestion: (text: string) => void;
  /** Suggestions cannot be sent (the session expired). */
  disabled?: boolean;
  /** The connection is up: a streaming reply is live, not paused. */
  live: boolean;
  versionActions: VersionActions;
  /** Versions cannot change now (see Message). */
  locked: boolean;
  versionFocus: VersionFocus | null;
  onVersionFocused: () => void;
  /** A refused edit's text and the message it edits (see Message). */
  editDraft?: { messageId: string; text: string } | null;
  onDraftShown?: () => void;
}) {
  const vf = props.versionFocus;
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const [awayFromEnd, setAwayFromEnd] = useState(false);

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const onScroll = () => {
      stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_THRESHOLD_PX;
      setAwayFromEnd(!stick.current);
    };
    el.addEventListener("scroll", onScroll, { passive: true });
    return () => el.removeEventListener("scroll", onScroll);
  }, []);

  useLayoutEffect(() => {
    const el = scroller.current;
    const last = props.messages[props.messages.length - 1];
    // Sending a message always brings the end into view, wherever the reader had scrolled.
    if (last?.role === "user" && last.status === "sending") stick.current = true;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [props.messages]);

  const toEnd = () => {
    const el = scroller.current;
    if (!el) return;
    stick.current = true;
    setAwayFromEnd(false);
    el.scrollTop = el.scrollHeight;
  };

  return (
    <div className="messages-wrap">
      <div className="messages" ref={scroller} tabIndex={-1}>
        <div className="messages__inner" role="log" aria-label="Conversation" aria-live="off">
          {props.messages.length === 0 ? (
            <div className="empty">
              <h2 className="empty__title">{props.name && props.name !== DEFAULT_NAME ? `Hi ${props.name}, how can I help?` : "How can I help?"}</h2>
              <ul className="empty__suggestions">
                {suggestions.map((s) => (
                  <li key={s}>
                    <button type="button" className="suggestion" disabled={props.disabled} onClick={() => props.onSuggestion(s)}>{s}</button>
                  </li>
                ))}
              </ul>
            </div>
          ) : (
            props.messages.map((m, i) => (
              <Message
                key={m.key}
                message={m}
                onRetry={props.onRetry}
                paused={m.status === "streaming" && !props.live}
                actions={props.versionActions}
                locked={props.locked}
                versionFocus={vf && vf.index === i && m.id !== vf.fromId ? vf.which : undefined}
                onVersionFocused={props.onVersionFocused}
                draft={props.editDraft && props.editDraft.messageId === m.id ? props.editDraft.text : undefined}
                onDraftShown={props.onDraftShown}
              />
            ))
          )}
        </div>
      </div>
      {awayFromEnd && props.messages.length > 0 && (
        <button type="button" className="to-end" onClick={toEnd} aria-label="Jump to the latest message">
          <svg aria-hidden="true" viewBox="0 0 24 24" width="18" height="18"><path d="M12 5v14M5 12l7 7 7-7" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" fill="none" /></svg>
        </button>
      )}
    </div>
  );
}
