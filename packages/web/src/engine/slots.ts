/** A counting semaphore: at most `size` holders at once, the others wait in order. No DOM. */
export class Slots {
  readonly #size: number;
  #taken = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(size: number) {
    this.#size = size;
  }

  /** Resolves once a slot is the caller's; hand it back with `release()`. */
  async take(): Promise<void> {
    if (this.#taken < this.#size) {
      this.#taken += 1;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#taken -= 1;
  }
}
