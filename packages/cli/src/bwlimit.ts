import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError } from './errors.ts';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * A `--bwlimit` value in bytes per second, read as rclone reads it: `20M`, `512k`, `1.5G`, a
 * plain number of bytes (`65536`), the suffixes binary and of any case (k = KiB, M = MiB,
 * G = GiB, T = TiB; `20Mi`, `20MiB`, `20MB` and `20M` are all 20 MiB), `/s` allowed after it.
 * `off` or `0` is no limit (undefined). Anything else, or less than 1 byte per second, is a
 * CliError with exit code 2 naming the flag.
 */
export function parseRate(value: string, flag = '--bwlimit'): number | undefined {
  const text = value.trim().toLowerCase();
  if (text === 'off' || text === '0') return undefined;
  const match = /^(\d+(?:\.\d+)?|\.\d+)\s*(?:([kmgt])(?:ib?|b)?|b)?(?:\/s)?$/.exec(text);
  const bytes = match ? Math.floor(Number(match[1]) * (UNITS[match[2] ?? ''] as number)) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new CliError(
      `${flag} ${JSON.stringify(value)}: not a rate; give bytes per second as 20M, 512k, 1.5G (binary: k = 1024) or a plain number of bytes, or off`,
      2,
    );
  }
  return bytes;
}

/** Time as the limiter sees it: real by default, simulated in tests. */
export interface Clock {
  /** Milliseconds, from any origin. */
  now(): number;
  /** Resolves after `ms` milliseconds of this clock. */
  sleep(ms: number): Promise<void>;
}

export const REAL_CLOCK: Clock = {
  now: () => performance.now(),
  sleep: (ms) => sleep(ms),
};

export interface LimiterOptions {
  /** Bytes that may go at once after a quiet spell; 1/10 of a second's worth by default (at least 16 KiB). */
  burst?: number;
  clock?: Clock;
}

interface Waiter {
  bytes: number;
  resolve: () => void;
  reject: (reason: unknown) => void;
}

/**
 * A token bucket shared by every transfer of a run, so that their total stays at `rate` bytes
 * per second however many go at once. Tokens come in at the rate, up to `burst`; a transfer takes
 * as many as the bytes it is about to pass on, waiting in line (first come, first served) until
 * they are there. The bucket starts empty. Chunks larger than the burst are passed on in slices.
 */
export class BandwidthLimiter {
  readonly rate: number;
  readonly burst: number;
  readonly #clock: Clock;
  #tokens = 0;
  #last: number;
  readonly #queue: Waiter[] = [];
  #pumping = false;

  constructor(rate: number, options: LimiterOptions = {}) {
    if (!(rate > 0)) throw new RangeError(`a rate must be positive, not ${rate}`);
    this.rate = rate;
    this.burst = Math.max(1, Math.floor(options.burst ?? Math.max(16 * 1024, rate / 10)));
    this.#clock = options.clock ?? REAL_CLOCK;
    this.#last = this.#clock.now();
  }

  /**
   * Resolves when `bytes` (at most `burst`) may go. Rejects with the signal's reason when it
   * aborts first (the bytes are then not counted).
   */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (bytes > this.burst) {
      return Promise.reject(new RangeError(`take at most the burst (${this.burst}) at once, not ${bytes}`));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (bytes <= 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { bytes, resolve, reject };
      if (signal) {
        const onAbort = () => {
          const at = this.#queue.indexOf(waiter);
          if (at >= 0) this.#queue.splice(at, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.resolve = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
      }
      this.#queue.push(waiter);
      if (!this.#pumping) void this.#pump();
    });
  }

  #refill(): void {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) * this.rate) / 1000);
    this.#last = now;
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      for (;;) {
        const head = this.#queue[0];
        if (!head) return;
        this.#refill();
        if (this.#tokens >= head.bytes) {
          this.#tokens -= head.bytes;
          this.#queue.shift();
          head.resolve();
          continue;
        }
        await this.#clock.sleep(Math.ceil(((head.bytes - this.#tokens) * 1000) / this.rate));
      }
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * The chunks of `source` as they come, each let through when the bucket allows (a chunk larger
   * than the burst in slices, without copying). One chunk is held at a time, so a slow limit
   * holds back the source instead of buffering it. Stops, rejecting, when `signal` aborts.
   */
  async *throttle(source: AsyncIterable<Uint8Array>, signal?: AbortSignal): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      for (let at = 0; at < buffer.length; at += this.burst) {
        const slice = buffer.subarray(at, at + this.burst);
        await this.take(slice.length, signal);
        yield slice;
      }
    }
  }

  /** `throttle` as a Readable (an upload body, a download's stream to its file). */
  stream(source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Readable {
    return Readable.from(this.throttle(source, signal), { objectMode: false });
  }
}

/**
 * The source as it is when there is no limit, else throttled by the limiter: what a transfer
 * calls on each body it sends or receives.
 */
export function limited(
  limiter: BandwidthLimiter | undefined,
  source: AsyncIterable<Uint8Array>,
  signal?: AbortSignal,
): AsyncIterable<Uint8Array> {
  return limiter ? limiter.throttle(source, signal) : source;
}
