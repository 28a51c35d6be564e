/** The short window after a delete: the conversation is hidden, and Undo brings it back. */
export function UndoToast(props: { text: string; onUndo: () => void }) {
  return (
    <div className="toast" role="status" data-testid="undo-toast">
      <span className="toast__text">{props.text}</span>
      <button type="button" className="button button--small toast__undo" onClick={props.onUndo}>Undo</button>
    </div>
  );
}
