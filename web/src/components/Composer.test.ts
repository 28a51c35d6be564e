import { describe, expect, it } from "vitest";
import { enterAction } from "./Composer";

const key = (k: string, shiftKey = false, isComposing = false) => ({ key: k, shiftKey, isComposing });

describe("the message box's Enter", () => {
  it("sends on a keyboard, Shift+Enter is a new line", () => {
    expect(enterAction(key("Enter"), false)).toBe("send");
    expect(enterAction(key("Enter", true), false)).toBe("newline");
  });

  it("is a new line on a touch screen (pointer: coarse), where the button sends", () => {
    expect(enterAction(key("Enter"), true)).toBe("newline");
    expect(enterAction(key("Enter", true), true)).toBe("newline");
  });

  it("does nothing while an input method composes, or for other keys", () => {
    expect(enterAction(key("Enter", false, true), false)).toBe("none");
    expect(enterAction(key("a"), false)).toBe("none");
  });
});
