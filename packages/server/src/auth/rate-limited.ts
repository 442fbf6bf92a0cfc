import { DreamLakeError } from '@dreamlake/presign';

/** 429 with a Retry-After header (the shared error handler copies `headers['retry-after']`). */
export class RateLimitedError extends DreamLakeError {
  readonly headers: Record<string, string>;
  constructor(retryAfterSeconds: number, message: string) {
    super('rate_limited', message, { retryAfter: retryAfterSeconds });
    this.headers = { 'retry-after': String(retryAfterSeconds) };
  }
}
