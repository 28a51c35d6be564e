// The themes' colour pairs meet WCAG AA for text (4.5:1), read from styles.css itself.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const css = readFileSync(fileURLToPath(new URL("./styles.css", import.meta.url)), "utf8");

function variables(block: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of block.matchAll(/--([\w-]+):\s*(#[0-9a-fA-F]{6})\s*;/g)) out[m[1]] = m[2];
  return out;
}

const light = variables(css.slice(css.indexOf(":root {"), css.indexOf("}", css.indexOf(":root {"))));
const darkStart = css.indexOf(":root {", css.indexOf("@media (prefers-color-scheme: dark)"));
const dark = { ...light, ...variables(css.slice(darkStart, css.indexOf("}", darkStart))) };

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** [text, background] pairs the page draws. */
const pairs: [string, string][] = [
  ["fg", "bg"], ["fg", "bg-soft"], ["fg", "bg-bubble"], ["fg-muted", "bg"], ["fg-muted", "bg-soft"], ["fg-muted", "bg-bubble"],
  ["accent", "bg"], ["accent", "bg-soft"], ["accent", "accent-soft"], ["accent-fg", "accent"],
  ["danger", "bg"], ["danger-fg", "danger"], ["fg", "warning-soft"], ["bg", "fg"],
];

describe("theme contrast", () => {
  for (const [name, theme] of [["light", light], ["dark", dark]] as const) {
    for (const [fg, bg] of pairs) {
      it(`${name}: --${fg} on --${bg} is at least 4.5:1`, () => {
        expect(theme[fg], `--${fg}`).toBeDefined();
        expect(theme[bg], `--${bg}`).toBeDefined();
        expect(contrast(theme[fg], theme[bg])).toBeGreaterThanOrEqual(4.5);
      });
    }
  }

  it("measures the old light accent as the review did (4.3:1), so the check is the right one", () => {
    expect(contrast("#0e8a6b", "#ffffff")).toBeCloseTo(4.3, 1);
  });
});
