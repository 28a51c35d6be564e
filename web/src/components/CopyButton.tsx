import { useEffect, useRef, useState } from "react";

/** How long the "Copied" confirmation stays on a copy button. */
const COPIED_FEEDBACK_MS = 1500;

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API refused (insecure origin, permissions): fall back to a hidden textarea.
    const ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.style.position = "fixed";
    ta.style.opacity = "0";
    document.body.appendChild(ta);
    ta.select();
    const ok = document.execCommand("copy");
    ta.remove();
    return ok;
  }
}

/**
 * A button that copies `text` and says "Copied" for a moment; the confirmation is also spoken
 * through a polite status next to it (a changed button label alone is not announced).
 */
export function CopyButton(props: { text: string; label: string; className: string }) {
  const [copied, setCopied] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);
  const onCopy = async () => {
    if (!(await copyText(props.text))) return;
    setCopied(true);
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => setCopied(false), COPIED_FEEDBACK_MS);
  };
  return (
    <>
      <button type="button" className={props.className} onClick={onCopy} aria-label={props.label} data-copied={copied || undefined}>
        {copied ? "Copied" : "Copy"}
      </button>
      <span className="visually-hidden" role="status">{copied ? "Copied" : ""}</span>
    </>
  );
}
