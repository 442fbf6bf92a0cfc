import { backoffDelay, ProtocolError } from '../protocol/index.ts';

/** The page's retries: from half a second, doubling, up to 30 s. */
const PAGE_BACKOFF = { baseDelayMs: 500, maxDelayMs: 30_000 };

/**
 * Wait before retry `attempt` (0-based) of a request that failed transiently: the CLI's rule
 * (exponential, jittered so pages failed by one restart come back apart), the answer's
 * Retry-After as a floor.
 */
export function retryDelay(attempt: number, error: unknown): number {
  return backoffDelay(attempt + 1, PAGE_BACKOFF, error instanceof ProtocolError ? error.retryAfter : undefined);
}
