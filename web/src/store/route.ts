// The active conversation lives in the URL as /c/<token> (the gateway serves index.html for
// paths without an extension, docs/protocol.md "Static files"), so reload, back/forward and a
// second tab land on the same conversation.

const PREFIX = "/c/";
const TOKEN = /^[0-9a-fA-F-]{1,64}$/;

/** The conversation named by a path, or null for the start page and anything unknown. */
export function tokenFromPath(pathname: string): string | null {
  if (!pathname.startsWith(PREFIX)) return null;
  const t = pathname.slice(PREFIX.length).replace(/\/$/, "");
  // Tokens are hex and dashes: no percent-encoding to undo, and anything else is no token.
  return TOKEN.test(t) ? t : null;
}

export function pathForToken(token: string): string {
  return `${PREFIX}${token}`;
}
