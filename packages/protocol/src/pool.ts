/**
 * Bounded concurrency for clients and services, in Node and in browsers alike, with one rule for
 * a failure: the first task to fail stops new tasks from starting; the ones already running are
 * left to settle, and only then is that first failure thrown. Nothing is rejected while work it
 * started still runs, so a caller that cleans up after a failure (aborting a multipart upload,
 * closing a file) never does so under a task still using what it cleans up.
 */

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, not ${limit}`);
}

/**
 * Calls `task` on every item, at most `limit` at once, each worker taking the next item as it
 * finishes one, and hands each result to `keep`. The failure rule above.
 */
async function runLimited<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
  keep: (index: number, result: R) => void,
): Promise<void> {
  checkLimit(limit);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        keep(index, await task(items[index] as T, index));
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}

/** `fn` over every item with at most `limit` calls in flight; the results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  await runLimited(items, limit, fn, (index, result) => {
    results[index] = result;
  });
  return results;
}

/** `task` over every item with at most `limit` in flight, keeping nothing per item (a list of 100,000 costs nothing extra). */
export function eachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  return runLimited(items, limit, task, () => {});
}

/**
 * A counting semaphore: at most `limit` holders at once, the others wait their turn in order.
 * For work that arrives over time rather than as one list (mapLimit and eachLimited take a list).
 */
export class Semaphore {
  readonly #limit: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    checkLimit(limit);
    this.#limit = limit;
  }

  async acquire(): Promise<void> {
    if (this.#active < this.#limit) {
      this.#active += 1;
      return;
    }
    // release() hands its turn straight to the first waiter: the count does not change.
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#active -= 1;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }
}
