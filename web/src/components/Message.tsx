import { memo } from "react";
import { describeError, type ChatMessage } from "../store/chat";
import { Markdown } from "./Markdown";
import { CopyButton } from "./CopyButton";

function formatTime(iso: string): { short: string; full: string } | null {
  if (!iso) return null;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return null;
  return {
    short: d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }),
    full: d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }),
  };
}

const statusText: Partial<Record<ChatMessage["status"], string>> = {
  sending: "Sending…",
  failed: "Not sent",
  stopped: "Stopped",
  error: "Reply failed",
};

export interface MessageProps {
  message: ChatMessage;
  /** Must keep its identity across renders: the list is memoized on it. */
  onRetry: (clientId: string) => void;
  /** A reply streaming while the connection is down: its cursor stops blinking. */
  paused: boolean;
}

function MessageImpl(props: MessageProps) {
  const m = props.message;
  const time = formatTime(m.timestamp);
  const user = m.role === "user";
  const label = statusText[m.status];
  const waiting = m.role === "assistant" && m.status === "streaming" && m.text === "";
  const copyable = m.text !== "" && (user || m.status === "done" || m.status === "stopped");
  return (
    <article
      className={`message message--${m.role} message--${m.status}`}
      aria-label={user ? "You said" : "Parley replied"}
      data-testid={user ? "user-message" : "bot-message"}
      data-status={m.status}
      data-id={m.id}
    >
      {!user && <div className="message__avatar" aria-hidden="true">P</div>}
      <div className="message__body">
        {user ? (
          <div className="message__bubble">{m.text}</div>
        ) : waiting ? (
          <div className={`typing${props.paused ? " typing--paused" : ""}`} role="img" aria-label={props.paused ? "Reply paused: connection lost" : "Parley is typing"}><span /><span /><span /></div>
        ) : (
          <div className="message__content markdown" data-testid="bot-text">
            <Markdown text={m.text} />
            {m.status === "streaming" && <span className={`cursor${props.paused ? " cursor--paused" : ""}`} aria-hidden="true" />}
          </div>
        )}
        {m.status === "error" && m.errorCode && <p className="message__error">{describeError(m.errorCode)}</p>}
        <div className="message__meta">
          {time && <time dateTime={m.timestamp} title={time.full}>{time.short}</time>}
          {label && <span className={`message__flag message__flag--${m.status}`}>{label}</span>}
          {m.status === "failed" && m.clientId && m.errorCode !== "session_expired" && (
            <button type="button" className="button button--link" onClick={() => props.onRetry(m.clientId!)}>Send again</button>
          )}
          {copyable && <CopyButton className="button button--link message__action" text={m.text} label={user ? "Copy message" : "Copy reply"} />}
        </div>
      </div>
    </article>
  );
}

/** Memoized: a streamed delta changes one message object, so only that message renders again. */
export const Message = memo(MessageImpl);
