/**
 * The bounded pool (mapLimit, eachLimited) and the Semaphore of src/pool.ts. Every task here waits
 * on a gate the test opens, so what is in flight at a moment is known, not guessed from timing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eachLimited, mapLimit, Semaphore } from '../src/index.ts';

interface Gate {
  promise: Promise<void>;
  open(): void;
}

function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Lets every callback the code under test queued run (a few event-loop turns; no clock involved). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** A promise's state, read without waiting for it. */
function watch<T>(promise: Promise<T>): { readonly state: 'pending' | 'resolved' | 'rejected'; error?: unknown } {
  const seen: { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { state: 'pending' };
  promise.then(
    () => {
      seen.state = 'resolved';
    },
    (error: unknown) => {
      seen.state = 'rejected';
      seen.error = error;
    },
  );
  return seen;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('mapLimit', () => {
  test('never more than `limit` in flight, and as many as `limit` while items wait', async () => {
    const gates = range(12).map(() => gate());
    const started: number[] = [];
    let active = 0;
    let peak = 0;
    const running = mapLimit(range(12), 4, async (i) => {
      started.push(i);
      active += 1;
      peak = Math.max(peak, active);
      await gates[i]!.promise;
      active -= 1;
      return i;
    });
    await settle();
    assert.deepEqual(started, [0, 1, 2, 3], 'the first four start, the others wait');
    for (const [n, i] of [2, 0, 3, 1, 4, 5, 6, 7, 8, 9, 10, 11].entries()) {
      gates[i]!.open();
      await settle();
      assert.equal(started.length, Math.min(12, 5 + n), 'one finished, one more started');
      assert.ok(active <= 4);
    }
    await running;
    assert.equal(peak, 4);
  });

  test('answers the results in input order, whatever order the calls finish in, and passes each index', async () => {
    const gates = range(6).map(() => gate());
    const running = mapLimit(['a', 'b', 'c', 'd', 'e', 'f'], 3, async (item, index) => {
      await gates[index]!.promise;
      return `${item}${index}`;
    });
    for (const i of [2, 1, 0, 5, 4, 3]) {
      gates[i]!.open();
      await settle();
    }
    assert.deepEqual(await running, ['a0', 'b1', 'c2', 'd3', 'e4', 'f5']);
  });

  test('an empty list answers [] without calling anything', async () => {
    assert.deepEqual(await mapLimit([], 3, async () => assert.fail('called')), []);
  });

  test('after the first failure no new item starts', async () => {
    const slow = gate();
    const started: number[] = [];
    const seen = watch(
      mapLimit(range(10), 2, async (i) => {
        started.push(i);
        if (i === 1) throw new Error('item 1');
        await slow.promise;
        return i;
      }),
    );
    await settle();
    assert.deepEqual(started, [0, 1], 'the failed lane takes no next item');
    slow.open();
    await settle();
    assert.equal(seen.state, 'rejected');
    assert.equal((seen.error as Error).message, 'item 1');
    assert.deepEqual(started, [0, 1], 'the lane still running takes none either once it finishes');
  });

  test('a call that throws before returning a promise is a failure like any other', async () => {
    const started: number[] = [];
    const fn = ((i: number) => {
      started.push(i);
      if (i === 0) throw new Error('sync');
      return Promise.resolve(i);
    }) as (i: number) => Promise<number>;
    await assert.rejects(mapLimit(range(5), 1, fn), /sync/);
    assert.deepEqual(started, [0]);
  });
});

/** Both entry points run one pool, so both keep its rule; each is checked. */
type Pool = (items: readonly number[], limit: number, task: (item: number) => Promise<void>) => Promise<unknown>;
const pools: Array<[string, Pool]> = [
  ['mapLimit', mapLimit],
  ['eachLimited', eachLimited],
];
for (const [name, pool] of pools) {
  describe(`${name}: the failure rule`, () => {
    test('the first failure is thrown only once the calls in flight have settled', async () => {
      const gates = range(3).map(() => gate());
      const settled: number[] = [];
      const seen = watch(
        pool(range(20), 3, async (i: number) => {
          if (i === 0) throw new Error('first');
          await gates[i]!.promise;
          settled.push(i);
          if (i === 2) throw new Error('second');
        }),
      );
      await settle();
      assert.equal(seen.state, 'pending', 'not rejected while items 1 and 2 still run');
      gates[1]!.open();
      await settle();
      assert.equal(seen.state, 'pending', 'not rejected while item 2 still runs');
      gates[2]!.open();
      await settle();
      assert.equal(seen.state, 'rejected');
      assert.equal((seen.error as Error).message, 'first', 'the first failure, not a later one');
      assert.deepEqual(settled, [1, 2]);
    });

    test('the limit must be a positive integer', async () => {
      for (const limit of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await assert.rejects(
          pool([1, 2], limit, async () => assert.fail('called')),
          RangeError,
        );
      }
      await assert.rejects(
        pool([], 0, async () => {}),
        RangeError,
        'even for an empty list',
      );
    });
  });
}

describe('Semaphore', () => {
  test('at most `limit` holders; the others get their turn in the order they asked', async () => {
    const semaphore = new Semaphore(2);
    const gates = range(5).map(() => gate());
    const started: number[] = [];
    const runs = range(5).map((i) =>
      semaphore.run(async () => {
        started.push(i);
        await gates[i]!.promise;
        return i;
      }),
    );
    await settle();
    assert.deepEqual(started, [0, 1]);
    gates[1]!.open();
    await settle();
    assert.deepEqual(started, [0, 1, 2]);
    gates[0]!.open();
    await settle();
    assert.deepEqual(started, [0, 1, 2, 3]);
    for (const g of gates) g.open();
    assert.deepEqual(await Promise.all(runs), [0, 1, 2, 3, 4]);
  });

  test('a task that fails gives its turn back', async () => {
    const semaphore = new Semaphore(1);
    await assert.rejects(
      semaphore.run(async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await semaphore.run(async () => 'next'), 'next');
  });

  test('the limit must be a positive integer', () => {
    for (const limit of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => new Semaphore(limit), RangeError);
    }
  });
});
