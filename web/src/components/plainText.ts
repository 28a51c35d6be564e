// Markdown as a screen reader should hear it: the words, without `**`, `#`, pipes or fences.
// Parsed with the same remark parser and GFM extension the page renders with.
import { unified } from "unified";
import remarkParse from "remark-parse";
import remarkGfm from "remark-gfm";
import type { Nodes } from "mdast";

const parser = unified().use(remarkParse).use(remarkGfm);

function words(node: Nodes): string {
  switch (node.type) {
    case "text":
    case "inlineCode":
    case "code":
      return node.value;
    case "image":
    case "imageReference":
      return node.alt ?? "";
    case "break":
    case "thematicBreak":
      return " ";
    case "html":
      return "";
    default:
      if (!("children" in node)) return "";
      // Block-level children (paragraphs, list items, table cells) are separate phrases.
      return node.children.map((c) => words(c as Nodes)).join(isBlock(node) ? " " : "");
  }
}

function isBlock(node: Nodes): boolean {
  return ["root", "list", "listItem", "blockquote", "table", "tableRow", "footnoteDefinition"].includes(node.type);
}

export function plainText(markdown: string): string {
  return words(parser.parse(markdown)).replace(/\s+/g, " ").trim();
}
