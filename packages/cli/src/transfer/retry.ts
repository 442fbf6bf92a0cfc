import { type BackoffOptions, backoffDelay } from '@dreamlake/protocol/client';
import { ApiError, NetworkError } from '../errors.ts';

export interface RetryOptions extends BackoffOptions {
  /** Attempts in all, the first one included. */
  attempts: number;
  /** Injected for tests; a real timer otherwise. */
  sleep?: (ms: number) => Promise<void>;
  /** Told about each failure that will be retried. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Once aborted, no further attempt: the signal's reason is thrown instead. */
  signal?: AbortSignal;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 6, baseDelayMs: 500, maxDelayMs: 15_000 };

/** Worth another try: no answer at all, a 5xx, or 429. */
export function isTransient(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  if (error instanceof ApiError) return error.status >= 500 || error.status === 429 || error.status === 408;
  return false;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `task`, retrying transient failures with backoff; other failures are thrown at once. */
export async function withRetry<T>(
  task: (attempt: number) => Promise<T>,
  options: RetryOptions = DEFAULT_RETRY,
): Promise<T> {
  const wait = options.sleep ?? sleep;
  for (let attempt = 1; ; attempt += 1) {
    options.signal?.throwIfAborted();
    try {
      return await task(attempt);
    } catch (error) {
      if (!isTransient(error) || attempt >= options.attempts || options.signal?.aborted) throw error;
      const delay = backoffDelay(attempt, options, error instanceof ApiError ? error.retryAfterSeconds : undefined);
      options.onRetry?.(error, attempt, delay);
      await wait(delay);
    }
  }
}
