import { memo, useState } from "react";
import { describeError, type ChatMessage } from "../store/chat";
import { Markdown, copyText } from "./Markdown";

/** How long the "Copied" confirmation stays on a copy button. */
const COPIED_FEEDBACK_MS = 1500;

function CopyReply({ text }: { text: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="button button--link message__action"
      onClick={async () => {
        if (await copyText(text)) {
          setCopied(true);
          setTimeout(() => setCopied(false), COPIED_FEEDBACK_MS);
        }
      }}
      aria-label={copied ? "Reply copied" : "Copy reply"}
    >
      {copied ? "Copied" : "Copy"}
    </button>
  );
}

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

function MessageImpl(props: { message: ChatMessage; onRetry: (clientId: string) => void }) {
  const m = props.message;
  const time = formatTime(m.timestamp);
  const user = m.role === "user";
  const label = statusText[m.status];
  const waiting = m.role === "assistant" && m.status === "streaming" && m.text === "";
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
          <div className="typing" role="img" aria-label="Parley is typing"><span /><span /><span /></div>
        ) : (
          <div className="message__content markdown" data-testid="bot-text">
            <Markdown text={m.text} />
            {m.status === "streaming" && <span className="cursor" aria-hidden="true" />}
          </div>
        )}
        {m.status === "error" && m.errorCode && <p className="message__error">{describeError(m.errorCode)}</p>}
        <div className="message__meta">
          {time && <time dateTime={m.timestamp} title={time.full}>{time.short}</time>}
          {label && <span className={`message__flag message__flag--${m.status}`}>{label}</span>}
          {m.status === "failed" && m.clientId && m.errorCode !== "session_expired" && (
            <button type="button" className="button button--link" onClick={() => props.onRetry(m.clientId!)}>Send again</button>
          )}
          {!user && (m.status === "done" || m.status === "stopped") && m.text && <CopyReply text={m.text} />}
        </div>
      </div>
    </article>
  );
}

export const Message = memo(MessageImpl);
