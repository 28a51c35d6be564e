import { useEffect, useId, useRef } from "react";

/**
 * A modal question on the native <dialog>: it traps focus, Escape cancels it (its own `cancel`
 * event, so the page's Escape does not stop a reply meanwhile), and focus returns to where it was.
 */
export function ConfirmDialog(props: {
  title: string;
  body: string;
  confirm: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const bodyId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    const before = document.activeElement as HTMLElement | null;
    if (!d.open) d.showModal();
    return () => {
      if (d.open) d.close();
      if (before?.isConnected) before.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={titleId}
      aria-describedby={bodyId}
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
      onKeyDown={(e) => {
        // Marked as handled, so the page's Escape (stop the reply) leaves it alone.
        if (e.key === "Escape") {
          e.preventDefault();
          props.onCancel();
        }
      }}
    >
      <h2 id={titleId} className="dialog__title">{props.title}</h2>
      <p id={bodyId} className="dialog__body">{props.body}</p>
      <div className="dialog__actions">
        <button type="button" className="button button--outline" onClick={props.onCancel} autoFocus>Cancel</button>
        <button type="button" className="button button--danger" onClick={props.onConfirm}>{props.confirm}</button>
      </div>
    </dialog>
  );
}
