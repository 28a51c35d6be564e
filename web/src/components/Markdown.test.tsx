import { describe, expect, it } from "vitest";
import { renderToStaticMarkup } from "react-dom/server";
import { Markdown } from "./Markdown";
import { plainText } from "./plainText";

const html = (text: string) => renderToStaticMarkup(<Markdown text={text} />);

describe("Markdown", () => {
  it("renders no raw HTML from the model", () => {
    const out = html('Hi <script>alert(1)</script> <img src=x onerror="alert(2)"> <b>bold</b>\n\n<iframe src="https://evil"></iframe>');
    expect(out).not.toMatch(/<script|<img|<iframe|<b>|onerror/);
    expect(out).toContain("Hi");
  });

  it("drops javascript: links and opens others in a new tab safely", () => {
    const out = html("[click](javascript:alert(1)) and [docs](https://example.org/x)");
    expect(out).not.toContain("javascript:");
    expect(out).toContain('href="https://example.org/x"');
    expect(out).toContain('rel="noopener noreferrer nofollow"');
  });

  it("highlights fenced code and gives it a copy button", () => {
    const out = html("```python\ndef f(x):\n    return 'hi'\n```");
    expect(out).toContain('class="code-block"');
    expect(out).toContain(">python<");
    expect(out).toContain("Copy");
    expect(out).toMatch(/<span class="hljs-keyword">def<\/span>/);
    expect(out).toMatch(/hljs-string/);
  });

  it("shows code in an unknown language as plain text", () => {
    const out = html("```klingon\nqapla'\n```");
    expect(out).toContain("qapla");
    expect(out).toContain(">klingon<");
  });

  it("renders GitHub-flavoured tables and lists", () => {
    const out = html("| a | b |\n|---|---|\n| 1 | 2 |\n\n- one\n- two");
    expect(out).toContain("<table>");
    expect(out).toContain("<li>two</li>");
  });
});

describe("Markdown line breaks and tables", () => {
  it("keeps a single newline of a reply as a line break", () => {
    const out = html("Roses are red,\nviolets are blue.\n\nNew paragraph.");
    expect(out).toMatch(/Roses are red,<br\/?>\s*violets are blue\./);
    expect(out).toContain("<p>New paragraph.</p>");
  });

  it("wraps a table in its own scrolling, keyboard-reachable box", () => {
    const out = html("| a | b |\n|---|---|\n| 1 | 2 |");
    expect(out).toMatch(/<div class="table-wrap" tabindex="0" role="region" aria-label="Table"><table>/);
    expect(out).not.toContain("node=");
  });
});

describe("plainText", () => {
  it("reads Markdown as words for the live region", () => {
    expect(plainText("# Title\n\nSome **bold** and `code`, a [link](https://x.org).\n\n- one\n- two\n\n```js\nlet x = 1;\n```"))
      .toBe("Title Some bold and code, a link. one two let x = 1;");
    expect(plainText("| a | b |\n|---|---|\n| 1 | 2 |")).toBe("a b 1 2");
    expect(plainText("line one\nline two")).toBe("line one line two");
    expect(plainText("Hi <b>there</b>")).toBe("Hi there");
  });
});
