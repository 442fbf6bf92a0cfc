/**
 * Work handed from one producer to a few workers: `take` waits for an item (or answers undefined
 * once the queue is closed and empty), and the producer can wait for the queue to run low before
 * it adds more, so that what waits here stays small.
 */
export class WorkQueue<T> {
  readonly #items: T[] = [];
  #closed = false;
  #takers: Array<() => void> = [];
  #lowWaiters: Array<{ below: number; go: () => void }> = [];

  get size(): number {
    return this.#items.length;
  }

  push(items: readonly T[]): void {
    this.#items.push(...items);
    this.#wakeTakers();
  }

  /** No more items will come: workers finish what is queued, then stop. */
  close(): void {
    this.#closed = true;
    this.#wakeTakers();
  }

  async take(): Promise<T | undefined> {
    for (;;) {
      if (this.#items.length > 0) {
        const item = this.#items.shift() as T;
        this.#wakeLow();
        return item;
      }
      if (this.#closed) return undefined;
      await new Promise<void>((go) => this.#takers.push(go));
    }
  }

  /** Resolves once fewer than `below` items wait (at once if that is so already). */
  waitBelow(below: number): Promise<void> {
    if (this.#items.length < below || this.#closed) return Promise.resolve();
    return new Promise<void>((go) => this.#lowWaiters.push({ below, go }));
  }

  #wakeTakers(): void {
    const takers = this.#takers;
    this.#takers = [];
    for (const go of takers) go();
    this.#wakeLow();
  }

  #wakeLow(): void {
    if (this.#lowWaiters.length === 0) return;
    const still: Array<{ below: number; go: () => void }> = [];
    for (const waiter of this.#lowWaiters) {
      if (this.#items.length < waiter.below || this.#closed) waiter.go();
      else still.push(waiter);
    }
    this.#lowWaiters = still;
  }
}

/** Runs `worker` over the queue's items with `workers` at once, until it is closed and empty. */
export async function drainQueue<T>(
  queue: WorkQueue<T>,
  workers: number,
  worker: (item: T) => Promise<void>,
): Promise<void> {
  const loop = async (): Promise<void> => {
    for (let item = await queue.take(); item !== undefined; item = await queue.take()) await worker(item);
  };
  await Promise.all(Array.from({ length: workers }, loop));
}
