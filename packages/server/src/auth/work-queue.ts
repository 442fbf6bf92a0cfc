import { DreamLakeError } from '@dreamlake/presign';

/** 429 with a Retry-After header (the shared error handler copies `headers['retry-after']`). */
export class RateLimitedError extends DreamLakeError {
  readonly headers: Record<string, string>;
  constructor(retryAfterSeconds: number, message: string) {
    super('rate_limited', message, { retryAfter: retryAfterSeconds });
    this.headers = { 'retry-after': String(retryAfterSeconds) };
  }
}

export interface WorkQueue {
  /** Runs `work` when one of `maxRunning` slots is free; refuses at once when `maxWaiting` already wait. */
  run<T>(work: () => Promise<T>): Promise<T>;
  readonly running: number;
  readonly waiting: number;
}

/** A small semaphore with a bounded wait list: past it, 429 `rate_limited` with `Retry-After: 1`. */
export function createWorkQueue(maxRunning: number, maxWaiting: number): WorkQueue {
  if (!(maxRunning >= 1 && maxWaiting >= 0))
    throw new Error('createWorkQueue: maxRunning must be ≥ 1 and maxWaiting ≥ 0');
  let running = 0;
  const waiters: Array<() => void> = [];
  const release = () => {
    const next = waiters.shift();
    if (next) next();
    else running--;
  };
  return {
    get running() {
      return running;
    },
    get waiting() {
      return waiters.length;
    },
    async run(work) {
      if (running >= maxRunning) {
        if (waiters.length >= maxWaiting)
          throw new RateLimitedError(1, 'the server is busy checking passwords; try again shortly');
        await new Promise<void>((resolve) => waiters.push(resolve));
      } else {
        running++;
      }
      try {
        return await work();
      } finally {
        release();
      }
    },
  };
}
