import { DEFAULT_RETRY, type RetryOptions } from '../transfer/retry.ts';

/** The default retries, each failure about to be retried told as one line through `note`. */
export function retryTold(note: (line: string) => void): RetryOptions {
  return {
    ...DEFAULT_RETRY,
    onRetry: (error: unknown, attempt: number, delay: number) =>
      note(
        `retrying in ${(delay / 1000).toFixed(1)}s (attempt ${attempt + 1} of ${DEFAULT_RETRY.attempts}): ${(error as Error).message}`,
      ),
  };
}
