// The wire side of message versions (docs/protocol.md "Versions"): the frames the client sends,
// the events and fields it reads, and every wrong shape rejected with the field named.
import { describe, expect, it } from "vitest";
import { changesBranch, clientFrames, parseServerFrame, parseSession, type ServerEvent } from "./protocol";

const ok = (raw: unknown) => {
  const r = parseServerFrame(JSON.stringify(raw));
  if (!r.ok) throw new Error(`expected ok, got ${r.error}`);
  return r.value;
};
const err = (raw: unknown) => {
  const r = parseServerFrame(JSON.stringify(raw));
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.value)}`);
  return r.error;
};

describe("version frames the client sends", () => {
  it("builds edit, regenerate, continue (each with a client id) and switch", () => {
    expect(JSON.parse(clientFrames.edit("1-0", "Fixed", "c1"))).toEqual({ type: "edit", message_id: "1-0", text: "Fixed", client_id: "c1" });
    expect(JSON.parse(clientFrames.regenerate("2-0", "c2"))).toEqual({ type: "regenerate", message_id: "2-0", client_id: "c2" });
    expect(JSON.parse(clientFrames.continue("2-0", "c3"))).toEqual({ type: "continue", message_id: "2-0", client_id: "c3" });
    expect(JSON.parse(clientFrames.switch("2-0", 1))).toEqual({ type: "switch", message_id: "2-0", version: 1 });
  });
});

describe("version events", () => {
  it("reads an edit's message event with edit_of, version and versions", () => {
    const ev = ok({ type: "message", id: "9-0", message_id: "9-0", source: "human", msg: "Fixed", timestamp: "t", seq: 3, client_id: "c1", edit_of: "1-0", version: 2, versions: 2 });
    expect(ev).toEqual({
      kind: "message", eventId: "9-0",
      message: { id: "9-0", source: "human", msg: "Fixed", timestamp: "t", clientId: "c1", editOf: "1-0", version: 2, versions: 2 },
    });
    expect(changesBranch(ev)).toBe(true);
    expect(changesBranch(ok({ type: "message", id: "9-0", message_id: "9-0", source: "human", msg: "Hi", timestamp: "t", seq: 1 }))).toBe(false);
  });

  it("reads reply_requested, reply_withdrawn and branch; each changes the branch", () => {
    const requested = ok({ type: "reply_requested", id: "10-0", kind: "regenerate", reply_to: "1-0", message_id: "2-0", seq: 2, client_id: "c2" });
    expect(requested).toEqual({ kind: "reply_requested", eventId: "10-0", request: "regenerate", replyTo: "1-0", messageId: "2-0", clientId: "c2" });
    const withdrawn = ok({ type: "reply_withdrawn", id: "11-0", reply_to: "1-0", seq: 2, leaf: "2-0" });
    expect(withdrawn).toEqual({ kind: "reply_withdrawn", eventId: "11-0", replyTo: "1-0", leaf: "2-0" });
    expect(ok({ type: "reply_withdrawn", id: "11-1", reply_to: "1-0", seq: 2, leaf: "" })).toMatchObject({ leaf: "" });
    const branch = ok({ type: "branch", id: "12-0", leaf: "5-0", message_id: "2-0", version: 1, versions: 3 });
    expect(branch).toEqual({ kind: "branch", eventId: "12-0", leaf: "5-0", messageId: "2-0", version: 1, versions: 3 });
    for (const ev of [requested, withdrawn, branch]) expect(changesBranch(ev)).toBe(true);
    const others: ServerEvent[] = [ok({ type: "reply_start", id: "1-1", reply_to: "1-0" }), { kind: "resync_required" }, { kind: "ack", messageId: "1-0", duplicate: false }];
    for (const ev of others) expect(changesBranch(ev)).toBe(false);
  });

  it("reads a new version's reply_start and a reply_end's finish", () => {
    expect(ok({ type: "reply_start", id: "13-0", reply_to: "1-0", seq: 3, attempt: 1, timestamp: "t", kind: "continue", continue_of: "2-0", version: 2, versions: 2 }))
      .toEqual({ kind: "reply_start", eventId: "13-0", replyTo: "1-0", request: "continue", continueOf: "2-0", version: 2, versions: 2 });
    expect(ok({ type: "reply_start", id: "13-1", reply_to: "1-0", kind: "regenerate", version: 3, versions: 3 }))
      .toEqual({ kind: "reply_start", eventId: "13-1", replyTo: "1-0", request: "regenerate", version: 3, versions: 3 });
    expect(ok({ type: "reply_end", id: "14-0", reply_to: "1-0", message_id: "14-0", text: "Once upon", finish: "length" }))
      .toMatchObject({ kind: "reply_end", message: { id: "14-0", msg: "Once upon", finish: "length" } });
  });

  it("reads version, versions and finish on the messages of a snapshot", () => {
    const r = parseSession({
      token: "T", name: "You", last_event_id: "20-0",
      messages: [
        { id: "1-0", source: "human", msg: "Hi", timestamp: "t", version: 2, versions: 2 },
        { id: "3-0", source: "bot", msg: "Once", timestamp: "t", reply_to: "1-0", finish: "length" },
      ],
    });
    expect(r.ok && r.value.messages).toEqual([
      { id: "1-0", source: "human", msg: "Hi", timestamp: "t", version: 2, versions: 2 },
      { id: "3-0", source: "bot", msg: "Once", timestamp: "t", replyTo: "1-0", finish: "length" },
    ]);
  });

  it("rejects wrong shapes, naming the field", () => {
    expect(err({ type: "reply_requested", id: "1-1", reply_to: "1-0", message_id: "2-0", kind: "again" })).toBe('kind: expected "regenerate" or "continue"');
    expect(err({ type: "reply_requested", id: "1-1", kind: "regenerate", reply_to: "1-0" })).toBe("message_id: expected an id");
    expect(err({ type: "reply_requested", kind: "regenerate", reply_to: "1-0", message_id: "2-0" })).toMatch(/^id: expected a stream id/);
    expect(err({ type: "reply_withdrawn", id: "1-1", reply_to: "1-0" })).toBe("leaf: expected a string");
    expect(err({ type: "branch", id: "1-1", leaf: "5-0", message_id: "2-0" })).toBe("version: expected a whole number from 1");
    expect(err({ type: "branch", id: "1-1", leaf: "5-0", message_id: "2-0", version: 1 })).toBe("versions: expected a whole number from 1");
    expect(err({ type: "branch", id: "1-1", leaf: "5-0", message_id: "2-0", version: 4, versions: 3 })).toBe("version: 4 is more than versions (3)");
    expect(err({ type: "branch", id: "1-1", message_id: "2-0", version: 1, versions: 2 })).toBe("leaf: expected an id");
    expect(err({ type: "reply_start", id: "1-1", reply_to: "1-0", kind: "regenerate", version: 0, versions: 2 })).toBe("version: expected a whole number from 1");
    expect(err({ type: "reply_start", id: "1-1", reply_to: "1-0", kind: "regenerate", version: 1.5, versions: 2 })).toBe("version: expected a whole number from 1");
    expect(err({ type: "reply_start", id: "1-1", reply_to: "1-0", kind: "regenerate", continue_of: "2-0" })).toBe("continue_of: only a continue has it");
    expect(err({ type: "reply_start", id: "1-1", reply_to: "1-0", kind: 7 })).toBe('kind: expected "regenerate" or "continue"');
    expect(err({ type: "message", id: "9-0", message_id: "9-0", source: "human", msg: "x", edit_of: "", version: 2, versions: 2 })).toBe("edit_of: expected an id");
    expect(err({ type: "message", id: "9-0", message_id: "9-0", source: "human", msg: "x", edit_of: "1-0", version: "2", versions: 2 })).toBe("version: expected a whole number from 1");
    expect(err({ type: "reply_end", id: "9-1", reply_to: "1-0", text: "x", finish: 1 })).toBe("finish: expected a string");
    const bad = parseSession({ token: "T", name: "You", messages: [{ id: "1-0", source: "human", msg: "Hi", version: 3, versions: 2 }] });
    expect(bad).toEqual({ ok: false, error: "messages[0].version: 3 is more than versions (2)" });
  });
});
