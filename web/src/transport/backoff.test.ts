import { describe, expect, it } from "vitest";
import { backoffDelay, type BackoffConfig } from "./backoff";

const cfg: BackoffConfig = { baseMs: 500, maxMs: 8000, minMs: 100 };

describe("backoffDelay", () => {
  it("grows exponentially up to the cap at the top of the jitter range", () => {
    const top = () => 0.999999;
    expect([0, 1, 2, 3, 4, 5, 10, 1000].map((a) => backoffDelay(a, top, cfg))).toEqual([500, 1000, 2000, 4000, 8000, 8000, 8000, 8000]);
  });

  it("never goes below the floor", () => {
    expect(backoffDelay(0, () => 0, cfg)).toBe(100);
    expect(backoffDelay(7, () => 0, cfg)).toBe(100);
  });

  it("spreads retries uniformly between floor and ceiling", () => {
    expect(backoffDelay(2, () => 0.5, cfg)).toBe(1050);
    let seed = 42;
    const rng = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const delays = Array.from({ length: 200 }, () => backoffDelay(3, rng, cfg));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...delays)).toBeLessThanOrEqual(4000);
    expect(new Set(delays).size).toBeGreaterThan(100);
  });
});
