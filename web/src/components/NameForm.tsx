import { useId, useState, type FormEvent } from "react";

/** The first-visit screen: asks the person's name, which starts a session. */
export function NameForm(props: { busy: boolean; error: string | null; info: string | null; onSubmit: (name: string) => void }) {
  const [name, setName] = useState("");
  const inputId = useId();
  const errorId = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const trimmed = name.trim();
    if (trimmed) props.onSubmit(trimmed);
  };
  return (
    <main className="welcome">
      <form className="welcome__card" onSubmit={submit} aria-describedby={props.error ? errorId : undefined}>
        <div className="welcome__logo" aria-hidden="true">P</div>
        <h1 className="welcome__title">Welcome to Parley</h1>
        <p className="welcome__lead">Chat with an AI assistant. Tell us what to call you to begin.</p>
        {props.info && <p className="welcome__info" role="status">{props.info}</p>}
        <label htmlFor={inputId} className="welcome__label">Your name</label>
        <input
          id={inputId}
          className="welcome__input"
          name="name"
          autoComplete="given-name"
          autoFocus
          maxLength={64}
          required
          value={name}
          onChange={(e) => setName(e.target.value)}
          aria-invalid={props.error ? true : undefined}
          aria-errormessage={props.error ? errorId : undefined}
          placeholder="e.g. Ada"
        />
        {props.error && <p id={errorId} className="welcome__error" role="alert">{props.error}</p>}
        <button type="submit" className="button button--primary" disabled={props.busy || !name.trim()}>
          {props.busy ? "Starting…" : "Start chatting"}
        </button>
      </form>
    </main>
  );
}
