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

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class IdleTimer {
  readonly #limitMs: number;
  readonly #onIdle: (error: Stalled) => void;
  readonly #timers: Timers;
  #handle: unknown;
  #doing = 'starting';
  #held = false;
  #over = false;

  constructor(limitMs: number, onIdle: (error: Stalled) => void, timers: Timers = realTimers) {
    this.#limitMs = limitMs;
    this.#onIdle = onIdle;
    this.#timers = timers;
  }

  /** A sign of life: the step is `doing` this now. Starts the clock again (and ends a hold). */
  poke(doing?: string): void {
    if (this.#over) return;
    if (doing) this.#doing = doing;
    this.#held = false;
    this.#timers.clearTimeout(this.#handle);
    this.#handle = this.#timers.setTimeout(() => this.#fire(), this.#limitMs);
  }

  /** The step waits on purpose: no clock until the next poke. */
  hold(): void {
    this.#held = true;
    this.#timers.clearTimeout(this.#handle);
  }

  stop(): void {
    this.#over = true;
    this.#timers.clearTimeout(this.#handle);
  }

  #fire(): void {
    if (this.#over || this.#held) return;
    this.#over = true;
    const seconds = this.#limitMs / 1000;
    this.#onIdle(new Stalled(`stalled: nothing happened for ${seconds} s while ${this.#doing}`));
  }
}
