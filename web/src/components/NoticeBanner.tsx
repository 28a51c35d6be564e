import { useEffect, useState } from "react";
import type { Notice } from "../store/chat";

/** How often a retry countdown refreshes. */
const COUNTDOWN_TICK_MS = 1000;

function useSecondsLeft(until: number | undefined): number | undefined {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (until === undefined) return;
    const t = setInterval(() => setNow(Date.now()), COUNTDOWN_TICK_MS);
    return () => clearInterval(t);
  }, [until]);
  if (until === undefined) return undefined;
  return Math.max(0, Math.ceil((until - now) / 1000));
}

/** A server error in words, with what the person can do about it. */
export function NoticeBanner(props: { notice: Notice; onDismiss: () => void; onNewChat: () => void }) {
  const { notice } = props;
  const left = useSecondsLeft(notice.retryAt);
  const text = left !== undefined
    ? notice.text.replace(/Try again in \d+ s\./, left > 0 ? `Try again in ${left} s.` : "You can try again now.")
    : notice.text;
  const expired = notice.code === "session_expired";
  return (
    <div className={`notice notice--${expired ? "expired" : "error"}`} role="alert" data-testid="notice" data-code={notice.code}>
      <p className="notice__text">{text}</p>
      <div className="notice__actions">
        {expired ? (
          <button type="button" className="button button--primary button--small" onClick={props.onNewChat}>Start a new chat</button>
        ) : (
          <button type="button" className="button button--ghost button--small" onClick={props.onDismiss} aria-label="Dismiss message">Dismiss</button>
        )}
      </div>
    </div>
  );
}
