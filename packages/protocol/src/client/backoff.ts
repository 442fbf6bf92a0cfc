/** How long to wait before trying a failed request again: one rule for the CLI and the page. */
export interface BackoffOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  /** Injected for tests; Math.random otherwise. */
  random?: () => number;
}

/**
 * Delay before retry number `attempt` (1-based): exponential, capped, with half of it jittered so
 * that clients failed together by one restart do not come back together; a Retry-After from the
 * service (seconds) is honoured as a floor, up to four times the cap.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, retryAfterSeconds?: number): number {
  const random = options.random ?? Math.random;
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  const jittered = Math.round(ceiling / 2 + random() * (ceiling / 2));
  const retryAfter = retryAfterSeconds !== undefined ? retryAfterSeconds * 1000 : 0;
  return Math.max(jittered, Math.min(retryAfter, options.maxDelayMs * 4));
}
