/**
 * Gathers single requests into batches: an item waits at most `delayMs` (or until `maxItems`
 * are gathered) and is then sent with the others in one call. `send` answers one outcome per
 * item, in order; a failure of the whole call fails every item of that batch.
 */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

export class BatchQueue<T, R> {
  readonly #send: (items: T[]) => Promise<Array<Outcome<R>>>;
  readonly #maxItems: number;
  readonly #delayMs: number;
  #pending: Array<{ item: T; resolve: (value: R) => void; reject: (error: unknown) => void }> = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(send: (items: T[]) => Promise<Array<Outcome<R>>>, options: { maxItems: number; delayMs: number }) {
    this.#send = send;
    this.#maxItems = options.maxItems;
    this.#delayMs = options.delayMs;
  }

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (this.#pending.length >= this.#maxItems) this.flush();
      else this.#timer ??= setTimeout(() => this.flush(), this.#delayMs);
    });
  }

  /** Sends what is gathered now, without waiting for more. */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.#maxItems);
      const sent = this.#send(batch.map((p) => p.item)).then(
        (outcomes) => {
          batch.forEach((p, i) => {
            const outcome = outcomes[i];
            if (!outcome) p.reject(new Error('the batch answer is missing an entry'));
            else if (outcome.ok) p.resolve(outcome.value);
            else p.reject(outcome.error);
          });
        },
        (error: unknown) => {
          for (const p of batch) p.reject(error);
        },
      );
      this.#inFlight.add(sent);
      void sent.finally(() => this.#inFlight.delete(sent));
    }
  }

  /** Sends what is gathered and waits for every batch in flight. */
  async drain(): Promise<void> {
    this.flush();
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }
}
