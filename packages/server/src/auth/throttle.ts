import { DreamLakeError } from '@dreamlake/presign';
import type { LoginThrottleConfig } from '../config.ts';
import type { DB } from '../db/open.ts';
import { clearLoginFailures, failuresSince, pruneLoginFailures, recordLoginFailure, type FailureWindow } from '../db/login-failures.ts';

/** 429 with a Retry-After header (the shared error handler copies `headers['retry-after']`). */
export class RateLimitedError extends DreamLakeError {
  readonly headers: Record<string, string>;
  constructor(retryAfterSeconds: number) {
    super('rate_limited', 'too many failed logins; try again later', { retryAfter: retryAfterSeconds });
    this.headers = { 'retry-after': String(retryAfterSeconds) };
  }
}

/**
 * Login throttling kept in the database (so every server instance sees the same counts): too
 * many recent failures for a username, or from an address, and further attempts get 429.
 */
export function createLoginThrottle(db: DB, config: LoginThrottleConfig) {
  const windowMs = config.windowSeconds * 1000;
  const iso = (ms: number) => new Date(ms).toISOString();

  function retryAfter(window: FailureWindow, nowMs: number): number {
    const oldest = window.oldest ? Date.parse(window.oldest) : nowMs;
    return Math.max(1, Math.ceil((oldest + windowMs - nowMs) / 1000));
  }

  return {
    /** Throws RateLimitedError when this username or address is over its limit. */
    async check(username: string, ip: string, nowMs: number): Promise<void> {
      const since = iso(nowMs - windowMs);
      const [byUser, byIp] = await Promise.all([
        failuresSince(db, { username }, since),
        failuresSince(db, { ip }, since),
      ]);
      const waits: number[] = [];
      if (byUser.count >= config.maxFailuresPerUser) waits.push(retryAfter(byUser, nowMs));
      if (byIp.count >= config.maxFailuresPerAddress) waits.push(retryAfter(byIp, nowMs));
      if (waits.length > 0) throw new RateLimitedError(Math.max(...waits));
    },
    async failed(username: string, ip: string, nowMs: number): Promise<void> {
      await recordLoginFailure(db, { username, ip, now: iso(nowMs) });
      await pruneLoginFailures(db, iso(nowMs - windowMs));
    },
    async succeeded(username: string, ip: string): Promise<void> {
      await clearLoginFailures(db, username, ip);
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
