/**
 * One bound for everything a run sends: at most `maxRequests` bodies in flight and at most
 * `maxBytes` of them, whatever mix of small files and large parts makes them up. Waiters are
 * served in order, so a large part is not starved by a stream of small files. A body larger than
 * the whole byte bound runs once it is alone.
 */
export class Budget {
  readonly maxBytes: number;
  readonly maxRequests: number;
  #bytes = 0;
  #requests = 0;
  readonly #waiting: Array<{ bytes: number; go: () => void }> = [];

  constructor(maxBytes: number, maxRequests: number) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError('maxBytes must be a positive integer');
    if (!Number.isInteger(maxRequests) || maxRequests < 1)
      throw new RangeError('maxRequests must be a positive integer');
    this.maxBytes = maxBytes;
    this.maxRequests = maxRequests;
  }

  get inFlight(): { bytes: number; requests: number } {
    return { bytes: this.#bytes, requests: this.#requests };
  }

  #fits(bytes: number): boolean {
    if (this.#requests >= this.maxRequests) return false;
    return this.#requests === 0 || this.#bytes + bytes <= this.maxBytes;
  }

  #take(bytes: number): void {
    this.#bytes += bytes;
    this.#requests += 1;
  }

  #drain(): void {
    while (this.#waiting.length > 0) {
      const next = this.#waiting[0] as { bytes: number; go: () => void };
      if (!this.#fits(next.bytes)) return;
      this.#waiting.shift();
      this.#take(next.bytes);
      next.go();
    }
  }

  async run<T>(bytes: number, task: () => Promise<T>): Promise<T> {
    const weight = Math.min(Math.max(0, bytes), this.maxBytes);
    if (this.#waiting.length === 0 && this.#fits(weight)) this.#take(weight);
    else await new Promise<void>((go) => this.#waiting.push({ bytes: weight, go }));
    try {
      return await task();
    } finally {
      this.#bytes -= weight;
      this.#requests -= 1;
      this.#drain();
    }
  }
}
