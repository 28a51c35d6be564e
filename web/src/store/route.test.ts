import { describe, expect, it } from "vitest";
import { pathForToken, tokenFromPath } from "./route";

describe("route", () => {
  it("reads the conversation from /c/<token> and writes it back", () => {
    const t = "0b1c2d3e-4f50-4a6b-8c7d-8e9fa0b1c2d3";
    expect(pathForToken(t)).toBe(`/c/${t}`);
    expect(tokenFromPath(pathForToken(t))).toBe(t);
    expect(tokenFromPath(`/c/${t}/`)).toBe(t);
  });

  it("names no conversation for the start page or anything that is not a token", () => {
    for (const p of ["/", "/c/", "/c/<script>", "/c/a/b", "/assets/x.js", "/c/%zz"]) {
      expect(tokenFromPath(p)).toBeNull();
    }
  });
});
