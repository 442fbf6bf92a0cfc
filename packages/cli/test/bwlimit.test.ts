/**
 * `--bwlimit`: the rate as rclone reads it, and one token bucket shared by every transfer of a
 * run, so that their total stays at the rate. Timed on a simulated clock: no test waits for real.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BandwidthLimiter, type Clock, limited, parseRate } from '../src/bwlimit.ts';
import { CliError } from '../src/errors.ts';

const MiB = 1024 * 1024;

/** A clock that moves only when told: `next()` jumps to the earliest sleep and ends it. */
class FakeClock implements Clock {
  time = 0;
  readonly #timers: Array<{ at: number; resolve: () => void }> = [];

  now(): number {
    return this.time;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#timers.push({ at: this.time + ms, resolve }));
  }

  next(): boolean {
    if (this.#timers.length === 0) return false;
    this.#timers.sort((a, b) => a.at - b.at);
    const timer = this.#timers.shift() as { at: number; resolve: () => void };
    this.time = Math.max(this.time, timer.at);
    timer.resolve();
    return true;
  }
}

/** Runs the work to its end, moving the clock whenever everything waits on it. */
async function drive<T>(clock: FakeClock, work: Promise<T>): Promise<T> {
  let finished = false;
  const done = work.finally(() => {
    finished = true;
  });
  while (!finished) {
    await new Promise((resolve) => setImmediate(resolve));
    if (!finished && !clock.next()) {
      await new Promise((resolve) => setImmediate(resolve));
      if (!finished && !clock.next()) throw new Error('stuck: nothing to wait for and not done');
    }
  }
  return done;
}

async function* source(bytes: number, chunk: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes; at += chunk) yield Buffer.alloc(Math.min(chunk, bytes - at), 7);
}

test('a rate is read as rclone reads it: binary suffixes of any case, plain bytes, off', () => {
  const cases: Array<[string, number | undefined]> = [
    ['20M', 20 * MiB],
    ['512k', 512 * 1024],
    ['512K', 512 * 1024],
    ['1.5G', 1.5 * 1024 * MiB],
    ['65536', 65536],
    ['100b', 100],
    ['20MiB', 20 * MiB],
    ['20Mi', 20 * MiB],
    ['20MB', 20 * MiB],
    ['2M/s', 2 * MiB],
    ['1T', 1024 * 1024 * MiB],
    ['.5M', MiB / 2],
    [' 8k ', 8192],
    ['off', undefined],
    ['0', undefined],
  ];
  for (const [text, bytes] of cases) assert.equal(parseRate(text), bytes, text);
  for (const bad of ['', 'fast', '20X', '-1M', '1e6', '10M:5M', '0.5', '1.2.3k', 'M', '20 M B']) {
    assert.throws(
      () => parseRate(bad, '--bwlimit'),
      (error: Error) => {
        assert.ok(error instanceof CliError, bad);
        assert.equal(error.exitCode, 2);
        assert.ok(error.message.startsWith(`--bwlimit ${JSON.stringify(bad)}: not a rate`), error.message);
        return true;
      },
    );
  }
});

test('8 transfers of 1 MiB at once through a 1 MiB/s limit take 8 s together, never ahead of the rate, and share it', async () => {
  const clock = new FakeClock();
  const limiter = new BandwidthLimiter(MiB, { clock });
  const passed: Array<[number, number]> = [];
  let total = 0;
  const finishedAt: number[] = [];
  const transfer = async () => {
    let got = 0;
    for await (const chunk of limiter.throttle(source(MiB, 64 * 1024))) {
      got += chunk.length;
      total += chunk.length;
      passed.push([clock.now(), total]);
    }
    finishedAt.push(clock.now());
    return got;
  };
  const sizes = await drive(clock, Promise.all(Array.from({ length: 8 }, transfer)));
  assert.deepEqual(sizes, Array(8).fill(MiB), 'every byte passes');
  assert.ok(clock.now() >= 8000 && clock.now() <= 8010, `8 s of simulated time, not ${clock.now()} ms`);
  for (const [at, bytes] of passed) {
    assert.ok(bytes <= (at / 1000) * MiB + limiter.burst, `${bytes} bytes by ${at} ms is ahead of the rate`);
  }
  assert.ok(
    Math.min(...finishedAt) >= 7000,
    `each transfer gets its share, the first ended at ${Math.min(...finishedAt)} ms`,
  );
});

test('a chunk larger than the burst goes in slices, a Readable body is limited too, and no limit leaves the source as it is', async () => {
  const clock = new FakeClock();
  const limiter = new BandwidthLimiter(512 * 1024, { clock, burst: 64 * 1024 });
  const read = async () => {
    const sizes: number[] = [];
    for await (const chunk of limiter.stream(source(4 * MiB, 4 * MiB))) sizes.push((chunk as Buffer).length);
    return sizes;
  };
  const sizes = await drive(clock, read());
  assert.equal(sizes.length, 64);
  assert.ok(sizes.every((s) => s <= 64 * 1024));
  assert.equal(
    sizes.reduce((a, b) => a + b, 0),
    4 * MiB,
  );
  assert.ok(clock.now() >= 8000 && clock.now() <= 8010, `4 MiB at 512 KiB/s is 8 s, not ${clock.now()} ms`);

  const raw = source(10, 10);
  assert.equal(limited(undefined, raw), raw);
});

test('a transfer stopped while it waits gives its place up, and the others go on at the rate', async () => {
  const clock = new FakeClock();
  const limiter = new BandwidthLimiter(MiB, { clock });
  const stop = new AbortController();
  const stopped = (async () => {
    let got = 0;
    for await (const chunk of limiter.throttle(source(4 * MiB, 64 * 1024), stop.signal)) {
      got += chunk.length;
      if (got >= MiB) stop.abort(new Error('stopped'));
    }
  })();
  const other = (async () => {
    let got = 0;
    for await (const chunk of limiter.throttle(source(3 * MiB, 64 * 1024))) got += chunk.length;
    return got;
  })();
  const [outcome, otherBytes] = await drive(
    clock,
    Promise.all([
      stopped.then(
        () => 'ended',
        (e: Error) => e.message,
      ),
      other,
    ]),
  );
  assert.equal(outcome, 'stopped');
  assert.equal(otherBytes, 3 * MiB);
  assert.ok(clock.now() >= 4000 && clock.now() <= 4100, `1 MiB + 3 MiB at 1 MiB/s, not ${clock.now()} ms`);
});
