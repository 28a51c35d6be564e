import type { ConnectionStatus } from "../transport/connection";

const labels: Record<ConnectionStatus, string> = {
  connecting: "Connecting…",
  open: "Connected",
  reconnecting: "Reconnecting…",
  expired: "Session expired",
  closed: "Disconnected",
};

export function ChatHeader(props: { name: string; connection: ConnectionStatus; onNewChat: () => void; onReconnect: () => void }) {
  const { connection } = props;
  return (
    <header className="chat-header">
      <div className="chat-header__brand">
        <span className="chat-header__logo" aria-hidden="true">P</span>
        <span className="chat-header__title">Parley</span>
      </div>
      <div className="chat-header__right">
        <span className={`status status--${connection}`} data-testid="connection-status" data-status={connection}>
          <span className="status__dot" aria-hidden="true" />
          <span className="status__text">{labels[connection]}</span>
        </span>
        {connection === "reconnecting" && (
          <button type="button" className="button button--ghost button--small" onClick={props.onReconnect}>Retry now</button>
        )}
        {props.name && <span className="chat-header__user" title={`Signed in as ${props.name}`}>{props.name}</span>}
        <button type="button" className="button button--outline" onClick={props.onNewChat}>
          <svg aria-hidden="true" viewBox="0 0 24 24" width="16" height="16"><path d="M12 5v14M5 12h14" stroke="currentColor" strokeWidth="2" strokeLinecap="round" fill="none" /></svg>
          <span>New chat</span>
        </button>
      </div>
    </header>
  );
}
