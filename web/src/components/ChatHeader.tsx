import type { ConnectionStatus } from "../transport/connection";

const labels: Record<ConnectionStatus, string> = {
  connecting: "Connecting…",
  open: "Connected",
  reconnecting: "Reconnecting…",
  expired: "Session expired",
  deleted: "Conversation deleted",
  closed: "Disconnected",
};

export const NewChatIcon = () => (
  <svg aria-hidden="true" viewBox="0 0 24 24" width="16" height="16"><path d="M12 5v14M5 12h14" stroke="currentColor" strokeWidth="2" strokeLinecap="round" fill="none" /></svg>
);

/**
 * The bar above the conversation: the drawer's menu button and New chat (phones; on wider screens
 * both live in the sidebar), the title, and the connection state in words (role=status, so a lost
 * connection is announced and readable on every width, not only a coloured dot).
 */
export function ChatHeader(props: {
  title: string;
  connection: ConnectionStatus;
  drawerOpen: boolean;
  onMenu: () => void;
  onNewChat: () => void;
  onReconnect: () => void;
}) {
  const { connection } = props;
  return (
    <header className="chat-header">
      <button
        type="button"
        className="icon-button chat-header__menu"
        aria-label="Conversations"
        aria-expanded={props.drawerOpen}
        aria-controls="sidebar"
        onClick={props.onMenu}
      >
        <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20"><path d="M4 7h16M4 12h16M4 17h16" stroke="currentColor" strokeWidth="2" strokeLinecap="round" fill="none" /></svg>
      </button>
      <h1 className="chat-header__title" data-testid="conversation-title">{props.title || "New chat"}</h1>
      <div className="chat-header__right">
        <span className={`status status--${connection}`} role="status" data-testid="connection-status" data-status={connection}>
          <span className="status__dot" aria-hidden="true" />
          <span className="status__text">
            {connection === "reconnecting" && <span className="status__why">Connection lost. </span>}
            {labels[connection]}
          </span>
        </span>
        {connection === "reconnecting" && (
          <button type="button" className="button button--ghost button--small" onClick={props.onReconnect}>Retry now</button>
        )}
        <button type="button" className="icon-button chat-header__new" onClick={props.onNewChat} aria-label="New chat">
          <NewChatIcon />
        </button>
      </div>
    </header>
  );
}
