// End-to-end tests of message versions (docs/protocol.md "Versions", docs/web.md) in Debian's
// Chromium against the real stack: regenerate and the arrows, edit, continue, a second tab,
// reload, the keyboard alone, screenshots and axe. The worker ends every reply at a small token
// limit (--ignore-eos), so every reply is one that can be continued and turns are quick.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { keepEvidence, launchBrowser, newPage, screenshot, viewports } from "./browser.mjs";
import { missingPrerequisites, startStack } from "./stack.mjs";
import { assertAccessible } from "./a11y.mjs";
import {
  REPLY_TIMEOUT_MS, UI_TIMEOUT_MS, botMessages, focusedName, history, openApp, ready, replyDone, running, send,
  userMessages, userOf,
} from "./helpers.mjs";

/** Reply length of this file's worker, in tokens: short, and always reached (the model's end token is ignored). */
const MAX_NEW_TOKENS = 12;

const missing = missingPrerequisites();
const skip = missing ? `missing: ${missing.join("; ")}` : false;
if (skip && process.env.PARLEY_E2E_REQUIRED === "1") throw new Error(`end-to-end prerequisites ${skip}`);

/** The `n`-th (1-based) message of `role` ("user" or "bot"). */
const nth = (page, role, n) => (role === "user" ? userMessages(page) : botMessages(page)).nth(n - 1);

/**
 * Waits until the `n`-th message of `role` shows "Version v of total" (null: no arrows) and, for
 * replies, is finished; returns its text.
 */
async function showsVersion(page, role, n, version) {
  await page.waitForFunction(
    ({ role, n, version }) => {
      const m = document.querySelectorAll(`[data-testid="${role}-message"]`)[n - 1];
      if (!m) return false;
      if (role === "bot" && !["done", "stopped", "error"].includes(m.getAttribute("data-status"))) return false;
      // What a screen reader reads for the "2 / 3" counter.
      const label = m.querySelector('[data-testid="version-count"] .visually-hidden')?.textContent ?? null;
      return label === version;
    },
    { role, n, version },
    { timeout: REPLY_TIMEOUT_MS },
  ).catch((e) => {
    const dead = running.stack?.health();
    throw dead ? new Error(`message ${role} ${n} never showed ${version}: ${dead}`) : e;
  });
  const m = nth(page, role, n);
  return role === "bot" ? m.getByTestId("bot-text").innerText() : m.locator(".message__bubble").innerText();
}

/** The controls of the `n`-th message of `role`, by accessible name. */
const control = (page, role, n, name) => nth(page, role, n).getByRole("button", { name, exact: true });

/** Sends `text` and waits for its reply (the `n`-th). */
async function turn(page, text, n) {
  await send(page, text);
  assert.equal(await replyDone(page, n), "done");
}

describe("message versions end to end", { skip }, () => {
  let stack;
  let browser;

  before(async () => {
    stack = running.stack = await startStack({ tag: "versions", worker: { maxNewTokens: MAX_NEW_TOKENS, ignoreEos: true } });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("regenerates a reply, switches back and forth in two tabs, and keeps the chosen version through a reload", keepEvidence("regenerate switch", async () => {
    const { ctx, page } = await newPage(browser);
    const token = await openApp(page, stack.url);
    await turn(page, "Tell me about a cat.", 1);
    const first = await nth(page, "bot", 1).getByTestId("bot-text").innerText();
    const firstId = await nth(page, "bot", 1).getAttribute("data-id");
    assert.equal(await control(page, "bot", 1, "Previous version").count(), 0, "one version: no arrows");

    await control(page, "bot", 1, "Regenerate reply").click();
    const second = await showsVersion(page, "bot", 1, "Version 2 of 2");
    const secondId = await nth(page, "bot", 1).getAttribute("data-id");
    assert.notEqual(secondId, firstId, "the new version is another message");
    assert.equal(await botMessages(page).count(), 1);
    const user = await userOf(page);
    const stored = await history(stack.url, user, token);
    assert.deepEqual(stored.map((m) => [m.source, m.version, m.versions]), [["human", undefined, undefined], ["bot", 2, 2]]);
    assert.equal(stored[1].msg, second);

    const other = await newPage(browser, { context: ctx });
    await other.page.goto(`${stack.url}/c/${token}`);
    await ready(other.page, token);
    // A tab in the background gets few animation frames, which Playwright's clicks wait for.
    await page.bringToFront();
    assert.equal(await showsVersion(other.page, "bot", 1, "Version 2 of 2"), second);

    await control(page, "bot", 1, "Previous version").click();
    assert.equal(await showsVersion(page, "bot", 1, "Version 1 of 2"), first);
    assert.equal(await showsVersion(other.page, "bot", 1, "Version 1 of 2"), first, "the other tab follows the switch");
    assert.equal(await control(page, "bot", 1, "Previous version").isDisabled(), true, "no version before the first");
    await page.getByTestId("live-region").filter({ hasText: "Showing version 1 of 2" }).waitFor({ timeout: UI_TIMEOUT_MS });

    await page.reload();
    await ready(page, token);
    assert.equal(await showsVersion(page, "bot", 1, "Version 1 of 2"), first, "a reload keeps the chosen version");
    assert.equal((await history(stack.url, user, token))[1].id, firstId);

    await control(page, "bot", 1, "Next version").click();
    assert.equal(await showsVersion(page, "bot", 1, "Version 2 of 2"), second);
    assert.equal(await showsVersion(other.page, "bot", 1, "Version 2 of 2"), second);
    await ctx.close();
  }));

  it("edits a sent message: the reply answers the edited text, and the old branch is one arrow away", keepEvidence("edit", async () => {
    const { ctx, page } = await newPage(browser);
    const token = await openApp(page, stack.url);
    await turn(page, "My cat is called Tom.", 1);
    await turn(page, "What does Tom eat?", 2);
    const oldReplies = [await nth(page, "bot", 1).getByTestId("bot-text").innerText(), await nth(page, "bot", 2).getByTestId("bot-text").innerText()];
    const other = await newPage(browser, { context: ctx });
    await other.page.goto(`${stack.url}/c/${token}`);
    await ready(other.page, token);
    // A tab in the background gets few animation frames, which Playwright's clicks wait for.
    await page.bringToFront();

    await control(page, "user", 1, "Edit message").click();
    const box = page.getByRole("textbox", { name: "Edit message" });
    assert.equal(await box.inputValue(), "My cat is called Tom.");
    await box.fill("My dog is called Rex.");
    await box.press("Enter");
    // At once: the edited text in place of the old one, and nothing after it.
    assert.equal(await nth(page, "user", 1).locator(".message__bubble").innerText(), "My dog is called Rex.");
    assert.equal(await showsVersion(page, "user", 1, "Version 2 of 2"), "My dog is called Rex.");
    assert.equal(await replyDone(page, 1), "done");
    assert.equal(await userMessages(page).count(), 1);
    assert.equal(await botMessages(page).count(), 1);

    const user = await userOf(page);
    const stored = await history(stack.url, user, token);
    assert.deepEqual(stored.map((m) => [m.source, m.msg === "My dog is called Rex." || m.source === "bot", m.version, m.versions]),
      [["human", true, 2, 2], ["bot", true, undefined, undefined]]);
    assert.equal(stored[1].reply_to, stored[0].id, "the reply answers the edited message");
    assert.equal(await showsVersion(other.page, "user", 1, "Version 2 of 2"), "My dog is called Rex.", "the other tab shows the edit");
    assert.equal(await other.page.getByTestId("user-message").count(), 1);

    await control(page, "user", 1, "Previous version").click();
    assert.equal(await showsVersion(page, "user", 1, "Version 1 of 2"), "My cat is called Tom.");
    assert.equal(await userMessages(page).count(), 2, "the old branch comes back whole");
    assert.equal(await nth(page, "user", 2).locator(".message__bubble").innerText(), "What does Tom eat?");
    await replyDone(page, 2);
    assert.deepEqual([await nth(page, "bot", 1).getByTestId("bot-text").innerText(), await nth(page, "bot", 2).getByTestId("bot-text").innerText()], oldReplies);
    await control(page, "user", 1, "Next version").click();
    assert.equal(await showsVersion(page, "user", 1, "Version 2 of 2"), "My dog is called Rex.");
    assert.equal(await userMessages(page).count(), 1);

    // Escape and Cancel leave the box without sending anything.
    await control(page, "user", 1, "Edit message").click();
    await box.fill("never sent");
    await box.press("Escape");
    assert.equal(await box.count(), 0);
    assert.equal(await focusedName(page), "Edit message", "the focus goes back to Edit");
    await control(page, "user", 1, "Edit message").click();
    await page.getByRole("button", { name: "Cancel", exact: true }).click();
    assert.equal((await history(stack.url, user, token)).length, 2, "nothing was sent");
    await ctx.close();
  }));

  it("continues a reply cut at the token limit from its own text", keepEvidence("continue", async () => {
    const { ctx, page } = await newPage(browser);
    const token = await openApp(page, stack.url);
    await turn(page, "Tell me a long story about a brave knight.", 1);
    const user = await userOf(page);
    const [, cut] = await history(stack.url, user, token);
    assert.equal(cut.finish, "length", "the reply stopped at the token limit");
    // Held until the page has reloaded the branch, so the new version streams in live (had it
    // finished first, the reload would show it whole and no delta would be delivered).
    stack.pauseWorker();
    try {
      await control(page, "bot", 1, "Continue reply").click();
      // Reloaded: the socket that reads on after reply_requested said `ready`.
      await page.waitForFunction(() => {
        const kinds = window.__parley.events.map((e) => e.kind);
        return kinds.lastIndexOf("ready") > kinds.lastIndexOf("reply_requested") && kinds.includes("reply_requested");
      }, null, { timeout: UI_TIMEOUT_MS });
      assert.equal(await botMessages(page).count(), 1);
      assert.equal(await nth(page, "bot", 1).getAttribute("data-status"), "streaming", "the reply stays while it waits to be continued");
      assert.ok((await nth(page, "bot", 1).getByTestId("bot-text").innerText()).startsWith(cut.msg.trim().slice(0, 5)), "with its text");
    } finally {
      stack.resumeWorker();
    }
    const longer = await showsVersion(page, "bot", 1, "Version 2 of 2");
    const [, continued] = await history(stack.url, user, token);
    assert.ok(continued.msg.startsWith(cut.msg), `the continued reply starts with the cut one: ${JSON.stringify(continued.msg)}`);
    assert.ok(continued.msg.length > cut.msg.length, "and goes on");
    assert.equal(longer, (await nth(page, "bot", 1).getByTestId("bot-text").innerText()));
    // The page streamed it from the cut text on: every delta came after it, none doubled it.
    const events = await page.evaluate(() => window.__parley.events);
    const start = events.findLast((e) => e.kind === "reply_start");
    assert.equal(start.continueOf, cut.id);
    const streamed = events.slice(events.indexOf(start)).filter((e) => e.kind === "delta").map((e) => e.text).join("");
    assert.equal(cut.msg + streamed, continued.msg);
    // The continued reply ended at the limit too: it can be continued again, from its own text.
    assert.equal(continued.finish, "length");
    await control(page, "bot", 1, "Continue reply").click();
    await showsVersion(page, "bot", 1, "Version 3 of 3");
    const [, third] = await history(stack.url, user, token);
    assert.ok(third.msg.startsWith(continued.msg) && third.msg.length > continued.msg.length, "the third version goes on from the second");
    await control(page, "bot", 1, "Previous version").click();
    await control(page, "bot", 1, "Previous version").click();
    assert.equal(await showsVersion(page, "bot", 1, "Version 1 of 3"), await nth(page, "bot", 1).getByTestId("bot-text").innerText());
    assert.equal((await history(stack.url, user, token))[1].id, cut.id);
    await ctx.close();
  }));

  it("edits and switches with the keyboard alone, with the focus visible and kept on the arrows", keepEvidence("keyboard versions", async () => {
    const { ctx, page } = await newPage(browser);
    await openApp(page, stack.url);
    await page.keyboard.type("Hello there");
    await page.keyboard.press("Enter");
    await replyDone(page, 1);
    // Backwards from the message box: the reply's controls, then the message's Edit.
    const seen = [];
    for (let i = 0; i < 8 && (await focusedName(page)) !== "Edit message"; i++) {
      await page.keyboard.press("Shift+Tab");
      seen.push(await focusedName(page));
    }
    assert.equal(await focusedName(page), "Edit message", `Edit reachable by Shift+Tab: ${seen.join(" | ")}`);
    assert.ok(seen.includes("Regenerate reply") && seen.includes("Continue reply"), `reply controls reachable: ${seen.join(" | ")}`);
    assert.ok(await page.evaluate(() => document.activeElement.matches(":focus-visible")), "the focus is visible");
    await page.keyboard.press("Enter");
    assert.equal(await focusedName(page), "Edit message", "the box has the focus");
    await page.keyboard.press("End");
    await page.keyboard.press("Shift+Enter");
    await page.keyboard.type("and more");
    assert.equal(await page.getByRole("textbox", { name: "Edit message" }).inputValue(), "Hello there\nand more");
    await page.keyboard.press("Enter");
    await showsVersion(page, "user", 1, "Version 2 of 2");
    await replyDone(page, 1);
    assert.equal(await focusedName(page), "Message Parley", "after saving, the focus is in the message box");

    for (let i = 0; i < 8 && (await focusedName(page)) !== "Previous version"; i++) await page.keyboard.press("Shift+Tab");
    assert.equal(await focusedName(page), "Previous version");
    await page.keyboard.press("Enter");
    assert.equal(await showsVersion(page, "user", 1, "Version 1 of 2"), "Hello there");
    // Previous is disabled at the first version: the focus stays on the arrows, on Next.
    await page.waitForFunction(() => document.activeElement?.getAttribute("aria-label") === "Next version", null, { timeout: UI_TIMEOUT_MS });
    assert.ok(await page.evaluate(() => document.activeElement.matches(":focus-visible")), "the focus is visible");
    await page.keyboard.press("Enter");
    assert.equal(await showsVersion(page, "user", 1, "Version 2 of 2"), "Hello there\nand more");
    await page.waitForFunction(() => document.activeElement?.getAttribute("aria-label") === "Previous version", null, { timeout: UI_TIMEOUT_MS });
    await ctx.close();
  }));

  it("offers no version control while a reply is queued, and every one again once it is written", keepEvidence("locked", async () => {
    const { ctx, page } = await newPage(browser);
    await openApp(page, stack.url);
    await turn(page, "One", 1);
    stack.pauseWorker();
    try {
      await send(page, "Two");
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="user-message"]')[1]?.getAttribute("data-status") === "sent", null, { timeout: UI_TIMEOUT_MS });
      for (const [role, name] of [["bot", "Regenerate reply"], ["bot", "Continue reply"], ["user", "Edit message"]]) {
        assert.equal(await control(page, role, 1, name).isDisabled(), true, `${name} is disabled while a reply is queued`);
      }
    } finally {
      stack.resumeWorker();
    }
    assert.equal(await replyDone(page, 2), "done");
    assert.equal(await control(page, "bot", 1, "Regenerate reply").isDisabled(), false);
    assert.equal(await control(page, "user", 2, "Edit message").isDisabled(), false);
    await ctx.close();
  }));

  it("stores an edit once when the connection drops right after it is sent (resent with its client_id)", keepEvidence("edit resend", async () => {
    const { ctx, page } = await newPage(browser);
    const token = await openApp(page, stack.url);
    await turn(page, "Hello", 1);
    const connects = await page.evaluate(() => window.__parley.connects());
    await control(page, "user", 1, "Edit message").click();
    await page.getByRole("textbox", { name: "Edit message" }).fill("Hello again");
    // Save and cut the socket in the same task: the ack cannot have arrived, so the edit is resent.
    await page.evaluate(() => {
      document.querySelector('[data-testid="edit-box"] button[type="submit"]').click();
      window.__parley.drop();
    });
    await page.waitForFunction((n) => window.__parley.connects() > n, connects, { timeout: UI_TIMEOUT_MS });
    assert.equal(await showsVersion(page, "user", 1, "Version 2 of 2"), "Hello again");
    assert.equal(await replyDone(page, 1), "done");
    const stored = await history(stack.url, await userOf(page), token);
    assert.deepEqual(stored.map((m) => [m.source, m.version, m.versions]), [["human", 2, 2], ["bot", undefined, undefined]], "one new version, answered once");
    const ids = (await page.evaluate(() => window.__parley.events)).filter((e) => e.eventId).map((e) => e.eventId);
    assert.equal(new Set(ids).size, ids.length, "no event delivered twice");
    await ctx.close();
  }));

  it("on a touch screen Enter is a new line in the edit box and Save sends", keepEvidence("touch edit", async () => {
    const ctx = await browser.newContext({ viewport: viewports.phone, hasTouch: true, reducedMotion: "reduce" });
    const { page } = await newPage(browser, { context: ctx });
    await openApp(page, stack.url);
    // Enter is a new line on a touch screen: the button sends.
    await page.getByRole("textbox", { name: "Message Parley" }).fill("Hello");
    await page.getByRole("button", { name: "Send message" }).tap();
    assert.equal(await replyDone(page, 1), "done");
    await control(page, "user", 1, "Edit message").tap();
    const box = page.getByRole("textbox", { name: "Edit message" });
    await box.press("End");
    await box.press("Enter");
    await box.pressSequentially("second line");
    assert.equal(await box.inputValue(), "Hello\nsecond line");
    assert.equal(await box.count(), 1, "Enter did not save");
    await page.getByRole("button", { name: "Save", exact: true }).tap();
    assert.equal(await showsVersion(page, "user", 1, "Version 2 of 2"), "Hello\nsecond line");
    await replyDone(page, 1);
    await ctx.close();
  }));

  it("keeps versions in an earlier chat (a seed session), reloaded through /refresh_token", keepEvidence("seed versions", async () => {
    const r = await fetch(`${stack.url}/token?name=Ada`, { method: "POST" });
    const seed = (await r.json()).token;
    const { ctx, page } = await newPage(browser);
    await ctx.addInitScript((t) => {
      if (!localStorage.getItem("parley.user")) localStorage.setItem("parley.session", t);
    }, seed);
    assert.equal(await openApp(page, stack.url), seed);
    await turn(page, "Hello", 1);
    await control(page, "bot", 1, "Regenerate reply").click();
    await showsVersion(page, "bot", 1, "Version 2 of 2");
    await control(page, "bot", 1, "Previous version").click();
    const first = await showsVersion(page, "bot", 1, "Version 1 of 2");
    const refreshed = await (await fetch(`${stack.url}/refresh_token?token=${seed}`)).json();
    assert.deepEqual(refreshed.messages.map((m) => [m.source, m.version, m.versions]), [["human", undefined, undefined], ["bot", 1, 2]]);
    assert.equal(refreshed.messages[1].msg, first);
    await page.reload();
    await ready(page, seed);
    assert.equal(await showsVersion(page, "bot", 1, "Version 1 of 2"), first);
    await ctx.close();
  }));

  it("loses nothing when the server refuses an edit: the conversation as it was, the reason in words, the text back in the box", keepEvidence("edit refused", async () => {
    const { ctx, page } = await newPage(browser);
    const token = await openApp(page, stack.url);
    await turn(page, "Hello", 1);
    const before = await history(stack.url, await userOf(page), token);
    await control(page, "user", 1, "Edit message").click();
    // A control character: the gateway refuses the text (invalid_text), as it would a message's.
    const refused = "Hello \u0007 bell";
    await page.getByRole("textbox", { name: "Edit message" }).fill(refused);
    await page.keyboard.press("Enter");
    await page.getByTestId("notice").filter({ hasText: "contains characters that can't be sent" }).waitFor({ timeout: UI_TIMEOUT_MS });
    const box = page.getByRole("textbox", { name: "Edit message" });
    await box.waitFor({ timeout: UI_TIMEOUT_MS });
    assert.equal(await box.inputValue(), refused, "the refused text is back in the edit box");
    assert.equal(await focusedName(page), "Edit message");
    assert.equal(await botMessages(page).count(), 1, "the reply is back");
    assert.equal(await nth(page, "bot", 1).getAttribute("data-id"), before[1].id);
    assert.deepEqual(await history(stack.url, await userOf(page), token), before, "nothing was stored");
    await box.fill("Hello there");
    await page.keyboard.press("Enter");
    assert.equal(await showsVersion(page, "user", 1, "Version 2 of 2"), "Hello there");
    await ctx.close();
  }));

  it("puts the reply back when a queued regenerate is stopped before a worker takes it", keepEvidence("withdraw regenerate", async () => {
    const { ctx, page } = await newPage(browser);
    const token = await openApp(page, stack.url);
    await turn(page, "One", 1);
    await turn(page, "Two", 2);
    const before = await history(stack.url, await userOf(page), token);
    stack.pauseWorker();
    try {
      await control(page, "bot", 2, "Regenerate reply").click();
      assert.equal(await botMessages(page).count(), 1, "the reply goes at once");
      await page.waitForFunction(() => window.__parley.events.some((e) => e.kind === "reply_requested"), null, { timeout: UI_TIMEOUT_MS });
      await page.getByRole("button", { name: "Stop generating" }).click();
      await page.waitForFunction(() => window.__parley.events.some((e) => e.kind === "reply_withdrawn"), null, { timeout: UI_TIMEOUT_MS });
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="bot-message"]').length === 2, null, { timeout: UI_TIMEOUT_MS });
      assert.deepEqual(await history(stack.url, await userOf(page), token), before, "nothing was written");
      assert.equal(await nth(page, "bot", 2).getAttribute("data-id"), before[3].id);
      assert.equal(await control(page, "bot", 2, "Previous version").count(), 0, "no version was added");
    } finally {
      stack.resumeWorker();
    }
    assert.equal(await control(page, "bot", 2, "Regenerate reply").isDisabled(), false);
    await ctx.close();
  }));

  it("saves screenshots of versions and the edit box at desktop and phone width, light and dark, and passes axe", keepEvidence("versions screenshots", async () => {
    for (const [size, viewport] of Object.entries(viewports)) {
      for (const colorScheme of ["light", "dark"]) {
        const { ctx, page } = await newPage(browser, { viewport, colorScheme });
        await openApp(page, stack.url);
        await turn(page, "Once upon a time, a girl found a tiny red key.", 1);
        await control(page, "bot", 1, "Regenerate reply").click();
        await showsVersion(page, "bot", 1, "Version 2 of 2");
        await control(page, "user", 1, "Edit message").click();
        await page.getByRole("textbox", { name: "Edit message" }).fill("Once upon a time, a boy found a tiny blue key.");
        await page.keyboard.press("Enter");
        await showsVersion(page, "user", 1, "Version 2 of 2");
        await replyDone(page, 1);
        await turn(page, "What did he open with it?", 2);
        await screenshot(page, `versions-${size}-${colorScheme}`);
        await assertAccessible(page, `versions-${size}-${colorScheme}`);
        await control(page, "user", 2, "Edit message").click();
        await page.getByRole("textbox", { name: "Edit message" }).waitFor({ timeout: UI_TIMEOUT_MS });
        await screenshot(page, `edit-box-${size}-${colorScheme}`);
        await assertAccessible(page, `edit-box-${size}-${colorScheme}`);
        await ctx.close();
      }
    }
  }));
});


