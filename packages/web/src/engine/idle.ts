/**
 * The queue's watchdog: each step that should be moving (hashing, a grant, an upload, the commit)
 * holds an IdleTimer, poked by every sign of life. Quiet for longer than the limit, it calls
 * `onIdle` once with what the step was doing, and the step is failed with that reason (a visible,
 * retryable failure instead of a row stuck forever). Held while the step waits on purpose (a
 * retry's back-off, a pause, the user logging in again). No DOM.
 */

export class Stalled extends Error {
  override name = 'Stalled';
}

export class IdleTimer {
  readonly #limitMs: number;
  readonly #onIdle: (error: Stalled) => void;
  #handle: ReturnType<typeof setTimeout> | undefined;
  #doing = 'starting';
  #held = false;
  #over = false;

  constructor(limitMs: number, onIdle: (error: Stalled) => void) {
    this.#limitMs = limitMs;
    this.#onIdle = onIdle;
  }

  /** A sign of life: the step is `doing` this now. Starts the clock again (and ends a hold). */
  poke(doing?: string): void {
    if (this.#over) return;
    if (doing) this.#doing = doing;
    this.#held = false;
    clearTimeout(this.#handle);
    this.#handle = setTimeout(() => this.#fire(), this.#limitMs);
  }

  /** The step waits on purpose: no clock until the next poke. */
  hold(): void {
    this.#held = true;
    clearTimeout(this.#handle);
  }

  stop(): void {
    this.#over = true;
    clearTimeout(this.#handle);
  }

  #fire(): void {
    if (this.#over || this.#held) return;
    this.#over = true;
    const seconds = this.#limitMs / 1000;
    this.#onIdle(new Stalled(`stalled: nothing happened for ${seconds} s while ${this.#doing}`));
  }
}
