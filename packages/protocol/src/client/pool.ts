/**
 * Bounded concurrency for clients, in Node and in browsers alike: one rule for a failure. The
 * first task to fail stops new tasks from starting; the ones already running are left to settle,
 * and only then is that first failure thrown. Nothing is rejected while work it started still runs.
 */

/**
 * Runs `task` over every item with at most `limit` in flight, each worker taking the next item as
 * it finishes one (nothing is held per waiting item, so a list of 100,000 costs nothing extra).
 * The first failure stops new work from starting and is thrown once the running tasks settle.
 */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError('concurrency must be a positive integer');
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const item = items[next++] as T;
      try {
        await task(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}

/** A counting semaphore: at most `limit` tasks run at once, the others wait their turn in order. */
export class Semaphore {
  readonly #limit: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('concurrency must be a positive integer');
    this.#limit = limit;
  }

  async acquire(): Promise<void> {
    if (this.#active < this.#limit) {
      this.#active += 1;
      return;
    }
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
