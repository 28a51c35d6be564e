// What the end-to-end suites share: locators, waits on the page's own state, and the person's
// API as a test reads it (never a fixed sleep: every wait is for a condition).
import assert from "node:assert/strict";

/** Longest a reply may take on the tiny test models, generously. */
export const REPLY_TIMEOUT_MS = 60_000;
export const UI_TIMEOUT_MS = 15_000;
export const TOKEN_PATH = /\/c\/([0-9a-f-]{36})$/;

export const composer = (page) => page.getByRole("textbox", { name: "Message Parley" });
export const botMessages = (page) => page.getByTestId("bot-message");
export const userMessages = (page) => page.getByTestId("user-message");
export const conversations = (page) => page.getByTestId("conversation");
export const newChatButton = (page) => page.getByRole("button", { name: "New chat", exact: true });

/** The conversation the page shows, from its URL. */
export const tokenOf = (page) => TOKEN_PATH.exec(new URL(page.url()).pathname)?.[1] ?? null;
export const userOf = (page) => page.evaluate(() => localStorage.getItem("parley.user"));

/** Waits until the page shows a conversation of its own URL with the socket open and the box enabled. */
export async function ready(page, token) {
  if (token) await page.waitForURL((u) => u.pathname === `/c/${token}`, { timeout: UI_TIMEOUT_MS });
  else await page.waitForURL(TOKEN_PATH, { timeout: UI_TIMEOUT_MS });
  await page.waitForFunction(
    () => window.__parley?.status() === "open" && document.querySelector("textarea")?.disabled === false,
    null,
    { timeout: UI_TIMEOUT_MS },
  );
  return tokenOf(page);
}

/** Opens the app on `path` and waits until a conversation is shown. */
export async function openApp(page, url, path = "/") {
  await page.goto(new URL(path, url).toString());
  return ready(page);
}

export async function send(page, text) {
  await composer(page).fill(text);
  await composer(page).press("Enter");
}

/** The stack of the running suite, to name a crashed process when a wait times out. */
export const running = { stack: null };

/** Waits until the n-th (1-based) bot reply is final and returns its status. */
export async function replyDone(page, n) {
  await page.waitForFunction(
    (n) => {
      const m = document.querySelectorAll('[data-testid="bot-message"]')[n - 1];
      return m && ["done", "stopped", "error"].includes(m.getAttribute("data-status"));
    },
    n,
    { timeout: REPLY_TIMEOUT_MS },
  ).catch((e) => {
    const dead = running.stack?.health();
    throw dead ? new Error(`reply ${n} never finished: ${dead}`) : e;
  });
  return botMessages(page).nth(n - 1).getAttribute("data-status");
}

async function api(url, user, path, init = {}) {
  const r = await fetch(new URL(path, url), { ...init, headers: { Authorization: `Bearer ${user}`, ...(init.headers ?? {}) } });
  const body = r.status === 204 ? null : await r.json();
  return { status: r.status, body };
}

/** A conversation's history as the server holds it. */
export async function history(url, user, token) {
  const r = await api(url, user, `/api/conversations/${token}`);
  assert.equal(r.status, 200, `conversation ${token} should exist`);
  return r.body.messages;
}

export async function conversationStatus(url, user, token) {
  return (await api(url, user, `/api/conversations/${token}`)).status;
}

/** The person's conversations as the server lists them (first page). */
export async function serverList(url, user) {
  const r = await api(url, user, "/api/conversations");
  assert.equal(r.status, 200);
  return r.body.conversations;
}

/** Polls `check` until it returns a truthy value (a server-side condition the page cannot tell). */
export async function eventually(what, check, timeoutMs = REPLY_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Events the page delivered for the reply to `replyTo`: each once, deltas adding up to the end text. */
export async function assertDeliveredOnce(page, replyTo) {
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

/** The accessible name or text of the focused element. */
export const focusedName = (page) => page.evaluate(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "BODY";
  return el.getAttribute("aria-label") || el.getAttribute("placeholder") || el.textContent?.trim() || el.tagName;
});
