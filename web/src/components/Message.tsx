import { memo, useCallback, useEffect, useRef, useState } from "react";
import { describeError, type ChatMessage } from "../store/chat";
import { Markdown } from "./Markdown";
import { CopyButton } from "./CopyButton";
import { ActionButton, ContinueButton, EditBox, icons, VersionSwitcher, type VersionActions } from "./MessageActions";

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
  /** Edit, regenerate, continue and switch; kept identical across renders. */
  actions: VersionActions;
  /** Versions cannot change now (a reply is queued or being written, or the socket is down). */
  locked: boolean;
  /** Give the focus to this arrow of the version switcher. */
  versionFocus?: "prev" | "next";
  onVersionFocused: () => void;
  /** Text of a refused edit of this message: the edit box opens again with it. */
  draft?: string;
  onDraftShown?: () => void;
}

function MessageImpl(props: MessageProps) {
  const m = props.message;
  const time = formatTime(m.timestamp);
  const user = m.role === "user";
  const label = statusText[m.status];
  const waiting = m.role === "assistant" && m.status === "streaming" && m.text === "";
  const copyable = m.text !== "" && (user || m.status === "done" || m.status === "stopped");
  const [editing, setEditing] = useState(false);
  const [editText, setEditText] = useState<string | null>(null);
  const { draft, onDraftShown } = props;
  useEffect(() => {
    if (draft === undefined) return;
    setEditText(draft);
    setEditing(true);
    onDraftShown?.();
  }, [draft, onDraftShown]);
  const editButton = useRef<HTMLButtonElement>(null);
  const refocusEdit = useRef(false);
  useEffect(() => {
    if (!editing && refocusEdit.current) {
      refocusEdit.current = false;
      editButton.current?.focus();
    }
  }, [editing]);
  const { actions } = props;
  const id = m.id;
  const cancelEdit = useCallback(() => {
    refocusEdit.current = true;
    setEditing(false);
    setEditText(null);
  }, []);
  const saveEdit = useCallback((text: string) => {
    setEditing(false);
    setEditText(null);
    if (id) actions.edit(id, text);
  }, [actions, id]);
  const finished = m.status === "done" || m.status === "stopped" || m.status === "error";
  const canEdit = user && id !== undefined && m.status === "sent";
  const canRegenerate = !user && id !== undefined && finished;
  const canContinue = canRegenerate && m.status === "done" && m.finish === "length";
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
        {user && editing ? (
          <EditBox initial={editText ?? m.text} locked={props.locked} onSave={saveEdit} onCancel={cancelEdit} />
        ) : user ? (
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
          {copyable && !editing && <CopyButton className="button button--link message__action" text={m.text} label={user ? "Copy message" : "Copy reply"} />}
          {canEdit && !editing && (
            <ActionButton buttonRef={editButton} label="Edit message" icon={icons.edit} disabled={props.locked} onClick={() => setEditing(true)} />
          )}
          {canRegenerate && (
            <ActionButton label="Regenerate reply" icon={icons.regenerate} disabled={props.locked} onClick={() => actions.requestReply("regenerate", id!)} />
          )}
          {canContinue && (
            <ContinueButton disabled={props.locked} onClick={() => actions.requestReply("continue", id!)} />
          )}
          {!editing && (
            <VersionSwitcher message={m} locked={props.locked} onSwitch={actions.switchVersion} focus={props.versionFocus} onFocused={props.onVersionFocused} />
          )}
        </div>
      </div>
    </article>
  );
}

/** Memoized: a streamed delta changes one message object, so only that message renders again. */
export const Message = memo(MessageImpl);
