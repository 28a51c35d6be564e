// Renders model output as Markdown. react-markdown builds React elements from the Markdown AST and
// never injects HTML: raw HTML in the text is dropped (`skipHtml`) and link/image URLs pass its
// safe-protocol filter, so a reply cannot run script or restyle the page. A single newline is a
// line break (remark-breaks), as the model meant it, not a space.
import { memo, type ComponentPropsWithoutRef, type JSX, type ReactNode } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";
import remarkBreaks from "remark-breaks";
import { CopyButton } from "./CopyButton";
import rehypeHighlight from "rehype-highlight";

function textOf(node: ReactNode): string {
  if (node === null || node === undefined || typeof node === "boolean") return "";
  if (typeof node === "string" || typeof node === "number") return String(node);
  if (Array.isArray(node)) return node.map(textOf).join("");
  if (typeof node === "object" && "props" in node) {
    return textOf((node.props as { children?: ReactNode }).children);
  }
  return "";
}

type WithNode<T extends keyof JSX.IntrinsicElements> = ComponentPropsWithoutRef<T> & { node?: unknown };

function CodeBlock({ children, node: _node, ...rest }: WithNode<"pre">) {
  const code = Array.isArray(children) ? children[0] : children;
  const className = (code as { props?: { className?: string } } | undefined)?.props?.className ?? "";
  const lang = /language-([\w+#-]+)/.exec(className)?.[1];
  return (
    <div className="code-block">
      <div className="code-block__bar">
        <span className="code-block__lang">{lang ?? "code"}</span>
        <CopyButton className="code-block__copy" text={textOf(children).replace(/\n$/, "")} label={lang ? `Copy ${lang} code` : "Copy code"} />
      </div>
      <pre {...rest}>{children}</pre>
    </div>
  );
}

/** A table scrolls sideways inside its own box instead of squeezing its words apart. */
function Table({ node: _node, ...rest }: WithNode<"table">) {
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label="Table">
      <table {...rest} />
    </div>
  );
}

function Link({ node: _node, ...rest }: WithNode<"a">) {
  return <a {...rest} target="_blank" rel="noopener noreferrer nofollow" />;
}

const components: Components = { pre: CodeBlock, a: Link, table: Table };

function MarkdownImpl({ text }: { text: string }) {
  return (
    <ReactMarkdown
      skipHtml
      remarkPlugins={[remarkGfm, remarkBreaks]}
      rehypePlugins={[[rehypeHighlight, { detect: false }]]}
      components={components}
    >
      {text}
    </ReactMarkdown>
  );
}

export const Markdown = memo(MarkdownImpl);
