// Reconnect delays: exponential growth capped at `maxMs`, with "full jitter" (a uniform draw
// between `minMs` and the cap) so that many clients dropped by one gateway restart do not all
// come back in the same instant.

export interface BackoffConfig {
  /** Delay ceiling of the first retry. */
  baseMs: number;
  /** Upper bound of any delay. */
  maxMs: number;
  /** Lower bound of any delay, so a flapping server is not hammered. */
  minMs: number;
}

export const defaultBackoff: BackoffConfig = { baseMs: 500, maxMs: 15_000, minMs: 100 };

/** Delay before retry number `attempt` (0 for the first), given `random()` in [0, 1). */
export function backoffDelay(attempt: number, random: () => number, cfg = defaultBackoff): number {
  const exp = Math.min(cfg.maxMs, cfg.baseMs * 2 ** Math.min(attempt, 30));
  const ceiling = Math.max(cfg.minMs, exp);
  return Math.round(cfg.minMs + random() * (ceiling - cfg.minMs));
}
