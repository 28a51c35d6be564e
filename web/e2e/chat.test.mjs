// End-to-end tests of the chat itself in Debian's Chromium against the real stack: redis-server,
// parley-gateway serving web/dist, parley-worker with a real local model. Run by
// scripts/test-web.sh (node --test); screenshots land in test-artifacts/e2e/screenshots.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { keepEvidence, launchBrowser, newPage, screenshot, viewports } from "./browser.mjs";
import { missingPrerequisites, startStack } from "./stack.mjs";
import { assertAccessible } from "./a11y.mjs";
import {
  REPLY_TIMEOUT_MS, UI_TIMEOUT_MS, assertDeliveredOnce, botMessages, composer, focusedName, history, newChatButton,
  openApp, ready, replyDone, running, send, tokenOf, userMessages, userOf,
} from "./helpers.mjs";

/** Session lifetime of the expiry test's stack (seed sessions; a person's conversations live days). */
const SHORT_TTL_S = 3;
/** Gateway restart plus the client's backoff (at most 15 s between attempts). */
const EXPIRY_TIMEOUT_MS = 40_000;

const missing = missingPrerequisites();
const skip = missing ? `missing: ${missing.join("; ")}` : false;
if (skip && process.env.PARLEY_E2E_REQUIRED === "1") throw new Error(`end-to-end prerequisites ${skip}`);

/** A seed session (POST /token), as the client before conversations made them. */
async function seedSession(url, name) {
  const r = await fetch(`${url}/token?name=${encodeURIComponent(name)}`, { method: "POST" });
  assert.equal(r.status, 200);
  return (await r.json()).token;
}

describe("web client end to end", { skip }, () => {
  let stack;
  let browser;

  before(async () => {
    stack = running.stack = await startStack({ tag: "main" });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("creates a person on the first visit and opens an empty conversation at /c/<token>", keepEvidence("first visit", async () => {
    const { ctx, page } = await newPage(browser);
    const token = await openApp(page, stack.url);
    assert.match(await userOf(page), /^[0-9a-f-]{36}$/);
    assert.equal(await page.evaluate(() => localStorage.getItem("parley.session")), null, "no seed session is made");
    await page.getByRole("heading", { name: "How can I help?" }).waitFor();
    assert.equal(await page.getByTestId("connection-status").getAttribute("data-status"), "open");
    assert.equal(await page.getByTestId("connection-status").getAttribute("role"), "status");
    assert.equal(await focusedName(page), "Message Parley", "the message box has focus");
    assert.ok(token);
    await assertAccessible(page, "empty-chat-desktop-light");
    // Reloading the start page again offers the same empty conversation, not one more.
    await page.goto(stack.url);
    assert.equal(await ready(page), token);
    await ctx.close();
  }));

  it("streams a reply, restores the conversation on reload, and shows it in a second tab", keepEvidence("stream reload second tab", async () => {
    const { ctx, page } = await newPage(browser);
    const token = await openApp(page, stack.url);
    await send(page, "Once upon a time there was a little dog.");
    await userMessages(page).first().waitFor();
    assert.equal(await replyDone(page, 1), "done");
    const user = await userOf(page);
    const [human, bot] = await history(stack.url, user, token);
    assert.equal(human.msg, "Once upon a time there was a little dog.");
    assert.equal(bot.source, "bot");
    const { events, text } = await assertDeliveredOnce(page, human.id);
    assert.equal(text, bot.msg);
    assert.ok(events.some((e) => e.kind === "delta"), "the reply should arrive as deltas");
    assert.ok(await botMessages(page).first().locator("time").count(), "each message shows its time");
    const live = await page.getByTestId("live-region").innerText();
    assert.ok(live.startsWith("Parley replied: "), `the live region reads the reply: ${live}`);
    await assertAccessible(page, "conversation-desktop-light");

    await page.reload();
    await ready(page, token);
    assert.equal(await userMessages(page).count(), 1);
    assert.equal(await botMessages(page).count(), 1);

    const second = await ctx.newPage();
    await second.goto(page.url());
    await ready(second, token);
    await send(page, "The dog found a ball.");
    await replyDone(page, 2);
    await replyDone(second, 2);
    assert.equal(await userMessages(second).count(), 2, "the other tab shows the new message");
    assert.equal(await botMessages(second).nth(1).getAttribute("data-status"), "done");
    await ctx.close();
  }));

  it("resumes after the socket is cut mid-reply, with the text complete exactly once", keepEvidence("socket cut", async () => {
    const { ctx, page } = await newPage(browser);
    const token = await openApp(page, stack.url);
    await page.evaluate(() => window.__parley.dropOnNextDelta());
    await send(page, "Tell me a story about a cat.");
    await replyDone(page, 1);
    assert.ok((await page.evaluate(() => window.__parley.connects())) >= 2, "the client reconnected");
    const [human, bot] = await history(stack.url, await userOf(page), token);
    const { text } = await assertDeliveredOnce(page, human.id);
    assert.equal(text, bot.msg);
    await ctx.close();
  }));

  it("rides out a gateway restart, saying so in words on a phone, and keeps chatting", keepEvidence("gateway restart", async () => {
    const { ctx, page } = await newPage(browser, { viewport: viewports.phone });
    const token = await openApp(page, stack.url);
    await send(page, "Hello there.");
    await page.waitForFunction(() => window.__parley.events.some((e) => e.kind === "reply_start" || e.kind === "delta"), null, { timeout: REPLY_TIMEOUT_MS });
    const restarting = stack.restartGateway(1500);
    const status = page.getByRole("status").filter({ hasText: "Connection lost" });
    await status.waitFor({ state: "visible", timeout: UI_TIMEOUT_MS });
    assert.ok((await status.boundingBox()).width > 40, "the lost connection is shown in words, not only a dot");
    await screenshot(page, "reconnecting-phone-light");
    await restarting;
    await page.waitForFunction(() => window.__parley.status() === "open" && window.__parley.connects() >= 2, null, { timeout: UI_TIMEOUT_MS * 2 });
    await replyDone(page, 1);
    const [human] = await history(stack.url, await userOf(page), token);
    await assertDeliveredOnce(page, human.id);
    await send(page, "Are you still there?");
    assert.equal(await replyDone(page, 2), "done");
    await ctx.close();
  }));

  it("a stop before the reply started withdraws the message, also by Escape from outside the message box", keepEvidence("stop withdraws", async () => {
    const { ctx, page } = await newPage(browser);
    const token = await openApp(page, stack.url);
    // The tiny models answer in well under a second, faster than a click; hold the worker so
    // the message still waits when Stop is pressed. No reply had started, so none is written:
    // the message is withdrawn (docs/protocol.md, message_withdrawn), not answered "Stopped".
    stack.pauseWorker();
    try {
      await send(page, "Tell me a long story.");
      const stop = page.getByRole("button", { name: "Stop generating" });
      await stop.waitFor({ timeout: UI_TIMEOUT_MS });
      await page.waitForFunction(() => document.querySelector('[data-testid="user-message"]')?.getAttribute("data-status") === "sent", null, { timeout: UI_TIMEOUT_MS });
      await stop.click();
      await page.waitForFunction(() => window.__parley.stopsSent() > 0, null, { timeout: UI_TIMEOUT_MS });
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="user-message"]').length === 0, null, { timeout: UI_TIMEOUT_MS });

      // Escape with the focus elsewhere on the page (the search box) stops it too.
      await send(page, "Another long story.");
      await page.waitForFunction(() => document.querySelector('[data-testid="user-message"]')?.getAttribute("data-status") === "sent", null, { timeout: UI_TIMEOUT_MS });
      await page.getByRole("searchbox", { name: "Search conversations" }).focus();
      await page.keyboard.press("Escape");
      await page.waitForFunction(() => window.__parley.stopsSent() > 1, null, { timeout: UI_TIMEOUT_MS });
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="user-message"]').length === 0, null, { timeout: UI_TIMEOUT_MS });
    } finally {
      stack.resumeWorker();
    }
    assert.equal(await botMessages(page).count(), 0);
    assert.equal((await history(stack.url, await userOf(page), token)).length, 0);
    assert.equal(await composer(page).isDisabled(), false);
    await send(page, "Now a short one.");
    assert.equal(await replyDone(page, 1), "done");
    await ctx.close();
  }));

  it("can be used with the keyboard alone", keepEvidence("keyboard", async () => {
    const { ctx, page } = await newPage(browser);
    await openApp(page, stack.url);
    assert.equal(await focusedName(page), "Message Parley", "the message box gets focus");
    await page.keyboard.type("First line");
    await page.keyboard.press("Shift+Enter");
    await page.keyboard.type("second line");
    assert.equal(await composer(page).inputValue(), "First line\nsecond line");
    await page.keyboard.press("Enter");
    await replyDone(page, 1);
    assert.equal(await userMessages(page).first().locator(".message__bubble").innerText(), "First line\nsecond line");

    // Tab goes round every control: skip link, New chat, search, the conversation, its rename and
    // delete, each message's Copy, the message box.
    const names = [];
    for (let i = 0; i < 16; i++) {
      await page.keyboard.press("Tab");
      names.push(await focusedName(page));
    }
    const list = names.join(" | ");
    for (const name of ["Skip to message box", "New chat", "Search titles", "Copy message", "Copy reply", "Message Parley"]) {
      assert.ok(names.includes(name), `${name} reachable by Tab: ${list}`);
    }
    assert.ok(names.some((n) => n.startsWith("Rename ")) && names.some((n) => n.startsWith("Delete ")), `rename and delete reachable: ${list}`);
    assert.ok(names.indexOf("Skip to message box") < names.indexOf("New chat"), `skip link first: ${list}`);
    await page.getByText("Skip to message box").focus();
    await page.keyboard.press("Enter");
    assert.equal(await focusedName(page), "Message Parley");
    // Copy by keyboard, with feedback.
    await page.getByRole("button", { name: "Copy reply" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "Copy reply" }).filter({ hasText: "Copied" }).waitFor({ timeout: UI_TIMEOUT_MS });
    // New chat by keyboard: a fresh conversation, and the focus is in its message box.
    const first = tokenOf(page);
    await newChatButton(page).focus();
    await page.keyboard.press("Enter");
    await page.waitForURL((u) => !u.pathname.endsWith(first), { timeout: UI_TIMEOUT_MS });
    await ready(page);
    await page.waitForFunction(() => document.activeElement?.getAttribute("placeholder") === "Message Parley", null, { timeout: UI_TIMEOUT_MS });
    assert.equal(await page.getByTestId("live-region").getAttribute("aria-live"), "polite");
    await ctx.close();
  }));

  it("copies every message, the person's and the reply, and says Copied", keepEvidence("copy", async () => {
    const { ctx, page } = await newPage(browser);
    await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: stack.url });
    await openApp(page, stack.url);
    await send(page, "Copy me, please.");
    await replyDone(page, 1);
    const copyMine = page.getByRole("button", { name: "Copy message" });
    await copyMine.click();
    await copyMine.filter({ hasText: "Copied" }).waitFor({ timeout: UI_TIMEOUT_MS });
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "Copy me, please.");
    await page.getByRole("status").filter({ hasText: /^Copied$/ }).first().waitFor({ state: "attached", timeout: UI_TIMEOUT_MS });
    await page.getByRole("button", { name: "Copy reply" }).click();
    const [, bot] = await history(stack.url, await userOf(page), tokenOf(page));
    await page.waitForFunction((t) => navigator.clipboard.readText().then((c) => c === t), bot.msg, { timeout: UI_TIMEOUT_MS });
    await ctx.close();
  }));

  it("keeps working for a browser with a session from before conversations", keepEvidence("seed migration", async () => {
    const seed = await seedSession(stack.url, "Ada");
    const { ctx, page } = await newPage(browser);
    await ctx.addInitScript((t) => {
      if (!localStorage.getItem("parley.user")) localStorage.setItem("parley.session", t);
    }, seed);
    // The first visit after the update opens the earlier chat itself, under its own name.
    assert.equal(await openApp(page, stack.url), seed);
    await page.getByRole("heading", { name: "Hi Ada, how can I help?" }).waitFor({ timeout: UI_TIMEOUT_MS });
    assert.equal(await page.getByTestId("conversation-title").innerText(), "Earlier chat");
    await send(page, "Still here?");
    assert.equal(await replyDone(page, 1), "done");
    const r = await fetch(`${stack.url}/refresh_token?token=${seed}`);
    assert.equal((await r.json()).messages.length, 2, "the seed session stores it, as before");
    // New conversations keep the name; the earlier chat stays one click away.
    await newChatButton(page).click();
    await page.waitForURL((u) => !u.pathname.endsWith(seed), { timeout: UI_TIMEOUT_MS });
    await ready(page);
    await page.getByRole("heading", { name: "Hi Ada, how can I help?" }).waitFor({ timeout: UI_TIMEOUT_MS });
    await page.getByTestId("earlier-chat").getByRole("link").click();
    await ready(page, seed);
    assert.equal(await userMessages(page).count(), 1);
    await ctx.close();
  }));

  it("saves screenshots at desktop and phone width, light and dark", keepEvidence("screenshots", async () => {
    for (const [size, viewport] of Object.entries(viewports)) {
      for (const colorScheme of ["light", "dark"]) {
        const { ctx, page } = await newPage(browser, { viewport, colorScheme });
        await openApp(page, stack.url);
        await screenshot(page, `empty-${size}-${colorScheme}`);
        await send(page, "Once upon a time, a girl found a tiny red key.");
        await replyDone(page, 1);
        await send(page, "What did she open with it?");
        await replyDone(page, 2);
        await screenshot(page, `chat-${size}-${colorScheme}`);
        await assertAccessible(page, `conversation-${size}-${colorScheme}`);
        await ctx.close();
      }
    }
  }));
});

describe("an expired seed session", { skip }, () => {
  let stack;
  let browser;

  before(async () => {
    stack = running.stack = await startStack({ sessionTtlSeconds: SHORT_TTL_S, tag: "short-ttl" });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("offers a new chat when the earlier chat expires while the page is open", keepEvidence("seed expires open", async () => {
    const seed = await seedSession(stack.url, "Hedy");
    const { ctx, page } = await newPage(browser);
    await ctx.addInitScript((t) => {
      if (!localStorage.getItem("parley.user")) localStorage.setItem("parley.session", t);
    }, seed);
    assert.equal(await openApp(page, stack.url), seed);
    // An open socket keeps its session alive, so take the gateway away for longer than the TTL:
    // the client keeps retrying, and its first handshake after the restart is refused.
    await stack.restartGateway((SHORT_TTL_S + 1.5) * 1000);
    await page.locator('[data-testid="connection-status"][data-status="expired"]').waitFor({ timeout: EXPIRY_TIMEOUT_MS });
    const notice = page.getByTestId("notice");
    await notice.waitFor({ timeout: UI_TIMEOUT_MS });
    assert.equal(await notice.getAttribute("data-code"), "session_expired");
    assert.equal(await composer(page).isDisabled(), true, "nothing can be sent to an expired session");
    await screenshot(page, "expired-desktop-light");
    await notice.getByRole("button", { name: "Start a new chat" }).click();
    await page.waitForURL((u) => !u.pathname.endsWith(seed), { timeout: UI_TIMEOUT_MS });
    await ready(page);
    await page.getByRole("heading", { name: "Hi Hedy, how can I help?" }).waitFor({ timeout: UI_TIMEOUT_MS });
    await send(page, "Hello again");
    assert.equal(await replyDone(page, 1), "done");
    await ctx.close();
  }));

  it("forgets a stored seed session that has expired and starts as a person", keepEvidence("seed expired stored", async () => {
    const seed = await seedSession(stack.url, "Frances");
    await eventuallyGone(stack.redisUrl, seed);
    const { ctx, page } = await newPage(browser);
    await ctx.addInitScript((t) => {
      if (!localStorage.getItem("parley.user")) localStorage.setItem("parley.session", t);
    }, seed);
    const token = await openApp(page, stack.url);
    assert.notEqual(token, seed);
    assert.equal(await page.evaluate(() => localStorage.getItem("parley.session")), null);
    assert.equal(await page.getByTestId("earlier-chat").count(), 0);
    await ctx.close();
  }));
});

/** Waits for a seed session to expire in Redis (asking the gateway would slide its TTL). */
async function eventuallyGone(redisUrl, token) {
  const port = Number(new URL(redisUrl).port);
  const exists = () => new Promise((res) => {
    const s = connect({ port, host: "127.0.0.1" }, () => s.write(`EXISTS parley:{${token}}:session\r\n`));
    s.on("data", (d) => { s.destroy(); res(d.toString().trim()); });
    s.on("error", () => res("error"));
  });
  const deadline = Date.now() + (SHORT_TTL_S + 10) * 1000;
  while (Date.now() < deadline) {
    if ((await exists()) === ":0") return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error("the seed session did not expire");
}
