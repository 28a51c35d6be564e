import { forwardRef, useId, useLayoutEffect, useRef, useState, type KeyboardEvent } from "react";

/** Tallest the message box grows before it scrolls, in pixels. */
const MAX_INPUT_HEIGHT = 200;

export interface ComposerProps {
  generating: boolean;
  disabled: boolean;
  maxChars: number;
  onSend: (text: string) => void;
  onStop: () => void;
}

/** The message box: Enter sends, Shift+Enter starts a new line; Stop while a reply is generated. */
export const Composer = forwardRef<HTMLTextAreaElement, ComposerProps>(function Composer(props, ref) {
  const [text, setText] = useState("");
  const local = useRef<HTMLTextAreaElement | null>(null);
  const hintId = useId();
  const inputId = useId();

  useLayoutEffect(() => {
    const ta = local.current;
    if (!ta) return;
    ta.style.height = "auto";
    ta.style.height = `${Math.min(ta.scrollHeight, MAX_INPUT_HEIGHT)}px`;
  }, [text]);

  const tooLong = text.length > props.maxChars;
  const canSend = !props.disabled && text.trim().length > 0 && !tooLong;

  const send = () => {
    if (!canSend) return;
    props.onSend(text.trim());
    setText("");
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    } else if (e.key === "Escape" && props.generating) {
      e.preventDefault();
      props.onStop();
    }
  };

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <div className={`composer__box${tooLong ? " composer__box--invalid" : ""}`}>
        <label htmlFor={inputId} className="visually-hidden">Message Parley</label>
        <textarea
          id={inputId}
          ref={(el) => {
            local.current = el;
            if (typeof ref === "function") ref(el);
            else if (ref) ref.current = el;
          }}
          className="composer__input"
          rows={1}
          placeholder="Message Parley"
          value={text}
          disabled={props.disabled}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
          aria-describedby={hintId}
          aria-invalid={tooLong || undefined}
        />
        {props.generating ? (
          <button type="button" className="composer__button composer__button--stop" onClick={props.onStop} aria-label="Stop generating">
            <svg aria-hidden="true" viewBox="0 0 24 24" width="18" height="18"><rect x="6" y="6" width="12" height="12" rx="2" fill="currentColor" /></svg>
          </button>
        ) : (
          <button type="submit" className="composer__button" disabled={!canSend} aria-label="Send message">
            <svg aria-hidden="true" viewBox="0 0 24 24" width="18" height="18"><path d="M12 19V5M5 12l7-7 7 7" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" strokeLinejoin="round" fill="none" /></svg>
          </button>
        )}
      </div>
      <p id={hintId} className="composer__hint">
        {tooLong
          ? `${text.length - props.maxChars} characters over the ${props.maxChars}-character limit.`
          : props.generating
            ? "Enter to queue another message · Esc to stop the reply"
            : "Enter to send · Shift+Enter for a new line"}
      </p>
    </form>
  );
});
