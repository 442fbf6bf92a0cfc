import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchQueue } from '../src/upload/batch-queue.ts';
import { Budget } from '../src/upload/budget.ts';

const tick = () => new Promise((r) => setTimeout(r, 1));

test('the budget holds requests and bytes in flight to its bounds, in order', async () => {
  const budget = new Budget(100, 3);
  let maxBytes = 0;
  let maxRequests = 0;
  const order: number[] = [];
  const sizes = [10, 10, 10, 10, 90, 5, 5, 60, 60, 200];
  await Promise.all(
    sizes.map((size, i) =>
      budget.run(size, async () => {
        order.push(i);
        maxBytes = Math.max(maxBytes, budget.inFlight.bytes);
        maxRequests = Math.max(maxRequests, budget.inFlight.requests);
        await tick();
      }),
    ),
  );
  assert.ok(maxRequests <= 3, `at most 3 requests at once, saw ${maxRequests}`);
  assert.ok(maxBytes <= 100, `at most 100 bytes at once, saw ${maxBytes}`);
  assert.deepEqual(
    order,
    sizes.map((_, i) => i),
    'served in the order asked: a large body is not overtaken',
  );
  assert.deepEqual(budget.inFlight, { bytes: 0, requests: 0 });
});

test('a failing task gives its share back', async () => {
  const budget = new Budget(10, 1);
  await assert.rejects(
    budget.run(10, async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(await budget.run(10, async () => 'next'), 'next');
});

test('the batch queue gathers items into batches of at most maxItems and answers each its own outcome', async () => {
  const batches: number[][] = [];
  const queue = new BatchQueue<number, number>(
    async (items) => {
      batches.push(items);
      return items.map((n) => (n === 7 ? { ok: false, error: new Error('seven') } : { ok: true, value: n * 2 }));
    },
    { maxItems: 4, delayMs: 5 },
  );
  const answers = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => queue.add(i)));
  await queue.drain();
  assert.deepEqual(batches, [
    [0, 1, 2, 3],
    [4, 5, 6, 7],
    [8, 9],
  ]);
  assert.deepEqual(
    answers.map((a) => (a.status === 'fulfilled' ? a.value : (a.reason as Error).message)),
    [0, 2, 4, 6, 8, 10, 12, 'seven', 16, 18],
  );
});

test('a batch whose call fails fails each of its items', async () => {
  const queue = new BatchQueue<number, number>(
    async () => {
      throw new Error('down');
    },
    { maxItems: 10, delayMs: 1 },
  );
  const answers = await Promise.allSettled([queue.add(1), queue.add(2)]);
  assert.deepEqual(
    answers.map((a) => a.status),
    ['rejected', 'rejected'],
  );
});
