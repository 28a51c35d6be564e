// What a message offers about its versions (docs/web.md "Versions"): Edit on the person's
// messages (an inline box), Regenerate on replies, Continue on a reply cut at the token limit,
// and the "‹ 2 / 3 ›" arrows on any message that has other versions. Rendering only: App sends
// the frames.
import { useEffect, useId, useLayoutEffect, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import { codePointLength, limits } from "../transport/protocol";
import type { ChatMessage } from "../store/chat";
import { versionStep } from "../store/versions";
import { COARSE_POINTER, enterAction, overLimitHint } from "./Composer";
import { useMedia } from "./useMedia";

/** What the buttons ask for; every function keeps its identity (Message is memoized). */
export interface VersionActions {
  edit: (messageId: string, text: string) => void;
  requestReply: (request: "regenerate" | "continue", messageId: string) => void;
  /** `focus`: which arrow was used, to give it the focus again once the branch is shown. */
  switchVersion: (messageId: string, version: number, focus: "prev" | "next") => void;
}

/** The arrows of the message at `index` (it was `fromId` before the switch) get the focus back. */
export interface VersionFocus {
  index: number;
  which: "prev" | "next";
  fromId: string;
}

const MAX_EDIT_HEIGHT = 240;

function Icon(props: { children: ReactNode }) {
  return (
    <svg aria-hidden="true" viewBox="0 0 24 24" width="16" height="16" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
      {props.children}
    </svg>
  );
}

export const icons = {
  edit: <Icon><path d="M4 20h4L19 9l-4-4L4 16v4z" /><path d="M13.5 6.5l4 4" /></Icon>,
  regenerate: <Icon><path d="M20 11a8 8 0 1 0-2.3 5.7" /><path d="M20 5v6h-6" /></Icon>,
  continue: <Icon><path d="M5 12h12" /><path d="M13 6l6 6-6 6" /></Icon>,
  prev: <Icon><path d="M15 6l-6 6 6 6" /></Icon>,
  next: <Icon><path d="M9 6l6 6-6 6" /></Icon>,
};

/** Continue on a reply cut at the token limit: in words, as it is the one way to get the rest. */
export function ContinueButton(props: { onClick: () => void; disabled: boolean }) {
  return (
    <button type="button" className="message-action message-action--text" aria-label="Continue reply" title="Continue reply" disabled={props.disabled} onClick={props.onClick}>
      {icons.continue}
      <span aria-hidden="true">Continue</span>
    </button>
  );
}

/** A small icon button whose accessible name is also its tooltip. */
export function ActionButton(props: { label: string; icon: ReactNode; onClick: () => void; disabled?: boolean; testId?: string; buttonRef?: React.Ref<HTMLButtonElement> }) {
  return (
    <button
      type="button"
      ref={props.buttonRef}
      className="message-action"
      aria-label={props.label}
      title={props.label}
      disabled={props.disabled}
      onClick={props.onClick}
      data-testid={props.testId}
    >
      {props.icon}
    </button>
  );
}

/** "‹ 2 / 3 ›": the version shown and the arrows to the others (read as "Version 2 of 3"). */
export function VersionSwitcher(props: {
  message: ChatMessage;
  locked: boolean;
  onSwitch: VersionActions["switchVersion"];
  /** Give the focus to this arrow (after a switch reloaded the branch). */
  focus?: "prev" | "next";
  onFocused?: () => void;
}) {
  const m = props.message;
  const prev = useRef<HTMLButtonElement>(null);
  const next = useRef<HTMLButtonElement>(null);
  const back = versionStep(m, -1);
  const on = versionStep(m, 1);
  const { focus, onFocused } = props;
  useEffect(() => {
    if (!focus) return;
    const wanted = focus === "prev" ? prev.current : next.current;
    const other = focus === "prev" ? next.current : prev.current;
    const target = wanted && !wanted.disabled ? wanted : other && !other.disabled ? other : null;
    // Both arrows disabled (the controls are locked for a moment): try again once they are not.
    if (!target) return;
    target.focus();
    onFocused?.();
  }, [focus, onFocused, m.id, props.locked]);
  if (!m.id || !m.version || !m.versions || m.versions < 2) return null;
  const id = m.id;
  return (
    <div className="versions" role="group" aria-label="Versions" data-testid="versions">
      <ActionButton
        buttonRef={prev}
        label="Previous version"
        icon={icons.prev}
        disabled={props.locked || back === null}
        onClick={() => back !== null && props.onSwitch(id, back, "prev")}
      />
      <span className="versions__count" data-testid="version-count">
        <span className="visually-hidden">Version {m.version} of {m.versions}</span>
        <span aria-hidden="true">{m.version} / {m.versions}</span>
      </span>
      <ActionButton
        buttonRef={next}
        label="Next version"
        icon={icons.next}
        disabled={props.locked || on === null}
        onClick={() => on !== null && props.onSwitch(id, on, "next")}
      />
    </div>
  );
}

/**
 * The inline edit box of a sent message: Enter (or Save) sends the new version, Shift+Enter is a
 * new line (on touch screens Enter is a new line too and Save sends), Escape (or Cancel) leaves it.
 */
export function EditBox(props: { initial: string; locked: boolean; onSave: (text: string) => void; onCancel: () => void }) {
  const [text, setText] = useState(props.initial);
  const input = useRef<HTMLTextAreaElement>(null);
  const hintId = useId();
  const coarse = useMedia(COARSE_POINTER);
  useEffect(() => {
    const ta = input.current;
    if (!ta) return;
    ta.focus();
    ta.setSelectionRange(ta.value.length, ta.value.length);
  }, []);
  useLayoutEffect(() => {
    const ta = input.current;
    if (!ta) return;
    ta.style.height = "auto";
    ta.style.height = `${Math.min(ta.scrollHeight, MAX_EDIT_HEIGHT)}px`;
  }, [text]);
  const length = codePointLength(text);
  const tooLong = length > limits.maxMessageChars;
  const canSave = !props.locked && text.trim() !== "" && !tooLong;
  const save = () => {
    if (canSave) props.onSave(text.trim());
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Escape") {
      e.preventDefault();
      props.onCancel();
      return;
    }
    if (enterAction({ key: e.key, shiftKey: e.shiftKey, isComposing: e.nativeEvent.isComposing }, coarse) === "send") {
      e.preventDefault();
      save();
    }
  };
  const hint = tooLong
    ? overLimitHint(length, limits.maxMessageChars)
    : props.locked
      ? "Wait for the reply to finish before saving."
      : coarse ? "Save sends the edited message" : "Enter to save · Shift+Enter for a new line · Esc to cancel";
  return (
    <form
      className="edit-box"
      data-own-escape
      data-testid="edit-box"
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
    >
      <textarea
        ref={input}
        className={`edit-box__input${tooLong ? " edit-box__input--invalid" : ""}`}
        aria-label="Edit message"
        aria-describedby={hintId}
        aria-invalid={tooLong || undefined}
        value={text}
        rows={1}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <p id={hintId} className={`edit-box__hint${tooLong ? " edit-box__hint--error" : ""}`}>{hint}</p>
      <div className="edit-box__buttons">
        <button type="button" className="button button--outline button--small" onClick={props.onCancel}>Cancel</button>
        <button type="submit" className="button button--primary button--small" disabled={!canSave}>Save</button>
      </div>
    </form>
  );
}
