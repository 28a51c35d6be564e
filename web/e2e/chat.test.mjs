// End-to-end tests of the web client in Debian's Chromium against the real stack: redis-server,
// parley-gateway serving web/dist, parley-worker with a real local model. Run by
// scripts/test-web.sh (node --test); screenshots land in test-artifacts/e2e/screenshots.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { keepEvidence, launchBrowser, newPage, screenshot, viewports } from "./browser.mjs";
import { missingPrerequisites, startStack } from "./stack.mjs";

/** Longest a reply may take on the tiny test models, generously. */
const REPLY_TIMEOUT_MS = 60_000;
const UI_TIMEOUT_MS = 15_000;
/** Session lifetime of the expiry test's stack. */
const SHORT_TTL_S = 3;
/** Gateway restart plus the client's backoff (at most 15 s between attempts). */
const EXPIRY_TIMEOUT_MS = 40_000;

const missing = missingPrerequisites();
const skip = missing ? `missing: ${missing.join("; ")}` : false;
if (skip && process.env.PARLEY_E2E_REQUIRED === "1") throw new Error(`end-to-end prerequisites ${skip}`);

const composer = (page) => page.getByRole("textbox", { name: "Message Parley" });
const botMessages = (page) => page.getByTestId("bot-message");
const userMessages = (page) => page.getByTestId("user-message");

async function enterName(page, name) {
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Your name").press("Enter");
  await composer(page).waitFor({ timeout: UI_TIMEOUT_MS });
  await page.waitForFunction(() => window.__parley?.status() === "open", null, { timeout: UI_TIMEOUT_MS });
}

async function send(page, text) {
  await composer(page).fill(text);
  await composer(page).press("Enter");
}

/** The stack of the running suite, to name a crashed process when a wait times out. */
let running = null;

/** Waits until the n-th (1-based) bot reply is final and returns its status. */
async function replyDone(page, n) {
  await page.waitForFunction(
    (n) => {
      const all = document.querySelectorAll('[data-testid="bot-message"]');
      const m = all[n - 1];
      return m && ["done", "stopped", "error"].includes(m.getAttribute("data-status"));
    },
    n,
    { timeout: REPLY_TIMEOUT_MS },
  ).catch((e) => {
    const dead = running?.health();
    throw dead ? new Error(`reply ${n} never finished: ${dead}`) : e;
  });
  return botMessages(page).nth(n - 1).getAttribute("data-status");
}

const tokenOf = (page) => page.evaluate(() => localStorage.getItem("parley.session"));

async function history(url, token) {
  const r = await fetch(`${url}/refresh_token?token=${encodeURIComponent(token)}`);
  assert.equal(r.status, 200, "the session should exist");
  return (await r.json()).messages;
}

/** Events the page delivered for the reply to `replyTo`: each once, deltas adding up to the end text. */
async function assertDeliveredOnce(page, replyTo) {
  const events = await page.evaluate(() => window.__parley.events);
  const ids = events.filter((e) => e.eventId).map((e) => e.eventId);
  assert.equal(new Set(ids).size, ids.length, "no event may be delivered twice");
  const mine = events.filter((e) => e.replyTo === replyTo);
  const end = mine.find((e) => e.kind === "reply_end");
  assert.ok(end, "the reply should end");
  let streamed = "";
  for (const e of mine) {
    if (e.kind === "reply_discard" || e.kind === "reply_start") streamed = "";
    if (e.kind === "delta") streamed += e.text;
  }
  assert.equal(streamed, end.text, "the streamed deltas should add up to the stored reply exactly once");
  return { events: mine, text: end.text };
}

describe("web client end to end", { skip }, () => {
  let stack;
  let browser;

  before(async () => {
    stack = running = await startStack({ tag: "main" });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("asks a first-time visitor for a name and starts a session", keepEvidence("asks a first-time visitor for a name and starts a session", async () => {
    const { ctx, page } = await newPage(browser);
    await page.goto(stack.url);
    const start = page.getByRole("button", { name: "Start chatting" });
    assert.equal(await start.isDisabled(), true, "no session without a name");
    await screenshot(page, "welcome-desktop-light");
    await enterName(page, "Ada");
    assert.match(await tokenOf(page), /^[0-9a-f-]{36}$/);
    await page.getByRole("heading", { name: "Hi Ada, how can I help?" }).waitFor();
    assert.equal(await page.getByTestId("connection-status").getAttribute("data-status"), "open");
    await ctx.close();
  }));

  it("refuses an invalid name with the server's clear message", keepEvidence("refuses an invalid name with the server's clear message", async () => {
    const { ctx, page } = await newPage(browser);
    await page.goto(stack.url);
    await page.getByLabel("Your name").fill("\u0007bell");
    await page.getByLabel("Your name").press("Enter");
    await page.getByRole("alert").waitFor({ timeout: UI_TIMEOUT_MS });
    assert.match(await page.getByRole("alert").innerText(), /valid name/i);
    assert.equal(await tokenOf(page), null);
    await ctx.close();
  }));

  it("streams a reply, restores the conversation on reload, and shows it in a second tab", keepEvidence("streams a reply, restores the conversation on reload, and shows it in a second tab", async () => {
    const { ctx, page } = await newPage(browser);
    await page.goto(stack.url);
    await enterName(page, "Grace");
    await send(page, "Once upon a time there was a little dog.");
    await userMessages(page).first().waitFor();
    assert.equal(await replyDone(page, 1), "done");
    const token = await tokenOf(page);
    const [human, bot] = await history(stack.url, token);
    assert.equal(human.msg, "Once upon a time there was a little dog.");
    assert.equal(bot.source, "bot");
    const { events, text } = await assertDeliveredOnce(page, human.id);
    assert.equal(text, bot.msg);
    assert.ok(events.some((e) => e.kind === "delta"), "the reply should arrive as deltas");
    assert.ok(await botMessages(page).first().locator("time").count(), "each message shows its time");

    await page.reload();
    await composer(page).waitFor({ timeout: UI_TIMEOUT_MS });
    assert.equal(await page.getByLabel("Your name").count(), 0, "no name prompt while the session lives");
    assert.equal(await userMessages(page).count(), 1);
    assert.equal(await botMessages(page).count(), 1);
    assert.equal(await tokenOf(page), token);

    const second = await ctx.newPage();
    await second.goto(stack.url);
    await composer(second).waitFor({ timeout: UI_TIMEOUT_MS });
    await second.waitForFunction(() => window.__parley?.status() === "open", null, { timeout: UI_TIMEOUT_MS });
    await send(page, "The dog found a ball.");
    await replyDone(page, 2);
    await replyDone(second, 2);
    assert.equal(await userMessages(second).count(), 2, "the other tab shows the new message");
    assert.equal(await botMessages(second).nth(1).getAttribute("data-status"), "done");
    await ctx.close();
  }));

  it("resumes after the socket is cut mid-reply, with the text complete exactly once", keepEvidence("resumes after the socket is cut mid-reply, with the text complete exactly once", async () => {
    const { ctx, page } = await newPage(browser);
    await page.goto(stack.url);
    await enterName(page, "Linus");
    await page.evaluate(() => window.__parley.dropOnNextDelta());
    await send(page, "Tell me a story about a cat.");
    await replyDone(page, 1);
    assert.ok((await page.evaluate(() => window.__parley.connects())) >= 2, "the client reconnected");
    const [human, bot] = await history(stack.url, await tokenOf(page));
    const { text } = await assertDeliveredOnce(page, human.id);
    assert.equal(text, bot.msg);
    const shown = await botMessages(page).first().getByTestId("bot-text").innerText();
    assert.ok(shown.replace(/\s+/g, " ").trim().length > 0);
    await ctx.close();
  }));

  it("rides out a gateway restart and keeps chatting", keepEvidence("rides out a gateway restart and keeps chatting", async () => {
    const { ctx, page } = await newPage(browser);
    await page.goto(stack.url);
    await enterName(page, "Barbara");
    await send(page, "Hello there.");
    await page.waitForFunction(() => window.__parley.events.some((e) => e.kind === "reply_start" || e.kind === "delta"), null, { timeout: REPLY_TIMEOUT_MS });
    await stack.restartGateway();
    await page.waitForFunction(() => window.__parley.status() === "open" && window.__parley.connects() >= 2, null, { timeout: UI_TIMEOUT_MS * 2 });
    await replyDone(page, 1);
    const [human] = await history(stack.url, await tokenOf(page));
    await assertDeliveredOnce(page, human.id);
    await send(page, "Are you still there?");
    assert.equal(await replyDone(page, 2), "done");
    await ctx.close();
  }));

  it("a stop before the reply started withdraws the message", keepEvidence("a stop before the reply started withdraws the message", async () => {
    const { ctx, page } = await newPage(browser);
    await page.goto(stack.url);
    await enterName(page, "Margaret");
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
    } finally {
      stack.resumeWorker();
    }
    assert.equal(await botMessages(page).count(), 0);
    assert.equal((await history(stack.url, await tokenOf(page))).length, 0);
    assert.equal(await composer(page).isDisabled(), false);
    // The next message is answered normally.
    await send(page, "Now a short one.");
    assert.equal(await replyDone(page, 1), "done");
    await ctx.close();
  }));

  it("starts a new chat with an empty conversation", keepEvidence("starts a new chat with an empty conversation", async () => {
    const { ctx, page } = await newPage(browser);
    await page.goto(stack.url);
    await enterName(page, "Edsger");
    await send(page, "Hi!");
    await replyDone(page, 1);
    const first = await tokenOf(page);
    await page.getByRole("button", { name: "New chat" }).click();
    await page.getByRole("heading", { name: "Hi Edsger, how can I help?" }).waitFor({ timeout: UI_TIMEOUT_MS });
    const second = await tokenOf(page);
    assert.notEqual(second, first);
    assert.equal(await userMessages(page).count(), 0);
    assert.equal(await (await history(stack.url, first)).length, 2, "the old chat is kept on the server");
    await ctx.close();
  }));

  it("can be used with the keyboard alone", keepEvidence("can be used with the keyboard alone", async () => {
    const { ctx, page } = await newPage(browser);
    await page.goto(stack.url);
    // The name field has focus on arrival.
    await page.getByLabel("Your name").waitFor({ timeout: UI_TIMEOUT_MS });
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("name")), "name");
    await page.keyboard.type("Alan");
    await page.keyboard.press("Enter");
    await composer(page).waitFor({ timeout: UI_TIMEOUT_MS });
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("placeholder")), "Message Parley", "the message box gets focus");
    await page.keyboard.type("First line");
    await page.keyboard.press("Shift+Enter");
    await page.keyboard.type("second line");
    assert.equal(await composer(page).inputValue(), "First line\nsecond line");
    await page.keyboard.press("Enter");
    await replyDone(page, 1);
    assert.equal(await userMessages(page).first().locator(".message__bubble").innerText(), "First line\nsecond line");

    // Tab goes round every control: skip link, New chat, the reply's Copy, the message box.
    const names = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press("Tab");
      names.push(await page.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return "BODY";
        return el.getAttribute("aria-label") || el.getAttribute("placeholder") || el.textContent?.trim() || el.tagName;
      }));
    }
    for (const name of ["Skip to message box", "New chat", "Copy reply", "Message Parley"]) {
      assert.ok(names.includes(name), `${name} reachable by Tab: ${names.join(" | ")}`);
    }
    assert.ok(names.indexOf("Skip to message box") < names.indexOf("New chat"), `skip link first: ${names.join(" | ")}`);
    // The skip link jumps to the message box.
    await page.getByText("Skip to message box").focus();
    await page.keyboard.press("Enter");
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("placeholder")), "Message Parley");
    // New chat by keyboard.
    await page.getByRole("button", { name: "New chat" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Hi Alan, how can I help?" }).waitFor({ timeout: UI_TIMEOUT_MS });
    assert.equal(await page.getByTestId("live-region").getAttribute("aria-live"), "polite");
    await ctx.close();
  }));

  it("saves screenshots at desktop and phone width, light and dark", keepEvidence("saves screenshots at desktop and phone width, light and dark", async () => {
    for (const [size, viewport] of Object.entries(viewports)) {
      for (const colorScheme of ["light", "dark"]) {
        const { ctx, page } = await newPage(browser, { viewport, colorScheme });
        await page.goto(stack.url);
        await screenshot(page, `welcome-${size}-${colorScheme}`);
        await enterName(page, "Katherine");
        await screenshot(page, `empty-${size}-${colorScheme}`);
        await send(page, "Once upon a time, a girl found a tiny red key.");
        await replyDone(page, 1);
        await send(page, "What did she open with it?");
        await replyDone(page, 2);
        await screenshot(page, `chat-${size}-${colorScheme}`);
        await ctx.close();
      }
    }
  }));
});

describe("an expired session", { skip }, () => {
  let stack;
  let browser;

  before(async () => {
    stack = running = await startStack({ sessionTtlSeconds: SHORT_TTL_S, tag: "short-ttl" });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const waitExpiry = () => new Promise((r) => setTimeout(r, (SHORT_TTL_S + 1.5) * 1000));

  it("offers a new chat when the session expires while the page is open", keepEvidence("offers a new chat when the session expires while the page is open", async () => {
    const { ctx, page } = await newPage(browser);
    await page.goto(stack.url);
    await enterName(page, "Hedy");
    // An open socket keeps its session alive, so take the gateway away for longer than the TTL:
    // the client keeps retrying, and its first handshake after the restart is refused.
    await stack.restartGateway((SHORT_TTL_S + 1.5) * 1000);
    await page.locator('[data-testid="connection-status"][data-status="expired"]').waitFor({ timeout: EXPIRY_TIMEOUT_MS });
    const notice = page.getByTestId("notice");
    await notice.waitFor({ timeout: UI_TIMEOUT_MS });
    assert.equal(await notice.getAttribute("data-code"), "session_expired");
    assert.match(await notice.innerText(), /expired/i);
    assert.equal(await composer(page).isDisabled(), true, "nothing can be sent to an expired session");
    await screenshot(page, "expired-desktop-light");
    await notice.getByRole("button", { name: "Start a new chat" }).click();
    await page.getByRole("heading", { name: "Hi Hedy, how can I help?" }).waitFor({ timeout: UI_TIMEOUT_MS });
    await send(page, "Hello again");
    assert.equal(await replyDone(page, 1), "done");
    await ctx.close();
  }));

  it("asks for a name again when a stored session has expired", keepEvidence("asks for a name again when a stored session has expired", async () => {
    const { ctx, page } = await newPage(browser);
    await page.goto(stack.url);
    await enterName(page, "Frances");
    await page.close();
    await waitExpiry();
    const again = await ctx.newPage();
    await again.goto(stack.url);
    await again.getByLabel("Your name").waitFor({ timeout: UI_TIMEOUT_MS });
    assert.match(await again.getByRole("status").innerText(), /expired/i);
    assert.equal(await again.evaluate(() => localStorage.getItem("parley.session")), null);
    await ctx.close();
  }));
});
