// Renders model output as Markdown. react-markdown builds React elements from the Markdown AST and
// never injects HTML: raw HTML in the text is dropped (`skipHtml`) and link/image URLs pass its
// safe-protocol filter, so a reply cannot run script or restyle the page.
import { memo, useState, type ComponentPropsWithoutRef, type ReactNode } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";
import rehypeHighlight from "rehype-highlight";

/** How long the "Copied" confirmation stays on a copy button. */
const COPIED_FEEDBACK_MS = 1500;

function textOf(node: ReactNode): string {
  if (node === null || node === undefined || typeof node === "boolean") return "";
  if (typeof node === "string" || typeof node === "number") return String(node);
  if (Array.isArray(node)) return node.map(textOf).join("");
  if (typeof node === "object" && "props" in node) {
    return textOf((node.props as { children?: ReactNode }).children);
  }
  return "";
}

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

function CodeBlock({ children, ...rest }: ComponentPropsWithoutRef<"pre">) {
  const [copied, setCopied] = useState(false);
  const code = Array.isArray(children) ? children[0] : children;
  const className = (code as { props?: { className?: string } } | undefined)?.props?.className ?? "";
  const lang = /language-([\w+#-]+)/.exec(className)?.[1];
  const onCopy = async () => {
    if (await copyText(textOf(children).replace(/\n$/, ""))) {
      setCopied(true);
      setTimeout(() => setCopied(false), COPIED_FEEDBACK_MS);
    }
  };
  return (
    <div className="code-block">
      <div className="code-block__bar">
        <span className="code-block__lang">{lang ?? "code"}</span>
        <button type="button" className="code-block__copy" onClick={onCopy} aria-label={copied ? "Copied" : `Copy ${lang ?? ""} code`.replace("  ", " ")}>
          {copied ? "Copied" : "Copy"}
        </button>
      </div>
      <pre {...rest}>{children}</pre>
    </div>
  );
}

function Link(props: ComponentPropsWithoutRef<"a">) {
  return <a {...props} target="_blank" rel="noopener noreferrer nofollow" />;
}

const components: Components = { pre: CodeBlock, a: Link };

function MarkdownImpl({ text }: { text: string }) {
  return (
    <ReactMarkdown
      skipHtml
      remarkPlugins={[remarkGfm]}
      rehypePlugins={[[rehypeHighlight, { detect: false }]]}
      components={components}
    >
      {text}
    </ReactMarkdown>
  );
}

export const Markdown = memo(MarkdownImpl);
