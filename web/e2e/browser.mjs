// Debian's Chromium driven by playwright-core: headless, no sandbox (tests run as root), and no
// background networking, which this machine's closed network would refuse. Each launch gets a
// fresh, empty profile directory from Playwright (its --user-data-dir).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { artifactsDir } from "./stack.mjs";

export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

export const viewports = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
};

export function launchBrowser() {
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
}

/** A fresh browser context (own localStorage), desktop size, light theme unless told. */
export async function newPage(browser, { viewport = viewports.desktop, colorScheme = "light", context } = {}) {
  const ctx = context ?? (await browser.newContext({ viewport, colorScheme, reducedMotion: "reduce" }));
  const page = await ctx.newPage();
  track(page);
  ctx.on("page", track);
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") console.error(`[console.${m.type()}] ${m.text()}`);
  });
  return { ctx, page };
}

const openPages = new Set();
function track(page) {
  openPages.add(page);
  page.on("close", () => openPages.delete(page));
}

/** Wraps a test body: on failure every open page is saved under failures/ before rethrowing. */
export function keepEvidence(name, body) {
  return async (...args) => {
    try {
      await body(...args);
    } catch (e) {
      const dir = join(artifactsDir, "failures");
      mkdirSync(dir, { recursive: true });
      let i = 0;
      for (const page of openPages) {
        const file = join(dir, `${name.replace(/[^a-z0-9]+/gi, "-")}-${i++}.png`);
        await page.screenshot({ path: file }).catch(() => {});
      }
      throw e;
    }
  };
}

/** Saves a screenshot under test-artifacts/e2e/screenshots. */
export async function screenshot(page, name) {
  const dir = join(artifactsDir, "screenshots");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}
