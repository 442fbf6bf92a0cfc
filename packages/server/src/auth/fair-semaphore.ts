import { RateLimitedError } from './rate-limited.ts';

export interface FairSemaphore {
  /**
   * Runs `work` for the client `key` when one of `maxRunning` slots is free. Refused at once when
   * that client already has `maxPerKey` pieces of work running or waiting, or when `maxWaiting`
   * already wait and none of them belongs to a client holding more of the queue than this one
   * would (that client's newest waiter is refused instead).
   */
  run<T>(work: () => Promise<T>, key?: string): Promise<T>;
  readonly running: number;
  readonly waiting: number;
}

interface Waiter {
  key: string;
  go: () => void;
  refuse: (error: Error) => void;
}

/**
 * A small semaphore with a bounded wait list shared fairly between clients: past it, 429
 * `rate_limited` with `Retry-After: 1`. One client (however many addresses it rotates through,
 * see client-address.ts) cannot hold more than `maxPerKey` places, and a newcomer takes the
 * newest place of whichever client holds the most.
 */
export function createFairSemaphore(
  maxRunning: number,
  maxWaiting: number,
  maxPerKey = Number.POSITIVE_INFINITY,
): FairSemaphore {
  if (!(maxRunning >= 1 && maxWaiting >= 0 && maxPerKey >= 1))
    throw new Error('createFairSemaphore: maxRunning and maxPerKey must be ≥ 1 and maxWaiting ≥ 0');
  let running = 0;
  const waiters: Waiter[] = [];
  /** Running and waiting work by client. */
  const held = new Map<string, number>();
  const holding = (key: string) => held.get(key) ?? 0;
  const hold = (key: string, n: number) => {
    const next = holding(key) + n;
    if (next > 0) held.set(key, next);
    else held.delete(key);
  };
  const busy = () => new RateLimitedError(1, 'the server is busy checking passwords; try again shortly');
  const release = () => {
    const next = waiters.shift();
    if (next) next.go();
    else running--;
  };
  /** Refuses the newest waiter of the client holding the most, if it holds more than `key` would. */
  const makeRoomFor = (key: string): boolean => {
    let greediest: Waiter | undefined;
    for (const w of waiters) if (!greediest || holding(w.key) > holding(greediest.key)) greediest = w;
    if (!greediest || holding(greediest.key) <= holding(key) + 1) return false;
    let index = waiters.length - 1;
    while (waiters[index]?.key !== greediest.key) index--;
    const [victim] = waiters.splice(index, 1);
    if (!victim) return false;
    hold(victim.key, -1);
    victim.refuse(busy());
    return true;
  };
  return {
    get running() {
      return running;
    },
    get waiting() {
      return waiters.length;
    },
    async run(work, key = '') {
      if (holding(key) >= maxPerKey) throw busy();
      if (running >= maxRunning) {
        if (waiters.length >= maxWaiting && !makeRoomFor(key)) throw busy();
        hold(key, 1);
        // A refused waiter was already let go of its place (makeRoomFor).
        await new Promise<void>((go, refuse) => waiters.push({ key, go, refuse }));
      } else {
        running++;
        hold(key, 1);
      }
      try {
        return await work();
      } finally {
        hold(key, -1);
        release();
      }
    },
  };
}
