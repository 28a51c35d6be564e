// axe-core (pinned in web/package-lock.json) run inside the page: evaluated through the DevTools
// protocol, so no page script or CSP is involved. Serious and critical violations fail the test;
// every report is kept under test-artifacts/e2e/a11y/.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import assert from "node:assert/strict";
import { artifactsDir } from "./stack.mjs";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const FAILING = new Set(["serious", "critical"]);

/** Runs axe over the page as it is now; `name` names the report file. */
export async function assertAccessible(page, name) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const dir = join(artifactsDir, "a11y");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(result.violations, null, 2));
  const bad = result.violations
    .filter((v) => FAILING.has(v.impact))
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join("; ")})`);
  assert.deepEqual(bad, [], `axe found serious or critical violations on ${name}`);
  return result.violations.length;
}
