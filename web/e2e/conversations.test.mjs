// End-to-end tests of a person's conversations in the page: the sidebar (create, switch, rename,
// delete with undo, search), the URL (reload, back and forward, a second tab), a delete from
// another tab, a reply that goes on while its conversation is not shown, and the review's fixes
// that need a real browser (touch Enter, the phone's limit hint, tables). axe-core checks the
// sidebar screens. Same real stack as chat.test.mjs.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { keepEvidence, launchBrowser, newPage, screenshot, viewports } from "./browser.mjs";
import { missingPrerequisites, startStack } from "./stack.mjs";
import { assertAccessible } from "./a11y.mjs";
import {
  UI_TIMEOUT_MS, botMessages, composer, conversationStatus, conversations, eventually, focusedName, history,
  newChatButton, openApp, ready, replyDone, running, send, serverList, tokenOf, userMessages, userOf,
} from "./helpers.mjs";

/** The page's undo window (App.tsx UNDO_MS) and a margin for the DELETE to arrive. */
const UNDO_MS = 5000;
const DELETE_TIMEOUT_MS = UNDO_MS + 10_000;

const missing = missingPrerequisites();
const skip = missing ? `missing: ${missing.join("; ")}` : false;
if (skip && process.env.PARLEY_E2E_REQUIRED === "1") throw new Error(`end-to-end prerequisites ${skip}`);

const item = (page, token) => page.locator(`[data-testid="conversation"][data-token="${token}"]`);
/** The title shown for a conversation in the sidebar, once it reads `text`. */
const titleOf = (page, token, text) => item(page, token).locator(".conv__title").filter({ hasText: text });

/** Sends a message and waits for its reply: the conversation then has a title and a preview. */
async function chat(page, text, n = 1) {
  await send(page, text);
  return replyDone(page, n);
}

/** Opens a new conversation with New chat and waits until it is shown. */
async function newChat(page) {
  const before = tokenOf(page);
  await newChatButton(page).click();
  await page.waitForURL((u) => !u.pathname.endsWith(before), { timeout: UI_TIMEOUT_MS });
  return ready(page);
}

describe("conversations in the page", { skip }, () => {
  let stack;
  let browser;

  before(async () => {
    stack = running.stack = await startStack({ tag: "conv" });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("creates, lists newest first with title and preview, switches, and follows the URL", keepEvidence("create switch url", async () => {
    const { ctx, page } = await newPage(browser);
    const a = await openApp(page, stack.url);
    await chat(page, "Tell me about cats");
    await titleOf(page, a, "Tell me about cats").waitFor({ timeout: UI_TIMEOUT_MS });
    // New chat: an empty conversation on top of the list, the focus in its message box.
    const b = await newChat(page);
    assert.notEqual(b, a);
    await page.waitForFunction(() => document.activeElement?.getAttribute("placeholder") === "Message Parley", null, { timeout: UI_TIMEOUT_MS });
    await titleOf(page, b, "New chat").waitFor({ timeout: UI_TIMEOUT_MS });
    // New chat again while this one is empty opens no other.
    await newChatButton(page).click();
    assert.equal(tokenOf(page), b);
    await chat(page, "And about dogs");
    await page.waitForFunction((b) => document.querySelector('[data-testid="conversation"]')?.getAttribute("data-token") === b, b, { timeout: UI_TIMEOUT_MS });
    const [bot] = await history(stack.url, await userOf(page), b).then((h) => h.filter((m) => m.source === "bot"));
    await item(page, b).locator(".conv__preview").filter({ hasText: bot.msg.replace(/\s+/g, " ").slice(0, 20).trim() }).waitFor({ timeout: UI_TIMEOUT_MS });
    assert.deepEqual(await conversations(page).evaluateAll((els) => els.map((e) => e.getAttribute("data-token"))), [b, a]);
    const server = await serverList(stack.url, await userOf(page));
    assert.deepEqual(server.map((c) => c.token), [b, a], "the same order as the server's");

    // Switch by clicking; the URL follows; the other conversation's messages are shown.
    await item(page, a).getByRole("link").click();
    await ready(page, a);
    assert.equal(await userMessages(page).first().locator(".message__bubble").innerText(), "Tell me about cats");
    assert.equal(await item(page, a).getByRole("link").getAttribute("aria-current"), "page");
    assert.equal(await page.getByTestId("conversation-title").innerText(), "Tell me about cats", "the header shows the title");
    // Reload lands on the same conversation; back and forward move between them.
    await page.reload();
    await ready(page, a);
    assert.equal(await userMessages(page).first().locator(".message__bubble").innerText(), "Tell me about cats");
    await page.goBack();
    await ready(page, b);
    assert.equal(await userMessages(page).first().locator(".message__bubble").innerText(), "And about dogs");
    await page.goForward();
    await ready(page, a);
    // A second tab on the URL lands on the same conversation.
    const second = await ctx.newPage();
    await second.goto(page.url());
    await ready(second, a);
    assert.equal(await userMessages(second).first().locator(".message__bubble").innerText(), "Tell me about cats");
    await screenshot(page, "sidebar-desktop-light");
    await ctx.close();
  }));

  it("renames inline: Enter saves, Escape cancels, a refused title says why", keepEvidence("rename", async () => {
    const { ctx, page } = await newPage(browser);
    const t = await openApp(page, stack.url);
    await chat(page, "Plan a trip to Lisbon");
    const row = item(page, t);
    await titleOf(page, t, "Plan a trip to Lisbon").waitFor({ timeout: UI_TIMEOUT_MS });
    await row.getByRole("button", { name: /^Rename / }).click();
    const field = page.getByRole("textbox", { name: "Conversation title" });
    assert.equal(await focusedName(page), "Conversation title");
    await assertAccessible(page, "rename-desktop-light");
    await screenshot(page, "rename-desktop-light");
    // Escape cancels without stopping anything or saving.
    await field.fill("Not this");
    await field.press("Escape");
    await titleOf(page, t, "Plan a trip to Lisbon").waitFor({ timeout: UI_TIMEOUT_MS });
    assert.equal((await serverList(stack.url, await userOf(page)))[0].title, "Plan a trip to Lisbon");
    // A title the server refuses (a control character) keeps the field open with its reason.
    await row.getByRole("button", { name: /^Rename / }).click();
    await field.fill("Bad\u0007title");
    await field.press("Enter");
    await page.getByRole("alert").filter({ hasText: /title/i }).waitFor({ timeout: UI_TIMEOUT_MS });
    // Enter saves, on the server and in the header.
    await field.fill("Lisbon trip");
    await field.press("Enter");
    await titleOf(page, t, "Lisbon trip").waitFor({ timeout: UI_TIMEOUT_MS });
    assert.equal(await page.getByTestId("conversation-title").innerText(), "Lisbon trip");
    assert.equal((await serverList(stack.url, await userOf(page)))[0].title, "Lisbon trip");
    await ctx.close();
  }));

  it("deletes only after the undo window; Undo brings it back untouched", keepEvidence("delete undo", async () => {
    const { ctx, page } = await newPage(browser);
    const keep = await openApp(page, stack.url);
    await chat(page, "Keep me");
    const gone = await newChat(page);
    await chat(page, "Delete me");
    const user = await userOf(page);

    // Undo: the item comes back, nothing was deleted on the server.
    await item(page, keep).getByRole("button", { name: /^Delete / }).click();
    const dialog = page.getByRole("dialog", { name: "Delete this conversation?" });
    await dialog.waitFor({ timeout: UI_TIMEOUT_MS });
    await assertAccessible(page, "delete-confirmation-desktop-light");
    await screenshot(page, "delete-confirmation-desktop-light");
    // Escape closes the question and does nothing else.
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached", timeout: UI_TIMEOUT_MS });
    assert.equal(await item(page, keep).count(), 1);
    await item(page, keep).getByRole("button", { name: /^Delete / }).click();
    await dialog.getByRole("button", { name: "Delete" }).click();
    await item(page, keep).waitFor({ state: "detached", timeout: UI_TIMEOUT_MS });
    const toast = page.getByTestId("undo-toast");
    await toast.waitFor({ timeout: UI_TIMEOUT_MS });
    await screenshot(page, "undo-desktop-light");
    assert.equal(await conversationStatus(stack.url, user, keep), 200, "no DELETE during the undo window");
    await toast.getByRole("button", { name: "Undo" }).click();
    await item(page, keep).waitFor({ timeout: UI_TIMEOUT_MS });
    assert.deepEqual(await conversations(page).evaluateAll((els) => els.map((e) => e.getAttribute("data-token"))), [gone, keep]);

    // Confirmed, of the conversation shown: the view moves to an empty one, and once the window
    // ends the conversation is gone on the server.
    await item(page, gone).getByRole("button", { name: /^Delete / }).click();
    await dialog.getByRole("button", { name: "Delete" }).click();
    await page.waitForURL((u) => !u.pathname.endsWith(gone), { timeout: UI_TIMEOUT_MS });
    await ready(page);
    assert.equal(await userMessages(page).count(), 0);
    await toast.waitFor({ state: "detached", timeout: DELETE_TIMEOUT_MS });
    await eventually("the DELETE after the undo window", async () => (await conversationStatus(stack.url, user, gone)) === 404, DELETE_TIMEOUT_MS);
    assert.equal(await item(page, gone).count(), 0);
    assert.equal(await conversationStatus(stack.url, user, keep), 200);
    // Its URL now leads to an empty conversation with a note.
    await page.goto(new URL(`/c/${gone}`, stack.url).toString());
    await ready(page);
    assert.notEqual(tokenOf(page), gone);
    await page.getByTestId("info").filter({ hasText: "no longer exists" }).waitFor({ timeout: UI_TIMEOUT_MS });
    await ctx.close();
  }));

  it("leaves a conversation deleted in another tab gracefully", keepEvidence("deleted elsewhere", async () => {
    const { ctx, page } = await newPage(browser);
    const t = await openApp(page, stack.url);
    await chat(page, "Soon deleted elsewhere");
    const other = await ctx.newPage();
    await other.goto(stack.url);
    await ready(other);
    await item(other, t).getByRole("button", { name: /^Delete / }).click();
    await other.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
    // The first tab's socket closes with 4004 when the window ends; it leaves for an empty one.
    await page.waitForURL((u) => !u.pathname.endsWith(t), { timeout: DELETE_TIMEOUT_MS });
    await ready(page);
    await page.getByTestId("info").filter({ hasText: "This conversation was deleted." }).waitFor({ timeout: UI_TIMEOUT_MS });
    assert.equal(await item(page, t).count(), 0);
    await ctx.close();
  }));

  it("searches the titles of the loaded conversations", keepEvidence("search", async () => {
    const { ctx, page } = await newPage(browser);
    const a = await openApp(page, stack.url);
    await chat(page, "Rainy afternoon ideas");
    const b = await newChat(page);
    await chat(page, "Recursion explained");
    const search = page.getByRole("searchbox", { name: "Search conversations" });
    await search.fill("rain");
    await item(page, b).waitFor({ state: "detached", timeout: UI_TIMEOUT_MS });
    assert.deepEqual(await conversations(page).evaluateAll((els) => els.map((e) => e.getAttribute("data-token"))), [a]);
    await search.fill("zebra");
    await page.getByText("No loaded conversation has “zebra” in its title.").waitFor({ timeout: UI_TIMEOUT_MS });
    await search.fill("");
    await item(page, b).waitFor({ timeout: UI_TIMEOUT_MS });
    await ctx.close();
  }));

  it("a reply goes on while its conversation is not shown, and is there on return", keepEvidence("leave streaming", async () => {
    const { ctx, page } = await newPage(browser);
    const a = await openApp(page, stack.url);
    const user = await userOf(page);
    // Hold the worker so the reply is certainly not finished when the page leaves.
    stack.pauseWorker();
    try {
      await send(page, "A story while I am away");
      await page.waitForFunction(() => document.querySelector('[data-testid="user-message"]')?.getAttribute("data-status") === "sent", null, { timeout: UI_TIMEOUT_MS });
      await newChat(page);
    } finally {
      stack.resumeWorker();
    }
    await eventually("the reply stored while away", async () => (await history(stack.url, user, a)).some((m) => m.source === "bot"));
    await item(page, a).getByRole("link").click();
    await ready(page, a);
    assert.equal(await replyDone(page, 1), "done");
    const [, bot] = await history(stack.url, user, a);
    assert.equal((await botMessages(page).first().getByTestId("bot-text").innerText()).replace(/\s+/g, " ").trim(), bot.msg.replace(/\s+/g, " ").trim());
    await ctx.close();
  }));

  it("is a drawer on a phone, opened by the menu and closed by Escape", keepEvidence("phone drawer", async () => {
    for (const colorScheme of ["light", "dark"]) {
      const { ctx, page } = await newPage(browser, { viewport: viewports.phone, colorScheme });
      const t = await openApp(page, stack.url);
      await chat(page, "Hello from a phone");
      const sidebar = page.locator("#sidebar");
      assert.equal(await sidebar.isVisible(), false, "closed on a phone");
      const menu = page.getByRole("button", { name: "Conversations", exact: true });
      await menu.click();
      await item(page, t).waitFor({ state: "visible", timeout: UI_TIMEOUT_MS });
      assert.equal(await menu.getAttribute("aria-expanded"), "true");
      await page.waitForFunction(() => document.activeElement?.textContent?.trim() === "New chat", null, { timeout: UI_TIMEOUT_MS });
      await screenshot(page, `sidebar-phone-${colorScheme}`);
      await assertAccessible(page, `sidebar-open-phone-${colorScheme}`);
      await page.keyboard.press("Escape");
      await sidebar.waitFor({ state: "hidden", timeout: UI_TIMEOUT_MS });
      // Choosing a conversation closes it too.
      await menu.click();
      await sidebar.getByRole("button", { name: "New chat", exact: true }).click();
      await ready(page);
      await sidebar.waitFor({ state: "hidden", timeout: UI_TIMEOUT_MS });
      await screenshot(page, `empty-phone-${colorScheme}-after-new-chat`);
      await ctx.close();
    }
  }));

  it("on a touch screen Enter is a new line and the button sends", keepEvidence("touch enter", async () => {
    const ctx = await browser.newContext({ viewport: viewports.phone, hasTouch: true, reducedMotion: "reduce" });
    const { page } = await newPage(browser, { context: ctx });
    await openApp(page, stack.url);
    assert.equal(await page.evaluate(() => matchMedia("(pointer: coarse)").matches), true);
    await composer(page).fill("First line");
    await composer(page).press("Enter");
    await composer(page).pressSequentially("second line");
    assert.equal(await composer(page).inputValue(), "First line\nsecond line");
    assert.equal(await userMessages(page).count(), 0, "Enter sent nothing");
    await page.getByRole("button", { name: "Send message" }).tap();
    await userMessages(page).first().waitFor({ timeout: UI_TIMEOUT_MS });
    assert.equal(await userMessages(page).first().locator(".message__bubble").innerText(), "First line\nsecond line");
    await replyDone(page, 1);
    await ctx.close();
  }));

  it("shows the over-limit hint on a phone, counting code points like the server", keepEvidence("limit hint", async () => {
    const { ctx, page } = await newPage(browser, { viewport: viewports.phone });
    await openApp(page, stack.url);
    const hint = page.getByTestId("composer-hint");
    const sendButton = page.getByRole("button", { name: "Send message" });
    // 4001 emoji are 8002 UTF-16 units but 4001 characters: within the 8000 limit.
    await composer(page).fill("😀".repeat(4001));
    assert.equal(await hint.isVisible(), false);
    assert.equal(await sendButton.isDisabled(), false);
    await composer(page).fill("a".repeat(8001));
    await hint.filter({ hasText: "1 characters over the 8000-character limit." }).waitFor({ state: "visible", timeout: UI_TIMEOUT_MS });
    assert.equal(await sendButton.isDisabled(), true);
    await screenshot(page, "over-limit-phone-light");
    // 8000 emoji are sent and stored whole: the server counts them as 8000 too.
    await composer(page).fill("😀".repeat(8000));
    await sendButton.click();
    await page.waitForFunction(() => document.querySelector('[data-testid="user-message"]')?.getAttribute("data-status") === "sent", null, { timeout: UI_TIMEOUT_MS });
    await replyDone(page, 1);
    await ctx.close();
  }));

  it("keeps Escape for the rename field and the delete question while a reply is waiting", keepEvidence("escape scopes", async () => {
    const { ctx, page } = await newPage(browser);
    const t = await openApp(page, stack.url);
    await chat(page, "Name me");
    stack.pauseWorker();
    try {
      await send(page, "Wait for me");
      await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="user-message"]')].at(-1)?.getAttribute("data-status") === "sent", null, { timeout: UI_TIMEOUT_MS });
      await page.getByRole("button", { name: "Stop generating" }).waitFor({ timeout: UI_TIMEOUT_MS });
      // Escape in the rename field cancels the rename only.
      await item(page, t).getByRole("button", { name: /^Rename / }).click();
      await page.getByRole("textbox", { name: "Conversation title" }).press("Escape");
      await page.getByRole("textbox", { name: "Conversation title" }).waitFor({ state: "detached", timeout: UI_TIMEOUT_MS });
      // Escape on the delete question closes it only.
      await item(page, t).getByRole("button", { name: /^Delete / }).click();
      await page.getByRole("dialog").waitFor({ timeout: UI_TIMEOUT_MS });
      await page.keyboard.press("Escape");
      await page.getByRole("dialog").waitFor({ state: "detached", timeout: UI_TIMEOUT_MS });
      assert.equal(await page.evaluate(() => window.__parley.stopsSent()), 0, "neither Escape stopped the reply");
      assert.equal(await userMessages(page).count(), 2);
      // Escape anywhere else stops it: the waiting message is withdrawn.
      await page.locator("main").click({ position: { x: 5, y: 5 } });
      await page.keyboard.press("Escape");
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="user-message"]').length === 1, null, { timeout: UI_TIMEOUT_MS });
    } finally {
      stack.resumeWorker();
    }
    await ctx.close();
  }));

  it("still deletes when the page is closed within the undo window", keepEvidence("delete on close", async () => {
    const { ctx, page } = await newPage(browser);
    const keep = await openApp(page, stack.url);
    await chat(page, "Stay");
    const gone = await newChat(page);
    await chat(page, "Closed away");
    const user = await userOf(page);
    await item(page, gone).getByRole("button", { name: /^Delete / }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
    await page.getByTestId("undo-toast").waitFor({ timeout: UI_TIMEOUT_MS });
    await page.close({ runBeforeUnload: true });
    await eventually("the DELETE sent as the page closed", async () => (await conversationStatus(stack.url, user, gone)) === 404, UI_TIMEOUT_MS);
    assert.equal(await conversationStatus(stack.url, user, keep), 200);
    await ctx.close();
  }));

  it("loads further pages of a long list with Show more", keepEvidence("show more", async () => {
    const { ctx, page } = await newPage(browser);
    await openApp(page, stack.url);
    const user = await userOf(page);
    // 55 more conversations through the API: the page lists 50 at a time.
    for (let i = 0; i < 55; i++) {
      const r = await fetch(new URL("/api/conversations", stack.url), { method: "POST", headers: { Authorization: `Bearer ${user}` } });
      assert.equal(r.status, 201);
    }
    await page.reload();
    await ready(page);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="conversation"]').length === 50, null, { timeout: UI_TIMEOUT_MS });
    await page.getByRole("button", { name: "Show more" }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="conversation"]').length === 56, null, { timeout: UI_TIMEOUT_MS });
    const tokens = await conversations(page).evaluateAll((els) => els.map((e) => e.getAttribute("data-token")));
    assert.equal(new Set(tokens).size, 56, "none listed twice");
    assert.equal(await page.getByRole("button", { name: "Show more" }).count(), 0, "every page is loaded");
    await ctx.close();
  }));

  it("the accessibility check itself fails on a serious violation", keepEvidence("axe self-check", async () => {
    const { ctx, page } = await newPage(browser);
    await page.goto(stack.url);
    // Low-contrast text and a nameless button: both serious in axe's rules.
    await page.setContent('<main><p style="color:#aaa;background:#fff">faint</p><button></button></main>');
    await assert.rejects(assertAccessible(page, "self-check"), /color-contrast|button-name/);
    await ctx.close();
  }));

  it("keeps a narrow table's words whole and scrolls it in its own box", keepEvidence("table", async () => {
    const { ctx, page } = await newPage(browser, { viewport: viewports.phone });
    await openApp(page, stack.url);
    // The model does not write tables on demand; the markup is the Markdown component's (its
    // unit test pins it), laid out by the page's own stylesheet inside a reply's content box.
    const m = await page.evaluate(() => {
      const host = document.createElement("div");
      host.className = "message__content markdown";
      host.style.width = "240px";
      host.innerHTML = '<div class="table-wrap" tabindex="0" role="region" aria-label="Table"><table><thead><tr><th>Language</th><th>Description</th><th>Typing</th></tr></thead>'
        + "<tbody><tr><td>TypeScript</td><td>JavaScript with static types</td><td>structural</td></tr></tbody></table></div>";
      document.body.appendChild(host);
      const wrap = host.querySelector(".table-wrap");
      const cell = host.querySelector("td");
      const range = document.createRange();
      range.selectNodeContents(cell);
      const lines = range.getClientRects().length;
      const out = { overflowX: getComputedStyle(wrap).overflowX, scrolls: wrap.scrollWidth > wrap.clientWidth, lines, hostScroll: host.scrollWidth <= 240 };
      host.remove();
      return out;
    });
    assert.equal(m.overflowX, "auto");
    assert.equal(m.lines, 1, "TypeScript stays one word on one line");
    assert.equal(m.scrolls, true, "the table scrolls inside its box");
    assert.equal(m.hostScroll, true, "the message itself does not widen");
    await ctx.close();
  }));
});
