/** What the transfer commands give a run: the server and limits, and how a retry is told. */
import { DEFAULT_BYTES_IN_FLIGHT, DEFAULT_REQUESTS, type UploadRunOptions } from '../client.ts';
import type { Settings } from '../config.ts';
import { DEFAULT_RETRY, type RetryOptions } from '../upload/retry.ts';

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

/** The server, credentials and limits of an upload or sync run; retries told through `note`. */
export function uploadRunBase(
  settings: Settings,
  token: string,
  concurrency: number,
  note: (line: string) => void,
): Pick<
  UploadRunOptions,
  'server' | 'token' | 'home' | 'bss' | 'concurrency' | 'requests' | 'bytesInFlight' | 'retry'
> {
  return {
    server: settings.server,
    token,
    home: settings.home,
    bss: settings.bss,
    concurrency,
    requests: DEFAULT_REQUESTS,
    bytesInFlight: DEFAULT_BYTES_IN_FLIGHT,
    retry: retryTold(note),
  };
}
