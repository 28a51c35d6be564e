import { forwardRef, useEffect, useId, useLayoutEffect, useRef, useState, type KeyboardEvent } from "react";
import { codePointLength } from "../transport/protocol";
import { useMedia } from "./useMedia";

/** Tallest the message box grows before it scrolls, in pixels. */
const MAX_INPUT_HEIGHT = 200;
/** Phones and tablets: their on-screen keyboards have no Shift+Enter habit, Enter is a newline. */
export const COARSE_POINTER = "(pointer: coarse)";

/** The words under a text box whose text is over the gateway's limit (counted in code points). */
export function overLimitHint(length: number, maxChars: number): string {
  return `${length - maxChars} characters over the ${maxChars}-character limit.`;
}

/** What Enter does in the message box: send on a keyboard, a new line on a touch screen. */
export function enterAction(e: { key: string; shiftKey: boolean; isComposing: boolean }, coarse: boolean): "send" | "newline" | "none" {
  if (e.key !== "Enter" || e.isComposing) return "none";
  return e.shiftKey || coarse ? "newline" : "send";
}

export interface ComposerProps {
  generating: boolean;
  disabled: boolean;
  /** The gateway's limit, in code points. */
  maxChars: number;
  /** Changing it moves focus to the message box (once it is enabled). */
  focusRequest: number;
  onSend: (text: string) => void;
  onStop: () => void;
}

/**
 * The message box: Enter sends and Shift+Enter starts a new line (on touch screens Enter is a new
 * line and the button sends); Stop while a reply is generated (Escape stops it page-wide, App).
 */
export const Composer = forwardRef<HTMLTextAreaElement, ComposerProps>(function Composer(props, ref) {
  const [text, setText] = useState("");
  const local = useRef<HTMLTextAreaElement | null>(null);
  const hintId = useId();
  const inputId = useId();
  const coarse = useMedia(COARSE_POINTER);

  useLayoutEffect(() => {
    const ta = local.current;
    if (!ta) return;
    ta.style.height = "auto";
    ta.style.height = `${Math.min(ta.scrollHeight, MAX_INPUT_HEIGHT)}px`;
  }, [text]);

  useEffect(() => {
    if (props.focusRequest > 0 && !props.disabled) local.current?.focus();
  }, [props.focusRequest, props.disabled]);

  const length = codePointLength(text);
  const tooLong = length > props.maxChars;
  const canSend = !props.disabled && text.trim().length > 0 && !tooLong;

  const send = () => {
    if (!canSend) return;
    props.onSend(text.trim());
    setText("");
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (enterAction({ key: e.key, shiftKey: e.shiftKey, isComposing: e.nativeEvent.isComposing }, coarse) === "send") {
      e.preventDefault();
      send();
    }
  };

  const hint = tooLong
    ? overLimitHint(length, props.maxChars)
    : coarse
      ? props.generating ? "The square button stops the reply" : "The arrow button sends"
      : props.generating
        ? "Enter to queue another message · Esc to stop the reply"
        : "Enter to send · Shift+Enter for a new line";

  return (
    <form
      className="composer"
      data-pointer={coarse ? "coarse" : "fine"}
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
          enterKeyHint={coarse ? "enter" : "send"}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
          aria-describedby={hintId}
          aria-invalid={tooLong || undefined}
        />
        {props.generating && (
          <button type="button" className="composer__button composer__button--stop" onClick={props.onStop} aria-label="Stop generating">
            <svg aria-hidden="true" viewBox="0 0 24 24" width="18" height="18"><rect x="6" y="6" width="12" height="12" rx="2" fill="currentColor" /></svg>
          </button>
        )}
        {(!props.generating || coarse) && (
          <button type="submit" className="composer__button" disabled={!canSend} aria-label="Send message">
            <svg aria-hidden="true" viewBox="0 0 24 24" width="18" height="18"><path d="M12 19V5M5 12l7-7 7 7" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" strokeLinejoin="round" fill="none" /></svg>
          </button>
        )}
      </div>
      <p id={hintId} className={`composer__hint${tooLong ? " composer__hint--error" : ""}`} data-testid="composer-hint" aria-live={tooLong ? "polite" : undefined}>
        {hint}
      </p>
    </form>
  );
});
